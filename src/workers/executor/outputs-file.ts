/**
 * `/chronoverse/outputs.json` of a DAG container task (issue 12, docs/api.md "Outputs"): the
 * directory is made (writable by any user) before the process starts, and the file, when the
 * process wrote one, is read back through the engine's archive endpoint after it exited and before
 * the container is removed — the same two Docker API calls artifacts use, so it works on any
 * engine and over a remote DOCKER_HOST, and nothing of the container's filesystem is extracted on
 * this host: only the one entry's bytes are read, at most OUTPUTS_FILE_MAX_BYTES of them.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { OUTPUTS_MAX_BYTES } from '../../domain/task-outputs.ts';
import type { ContainerHandle } from '../../platform/containers/runtime.ts';

export const OUTPUTS_DIR = '/chronoverse';
export const OUTPUTS_FILE = `${OUTPUTS_DIR}/outputs.json`;

/**
 * What is read at most: twice the outputs limit, as containerOutputs takes (an indented file may
 * be larger than its compact JSON); one byte more says "too large" without holding the rest.
 */
export const OUTPUTS_FILE_MAX_BYTES = OUTPUTS_MAX_BYTES * 2 + 1;

/** Creates /chronoverse (mode 1777, like /tmp) in a created container, before it starts. */
export async function makeOutputsDir(container: ContainerHandle): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: OUTPUTS_DIR.slice(1), type: 'directory', mode: 0o1777 });
  pack.finalize();
  await container.putArchive('/', pack as unknown as NodeJS.ReadableStream);
}

export type OutputsFile = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'not_a_file' };

/** The outputs file's text (at most OUTPUTS_FILE_MAX_BYTES bytes of it), if the process wrote one. */
export async function readOutputsFile(container: ContainerHandle): Promise<OutputsFile> {
  const archive = await container.getArchive(OUTPUTS_FILE);
  if (archive === null) return { kind: 'none' };
  return new Promise<OutputsFile>((resolve, reject) => {
    const extract = tar.extract();
    let result: OutputsFile | null = null;
    extract.on('entry', (header, stream, next) => {
      if (result !== null || header.type !== 'file') {
        // The archive of a path holds that path first: a directory (or link) is not a file.
        result ??= { kind: 'not_a_file' };
        stream.resume();
        stream.on('end', next);
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        if (bytes >= OUTPUTS_FILE_MAX_BYTES) return;
        const room = OUTPUTS_FILE_MAX_BYTES - bytes;
        const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
        chunks.push(kept);
        bytes += kept.length;
      });
      stream.on('end', () => {
        result = { kind: 'text', text: Buffer.concat(chunks).toString('utf8') };
        next();
      });
    });
    extract.on('finish', () => resolve(result ?? { kind: 'none' }));
    extract.on('error', reject);
    (archive as Readable).on('error', reject);
    (archive as Readable).pipe(extract);
  });
}

/**
 * renameTop (src/platform/artifacts/tar-rename.ts), what an input's archive goes through between
 * the store and the engine: the top-level name of every entry is replaced, long names (PAX
 * headers) and hard links included, contents and modes unchanged (checked with the system's
 * tar); and it streams: 512 MiB go through with a bounded memory footprint.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameTop } from '../../src/platform/artifacts/tar-rename.ts';

const exec = promisify(execFile);

function packed(entries: { header: tar.Headers; body?: string }[]): Readable {
  const pack = tar.pack();
  for (const { header, body } of entries) pack.entry(header, body);
  pack.finalize();
  return pack;
}

describe('renameTop', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cv-tar-rename-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renames a directory tree, long names and hard links included', async () => {
    const long = `build/${'d'.repeat(120)}/file.txt`;
    const source = packed([
      { header: { name: 'build', type: 'directory', mode: 0o755 } },
      { header: { name: 'build/a.txt', mode: 0o640 }, body: 'one\n' },
      { header: { name: `build/${'d'.repeat(120)}`, type: 'directory', mode: 0o755 } },
      { header: { name: long, mode: 0o644 }, body: 'long\n' },
      { header: { name: 'build/link', type: 'link', linkname: 'build/a.txt', mode: 0o640 } },
    ]);
    const file = join(dir, 'renamed.tar');
    await writeFile(file, await buffer(renameTop(source, 'src')));
    const out = join(dir, 'x');
    await exec('mkdir', ['-p', out]);
    await exec('tar', ['-xf', file, '-C', out]);
    expect(await readFile(join(out, 'src/a.txt'), 'utf8')).toBe('one\n');
    expect((await stat(join(out, 'src/a.txt'))).mode & 0o777).toBe(0o640);
    expect(await readFile(join(out, `src/${'d'.repeat(120)}/file.txt`), 'utf8')).toBe('long\n');
    const [a, link] = await Promise.all([stat(join(out, 'src/a.txt')), stat(join(out, 'src/link'))]);
    expect(link.ino).toBe(a.ino);
    const { stdout } = await exec('tar', ['-tf', file]);
    expect(
      stdout
        .split('\n')
        .filter(Boolean)
        .every((n) => n === 'src' || n.startsWith('src/')),
    ).toBe(true);
  });

  it('renames a one-file archive (a file artifact) to the new name', async () => {
    const source = packed([{ header: { name: 'report.bin', mode: 0o600 }, body: 'bytes' }]);
    const extract = tar.extract();
    const names: string[] = [];
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      stream.resume();
      stream.on('end', next);
    });
    await pipeline(renameTop(source, 'data.bin'), extract);
    expect(names).toEqual(['data.bin']);
  });

  it('refuses a name with a slash or an empty name', () => {
    expect(() => renameTop(Readable.from([]), 'a/b')).toThrow(/invalid top-level name/);
    expect(() => renameTop(Readable.from([]), '')).toThrow(/invalid top-level name/);
  });

  it('streams: 512 MiB through it into a slow sink without holding them', async () => {
    const size = 512 * 1024 * 1024;
    const MiB = 1024 * 1024;
    const pack = tar.pack();
    const entry = pack.entry({ name: 'big.bin', size }, () => pack.finalize());
    void pipeline(
      Readable.from(
        (function* () {
          // A new buffer each time, as a socket or a file gives: one held on to would stay counted.
          for (let i = 0; i < size / MiB; i++) yield Buffer.alloc(MiB, i);
        })(),
      ),
      entry,
    );
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let bytes = 0;
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(c: Buffer, _enc, done) {
        bytes += c.length;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        // A slow consumer, as an engine reading a socket: the source must wait for it.
        if (bytes % (8 * 1024 * 1024) < c.length) setTimeout(done, 1);
        else done();
      },
    });
    await pipeline(renameTop(pack, 'renamed.bin'), sink);
    expect(bytes).toBeGreaterThan(size);
    // Counted at once: the few chunks in each stage's buffer plus what the garbage collector has
    // not freed yet (measured 65–115 MiB, V8 collects as external memory grows): half of
    // the 512 MiB that went through at most, which a stage holding on to them would pass.
    expect(peak).toBeLessThan(256 * 1024 * 1024);
  }, 120_000);
});

/**
 * ArtifactStore on a local directory (the embedded default: `<DATA_DIR>/artifacts`).
 *
 * A put streams into `<root>/.tmp/<random>`, fsyncs it, then renames it onto `<root>/<key>`: the
 * rename is atomic on one filesystem, so a crash or a refused body leaves no half object under a
 * key, at most a stray temporary file, which `sweepIncomplete` removes (the housekeeping janitor
 * calls it). `.tmp` is not a valid key segment, so no key can ever name it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Measure } from './measure.ts';
import {
  assertKey,
  assertPrefix,
  type ArtifactStore,
  type PutBody,
  type PutOptions,
  type PutResult,
} from './store.ts';

const TMP = '.tmp';

export class DirectoryArtifactStore implements ArtifactStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async put(key: string, body: PutBody, options: PutOptions): Promise<PutResult> {
    assertKey(key);
    const tmpDir = join(this.#root, TMP);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    const measure = new Measure(options.maxBytes);
    try {
      const source = 'file' in body ? createReadStream(body.file) : body;
      await pipeline(source, measure, createWriteStream(tmp, { flags: 'wx' }));
      const handle = await open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const target = join(this.#root, key);
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      return measure.result();
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable | null> {
    assertKey(key);
    const path = join(this.#root, key);
    // Open first, so a missing object is null here rather than an error on the stream later.
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertKey(key);
    await Promise.all(keys.map((key) => rm(join(this.#root, key), { force: true })));
  }

  async downloadUrl(key: string, _ttlSeconds: number): Promise<string | null> {
    assertKey(key);
    return null;
  }

  async *list(prefix: string): AsyncIterable<{ key: string; modifiedAt: Date }> {
    assertPrefix(prefix);
    const start = join(this.#root, prefix);
    let entries;
    try {
      entries = await readdir(start, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const key = relative(this.#root, path).split(sep).join('/');
      if (key.startsWith(`${TMP}/`)) continue;
      const info = await stat(path).catch(() => null);
      if (info) yield { key, modifiedAt: info.mtime };
    }
  }

  /** Removes temporary files older than `olderThan` (left by a crash during a put); returns how many. */
  async sweepIncomplete(olderThan: Date): Promise<number> {
    const tmpDir = join(this.#root, TMP);
    const names = await readdir(tmpDir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const info = await stat(join(tmpDir, name)).catch(() => null);
      if (info && info.mtime < olderThan) {
        await rm(join(tmpDir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }
}

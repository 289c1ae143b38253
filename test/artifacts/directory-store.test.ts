import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { ArtifactTooLargeError } from '../../src/platform/artifacts/store.ts';
import { killDuringPut } from './kill-during-put.ts';
import { exerciseArtifactStore } from './store.conformance.ts';

const roots: string[] = [];
async function newRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cv-artifacts-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

exerciseArtifactStore('directory', async () => new DirectoryArtifactStore(await newRoot()));

describe('DirectoryArtifactStore', () => {
  it('has no download URL: the gateway streams the file', async () => {
    const store = new DirectoryArtifactStore(await newRoot());
    expect(await store.downloadUrl('a/b', 60)).toBeNull();
  });

  it('leaves no temporary file behind after a refused body', async () => {
    const root = await newRoot();
    const store = new DirectoryArtifactStore(root);
    await expect(
      store.put('a/b', Readable.from([Buffer.alloc(100)]), { contentType: 'text/plain', maxBytes: 10 }),
    ).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('sweeps temporary files older than the cutoff (a crash mid-put), never listing them as objects', async () => {
    const root = await newRoot();
    const store = new DirectoryArtifactStore(root);
    await store.put('a/b', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
    await writeFile(join(root, '.tmp', 'stale'), 'half');
    await writeFile(join(root, '.tmp', 'fresh'), 'half');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(root, '.tmp', 'stale'), old, old);
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed).toEqual(['a/b']);
    expect(await store.sweepIncomplete(new Date(Date.now() - 3_600_000))).toBe(1);
    expect(await readdir(join(root, '.tmp'))).toEqual(['fresh']);
  });

  it('leaves nothing under the key when its process is killed (kill -9) mid-put; the sweep removes the rest', async () => {
    const root = await newRoot();
    const store = new DirectoryArtifactStore(root);
    await killDuringPut({ dir: root }, 'wf/job/1/main/big');
    expect(await store.get('wf/job/1/main/big')).toBeNull();
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed).toEqual([]);
    // The interrupted temporary file is there, and only the sweep of old ones removes it.
    expect(await readdir(join(root, '.tmp'))).toHaveLength(1);
    expect(await store.sweepIncomplete(new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await store.sweepIncomplete(new Date(Date.now() + 1000))).toBe(1);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  }, 60_000);
});

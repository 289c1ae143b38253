/**
 * The ArtifactStore contract, run against every implementation (directory-store.test.ts,
 * s3-store.test.ts): what the executor, the service and the gateway rely on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactTooLargeError, type ArtifactStore } from '../../src/platform/artifacts/store.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A stream of `size` random bytes in 64 KiB chunks, and the bytes. */
function body(size: number): { stream: Readable; bytes: Buffer } {
  const bytes = randomBytes(size);
  const chunks: Buffer[] = [];
  for (let i = 0; i < size; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
  return { stream: Readable.from(chunks), bytes };
}

async function keys(store: ArtifactStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
}

export function exerciseArtifactStore(name: string, makeStore: () => Promise<ArtifactStore>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    let store: ArtifactStore;
    let scratch: string;
    beforeAll(async () => {
      store = await makeStore();
      scratch = await mkdtemp(join(tmpdir(), 'cv-artifact-src-'));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it('stores a stream and gives back the same bytes, with their size and sha256', async () => {
      const { stream, bytes } = body(300_000);
      const result = await store.put('wf1/job1/1/out.tar', stream, { contentType: 'application/x-tar' });
      expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      const read = await store.get('wf1/job1/1/out.tar');
      expect(read).not.toBeNull();
      expect(sha256(await buffer(read!))).toBe(sha256(bytes));
    });

    it('stores an empty body', async () => {
      const result = await store.put('wf1/job1/1/empty', Readable.from([]), { contentType: 'text/plain' });
      expect(result).toEqual({ size: 0, sha256: sha256(Buffer.alloc(0)) });
      expect((await buffer((await store.get('wf1/job1/1/empty'))!)).length).toBe(0);
    });

    it('stores a local file', async () => {
      const bytes = randomBytes(70_000);
      const file = join(scratch, 'f.bin');
      await writeFile(file, bytes);
      const result = await store.put(
        'wf1/job1/1/file.bin',
        { file },
        { contentType: 'application/octet-stream' },
      );
      expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      expect(sha256(await buffer((await store.get('wf1/job1/1/file.bin'))!))).toBe(sha256(bytes));
    });

    it('stores a body larger than one multipart part (8 MiB) intact', async () => {
      const { stream, bytes } = body(9 * 1024 * 1024 + 123);
      const result = await store.put('wf1/job1/1/big.bin', stream, {
        contentType: 'application/octet-stream',
      });
      expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      expect(sha256(await buffer((await store.get('wf1/job1/1/big.bin'))!))).toBe(sha256(bytes));
    });

    it('replaces the object under a key', async () => {
      await store.put('wf1/job2/1/a', Readable.from([Buffer.from('first')]), { contentType: 'text/plain' });
      await store.put('wf1/job2/1/a', Readable.from([Buffer.from('second')]), { contentType: 'text/plain' });
      expect((await buffer((await store.get('wf1/job2/1/a'))!)).toString()).toBe('second');
    });

    it('refuses a body over its limit and leaves nothing under the key', async () => {
      await expect(
        store.put('wf1/job3/1/small', body(10_000).stream, { contentType: 'text/plain', maxBytes: 9_999 }),
      ).rejects.toBeInstanceOf(ArtifactTooLargeError);
      expect(await store.get('wf1/job3/1/small')).toBeNull();
      expect(await keys(store, 'wf1/job3/')).toEqual([]);
      // Exactly at the limit is fine.
      const ok = await store.put('wf1/job3/1/small', body(9_999).stream, {
        contentType: 'text/plain',
        maxBytes: 9_999,
      });
      expect(ok.size).toBe(9_999);
    });

    it('refuses a body over its limit across multipart parts', async () => {
      await expect(
        store.put('wf1/job3/1/huge', body(9 * 1024 * 1024).stream, {
          contentType: 'application/octet-stream',
          maxBytes: 8 * 1024 * 1024 + 1,
        }),
      ).rejects.toBeInstanceOf(ArtifactTooLargeError);
      expect(await store.get('wf1/job3/1/huge')).toBeNull();
    });

    it('stores nothing when the source stream fails', async () => {
      const failing = new Readable({
        read() {
          this.push(randomBytes(1000));
          this.destroy(new Error('the container went away'));
        },
      });
      await expect(store.put('wf1/job4/1/broken', failing, { contentType: 'text/plain' })).rejects.toThrow(
        'the container went away',
      );
      expect(await store.get('wf1/job4/1/broken')).toBeNull();
    });

    it('answers null for a key without an object', async () => {
      expect(await store.get('wf1/nothing/1/here')).toBeNull();
    });

    it('lists keys under a prefix and deletes some, ignoring keys without objects', async () => {
      for (const k of ['wf2/j1/1/a', 'wf2/j1/1/b', 'wf2/j2/1/c', 'wf3/j9/1/d']) {
        await store.put(k, Readable.from([Buffer.from(k)]), { contentType: 'text/plain' });
      }
      expect(await keys(store, 'wf2/')).toEqual(['wf2/j1/1/a', 'wf2/j1/1/b', 'wf2/j2/1/c']);
      const listed: { key: string; modifiedAt: Date }[] = [];
      for await (const o of store.list('wf3/')) listed.push(o);
      expect(listed).toHaveLength(1);
      expect(Math.abs(listed[0]!.modifiedAt.getTime() - Date.now())).toBeLessThan(120_000);

      await store.delete(['wf2/j1/1/a', 'wf2/j2/1/c', 'wf2/none/1/x']);
      expect(await keys(store, 'wf2/')).toEqual(['wf2/j1/1/b']);
      await store.delete([]);
      expect(await store.get('wf3/j9/1/d')).not.toBeNull();
    });

    it('refuses keys that could leave the store', async () => {
      for (const bad of ['../x', 'a/../../x', '/abs', 'a//b', '', '.tmp/x', 'a/b/']) {
        await expect(store.put(bad, Readable.from([]), { contentType: 'text/plain' })).rejects.toThrow(
          'invalid artifact key',
        );
        await expect(store.get(bad)).rejects.toThrow('invalid artifact key');
        await expect(store.delete([bad])).rejects.toThrow('invalid artifact key');
      }
    });
  });
}

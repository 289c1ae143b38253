import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { S3ArtifactStore } from '../../src/platform/artifacts/s3-store.ts';
import { S3Mock } from '../helpers/s3mock.ts';
import { killDuringPut } from './kill-during-put.ts';
import { exerciseArtifactStore } from './store.conformance.ts';

let s3: S3Mock;
const stores: S3ArtifactStore[] = [];
beforeAll(async () => {
  s3 = await S3Mock.start();
}, 15 * 60_000);
afterAll(async () => {
  for (const store of stores) store.destroy();
  await s3?.destroy();
});

exerciseArtifactStore('S3 (S3Mock)', async () => {
  const store = new S3ArtifactStore(await s3.bucket('contract'));
  stores.push(store);
  return store;
});

describe('S3ArtifactStore download URLs', () => {
  it('downloads the object with no credentials until it expires', async () => {
    const store = new S3ArtifactStore(await s3.bucket('urls'));
    stores.push(store);
    const { Readable } = await import('node:stream');
    await store.put('wf/job/1/report.txt', Readable.from([Buffer.from('hello artifact')]), {
      contentType: 'text/plain',
    });
    const url = await store.downloadUrl('wf/job/1/report.txt', 300);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello artifact');
  });
});

describe('S3ArtifactStore presigned URL scope (signatures are not checked by S3Mock: the URL itself)', () => {
  // No server needed: presigning is local. A fixed endpoint makes the URL predictable.
  const store = new S3ArtifactStore({
    endpoint: 'https://objects.example.com',
    bucket: 'chronoverse-artifacts',
    region: 'eu-west-1',
    accessKeyId: 'AKIAEXAMPLE',
    secretAccessKey: 'not-a-real-secret',
    forcePathStyle: true,
  });
  afterAll(() => store.destroy());

  it('names exactly one object of one bucket, for GET, and expires after the TTL', async () => {
    const url = new URL(await store.downloadUrl('wf-1/job-2/3/report.tar', 300));
    expect(url.origin).toBe('https://objects.example.com');
    expect(url.pathname).toBe('/chronoverse-artifacts/wf-1/job-2/3/report.tar');
    const q = url.searchParams;
    expect(q.get('X-Amz-Expires')).toBe('300');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toMatch(/^AKIAEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const signedAt = q.get('X-Amz-Date')!;
    const at = Date.parse(
      `${signedAt.slice(0, 4)}-${signedAt.slice(4, 6)}-${signedAt.slice(6, 8)}T${signedAt.slice(9, 11)}:${signedAt.slice(11, 13)}:${signedAt.slice(13, 15)}Z`,
    );
    expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
    // The secret never appears in the URL.
    expect(url.href).not.toContain('not-a-real-secret');
  });

  it('signs a different URL for a different key or TTL', async () => {
    const a = new URL(await store.downloadUrl('wf-1/job-2/3/a', 60));
    const b = new URL(await store.downloadUrl('wf-1/job-2/3/b', 60));
    const c = new URL(await store.downloadUrl('wf-1/job-2/3/a', 61));
    expect(a.searchParams.get('X-Amz-Signature')).not.toBe(b.searchParams.get('X-Amz-Signature'));
    expect(a.searchParams.get('X-Amz-Signature')).not.toBe(c.searchParams.get('X-Amz-Signature'));
    expect(c.searchParams.get('X-Amz-Expires')).toBe('61');
  });
});

describe('S3ArtifactStore and a crash', () => {
  it('shows no object under the key when its process is killed (kill -9) mid multipart upload', async () => {
    const config = await s3.bucket('crash');
    const store = new S3ArtifactStore(config);
    const client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: true,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    });
    onTestFinished(() => client.destroy());
    stores.push(store);
    const uploads = async () =>
      (await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket }))).Uploads ?? [];
    await killDuringPut(config, 'wf/job/1/main/big', async () => (await uploads()).length > 0);
    expect(await store.get('wf/job/1/main/big')).toBeNull();
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed).toEqual([]);
    // Its unfinished multipart upload stays until the sweep of old ones aborts it.
    expect(await uploads()).toHaveLength(1);
    expect(await store.sweepIncomplete(new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await store.sweepIncomplete(new Date(Date.now() + 60_000))).toBe(1);
    expect(await uploads()).toEqual([]);
  }, 60_000);
});

/**
 * The artifacts API on the S3 store (a real S3Mock, test/helpers/s3mock.ts): `download_url` is a
 * presigned GET of exactly that object, valid for CHRONOVERSE_ARTIFACTS_DOWNLOAD_URL_TTL, that
 * downloads the bytes without credentials; the gateway's `…/content` route streams the same bytes
 * from the bucket. The artifact is stored as the executor stores one (object, then row); the
 * collection itself is tested on podman (test/containers/artifacts.test.ts, test/api/artifacts.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../src/platform/artifacts/s3-store.ts';
import { newId } from '../../src/platform/ids.ts';
import { insertManualJob, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';
import { S3Mock } from '../helpers/s3mock.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('artifacts API (S3 store)', () => {
  let s3: S3Mock;
  let store: S3ArtifactStore;
  let gw: TestGateway;
  const bytes = randomBytes(100_000);
  let path = '';
  let storageKey = '';
  let alice: Awaited<ReturnType<typeof registerUser>>;

  beforeAll(async () => {
    s3 = await S3Mock.start();
    store = new S3ArtifactStore(await s3.bucket('artifacts'));
    gw = await createTestGateway('pglite', {
      artifacts: store,
      env: { CHRONOVERSE_ARTIFACTS_DOWNLOAD_URL_TTL: '2m' },
    });
    alice = await registerUser(gw);
    const [wf] = await insertWorkflows(gw.database.db, [
      { userId: alice.user.id, kind: 'CONTAINER', payload: { image: 'alpine' }, nextRunAt: null },
    ]);
    const job = await insertManualJob(gw.database, wf!, alice.user.id);
    const key = `${wf}/${job}/1/main/report`;
    storageKey = key;
    const put = await store.put(key, Readable.from([bytes]), { contentType: 'application/x-tar' });
    const id = newId();
    await gw.database.db
      .insertInto('artifacts')
      .values({
        id,
        job_id: job,
        workflow_id: wf!,
        user_id: alice.user.id,
        attempt: 1,
        name: 'report',
        size: put.size,
        sha256: put.sha256,
        content_type: 'application/x-tar',
        storage_key: key,
      })
      .execute();
    path = `/api/v1/workflows/${wf}/jobs/${job}/artifacts/${id}`;
  }, 15 * 60_000);
  afterAll(async () => {
    await gw?.close();
    store?.destroy();
    await s3?.destroy();
  });

  it('hands out a presigned URL of that one object that downloads it intact without credentials', async () => {
    const res = await gw.app.inject({ method: 'GET', url: path, headers: alice.headers });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { sha256: string; size: number; download_url: string };
    expect(body.sha256).toBe(sha256(bytes));
    const url = new URL(body.download_url);
    expect(url.origin).toBe(s3.endpoint);
    // Path style: /<bucket>/<key>.
    expect(url.pathname).toBe(`/artifacts/${storageKey}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    const download = await fetch(url);
    expect(download.status).toBe(200);
    const got = Buffer.from(await download.arrayBuffer());
    expect(sha256(got)).toBe(body.sha256);
  });

  it('streams the same bytes through the gateway', async () => {
    const res = await gw.app.inject({ method: 'GET', url: `${path}/content`, headers: alice.headers });
    expect(res.statusCode).toBe(200);
    expect(sha256(res.rawPayload)).toBe(sha256(bytes));
  });

  it('answers 404 to another user, without a URL', async () => {
    const mallory = await registerUser(gw);
    const res = await gw.app.inject({ method: 'GET', url: path, headers: mallory.headers });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('X-Amz');
  });
});

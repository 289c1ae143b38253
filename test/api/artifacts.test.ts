/**
 * The artifacts API (docs/artifacts.md) end to end: a CONTAINER job on the real engine (the
 * private Podman of test/helpers/podman-setup.ts) writes files it declared, the executor keeps
 * them in a directory store, and the real gateway (through the jobs service's RPC client) lists
 * them, hands out a download path and streams the bytes intact; another user gets 404s for all
 * of it, and bad ids are 400s naming the parameter. The S3 store's presigned URLs are covered in
 * test/artifacts/s3-store.test.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import { finalJob, insertManualJob, insertWorkflows } from '../helpers/fixtures.ts';
import { createEngine, PRODUCTION_LEASE, type Engine } from '../helpers/engine.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Artifact {
  id: string;
  name: string;
  task: string;
  attempt: number;
  size: number;
  sha256: string;
  content_type: string;
  created_at: string;
  expires_at: string | null;
  download_url?: string;
}

describe('artifacts API (podman, directory store)', () => {
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix: `cvartapi-${randomUUID().slice(0, 8)}`,
    stopGraceMs: 500,
  });
  let root: string;
  let store: DirectoryArtifactStore;
  let gw: TestGateway;
  let engine: Engine;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let mallory: Awaited<ReturnType<typeof registerUser>>;
  let wf = '';
  let wf2 = '';
  let jobId: string;
  let other: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cv-artapi-'));
    store = new DirectoryArtifactStore(root);
    gw = await createTestGateway('pglite', { artifacts: store });
    engine = createEngine(gw.database, {
      containers: runtime,
      artifacts: store,
      executor: PRODUCTION_LEASE,
    });
    engine.start();
    alice = await registerUser(gw);
    mallory = await registerUser(gw);
    const [created, plain] = await insertWorkflows(gw.database.db, [
      {
        userId: alice.user.id,
        kind: 'CONTAINER',
        payload: {
          image: inject('testImage'),
          cmd: ['sh', '-c', 'mkdir -p /out && head -c 300000 /dev/urandom > /out/data.bin'],
          artifacts: [{ name: 'data', path: '/out/data.bin' }],
          artifact_retention: '7d',
        },
        nextRunAt: null,
      },
      {
        userId: alice.user.id,
        kind: 'CONTAINER',
        payload: { image: inject('testImage'), cmd: ['true'] },
        nextRunAt: null,
      },
    ]);
    wf = created!;
    wf2 = plain!;
    jobId = await insertManualJob(gw.database, wf, alice.user.id, 1);
    expect((await finalJob(gw.database, jobId, 60_000)).status).toBe('COMPLETED');
    // A job of Alice's that declares no artifacts.
    other = await insertManualJob(gw.database, wf2, alice.user.id, 1);
    await finalJob(gw.database, other, 60_000);
  }, 120_000);
  afterAll(async () => {
    await engine?.stop();
    await runtime.removeContainers();
    await gw?.close();
    await rm(root, { recursive: true, force: true });
  });

  const get = (u: { headers: Record<string, string> }, path: string) =>
    gw.app.inject({ method: 'GET', url: `/api/v1/workflows/${path}`, headers: u.headers });

  it('lists the job artifacts, gets one with a download path, and streams its bytes intact', async () => {
    const list = await get(alice, `${wf}/jobs/${jobId}/artifacts`);
    expect(list.statusCode, list.body).toBe(200);
    const { artifacts } = list.json() as { artifacts: Artifact[] };
    expect(artifacts).toEqual([
      {
        id: expect.any(String),
        name: 'data',
        task: 'main',
        attempt: 1,
        size: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        content_type: 'application/x-tar',
        created_at: expect.any(String),
        expires_at: expect.any(String),
      },
    ]);
    const a = artifacts[0]!;
    // The workflow's artifact_retention, from when it was kept.
    expect(Date.parse(a.expires_at!) - Date.parse(a.created_at)).toBe(7 * 86_400_000);
    // The tar of one 300,000-byte file: a 512-byte header, the data padded to 512, two end blocks at least.
    expect(a.size).toBeGreaterThan(300_000);

    const one = await get(alice, `${wf}/jobs/${jobId}/artifacts/${a.id}`);
    expect(one.statusCode, one.body).toBe(200);
    const path = `/api/v1/workflows/${wf}/jobs/${jobId}/artifacts/${a.id}/content`;
    expect(one.json()).toEqual({ ...a, download_url: path });

    const content = await gw.app.inject({ method: 'GET', url: path, headers: alice.headers });
    expect(content.statusCode).toBe(200);
    expect(content.headers['content-type']).toBe('application/x-tar');
    expect(content.headers['content-disposition']).toBe('attachment; filename="data.tar"');
    expect(content.rawPayload.length).toBe(a.size);
    expect(sha256(content.rawPayload)).toBe(a.sha256);
    // The file is in the archive, whole: its 300,000 bytes right after the 512-byte header.
    expect(content.rawPayload.subarray(0, 8).toString()).toBe('data.bin');
  });

  it('lists nothing for a job without artifacts', async () => {
    const res = await get(alice, `${wf2}/jobs/${other}/artifacts`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ artifacts: [] });
  });

  it("answers 404 for another user's job and artifact, and for an artifact under the wrong job", async () => {
    const { artifacts } = (await get(alice, `${wf}/jobs/${jobId}/artifacts`)).json() as {
      artifacts: Artifact[];
    };
    const id = artifacts[0]!.id;
    for (const path of [
      `${wf}/jobs/${jobId}/artifacts`,
      `${wf}/jobs/${jobId}/artifacts/${id}`,
      `${wf}/jobs/${jobId}/artifacts/${id}/content`,
    ]) {
      const res = await get(mallory, path);
      expect(res.statusCode, path).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await get(alice, `${wf2}/jobs/${other}/artifacts/${id}`)).statusCode).toBe(404);
    expect((await get(alice, `${wf2}/jobs/${other}/artifacts/${id}/content`)).statusCode).toBe(404);
    expect((await get(alice, `${randomUUID()}/jobs/${jobId}/artifacts`)).statusCode).toBe(404);
    expect((await get(alice, `${wf}/jobs/${jobId}/artifacts/${randomUUID()}`)).statusCode).toBe(404);
  });

  it('answers 401 without credentials and 400 naming a bad id', async () => {
    const anonymous = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/workflows/${wf}/jobs/${jobId}/artifacts`,
    });
    expect(anonymous.statusCode).toBe(401);
    const bad = await get(alice, `${wf}/jobs/${jobId}/artifacts/not-a-uuid`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ errors: [{ path: 'artifact_id', message: 'must be a UUID' }] });
    const badJob = await get(alice, `${wf}/jobs/nope/artifacts`);
    expect(badJob.statusCode).toBe(400);
    expect((badJob.json() as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['job_id']);
  });

  // Last: it deletes the workflow the other tests read.
  it('deletes the objects and rows of a workflow deleted through the API', async () => {
    const keysOf = async (prefix: string) => {
      const out: string[] = [];
      for await (const o of store.list(prefix)) out.push(o.key);
      return out;
    };
    expect(await keysOf(`${wf}/`)).toHaveLength(1);
    const terminate = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v1/workflows/${wf}`,
      headers: alice.headers,
    });
    expect(terminate.statusCode, terminate.body).toBe(200);
    // Another user cannot delete it, and nothing of it goes.
    const refused = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v1/workflows/${wf}`,
      headers: mallory.headers,
    });
    expect(refused.statusCode).toBe(404);
    expect(await keysOf(`${wf}/`)).toHaveLength(1);
    const deleted = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v1/workflows/${wf}`,
      headers: alice.headers,
    });
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(await keysOf(`${wf}/`)).toEqual([]);
    const rows = await gw.database.db
      .selectFrom('artifacts')
      .select('id')
      .where('workflow_id', '=', wf)
      .execute();
    expect(rows).toEqual([]);
  });
});

/**
 * Artifacts between the CONTAINER tasks of a DAG run, through a real container runtime (podman's
 * Docker API) and a real store: a 50 MiB file written by one task reaches the next one's
 * container (put-archive before it starts) and is verified there by its sha256, on the directory
 * store with PostgreSQL and on S3 (S3Mock) with PGlite; a directory input; a missing upstream
 * artifact fails the task with INPUT_MISSING; `when` decides what is collected.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDagPayload } from '../../src/domain/dag-definition.ts';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { S3ArtifactStore } from '../../src/platform/artifacts/s3-store.ts';
import type { ArtifactStore } from '../../src/platform/artifacts/store.ts';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import { createTestDatabase, type ENGINES } from '../helpers/harness.ts';
import { S3Mock } from '../helpers/s3mock.ts';

const MiB = 1024 * 1024;

function container(cmd: string, extra: Record<string, unknown> = {}) {
  return { image: inject('testImage'), cmd: ['sh', '-c', cmd], timeout: '60s', network: 'none', ...extra };
}

/** The sha256 of a stored object, read as a stream. */
async function objectSha256(store: ArtifactStore, key: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of (await store.get(key))! as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

const SETUPS: { db: (typeof ENGINES)[number]; store: 'directory' | 's3' }[] = [
  { db: 'postgres', store: 'directory' },
  { db: 'pglite', store: 's3' },
];

describe.each(SETUPS)('artifacts between DAG tasks ($db, $store store)', ({ db, store: storeKind }) => {
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix: `cvdagart-${randomUUID().slice(0, 8)}`,
    stopGraceMs: 500,
  });
  let database: Database;
  let userId: string;
  let root: string;
  let s3: S3Mock | undefined;
  let store: ArtifactStore;
  let engine: Engine | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(db);
    userId = await insertUser(database.db);
    root = await mkdtemp(join(tmpdir(), 'cv-dagart-'));
    if (storeKind === 's3') {
      s3 = await S3Mock.start();
      store = new S3ArtifactStore(await s3.bucket('dag-artifacts'));
    } else {
      store = new DirectoryArtifactStore(join(root, 'store'));
    }
  }, 120_000);
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    expect(await runtime.removeContainers()).toBe(0);
  });
  afterAll(async () => {
    await database.close();
    await s3?.destroy();
    await rm(root, { recursive: true, force: true });
  });

  async function runDag(payload: unknown) {
    const checked = validateDagPayload(payload);
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'DAG', payload: checked.value.stored, nextRunAt: null },
    ]);
    await database.db.updateTable('workflows').set({ log_retention: true }).where('id', '=', wf!).execute();
    const runId = await insertManualJob(database, wf!, userId);
    engine = createEngine(database, { containers: runtime, artifacts: store });
    engine.start();
    const run = await finalJob(database, runId, 120_000);
    const tasks = await database.db
      .selectFrom('jobs')
      .select(['id', 'task_name', 'status', 'error_code', 'error_message', 'outputs', 'exit_code'])
      .where('run_id', '=', runId)
      .execute();
    const byName = new Map(tasks.map((t) => [t.task_name!, t]));
    const logsOf = async (task: string) =>
      (
        await database.db
          .selectFrom('job_logs')
          .select('message')
          .where('job_id', '=', byName.get(task)!.id)
          .orderBy('sequence_num')
          .execute()
      ).map((l) => l.message);
    return { run, byName, logsOf };
  }

  it('passes a 50 MiB file from one container to the next, sha256 verified downstream', async () => {
    const { run, byName, logsOf } = await runDag({
      tasks: [
        {
          name: 'make',
          kind: 'CONTAINER',
          payload: container(
            `mkdir -p /out && head -c ${50 * MiB} /dev/urandom > /out/data.bin && echo "::output sha=$(sha256sum /out/data.bin | cut -d' ' -f1)"`,
            { artifacts: [{ name: 'data', path: '/out/data.bin' }] },
          ),
        },
        {
          name: 'check',
          kind: 'CONTAINER',
          depends_on: ['make'],
          payload: container(
            'ls -l /in/blob.bin | tr -s " " | cut -d" " -f5 && echo "$EXPECTED  /in/blob.bin" | sha256sum -c',
            {
              env: { EXPECTED: '{{tasks.make.outputs.sha}}' },
              inputs: [{ from: 'make.data', path: '/in/blob.bin' }],
            },
          ),
        },
      ],
    });
    expect(byName.get('check')).toMatchObject({ status: 'COMPLETED', exit_code: 0 });
    expect(run.status).toBe('COMPLETED');
    expect(await logsOf('check')).toEqual([String(50 * MiB), '/in/blob.bin: OK']);
    const [row] = await database.db
      .selectFrom('artifacts')
      .selectAll()
      .where('job_id', '=', byName.get('make')!.id)
      .execute();
    // A one-file tar: a 512-byte header (Podman may add a PAX header), the data, the end blocks.
    expect(Number(row!.size)).toBeGreaterThan(50 * MiB);
    expect(Number(row!.size)).toBeLessThan(50 * MiB + 16 * 1024);
    expect(await objectSha256(store, row!.storage_key)).toEqual({
      size: Number(row!.size),
      sha256: row!.sha256,
    });
    expect(row).toMatchObject({ task: 'make', name: 'data', attempt: 1 });
  }, 180_000);

  it('puts a directory under a new name; a missing upstream artifact is INPUT_MISSING; when decides', async () => {
    const { run, byName, logsOf } = await runDag({
      artifact_retention: '2d',
      tasks: [
        {
          name: 'make',
          kind: 'CONTAINER',
          payload: container(
            'mkdir -p /out/tree/sub && echo one > /out/tree/a.txt && echo two > /out/tree/sub/b.txt',
            {
              artifacts: [
                { name: 'tree', path: '/out/tree' },
                { name: 'nothing', path: '/out/absent' },
                { name: 'on-fail', path: '/out/tree', when: 'ON_FAILURE' },
                { name: 'on-ok', path: '/out/tree/a.txt', when: 'ON_SUCCESS' },
              ],
            },
          ),
        },
        {
          name: 'use',
          kind: 'CONTAINER',
          depends_on: ['make'],
          payload: container('cat /work/src/a.txt /work/src/sub/b.txt /etc/one.txt', {
            inputs: [
              { from: 'make.tree', path: '/work/src' },
              // Into an existing directory of the image.
              { from: 'make.on-ok', path: '/etc/one.txt' },
            ],
          }),
        },
        {
          name: 'missing',
          kind: 'CONTAINER',
          depends_on: ['make'],
          payload: container('echo should not run', { inputs: [{ from: 'make.nothing', path: '/in/x' }] }),
        },
      ],
    });
    expect(byName.get('use')).toMatchObject({ status: 'COMPLETED', exit_code: 0 });
    expect(await logsOf('use')).toEqual(['one', 'two', 'one']);
    expect(byName.get('missing')).toMatchObject({ status: 'FAILED', error_code: 'INPUT_MISSING' });
    expect(byName.get('missing')!.error_message).toContain("task 'make' kept no artifact 'nothing'");
    expect(await logsOf('missing')).toEqual([]);
    expect(run.status).toBe('FAILED');
    const kept = await database.db
      .selectFrom('artifacts')
      .select('name')
      .where('job_id', '=', byName.get('make')!.id)
      .orderBy('name')
      .execute();
    expect(kept.map((k) => k.name)).toEqual(['on-ok', 'tree']);
    // The DAG's artifact_retention, fixed on each row when it was stored.
    const ends = await database.db
      .selectFrom('artifacts')
      .select(['created_at', 'expires_at'])
      .where('job_id', '=', byName.get('make')!.id)
      .execute();
    for (const e of ends) expect(e.expires_at!.getTime() - e.created_at.getTime()).toBe(2 * 86_400_000);
    expect(await logsOf('make')).toContain(
      'chronoverse: artifacts "on-fail" (ON_FAILURE) not collected: the attempt succeeded',
    );
  }, 180_000);

  it("collects ON_FAILURE artifacts of a failed attempt only, kept for the task's artifact_retention", async () => {
    const { byName } = await runDag({
      tasks: [
        {
          name: 'fail',
          kind: 'CONTAINER',
          payload: container('mkdir -p /out && echo debug > /out/debug.log && exit 2', {
            artifact_retention: '36h',
            artifacts: [
              { name: 'debug', path: '/out/debug.log', when: 'ON_FAILURE' },
              { name: 'result', path: '/out/debug.log', when: 'ON_SUCCESS' },
            ],
          }),
        },
      ],
    });
    expect(byName.get('fail')).toMatchObject({ status: 'FAILED', error_code: 'NON_ZERO_EXIT' });
    const kept = await database.db
      .selectFrom('artifacts')
      .select(['name', 'created_at', 'expires_at'])
      .where('job_id', '=', byName.get('fail')!.id)
      .execute();
    expect(kept.map((k) => k.name)).toEqual(['debug']);
    // The task's own artifact_retention.
    expect(kept[0]!.expires_at!.getTime() - kept[0]!.created_at.getTime()).toBe(36 * 3_600_000);
  }, 120_000);
});

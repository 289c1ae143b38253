/**
 * CONTAINER jobs through the real engine and a real container runtime (podman's Docker API):
 * output capture, exit codes, timeouts, memory limits, cancel, and recovery after an executor
 * process is killed with SIGKILL mid-job.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createEngine, PRODUCTION_LEASE, type Engine } from '../helpers/engine.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { databaseUrl } from '../helpers/postgres.ts';

const NODE = existsSync('node_modules/.bin/node') ? path.resolve('node_modules/.bin/node') : process.execPath;

function container(cmd: string, extra: Record<string, unknown> = {}) {
  return {
    image: inject('testImage'),
    cmd: ['sh', '-c', cmd],
    entrypoint: null,
    env: {},
    workdir: null,
    timeout: '30s',
    resources: { cpus: null, memory_mb: null, pids: null },
    network: 'none',
    ...extra,
  };
}

async function logsOf(database: Database, jobId: string) {
  return database.db
    .selectFrom('job_logs')
    .select(['sequence_num', 'stream', 'message', 'attempt'])
    .where('job_id', '=', jobId)
    .orderBy('sequence_num')
    .execute();
}

describe.each(ENGINES)('CONTAINER jobs (%s)', (engineName) => {
  let database: Database;
  let userId: string;
  let engine: Engine;
  let runtime: DockerContainerRuntime;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    userId = await insertUser(database.db);
    runtime = new DockerContainerRuntime({ dockerHost: inject('dockerHost'), stopGraceMs: 500 });
  });
  afterAll(() => database.close());
  afterEach(async () => {
    await engine?.stop();
    // Whatever happened, no container of ours is left behind.
    expect(await runtime.removeContainers()).toBe(0);
  });

  it('captures both streams line by line, in order, and completes with exit code 0', async () => {
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('for i in $(seq 1 100); do echo out-$i; echo err-$i >&2; done'),
        nextRunAt: null,
      },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    const job = await finalJob(database, jobId);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      exit_code: 0,
      attempts: 1,
      error_code: null,
      log_lines: 200,
    });
    const lines = await logsOf(database, jobId);
    expect(lines.map((l) => l.sequence_num)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const out = lines.filter((l) => l.stream === 'stdout').map((l) => l.message);
    const err = lines.filter((l) => l.stream === 'stderr').map((l) => l.message);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => `out-${i + 1}`));
    expect(err).toEqual(Array.from({ length: 100 }, (_, i) => `err-${i + 1}`));
  });

  it('keeps every line of a container that writes faster than the database stores (backpressure)', async () => {
    // The production lease (30 s): with the 2 s test lease, a loaded CI machine once delayed a renewal
    // behind 200,000 inserts on PGlite's single connection, the job was rescued and ran again.
    engine = createEngine(database, {
      containers: runtime,
      executor: { leaseMs: 30_000, renewIntervalMs: 1_000 },
    });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: container('seq 1 200000'), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    const job = await finalJob(database, jobId, 120_000);
    expect(job).toMatchObject({ status: 'COMPLETED', exit_code: 0, attempts: 1, log_lines: 200_000 });
    const { rows } = await sql<{ n: number; first: string; last: string; max: number }>`
      select count(*)::int as n, min(message) filter (where sequence_num = 0) as first,
             min(message) filter (where sequence_num = 199999) as last, max(sequence_num)::int as max
      from job_logs where job_id = ${jobId}`.execute(database.db);
    expect(rows[0]).toEqual({ n: 200_000, first: '1', last: '200000', max: 199_999 });
  }, 150_000);

  it('a non-zero exit is FAILED/USER with the exit code, and is not retried', async () => {
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: container('echo bye; exit 3'), nextRunAt: null, maxFailures: 10 },
    ]);
    const job = await finalJob(database, await insertManualJob(database, wf!, userId));
    expect(job).toMatchObject({
      status: 'FAILED',
      exit_code: 3,
      attempts: 1,
      error_kind: 'USER',
      error_code: 'NON_ZERO_EXIT',
    });
  });

  it('stops a container that outlives its timeout: FAILED/USER TIMEOUT', async () => {
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('sleep 60', { timeout: '1s' }),
        nextRunAt: null,
        maxFailures: 10,
      },
    ]);
    const job = await finalJob(database, await insertManualJob(database, wf!, userId));
    expect(job).toMatchObject({ status: 'FAILED', error_kind: 'USER', error_code: 'TIMEOUT', attempts: 1 });
    expect(job.error_message).toMatch(/did not finish within 1s/);
    expect(job.completed_at!.getTime() - job.started_at!.getTime()).toBeLessThan(20_000);
  });

  it('reports a container killed for exceeding its memory limit (exit 137)', async () => {
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('head -c 200m /dev/zero | tail', {
          resources: { cpus: null, memory_mb: 16, pids: null },
        }),
        nextRunAt: null,
        maxFailures: 10,
      },
    ]);
    const job = await finalJob(database, await insertManualJob(database, wf!, userId));
    expect(job).toMatchObject({ status: 'FAILED', exit_code: 137, error_kind: 'USER', attempts: 1 });
    expect(job.error_message).toMatch(/killed \(exit 137\).*memory limit of 16 MiB/);
  });

  it('cancels a running container: the job is CANCELED and the container is gone', async () => {
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: container('echo started; sleep 60'), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    await waitFor(async () => (await logsOf(database, jobId)).length > 0);
    // As the API cancels: the service marks it CANCELED and asks the executor to stop it.
    await engine.jobs.cancel(userId, wf!, jobId);
    await waitFor(async () => engine.executor!.runningJobIds.length === 0, 15_000);
    expect(await runtime.removeContainers([jobId])).toBe(0);
    expect((await finalJob(database, jobId)).status).toBe('CANCELED');
  });

  it('a missing image fails the build with the reason, keeping the fire time for the ledger', async () => {
    const NEXT_FIRE = new Date(Date.now() + 5 * 60_000);
    engine = createEngine(database, { containers: runtime, executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('true', { image: 'registry.invalid/nope:1' }),
        intervalMinutes: 5,
        nextRunAt: NEXT_FIRE,
        buildStatus: 'QUEUED',
      },
    ]);
    const built = engine.events.next('workflow:build:finished', { filter: (e) => e.workflowId === wf });
    await sql`INSERT INTO outbox (topic, key, event_type, payload)
              VALUES ('workflows', ${wf!}, 'BUILD', ${JSON.stringify({ workflow_id: wf, generation: 1 })}::jsonb)`.execute(
      database.db,
    );
    engine.events.emit('outbox:written', { count: 1 });
    expect((await built).status).toBe('FAILED');
    const w = await database.db
      .selectFrom('workflows')
      .select(['build_error', 'next_run_at'])
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(w.build_error).toMatch(/registry\.invalid\/nope:1/);
    // The scheduler records it and the next ones NOT_BUILT (test/workers/tick-ledger.test.ts).
    expect(w.next_run_at).toEqual(NEXT_FIRE);
  });

  it('a build waits while the runtime is unreachable, and completes once it answers', async () => {
    // A socket path that does not exist yet, then a link to the real podman socket: the runtime
    // "comes up" under the same DOCKER_HOST, as after `systemctl start podman.socket`.
    const late = path.join(await mkdtemp(path.join(tmpdir(), 'cv-late-runtime-')), 'docker.sock');
    const lateRuntime = new DockerContainerRuntime({ dockerHost: `unix://${late}` });
    engine = createEngine(database, { containers: lateRuntime });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('true'),
        intervalMinutes: 5,
        nextRunAt: null,
        buildStatus: 'QUEUED',
      },
    ]);
    const waiting = engine.events.next('workflow:build:waiting', { filter: (e) => e.workflowId === wf });
    await sql`INSERT INTO outbox (topic, key, event_type, payload)
              VALUES ('workflows', ${wf!}, 'BUILD', ${JSON.stringify({ workflow_id: wf, generation: 1 })}::jsonb)`.execute(
      database.db,
    );
    engine.events.emit('outbox:written', { count: 1 });
    await waiting;
    const buildOf = () =>
      database.db
        .selectFrom('workflows')
        .select(['build_status', 'build_error', 'next_run_at'])
        .where('id', '=', wf!)
        .executeTakeFirstOrThrow();
    const waited = await buildOf();
    expect(waited).toMatchObject({ build_status: 'QUEUED', next_run_at: null });
    expect(waited.build_error).toMatch(/^waiting for the container runtime/);

    // Still down: a sweep leaves it waiting (and does not fail it).
    await engine.worker.retryWaitingBuilds();
    expect((await buildOf()).build_status).toBe('QUEUED');

    await symlink(new URL(inject('dockerHost')).pathname, late);
    const built = engine.events.next('workflow:build:finished', { filter: (e) => e.workflowId === wf });
    await engine.worker.retryWaitingBuilds();
    expect((await built).status).toBe('COMPLETED');
    const done = await buildOf();
    expect(done).toMatchObject({ build_status: 'COMPLETED', build_error: null });
    expect(done.next_run_at).not.toBeNull();
  });

  it('an unreachable runtime is a SYSTEM error on the job, retried, never a crash', async () => {
    const down = new DockerContainerRuntime({ dockerHost: 'unix:///nonexistent/docker.sock' });
    engine = createEngine(database, { containers: down });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: container('true'), nextRunAt: null, maxFailures: 10 },
    ]);
    const job = await finalJob(database, await insertManualJob(database, wf!, userId, 2));
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error_kind: 'SYSTEM',
      error_code: 'CONTAINER_RUNTIME_UNAVAILABLE',
    });
  });
});

describe('an executor process killed with SIGKILL mid-job (PostgreSQL)', () => {
  let database: Database;
  let engine: Engine | undefined;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await engine?.stop();
    await database.close();
  });

  it('another executor recovers the job after the lease: it completes, once, in a new attempt', async () => {
    const userId = await insertUser(database.db);
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: container('echo attempt-start; sleep 4; echo attempt-end'),
        nextRunAt: null,
      },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(database.db);
    const child = spawn(NODE, ['src/cli/main.ts', 'start', '--role', 'executor'], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl(rows[0]!.db),
        DOCKER_HOST: inject('dockerHost'),
        CHRONOVERSE_EXECUTOR_LEASE: '3s',
        // The test image is localhost/…: a registry the administrator must list.
        CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: 'localhost',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      // The child claims the job and starts its container.
      await waitFor(async () => {
        const job = await database.db
          .selectFrom('jobs')
          .selectAll()
          .where('id', '=', jobId)
          .executeTakeFirstOrThrow();
        const lines = await logsOf(database, jobId);
        return job.status === 'RUNNING' && lines.some((l) => l.message === 'attempt-start');
      });
    } finally {
      child.kill('SIGKILL');
    }
    const runtime = new DockerContainerRuntime({ dockerHost: inject('dockerHost'), stopGraceMs: 500 });
    engine = createEngine(database, {
      containers: runtime,
      executor: { leaseMs: 3_000, renewIntervalMs: 1_000 },
    });
    engine.start();
    const job = await finalJob(database, jobId, 60_000);
    expect(job).toMatchObject({ status: 'COMPLETED', attempts: 2, exit_code: 0 });
    const { rows: count } = await sql<{
      n: number;
    }>`select count(*)::int as n from jobs where workflow_id = ${wf!}`.execute(database.db);
    expect(count[0]!.n).toBe(1);
    const lines = await logsOf(database, jobId);
    // The second attempt's lines follow the first's, numbered on from them.
    expect(lines.filter((l) => l.attempt === 2).map((l) => l.message)).toEqual([
      'attempt-start',
      'attempt-end',
    ]);
    expect(lines.map((l) => l.sequence_num)).toEqual(lines.map((_, i) => i));
    expect(await runtime.removeContainers()).toBe(0);
  }, 90_000);
});

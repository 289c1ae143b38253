/**
 * The executor driven step by step (claimOnce, renewLeases, no loops started) on PostgreSQL:
 * heartbeat TIMEOUT, the per-kind concurrency cap, a lease renewal that fails. Jobs wait on a
 * gate of the local target (or of a fake container runtime) until the test releases them, so
 * nothing depends on how fast the machine is.
 */
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import type { ContainerOutcome, ContainerRuntime } from '../../src/platform/containers/runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { OutboundGuard } from '../../src/platform/outbound/guard.ts';
import { Executor } from '../../src/workers/executor/executor.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, LogCapture } from '../helpers/harness.ts';
import { createEngine, startTarget, TEST_CONTAINER_POLICY, type Engine } from '../helpers/engine.ts';
import { loopbackOnlyBlockList } from '../helpers/loopback-only.ts';

/** An engine whose claim polls every 10 minutes: whatever runs within a test was woken. */
function wokenOnlyEngine(database: Database, heartbeatConcurrency: number): Engine {
  return createEngine(database, {
    executor: { heartbeatConcurrency, pollIntervalMs: 600_000, leaseMs: 30_000, renewIntervalMs: 10_000 },
  });
}

function heartbeat(url: string, timeout = '1m') {
  return { endpoint: url, method: 'GET', headers: {}, body: null, expected_status_code: 200, timeout };
}

const CONTAINER = {
  image: 'localhost/chronoverse-test:latest',
  cmd: ['true'],
  entrypoint: null,
  env: {},
  workdir: null,
  timeout: '1m',
  resources: { cpus: null, memory_mb: null, pids: null },
  network: 'none',
};

/** A container runtime whose runs last until `release()` (or their abort). Counts runs at once. */
function gatedRuntime() {
  const waiting = new Set<() => void>();
  const state = { running: 0, most: 0 };
  const runtime: ContainerRuntime = {
    ping: async () => true,
    ensureImage: async () => {},
    run: (_spec, _onLines, signal) =>
      new Promise<ContainerOutcome>((resolve) => {
        state.running += 1;
        state.most = Math.max(state.most, state.running);
        const done = (outcome: ContainerOutcome) => {
          waiting.delete(exit);
          state.running -= 1;
          resolve(outcome);
        };
        const exit = () => done({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
        waiting.add(exit);
        signal.addEventListener('abort', () => done({ kind: 'canceled', exitCode: null }), { once: true });
      }),
    removeContainers: async () => 0,
  };
  return {
    runtime,
    state,
    release() {
      for (const exit of [...waiting]) exit();
    },
  };
}

describe('executor, step by step (PostgreSQL)', () => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;
  let engine: Engine | null = null;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    target = await startTarget();
    userId = await insertUser(database.db);
  });
  afterAll(async () => {
    await target.close();
    await database.close();
  });
  afterEach(async () => {
    target.release();
    await engine?.stop();
    engine = null;
    // Each test leaves nothing runnable behind for the next one.
    await database.db
      .updateTable('jobs')
      .set({ status: 'CANCELED', completed_at: new Date(), lease_owner: null, lease_expires_at: null })
      .where('status', 'in', ['PENDING', 'QUEUED', 'RUNNING'])
      .execute();
  });

  const jobOf = (id: string) =>
    database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const runningCount = async () =>
    (await database.db.selectFrom('jobs').select('id').where('status', '=', 'RUNNING').execute()).length;

  it('a heartbeat without an answer within its timeout is a SYSTEM TIMEOUT failure', async () => {
    engine = createEngine(database, { executor: { leaseMs: 30_000, renewIntervalMs: 10_000 } });
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/hang`, '1s'), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId, 1);
    expect(await engine.executor!.claimOnce()).toBe(1);
    const job = await finalJob(database, jobId);
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error_kind: 'SYSTEM',
      error_code: 'TIMEOUT',
      error_message: 'no answer within 1s',
      http_status_code: null,
    });
  });

  it('wake-ups without a poll: a finished job hands its slot on when every slot was taken; a DISPATCH naming a job it has not claimed wakes the claim', async () => {
    engine = wokenOnlyEngine(database, 1);
    const workflows = await insertWorkflows(
      database.db,
      // 100 ms each: the round the claim takes again at once (more candidates than slots) runs
      // while the job does, with the heartbeat slot taken (it claimed containers alone, found
      // none, and once forgot that heartbeats were waiting: a CI run stalled here until the poll).
      Array.from({ length: 4 }, () => ({
        userId,
        payload: heartbeat(`${target.url}/slow/100`),
        nextRunAt: null,
      })),
    );
    const queued: string[] = [];
    for (const wf of workflows.slice(0, 3)) queued.push(await insertManualJob(database, wf, userId));
    engine.executor!.start(); // its first round claims one; each release claims the next
    for (const id of queued)
      expect(await finalJob(database, id, 15_000)).toMatchObject({ status: 'COMPLETED' });

    // The queue is drained now, so a release no longer wakes anything; a DISPATCH does.
    const late = await insertManualJob(database, workflows[3]!, userId);
    await engine.bus.publish([
      { id: 'd1', topic: 'jobs', key: late, type: 'DISPATCH', payload: { job_ids: [late] } },
    ]);
    expect(await finalJob(database, late, 15_000)).toMatchObject({ status: 'COMPLETED' });
  });

  it('a finished run wakes the claim for the run of its workflow queued behind it, and a lone run wakes nothing', async () => {
    // Free slots (a release then wakes nothing): only the completion can wake the claim.
    engine = wokenOnlyEngine(database, 4);
    const executor = engine.executor!;
    let rounds = 0;
    const claimOnce = executor.claimOnce.bind(executor);
    executor.claimOnce = () => {
      rounds += 1;
      return claimOnce();
    };
    const [wf, lone] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/slow/100`), nextRunAt: null },
      { userId, payload: heartbeat(`${target.url}/slow/100`), nextRunAt: null },
    ]);
    // Two runs of one workflow: the first round claims the first; the second waits behind it.
    const first = await insertManualJob(database, wf!, userId);
    const second = await insertManualJob(database, wf!, userId);
    executor.start();
    expect(await finalJob(database, first, 15_000)).toMatchObject({ status: 'COMPLETED' });
    expect(await finalJob(database, second, 15_000)).toMatchObject({ status: 'COMPLETED' });
    await waitFor(async () => executor.runningJobIds.length === 0);

    // A run with nothing behind it: its completion runs no claim round (it used to, for each job).
    const job = await insertManualJob(database, lone!, userId);
    const before = rounds;
    engine.events.emit('jobs:runnable', { count: 1 });
    expect(await finalJob(database, job, 15_000)).toMatchObject({ status: 'COMPLETED' });
    await waitFor(async () => executor.runningJobIds.length === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(rounds - before).toBe(1);
  });

  it('never runs more heartbeats at once than heartbeatConcurrency', async () => {
    engine = createEngine(database, {
      executor: { heartbeatConcurrency: 2, leaseMs: 30_000, renewIntervalMs: 10_000 },
    });
    const executor = engine.executor!;
    const workflows = await insertWorkflows(
      database.db,
      Array.from({ length: 5 }, () => ({
        userId,
        payload: heartbeat(`${target.url}/gate`),
        nextRunAt: null,
      })),
    );
    const ids: string[] = [];
    for (const wf of workflows) ids.push(await insertManualJob(database, wf, userId));
    const base = target.hits.get('/gate') ?? 0;
    // Claim, wait until every claimed run waits at the gate, check, release; until all ran.
    let started = 0;
    let most = 0;
    for (;;) {
      const claimed = await executor.claimOnce();
      if (claimed === 0) break;
      started += claimed;
      await waitFor(async () => (target.hits.get('/gate') ?? 0) - base === started);
      most = Math.max(most, await runningCount(), executor.runningJobIds.length);
      // Full (or nothing left): a second claim takes nothing while the runs wait.
      expect(await executor.claimOnce()).toBe(0);
      target.release();
      await waitFor(async () => executor.runningJobIds.length === 0);
    }
    expect(started).toBe(5);
    expect(most).toBe(2);
    for (const id of ids) expect(await jobOf(id)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  });

  it('never runs more containers at once than containerConcurrency, and a full kind leaves the other claimable', async () => {
    const gate = gatedRuntime();
    engine = createEngine(database, {
      containers: gate.runtime,
      executor: {
        heartbeatConcurrency: 3,
        containerConcurrency: 1,
        leaseMs: 30_000,
        renewIntervalMs: 10_000,
      },
    });
    const executor = engine.executor!;
    const containerWfs = await insertWorkflows(
      database.db,
      Array.from({ length: 3 }, () => ({
        userId,
        kind: 'CONTAINER' as const,
        payload: CONTAINER,
        nextRunAt: null,
      })),
    );
    const containerJobs: string[] = [];
    for (const wf of containerWfs) containerJobs.push(await insertManualJob(database, wf, userId));
    const [hbWf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/gate`), nextRunAt: null },
    ]);
    const hbJob = await insertManualJob(database, hbWf!, userId);
    const base = target.hits.get('/gate') ?? 0;

    // One container (its only slot) and the heartbeat queued behind the other containers.
    expect(await executor.claimOnce()).toBe(2);
    await waitFor(async () => gate.state.running === 1);
    await waitFor(async () => (target.hits.get('/gate') ?? 0) - base === 1);
    expect(new Set(executor.runningJobIds)).toEqual(new Set([containerJobs[0], hbJob]));
    expect(await executor.claimOnce()).toBe(0);
    for (const id of containerJobs.slice(1)) expect(await jobOf(id)).toMatchObject({ status: 'PENDING' });

    for (const next of containerJobs.slice(1)) {
      gate.release();
      await waitFor(async () => !executor.runningJobIds.some((id) => containerJobs.includes(id)));
      expect(await executor.claimOnce()).toBe(1);
      expect(executor.runningJobIds).toContain(next);
      await waitFor(async () => gate.state.running === 1);
    }
    gate.release();
    target.release();
    await waitFor(async () => executor.runningJobIds.length === 0);
    expect(gate.state.most).toBe(1);
    for (const id of [...containerJobs, hbJob])
      expect((await finalJob(database, id)).status).toBe('COMPLETED');
  });

  it('a lease renewal that fails is logged; the job keeps running and the next renewal extends the lease', async () => {
    const logs = new LogCapture();
    // The executor's database fails its next lease renewal (as a lost connection would).
    let failRenewal = false;
    const plugin: KyselyPlugin = {
      transformQuery({ node }) {
        if (failRenewal && isRenewal(node)) {
          failRenewal = false;
          throw new Error('connection terminated unexpectedly');
        }
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const events = new Events();
    const executor = new Executor(
      {
        db: database.db.withPlugin(plugin),
        events,
        logger: createLogger('info', logs),
        bus: new InProcessBus(),
        live: new InMemoryLiveLogs(),
        containers: null,
        outbound: new OutboundGuard({ allowPrivateNetworks: true, blockList: loopbackOnlyBlockList() }),
      },
      { leaseMs: 30_000, renewIntervalMs: 10_000, containerPolicy: TEST_CONTAINER_POLICY },
    );
    const lost: string[] = [];
    events.on('executor:lease:lost', (e) => lost.push(e.jobId));
    try {
      const [wf] = await insertWorkflows(database.db, [
        { userId, payload: heartbeat(`${target.url}/gate`), nextRunAt: null },
      ]);
      const jobId = await insertManualJob(database, wf!, userId);
      expect(await executor.claimOnce()).toBe(1);
      const claimed = await jobOf(jobId);

      failRenewal = true;
      await executor.renewLeases();
      expect(failRenewal).toBe(false); // the renewal was attempted and failed
      expect(logs.text).toMatch(/lease renewal failed; will retry/);
      expect(logs.text).toMatch(/connection terminated unexpectedly/);
      expect(lost).toEqual([]);
      expect(executor.runningJobIds).toEqual([jobId]);
      expect(await jobOf(jobId)).toMatchObject({
        status: 'RUNNING',
        lease_owner: executor.id,
        lease_expires_at: claimed.lease_expires_at,
      });

      await executor.renewLeases();
      const renewed = await jobOf(jobId);
      expect(renewed.lease_expires_at!.getTime()).toBeGreaterThan(claimed.lease_expires_at!.getTime());
      expect(lost).toEqual([]);

      target.release();
      expect(await finalJob(database, jobId)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    } finally {
      target.release();
      await executor.stop();
    }
  });
});

/** The lease renewal's statement (jobsRenewLease): a raw UPDATE that extends lease_expires_at. */
function isRenewal(node: RootOperationNode): boolean {
  if (node.kind !== 'RawNode') return false;
  const text = node.sqlFragments.join('?');
  return /UPDATE jobs SET lease_expires_at = now\(\)/.test(text);
}

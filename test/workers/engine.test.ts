/**
 * The engine end to end on real databases, with HEARTBEAT jobs against a local HTTP server:
 * build → schedule → claim → run → complete, retries, failure policy, no overlap, leases.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { Events } from '../../src/platform/events.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { writeOutbox } from '../../src/services/outbox.ts';
import { jobsClaim } from '../../src/workers/executor/sql.ts';
import {
  finalJob,
  insertManualJob,
  insertUser,
  insertWorkflows,
  jobsOf,
  waitFor,
} from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, PRODUCTION_LEASE, startTarget, type Engine } from '../helpers/engine.ts';

function heartbeat(url: string, extra: Record<string, unknown> = {}) {
  return {
    endpoint: url,
    method: 'GET',
    headers: {},
    body: null,
    expected_status_code: 200,
    timeout: '2s',
    ...extra,
  };
}

/** A URL on a port nothing listens on (connection refused). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/`;
}

/** The BUILD event the workflows service writes when a workflow is created or re-activated. */
async function requestBuild(database: Database, workflowId: string): Promise<void> {
  await database.db.transaction().execute((trx) =>
    writeOutbox(trx, [
      {
        topic: 'workflows',
        key: workflowId,
        type: 'BUILD',
        payload: { workflow_id: workflowId, generation: 1 },
      },
    ]),
  );
}

async function jobById(database: Database, id: string) {
  return database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe.each(ENGINES)('execution engine (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;
  let engine: Engine;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    userId = await insertUser(database.db);
  });
  afterAll(async () => {
    await target.close();
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    expect(engine.executor?.runningJobIds ?? []).toEqual([]);
  });

  it('runs a heartbeat job: COMPLETED with status code and latency, and resets the failure counter', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/ok`), nextRunAt: null },
    ]);
    await database.db
      .updateTable('workflows')
      .set({ consecutive_job_failures_count: 2 })
      .where('id', '=', wf!)
      .execute();
    const jobId = await insertManualJob(database, wf!, userId);
    engine.events.emit('jobs:runnable', { count: 1 });
    const job = await finalJob(database, jobId);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      attempts: 1,
      http_status_code: 200,
      error_code: null,
      lease_owner: null,
    });
    expect(job.latency_ms).toBeGreaterThanOrEqual(0);
    expect(job.started_at).not.toBeNull();
    await waitFor(async () => {
      const w = await database.db
        .selectFrom('workflows')
        .select('consecutive_job_failures_count')
        .where('id', '=', wf!)
        .executeTakeFirstOrThrow();
      return w.consecutive_job_failures_count === 0;
    });
  });

  it('a wrong status is a USER failure: FAILED at once, no retry', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/status/503`), nextRunAt: null, maxFailures: 10 },
    ]);
    const job = await finalJob(database, await insertManualJob(database, wf!, userId));
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      http_status_code: 503,
      error_kind: 'USER',
      error_code: 'UNEXPECTED_STATUS',
      error_message: 'expected HTTP 200, got 503',
    });
  });

  it('a connection error is a SYSTEM failure: retried with backoff, FAILED when attempts run out', async () => {
    // Driven step by step (no loops): each attempt is claimed once its delay has passed.
    const backoff = { retryBaseMs: 50, retryMaxMs: 300 };
    engine = createEngine(database, { executor: { ...PRODUCTION_LEASE, ...backoff } });
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(await closedPortUrl()), nextRunAt: null, maxFailures: 10 },
    ]);
    const jobId = await insertManualJob(database, wf!, userId, 5);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await waitFor(async () => (await engine.executor!.claimOnce()) === 1);
      const after = await waitFor(async () => {
        const job = await jobById(database, jobId);
        return job.status !== 'RUNNING' ? job : null;
      });
      expect(after).toMatchObject({
        attempts: attempt,
        error_kind: 'SYSTEM',
        error_code: 'CONNECTION_FAILED',
      });
      if (after.status === 'FAILED') break;
      expect(after.status).toBe('PENDING');
      // next_attempt_at and updated_at come from one now(): their difference is the delay.
      delays.push(after.next_attempt_at!.getTime() - after.updated_at.getTime());
    }
    // Doubles from retryBaseMs, capped at retryMaxMs; the last attempt is not retried.
    expect(delays).toEqual([50, 100, 200, 300]);
    const job = await jobById(database, jobId);
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 5,
      error_kind: 'SYSTEM',
      error_code: 'CONNECTION_FAILED',
      next_attempt_at: null,
    });
    expect(job.error_message).toMatch(/ECONNREFUSED/);
  });

  it('terminates a workflow after N consecutive failures, once, and cancels its pending jobs', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: heartbeat(`${target.url}/status/500`),
        intervalMinutes: 60,
        nextRunAt: null,
        maxFailures: 2,
      },
    ]);
    const first = await finalJob(database, await insertManualJob(database, wf!, userId));
    expect(first.status).toBe('FAILED');
    // A job queued for later: the termination cancels it before it runs.
    const queued = await insertManualJob(database, wf!, userId);
    await database.db
      .updateTable('jobs')
      .set({ scheduled_at: new Date(Date.now() + 3_600_000) })
      .where('id', '=', queued)
      .execute();
    await finalJob(database, await insertManualJob(database, wf!, userId));
    const workflow = await waitFor(async () => {
      const w = await database.db
        .selectFrom('workflows')
        .selectAll()
        .where('id', '=', wf!)
        .executeTakeFirstOrThrow();
      return w.terminated_at ? w : null;
    });
    expect(workflow.consecutive_job_failures_count).toBe(2);
    expect(await jobById(database, queued)).toMatchObject({
      status: 'CANCELED',
      attempts: 0,
      started_at: null,
    });
    const terminate = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', wf!)
      .where('event_type', '=', 'TERMINATE')
      .execute();
    expect(terminate.map((t) => t.payload)).toEqual([
      expect.objectContaining({ reason: 'auto', consecutive_failures: 2 }),
    ]);
    // The completion counted the failures and wrote the limit event once, for the second.
    const reached = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', wf!)
      .where('event_type', '=', 'FAILURE_LIMIT_REACHED')
      .execute();
    expect(reached).toHaveLength(1);
    expect(reached[0]!.payload).toMatchObject({
      workflow_id: wf!,
      consecutive_failures: 2,
      max_consecutive_failures: 2,
    });
    // A redelivered FAILURE_LIMIT_REACHED changes nothing: no second TERMINATE, the count holds.
    await engine.worker.handle([
      {
        id: 'redelivered',
        topic: 'workflows',
        key: wf!,
        type: 'FAILURE_LIMIT_REACHED',
        payload: reached[0]!.payload as Record<string, unknown>,
      },
    ]);
    const after = await database.db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(after.consecutive_job_failures_count).toBe(2);
    expect(after.terminated_at).toEqual(workflow.terminated_at);
    const terminates = await database.db
      .selectFrom('outbox')
      .select('id')
      .where('key', '=', wf!)
      .where('event_type', '=', 'TERMINATE')
      .execute();
    expect(terminates).toHaveLength(1);
  });

  /**
   * A crashed executor's attempt of a job of a new workflow (failure limit 1): RUNNING, its only
   * attempt used, its lease run out.
   */
  async function crashedOnLastAttempt(trigger: 'MANUAL' | 'BACKFILL') {
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/ok`), nextRunAt: null, maxFailures: 1 },
    ]);
    const jobId = await insertManualJob(database, wf!, userId, 1);
    await database.db
      .updateTable('jobs')
      .set({
        trigger,
        status: 'RUNNING',
        attempts: 1,
        lease_owner: 'crashed-executor',
        lease_expires_at: new Date(Date.now() - 1_000),
        started_at: new Date(),
      })
      .where('id', '=', jobId)
      .execute();
    return { wf, jobId };
  }

  it('a lease that expired on the last attempt fails the job (LEASE_EXPIRED), counts for the failure policy and can terminate', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    const { wf, jobId } = await crashedOnLastAttempt('MANUAL');
    expect(await engine.executor!.rescueOnce()).toBe(1);
    const job = await database.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({
      status: 'FAILED',
      error_kind: 'SYSTEM',
      error_code: 'LEASE_EXPIRED',
      lease_owner: null,
    });
    const outbox = await database.db
      .selectFrom('outbox')
      .select(['topic', 'event_type'])
      .where('key', '=', wf!)
      .orderBy('id')
      .execute();
    expect(outbox).toEqual([
      { topic: 'workflows', event_type: 'FAILURE_LIMIT_REACHED' },
      { topic: 'analytics', event_type: 'JOB_FINISHED' },
    ]);
    const workflow = await database.db
      .selectFrom('workflows')
      .select('consecutive_job_failures_count')
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(workflow.consecutive_job_failures_count).toBe(1);
    // Nothing more to rescue: the job left RUNNING once.
    expect(await engine.executor!.rescueOnce()).toBe(0);
  });

  it("a backfill's run whose lease expired on its last attempt fails without counting against the live schedule", async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    const { wf, jobId } = await crashedOnLastAttempt('BACKFILL');
    expect(await engine.executor!.rescueOnce()).toBe(1);
    expect(await jobById(database, jobId)).toMatchObject({ status: 'FAILED', error_code: 'LEASE_EXPIRED' });
    // Its fact, and nothing of the failure policy: the limit of 1 is not reached.
    const outbox = await database.db
      .selectFrom('outbox')
      .select(['topic', 'event_type'])
      .where('key', '=', wf!)
      .execute();
    expect(outbox).toEqual([{ topic: 'analytics', event_type: 'JOB_FINISHED' }]);
    const workflow = await database.db
      .selectFrom('workflows')
      .select(['consecutive_job_failures_count', 'terminated_at'])
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(workflow).toEqual({ consecutive_job_failures_count: 0, terminated_at: null });
  });

  it('counts JOB_FAILED events left in the outbox by earlier versions once each', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/ok`), nextRunAt: null, maxFailures: 5 },
    ]);
    const legacy = (id: string) => ({
      id,
      topic: 'workflows' as const,
      key: wf!,
      type: 'JOB_FAILED',
      payload: { workflow_id: wf!, job_id: 'legacy-job' },
    });
    await engine.worker.handle([legacy('1')]);
    await engine.worker.handle([legacy('2')]);
    const after = await database.db
      .selectFrom('workflows')
      .select('consecutive_job_failures_count')
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(after.consecutive_job_failures_count).toBe(1);
  });

  it('a success resets the consecutive failure count', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/status/500`), nextRunAt: null, maxFailures: 5 },
    ]);
    await finalJob(database, await insertManualJob(database, wf!, userId));
    await waitFor(
      async () =>
        (
          await database.db
            .selectFrom('workflows')
            .select('consecutive_job_failures_count')
            .where('id', '=', wf!)
            .executeTakeFirstOrThrow()
        ).consecutive_job_failures_count === 1,
    );
    await database.db
      .updateTable('workflows')
      .set({ payload: JSON.stringify(heartbeat(`${target.url}/ok`)) })
      .where('id', '=', wf!)
      .execute();
    await finalJob(database, await insertManualJob(database, wf!, userId));
    await waitFor(
      async () =>
        (
          await database.db
            .selectFrom('workflows')
            .select('consecutive_job_failures_count')
            .where('id', '=', wf!)
            .executeTakeFirstOrThrow()
        ).consecutive_job_failures_count === 0,
    );
  });

  it('never runs two jobs of one workflow at once: they queue, earliest first', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    // A path of this test alone: the target counts its requests answered at once.
    const path = '/slow/151';
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}${path}`), nextRunAt: null },
    ]);
    const claimed: string[] = [];
    engine.events.on('executor:job:claimed', (e) => {
      if (e.workflowId === wf) claimed.push(e.jobId);
    });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await insertManualJob(database, wf!, userId));
    engine.start();
    const jobs = [];
    for (const id of ids) jobs.push(await finalJob(database, id));
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual([
      ['COMPLETED', 1],
      ['COMPLETED', 1],
      ['COMPLETED', 1],
    ]);
    // One after the other, earliest first: the target never had two of them at once.
    expect(claimed).toEqual(ids);
    expect(target.inFlight.get(path)!.most).toBe(1);
  });

  it('builds a HEARTBEAT workflow from its BUILD event and anchors the first run one interval later', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: heartbeat(`${target.url}/ok`),
        intervalMinutes: 5,
        nextRunAt: null,
        buildStatus: 'QUEUED',
      },
    ]);
    const built = engine.events.next('workflow:build:finished', { filter: (e) => e.workflowId === wf });
    await requestBuild(database, wf!);
    engine.events.emit('outbox:written', { count: 1 });
    expect(await built).toEqual({ workflowId: wf, status: 'COMPLETED' });
    const w = await database.db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(w.build_status).toBe('COMPLETED');
    const delta = w.next_run_at!.getTime() - w.updated_at.getTime();
    expect(delta).toBe(5 * 60_000);
  });

  it('a CONTAINER build without a container runtime fails with the reason stored', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: { image: 'alpine:3.20' },
        intervalMinutes: 5,
        nextRunAt: null,
        buildStatus: 'QUEUED',
      },
    ]);
    const built = engine.events.next('workflow:build:finished', { filter: (e) => e.workflowId === wf });
    await requestBuild(database, wf!);
    engine.events.emit('outbox:written', { count: 1 });
    expect((await built).status).toBe('FAILED');
    const w = await database.db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', wf!)
      .executeTakeFirstOrThrow();
    expect(w.build_error).toMatch(/no container runtime/);
  });

  it('turns a due schedule into a job that runs (scheduler → outbox → executor)', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/ok`), intervalMinutes: 60, nextRunAt: new Date() },
    ]);
    engine.events.emit('schedules:changed', { workflowId: wf! });
    const job = await waitFor(async () =>
      (await jobsOf(database.db, wf!)).find((j) => j.status === 'COMPLETED'),
    );
    expect(job.trigger).toBe('AUTOMATIC');
    expect(job.started_at!.getTime()).toBeGreaterThanOrEqual(job.scheduled_at.getTime());
  });

  it('rescues a job whose executor died (lease expired): it runs again, once, with attempts counted', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/ok`), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    // A "dead" executor claims it with a 200 ms lease and never renews.
    const claimed = await jobsClaim(database.db, 'dead-executor', 10, 200);
    expect(claimed.map((c) => c.id)).toContain(jobId);
    engine.start();
    const job = await finalJob(database, jobId);
    expect(job).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(await jobsOf(database.db, wf!)).toHaveLength(1);
  });

  it('cancels a running job at once, and the executor writes nothing over it', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/hang`, { timeout: '1m' }), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    await engine.events.next('executor:job:claimed', { filter: (e) => e.jobId === jobId });
    // The jobs service cancels and tells this process's executor (job:cancel-requested).
    await engine.jobs.cancel(userId, wf!, jobId);
    await waitFor(async () => engine.executor!.runningJobIds.length === 0);
    expect((await jobById(database, jobId)).status).toBe('CANCELED');
  });

  it('notices a cancel made elsewhere at the next lease renewal', async () => {
    // Renewals often, under a lease that cannot run out meanwhile.
    engine = createEngine(database, { executor: { leaseMs: 30_000, renewIntervalMs: 300 } });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/hang`, { timeout: '1m' }), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    await engine.events.next('executor:job:claimed', { filter: (e) => e.jobId === jobId });
    const lost = engine.events.next('executor:lease:lost', { filter: (e) => e.jobId === jobId });
    // Canceled by another process's jobs service: its wake-up never reaches this executor.
    const elsewhere = new JobsService(database.db, systemClock, new Events(), { idempotencyTtlMs: 60_000 });
    await elsewhere.cancel(userId, wf!, jobId);
    await lost;
    await waitFor(async () => engine.executor!.runningJobIds.length === 0);
    expect((await jobById(database, jobId)).status).toBe('CANCELED');
  });

  it('hands running jobs back on stop when they outlast the soft stop', async () => {
    engine = createEngine(database, { executor: { ...PRODUCTION_LEASE, softStopMs: 100 } });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: heartbeat(`${target.url}/hang`, { timeout: '1m' }), nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    await engine.events.next('executor:job:claimed', { filter: (e) => e.jobId === jobId });
    await engine.stop();
    expect(await jobById(database, jobId)).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      lease_owner: null,
    });
    await engine.jobs.cancel(userId, wf!, jobId);
  });
});

/**
 * An executor whose lease ran out while its job still runs here. Two guards keep the job from
 * running twice in one executor and the late result from landing on the next attempt; each step
 * below fails when its guard is removed:
 * - the claim's exclusion of jobs the executor still runs (`j.id <> ALL(exclude)` in jobsClaim);
 * - the completion's attempt guard (`j.attempts = v.attempt` in the completer's statement).
 * Driven step by step (claimOnce, rescueOnce), no loops: nothing depends on timing.
 */
describe('an executor that lost its lease while its job still runs (PostgreSQL)', () => {
  it('does not claim the job again while running it, and its late result does not land on the next attempt', async () => {
    const database = await createTestDatabase('postgres');
    const target = await startTarget();
    const engine = createEngine(database, { executor: { leaseMs: 30_000, renewIntervalMs: 10_000 } });
    try {
      const userId = await insertUser(database.db);
      const [wf] = await insertWorkflows(database.db, [
        { userId, payload: heartbeat(`${target.url}/gate`, { timeout: '1m' }), nextRunAt: null },
      ]);
      const jobId = await insertManualJob(database, wf!, userId);
      const claims: number[] = [];
      engine.events.on('executor:job:claimed', (e) => {
        if (e.jobId === jobId) claims.push(e.attempt);
      });
      const finished: string[] = [];
      engine.events.on('executor:job:finished', (e) => {
        if (e.jobId === jobId) finished.push(e.status);
      });
      const executor = engine.executor!;
      expect(await executor.claimOnce()).toBe(1);
      await waitFor(async () => target.hits.get('/gate') === 1);
      // The renewals stalled past the lease: another executor's rescue hands the job back
      // (PENDING, due at once) while attempt 1 is still waiting for its answer here.
      await sql`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${jobId}`.execute(
        database.db,
      );
      expect(await executor.rescueOnce()).toBe(1);
      expect(await jobById(database, jobId)).toMatchObject({ status: 'PENDING', attempts: 1 });

      // Guard 1, the claim's exclusion: this executor does not start the job a second time.
      expect(await executor.claimOnce()).toBe(0);
      expect(claims).toEqual([1]);
      expect(executor.runningJobIds).toEqual([jobId]);
      expect(await jobById(database, jobId)).toMatchObject({
        status: 'PENDING',
        attempts: 1,
        lease_owner: null,
      });

      // Guard 2, the completion's attempt: attempt 2 is leased under this executor's own id
      // (what a claim without guard 1 would do); attempt 1's late result must not land on it.
      const second = await jobsClaim(database.db, executor.id, 10, 30_000);
      expect(second.map((c) => [c.id, c.attempts])).toEqual([[jobId, 2]]);
      target.release();
      await waitFor(async () => executor.runningJobIds.length === 0);
      await engine.stop(); // drains the completer: attempt 1's result was written or refused
      expect(finished).toEqual([]);
      expect(await jobById(database, jobId)).toMatchObject({
        status: 'RUNNING',
        attempts: 2,
        lease_owner: executor.id,
        http_status_code: null,
        completed_at: null,
      });
      const facts = await database.db
        .selectFrom('outbox')
        .select('event_type')
        .where('key', '=', wf!)
        .where('event_type', '=', 'JOB_FINISHED')
        .execute();
      expect(facts).toEqual([]);
    } finally {
      await engine.stop();
      await target.close();
      await database.close();
    }
  });
});

/**
 * Backfill through the real engine on both engines (docs/scheduling.md "Backfill"): 1,000 fire
 * times of a one-minute schedule run as BACKFILL jobs against a heartbeat target on 127.0.0.1, and
 * the server's own count of the backfill's unfinished jobs, sampled all along, never exceeds
 * max_parallel; a cancel ends the running ones and creates no more. The API's validation is in
 * test/api/backfill.test.ts.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_POLICY_DEFAULTS } from '../../src/domain/container-policy.ts';
import { systemClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import type { BackfillView } from '../../src/services/backfills/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import { insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';

const MINUTE = 60_000;

describe.each(ENGINES)('backfill (%s)', (engineName) => {
  let database: Database;
  let engine: Engine;
  let workflows: WorkflowsService;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    userId = await insertUser(database.db);
    engine = createEngine(database, { executor: { heartbeatConcurrency: 16 } });
    workflows = new WorkflowsService(
      database.db,
      systemClock,
      {
        idempotencyTtlMs: 60_000,
        policy: {
          outbound: { allowPrivateNetworks: true, ownPorts: new Set(), ownAddresses: new Set() },
          containers: CONTAINER_POLICY_DEFAULTS,
        },
      },
      engine.events,
    );
    engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    await target.close();
    await database.close();
  });

  /** A one-minute workflow calling `path` on the target, not due for a day (only backfills run). */
  async function workflowCalling(path: string) {
    const [id] = await insertWorkflows(database.db, [
      {
        userId,
        intervalMinutes: 1,
        nextRunAt: new Date(Date.now() + 24 * 60 * MINUTE),
        payload: {
          endpoint: `${target.url}${path}`,
          method: 'GET',
          headers: {},
          body: null,
          expected_status_code: 200,
          timeout: '10s',
        },
      },
    ]);
    return id!;
  }

  async function unfinished(backfillId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM jobs
      WHERE backfill_id = ${backfillId} AND status IN ('PENDING', 'QUEUED', 'RUNNING')`.execute(database.db);
    return rows[0]!.n;
  }

  it('runs 1,000 fire times with never more than max_parallel of them unfinished', async () => {
    const id = await workflowCalling('/slow/5');
    const now = Date.now();
    const created = await workflows.backfill(userId, id, {
      from: new Date(now - 1000 * MINUTE).toISOString(),
      to: new Date(now).toISOString(),
      max_parallel: 4,
    });
    if (created.dry_run) throw new Error('not a dry run');
    const backfill = created.backfill;
    expect(backfill).toMatchObject({
      fire_times: 1000,
      max_parallel: 4,
      status: 'RUNNING',
      overlap: 'ALLOW_ALL',
    });
    // Created with its first places filled, in the request's transaction.
    expect(backfill.progress.not_created).toBe(996);

    let most = 0;
    let samples = 0;
    const done = await waitFor(async () => {
      most = Math.max(most, await unfinished(backfill.id));
      samples++;
      const view = await workflows.getBackfill(userId, id, backfill.id);
      return view.status === 'COMPLETED' ? view : null;
    }, 240_000);
    expect(samples).toBeGreaterThan(10);
    expect(most).toBeLessThanOrEqual(4);
    expect(target.inFlight.get('/slow/5')!.most).toBeLessThanOrEqual(4);
    // It did run them side by side.
    expect(target.inFlight.get('/slow/5')!.most).toBeGreaterThanOrEqual(2);
    expect(done.progress).toEqual({
      not_created: 0,
      waiting: 0,
      running: 0,
      completed: 1000,
      failed: 0,
      canceled: 0,
    });
    const jobs = await database.db
      .selectFrom('jobs')
      .select(['trigger', 'scheduled_at'])
      .where('backfill_id', '=', backfill.id)
      .orderBy('scheduled_at')
      .execute();
    expect(jobs).toHaveLength(1000);
    expect(new Set(jobs.map((j) => j.trigger))).toEqual(new Set(['BACKFILL']));
    // The schedule's own minutes in the range, each once.
    expect(new Set(jobs.map((j) => j.scheduled_at.getTime())).size).toBe(1000);
    expect(jobs[999]!.scheduled_at.getTime() - jobs[0]!.scheduled_at.getTime()).toBe(999 * MINUTE);
    // Not recorded in the tick ledger (the live schedule's).
    const ticks = await database.db
      .selectFrom('workflow_ticks')
      .select('nominal_at')
      .where('workflow_id', '=', id)
      .execute();
    expect(ticks).toEqual([]);
  }, 300_000);

  it("failed runs do not count against the live schedule's failure limit", async () => {
    const id = await workflowCalling('/status/500');
    const now = Date.now();
    const created = await workflows.backfill(userId, id, {
      from: new Date(now - 5 * MINUTE).toISOString(),
      to: new Date(now).toISOString(),
      max_parallel: 5,
    });
    if (created.dry_run) throw new Error('not a dry run');
    const done = await waitFor(async () => {
      const view = await workflows.getBackfill(userId, id, created.backfill.id);
      return view.status === 'COMPLETED' ? view : null;
    }, 60_000);
    // Five failures (each after its retries), the limit is 3: the workflow goes on.
    expect(done.progress.failed).toBe(5);
    const w = await database.db
      .selectFrom('workflows')
      .select(['terminated_at', 'consecutive_job_failures_count'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(w).toEqual({ terminated_at: null, consecutive_job_failures_count: 0 });
  }, 90_000);

  it('cancel ends its running runs and creates no more', async () => {
    const id = await workflowCalling('/hang');
    const now = Date.now();
    const created = await workflows.backfill(userId, id, {
      from: new Date(now - 50 * MINUTE).toISOString(),
      to: new Date(now).toISOString(),
      max_parallel: 3,
    });
    if (created.dry_run) throw new Error('not a dry run');
    const bid = created.backfill.id;
    await waitFor(async () => (await workflows.getBackfill(userId, id, bid)).progress.running === 3);
    const canceled: BackfillView = await workflows.cancelBackfill(userId, id, bid);
    expect(canceled.status).toBe('CANCELED');
    expect(canceled.finished_at).not.toBeNull();
    expect(canceled.progress).toMatchObject({ not_created: 47, waiting: 0, running: 0, canceled: 3 });
    // A few scheduler rounds later, still nothing new (the sweep passes over canceled backfills).
    await new Promise((r) => setTimeout(r, 400));
    expect(await unfinished(bid)).toBe(0);
    const again = await workflows.cancelBackfill(userId, id, bid);
    expect(again.progress).toEqual(canceled.progress);
  }, 60_000);
});

/**
 * The guards of the hot-path statements, one test per guard: each row sets up the one situation
 * its guard is there for, and the test fails when that guard is removed from the statement (each
 * was removed once and seen failing). A control row shows the setup is claimable / writable /
 * due without the situation.
 *
 * Claim (jobsClaim, src/workers/executor/sql.ts, the `candidates` CTE):
 *   status      j.status IN ('PENDING', 'QUEUED')
 *   exclude     j.id <> ALL(exclude): jobs this executor still runs
 *   due         j.scheduled_at <= now()
 *   backoff     j.next_attempt_at IS NULL OR j.next_attempt_at <= now()
 *   running     NOT EXISTS sibling: e.status = 'RUNNING'
 *   earlier     NOT EXISTS sibling: (e.scheduled_at, e.id) < (j.scheduled_at, j.id)
 * Complete (Completer#statement, src/workers/executor/completer.ts, `locked` and `done`):
 *   status      j.status = 'RUNNING' (with owner: alone it is implied by owner, as the schema
 *               holds CHECK ((lease_owner IS NOT NULL) = (status = 'RUNNING')); its row fails when
 *               both are removed)
 *   owner       j.lease_owner = <this executor>
 *   attempt     j.attempts = v.attempt
 * Tick (Scheduler#runOnce, src/workers/scheduler/scheduler.ts, the due query and the insert):
 *   due         next_run_at <= now
 *   built       build_status = 'COMPLETED'
 *   terminated  terminated_at IS NULL
 *   paused      paused_at IS NULL
 *   once        ON CONFLICT (workflow_id, scheduled_at) WHERE trigger = 'AUTOMATIC' DO NOTHING
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { Completer, type Completion } from '../../src/workers/executor/completer.ts';
import { jobsClaim, jobsRescueExpired } from '../../src/workers/executor/sql.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { insertManualJob, insertUser, insertWorkflows, jobsOf } from '../helpers/fixtures.ts';
import type { WorkflowStatus } from '../../src/domain/workflow-status.ts';
import { createTestDatabase, TestClock } from '../helpers/harness.ts';

const OWNER = 'executor-under-test';
const logger = createLogger('silent');

describe('statement guards (PostgreSQL)', () => {
  let database: Database;
  let userId: string;
  let jobs: JobsService;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    userId = await insertUser(database.db);
    jobs = new JobsService(database.db, systemClock, new Events(), { idempotencyTtlMs: 60_000 });
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    // Each row starts with nothing claimable and no workflow due.
    await database.db
      .updateTable('jobs')
      .set({ status: 'CANCELED', completed_at: new Date(), lease_owner: null, lease_expires_at: null })
      .where('status', 'in', ['PENDING', 'QUEUED', 'RUNNING'])
      .execute();
    await database.db.updateTable('workflows').set({ next_run_at: null }).execute();
  });

  const jobOf = (id: string) =>
    database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** A PENDING job due now on a new workflow. */
  async function pendingJob(): Promise<{ jobId: string; workflowId: string }> {
    const [workflowId] = await insertWorkflows(database.db, [{ userId, nextRunAt: null }]);
    return { jobId: await insertManualJob(database, workflowId!, userId), workflowId: workflowId! };
  }

  describe('claim', () => {
    /** Each row: the job the claim must leave alone (or, for the control, take). */
    const CLAIM_GUARDS: {
      guard: string;
      setup: () => Promise<{ jobId: string; exclude?: string[] }>;
      claimed?: boolean;
    }[] = [
      { guard: 'control: a PENDING job due now is claimed', claimed: true, setup: pendingJob },
      {
        guard: 'status: a finished job is never claimed again',
        setup: async () => {
          const { jobId } = await pendingJob();
          await database.db
            .updateTable('jobs')
            .set({ status: 'COMPLETED', completed_at: new Date() })
            .where('id', '=', jobId)
            .execute();
          return { jobId };
        },
      },
      {
        guard: 'exclude: a job this executor still runs is not claimed by it',
        setup: async () => {
          const { jobId } = await pendingJob();
          return { jobId, exclude: [jobId] };
        },
      },
      {
        guard: 'due: a job scheduled later waits',
        setup: async () => {
          const { jobId } = await pendingJob();
          await database.db
            .updateTable('jobs')
            .set({ scheduled_at: new Date(Date.now() + 3_600_000) })
            .where('id', '=', jobId)
            .execute();
          return { jobId };
        },
      },
      {
        guard: 'backoff: a job in its retry delay waits',
        setup: async () => {
          const { jobId } = await pendingJob();
          await database.db
            .updateTable('jobs')
            .set({ next_attempt_at: new Date(Date.now() + 3_600_000) })
            .where('id', '=', jobId)
            .execute();
          return { jobId };
        },
      },
      {
        guard: 'running: a job waits while a sibling of its workflow runs (even one scheduled later)',
        setup: async () => {
          const { workflowId, jobId: first } = await pendingJob();
          expect((await jobsClaim(database.db, 'another-executor', 10, 60_000)).map((c) => c.id)).toEqual([
            first,
          ]);
          const jobId = await insertManualJob(database, workflowId, userId);
          // Scheduled before the running one: only the RUNNING sibling holds it back.
          await database.db
            .updateTable('jobs')
            .set({ scheduled_at: new Date(Date.now() - 60_000) })
            .where('id', '=', jobId)
            .execute();
          return { jobId };
        },
      },
      {
        guard: 'earlier: of two queued siblings only the earlier is claimed',
        setup: async () => {
          const { workflowId, jobId: earlier } = await pendingJob();
          const later = await insertManualJob(database, workflowId, userId);
          // Both due, the first strictly earlier whatever the clock's resolution.
          await database.db
            .updateTable('jobs')
            .set({ scheduled_at: new Date(Date.now() - 60_000) })
            .where('id', '=', earlier)
            .execute();
          return { jobId: later };
        },
      },
    ];

    it.each(CLAIM_GUARDS)('$guard', async ({ setup, claimed }) => {
      const { jobId, exclude } = await setup();
      const before = await jobOf(jobId);
      const result = await jobsClaim(database.db, OWNER, 10, 60_000, exclude ?? []);
      if (claimed) {
        expect(result.map((c) => c.id)).toEqual([jobId]);
        return;
      }
      expect(result.map((c) => c.id)).not.toContain(jobId);
      expect(await jobOf(jobId)).toMatchObject({
        status: before.status,
        attempts: before.attempts,
        lease_owner: before.lease_owner,
      });
    });
  });

  describe('complete', () => {
    const completion = (jobId: string, attempt: number): Completion => ({
      jobId,
      runId: null,
      outputs: null,
      attempt,
      status: 'COMPLETED',
      exitCode: null,
      httpStatusCode: 200,
      latencyMs: 1,
      errorKind: null,
      errorCode: null,
      errorMessage: null,
      retryDelayMs: null,
      traceHeaders: null,
    });

    /** A job this executor (OWNER) claimed: RUNNING, attempt 1. */
    async function claimedJob(owner = OWNER) {
      const job = await pendingJob();
      expect((await jobsClaim(database.db, owner, 10, 60_000)).map((c) => c.id)).toEqual([job.jobId]);
      return job;
    }

    /** Each row: the attempt whose result arrives, and what the row must look like after. */
    const COMPLETE_GUARDS: {
      guard: string;
      setup: () => Promise<{ jobId: string; attempt: number }>;
      written?: boolean;
    }[] = [
      {
        guard: 'control: the running attempt under our lease is written',
        written: true,
        setup: async () => ({ jobId: (await claimedJob()).jobId, attempt: 1 }),
      },
      {
        guard: 'status: a job canceled while it ran (through the service) stays CANCELED',
        setup: async () => {
          const { jobId, workflowId } = await claimedJob();
          await jobs.cancel(userId, workflowId, jobId);
          return { jobId, attempt: 1 };
        },
      },
      {
        guard: 'owner: a job leased by another executor is not ours to write',
        setup: async () => ({ jobId: (await claimedJob('another-executor')).jobId, attempt: 1 }),
      },
      {
        guard: 'attempt: an older attempt’s late result does not land on the newer attempt',
        setup: async () => {
          const { jobId } = await claimedJob();
          // Attempt 1's lease ran out; rescued, then claimed again by this same executor.
          await database.db
            .updateTable('jobs')
            .set({ lease_expires_at: new Date(Date.now() - 1_000) })
            .where('id', '=', jobId)
            .execute();
          expect((await jobsRescueExpired(database.db, 10)).map((r) => r.id)).toEqual([jobId]);
          const again = await jobsClaim(database.db, OWNER, 10, 60_000);
          expect(again.map((c) => [c.id, c.attempts])).toEqual([[jobId, 2]]);
          return { jobId, attempt: 1 };
        },
      },
    ];

    it.each(COMPLETE_GUARDS)('$guard', async ({ setup, written }) => {
      const { jobId, attempt } = await setup();
      const before = await jobOf(jobId);
      const completer = new Completer({ db: database.db, owner: OWNER, logger });
      expect(await completer.complete(completion(jobId, attempt))).toBe(written ?? false);
      await completer.drain();
      const after = await jobOf(jobId);
      if (written) {
        expect(after).toMatchObject({ status: 'COMPLETED', http_status_code: 200, lease_owner: null });
        return;
      }
      expect(after).toMatchObject({
        status: before.status,
        attempts: before.attempts,
        lease_owner: before.lease_owner,
        http_status_code: null,
      });
    });
  });

  describe('tick', () => {
    const T0 = Date.parse('2021-01-01T00:00:00Z');

    /** Each row: the workflow the tick must not start a run of (or, for the control, must). */
    const TICK_GUARDS: {
      guard: string;
      setup: (workflowId: string) => Promise<void>;
      runs?: number;
      /** The workflow still counts for the next wake-up. */
      stillDue?: boolean;
    }[] = [
      { guard: 'control: a built, due workflow gets its run', runs: 1, setup: async () => {} },
      {
        guard: 'due: a workflow due later gets none yet',
        stillDue: true,
        setup: (id) => setWorkflow(id, { next_run_at: new Date(T0 + 3_600_000) }),
      },
      {
        guard: 'built: a workflow whose build has not completed gets none',
        setup: (id) => setWorkflow(id, { build_status: 'QUEUED', state: 'BUILDING' }),
      },
      {
        guard: 'terminated: a terminated workflow gets none',
        setup: (id) => setWorkflow(id, { terminated_at: new Date(T0 - 60_000), state: 'TERMINATED' }),
      },
      {
        guard: 'paused: a paused workflow gets none',
        setup: (id) => setWorkflow(id, { paused_at: new Date(T0 - 60_000), state: 'PAUSED' }),
      },
      {
        guard: 'once: a tick whose run exists already does not start a second',
        runs: 1,
        stillDue: true,
        setup: async (id) => {
          // The tick ran once; the workflow's next run is put back on the same instant.
          const scheduler = new Scheduler({
            db: database.db,
            clock: new TestClock(T0),
            events: new Events(),
            logger,
          });
          expect((await scheduler.runOnce()).created).toBe(1);
          await setWorkflow(id, { next_run_at: new Date(T0) });
        },
      },
    ];

    async function setWorkflow(
      id: string,
      values: Partial<{
        next_run_at: Date;
        build_status: 'QUEUED';
        terminated_at: Date;
        paused_at: Date;
        state: WorkflowStatus;
      }>,
    ): Promise<void> {
      await database.db.updateTable('workflows').set(values).where('id', '=', id).execute();
    }

    it.each(TICK_GUARDS)('$guard', async ({ setup, runs, stillDue }) => {
      const [workflowId] = await insertWorkflows(database.db, [
        { userId, intervalMinutes: 60, nextRunAt: new Date(T0) },
      ]);
      await setup(workflowId!);
      const scheduler = new Scheduler({
        db: database.db,
        clock: new TestClock(T0),
        events: new Events(),
        logger,
      });
      const tick = await scheduler.runOnce();
      expect(await jobsOf(database.db, workflowId!)).toHaveLength(runs ?? 0);
      if (runs === undefined) expect(tick.created).toBe(0);
      // The next wake-up leaves out what the tick leaves out.
      if (runs === undefined && !stillDue) expect(tick.nextDueAt).toBeNull();
    });
  });
});

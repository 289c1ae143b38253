/**
 * Schedule policies applied by the real scheduler on both engines, driven by a test clock:
 * overlap (what a fire time does while runs are unfinished), catch-up after an outage, jitter, DST.
 * The rules themselves are unit-tested in src/domain/schedule-policy.test.ts and catch-up.test.ts;
 * here the SQL that reads the unfinished jobs, cancels them and writes the new ones.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jitterMs, type SchedulePolicyInput } from '../../src/domain/schedule-policy.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { insertManualJob, insertUser, insertWorkflows, jobsOf, snapshotOf } from '../helpers/fixtures.ts';
import { newId } from '../../src/platform/ids.ts';
import { jobsClaim } from '../../src/workers/executor/sql.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const START = Date.parse('2021-01-01T00:00:00Z');
const MINUTE = 60_000;
const logger = createLogger('silent');

describe.each(ENGINES)('schedule policies (%s)', (engine) => {
  let database: Database;
  let userId: string;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());
  // One workflow per case: the ones of earlier cases stop being due, so each tick counts one.
  afterEach(async () => {
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('terminated_at', 'is', null)
      .execute();
  });

  /** A one-minute interval workflow due at START with `policy`, its own scheduler and clock. */
  async function workflowWith(policy?: SchedulePolicyInput) {
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 1, nextRunAt: new Date(START), ...(policy ? { policy } : {}) },
    ]);
    const clock = new TestClock(START);
    const events = new Events();
    const scheduler = new Scheduler({ db: database.db, clock, events, logger });
    /** Moves the clock to `minutes` after START (plus a little) and ticks. */
    const tickAt = async (minutes: number) => {
      clock.advance(START + minutes * MINUTE + 100 - clock.now().getTime());
      return scheduler.runOnce();
    };
    const statuses = async () => (await jobsOf(database.db, id!)).map((j) => j.status);
    return { id: id!, clock, events, scheduler, tickAt, statuses };
  }

  async function setStatus(jobId: string, status: 'RUNNING' | 'COMPLETED') {
    const now = new Date();
    await database.db
      .updateTable('jobs')
      .set(
        status === 'RUNNING'
          ? {
              status,
              attempts: 1,
              lease_owner: 'test',
              lease_expires_at: new Date(now.getTime() + MINUTE),
              started_at: now,
            }
          : { status, completed_at: now, lease_owner: null, lease_expires_at: null },
      )
      .where('id', '=', jobId)
      .execute();
  }

  it('BUFFER_ALL (the default) queues a run for every fire time', async () => {
    const w = await workflowWith();
    for (const minute of [0, 1, 2])
      expect(await w.tickAt(minute)).toMatchObject({ created: 1, skippedOverlap: 0 });
    expect(await w.statuses()).toEqual(['PENDING', 'PENDING', 'PENDING']);
  });

  it('ALLOW_ALL: runs that outlast their interval run side by side; under BUFFER_ALL never two at once', async () => {
    const most: Record<string, number> = {};
    for (const overlap of ['ALLOW_ALL', 'BUFFER_ALL'] as const) {
      const w = await workflowWith({ overlap });
      most[overlap] = 0;
      for (const minute of [0, 1, 2, 3]) {
        expect(await w.tickAt(minute)).toMatchObject({ created: 1 });
        // An executor with free places claims after every tick; no run finishes (each outlasts
        // its one-minute interval). The claim is the real one, with the unique index behind it.
        await jobsClaim(database.db, `overlap-${overlap}`, 10, 10 * MINUTE);
        const running = (await w.statuses()).filter((s) => s === 'RUNNING').length;
        most[overlap] = Math.max(most[overlap], running);
      }
      const jobs = await jobsOf(database.db, w.id);
      expect(jobs.every((j) => j.concurrent === (overlap === 'ALLOW_ALL'))).toBe(true);
    }
    expect(most).toEqual({ ALLOW_ALL: 4, BUFFER_ALL: 1 });
  });

  it("SKIP is not held back by a backfill's concurrent runs (overlap ALLOW_ALL)", async () => {
    const w = await workflowWith({ overlap: 'SKIP' });
    await database.db
      .insertInto('jobs')
      .values({
        id: newId(),
        workflow_id: w.id,
        user_id: userId,
        workflow_generation: 1,
        ...snapshotOf(w.id),
        trigger: 'BACKFILL',
        scheduled_at: new Date(START - 60 * MINUTE),
        concurrent: true,
        status: 'RUNNING',
        attempts: 1,
        lease_owner: 'test',
        lease_expires_at: new Date(Date.now() + MINUTE),
        started_at: new Date(),
      })
      .execute();
    expect(await w.tickAt(0)).toMatchObject({ created: 1, skippedOverlap: 0 });
  });

  it('SKIP gives a fire time no run while one is queued or running, and runs again once it finished', async () => {
    const w = await workflowWith({ overlap: 'SKIP' });
    expect(await w.tickAt(0)).toMatchObject({ created: 1 });
    // Queued, not started: still unfinished.
    expect(await w.tickAt(1)).toMatchObject({ created: 0, skippedOverlap: 1 });
    const [first] = await jobsOf(database.db, w.id);
    await setStatus(first!.id, 'RUNNING');
    expect(await w.tickAt(2)).toMatchObject({ created: 0, skippedOverlap: 1 });
    await setStatus(first!.id, 'COMPLETED');
    expect(await w.tickAt(3)).toMatchObject({ created: 1, skippedOverlap: 0 });
    const jobs = await jobsOf(database.db, w.id);
    expect(jobs.map((j) => [j.scheduled_at.toISOString(), j.status])).toEqual([
      ['2021-01-01T00:00:00.000Z', 'COMPLETED'],
      ['2021-01-01T00:03:00.000Z', 'PENDING'],
    ]);
  });

  it('BUFFER_ONE keeps at most one run waiting behind the running one', async () => {
    const w = await workflowWith({ overlap: 'BUFFER_ONE' });
    await w.tickAt(0);
    const [first] = await jobsOf(database.db, w.id);
    await setStatus(first!.id, 'RUNNING');
    expect(await w.tickAt(1)).toMatchObject({ created: 1, skippedOverlap: 0 });
    expect(await w.tickAt(2)).toMatchObject({ created: 0, skippedOverlap: 1 });
    expect(await w.tickAt(3)).toMatchObject({ created: 0, skippedOverlap: 1 });
    await setStatus(first!.id, 'COMPLETED');
    // The buffered run is now the next to start; one more may wait behind it.
    expect(await w.tickAt(4)).toMatchObject({ created: 1 });
    expect(await w.statuses()).toEqual(['COMPLETED', 'PENDING', 'PENDING']);
  });

  it('CANCEL_OTHER cancels the unfinished runs in the tick that creates the new one, with their facts', async () => {
    const w = await workflowWith({ overlap: 'CANCEL_OTHER' });
    await w.tickAt(0);
    const [first] = await jobsOf(database.db, w.id);
    await setStatus(first!.id, 'RUNNING');
    const cancelRequested = w.events.next('job:cancel-requested');
    expect(await w.tickAt(1)).toMatchObject({ created: 1, canceled: 1 });
    expect(await cancelRequested).toEqual({ jobId: first!.id });
    const jobs = await jobsOf(database.db, w.id);
    expect(jobs.map((j) => j.status)).toEqual(['CANCELED', 'PENDING']);
    expect(jobs[0]).toMatchObject({ lease_owner: null, lease_expires_at: null });
    expect(jobs[0]!.completed_at).not.toBeNull();
    const facts = await database.db
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'JOB_FINISHED')
      .where('key', '=', w.id)
      .execute();
    expect(facts.map((f) => (f.payload as { job_id: string; status: string }).job_id)).toEqual([first!.id]);
    // Nothing unfinished: nothing canceled.
    await setStatus(jobs[1]!.id, 'RUNNING');
    await setStatus(jobs[1]!.id, 'COMPLETED');
    expect(await w.tickAt(2)).toMatchObject({ created: 1, canceled: 0 });
  });

  it('dst: the scheduler runs a spring-gap time after the gap by default, skips it under SKIP, and runs both autumn occurrences under BOTH', async () => {
    const berlin = (nextRunAt: string, policy?: SchedulePolicyInput) => ({
      userId,
      cron: { expression: '30 2 * * *', timezone: 'Europe/Berlin' },
      nextRunAt: new Date(nextRunAt),
      ...(policy ? { policy } : {}),
    });
    const [byDefault, skip, both] = await insertWorkflows(database.db, [
      berlin('2027-03-27T01:30:00Z'),
      berlin('2027-03-27T01:30:00Z', { dst: { gap: 'SKIP' } }),
      berlin('2027-10-31T00:30:00Z', { dst: { overlap: 'BOTH' } }),
    ]);
    const clock = new TestClock(Date.parse('2027-03-27T01:30:00.100Z'));
    const scheduler = new Scheduler({ db: database.db, clock, events: new Events(), logger });
    const tickAt = async (iso: string) => {
      clock.advance(Date.parse(iso) + 100 - clock.now().getTime());
      return scheduler.runOnce();
    };
    const fireTimes = async (id: string) =>
      (await jobsOf(database.db, id)).map((j) => j.scheduled_at.toISOString());

    await tickAt('2027-03-27T01:30:00Z'); // 02:30 CET, an ordinary day
    await tickAt('2027-03-28T01:00:00Z'); // 03:00 CEST: 02:30 did not exist
    await tickAt('2027-03-29T00:30:00Z'); // 02:30 CEST
    expect(await fireTimes(byDefault!)).toEqual([
      '2027-03-27T01:30:00.000Z',
      '2027-03-28T01:00:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ]);
    expect(await fireTimes(skip!)).toEqual(['2027-03-27T01:30:00.000Z', '2027-03-29T00:30:00.000Z']);

    await tickAt('2027-10-31T00:30:00Z'); // 02:30 CEST
    await tickAt('2027-10-31T01:30:00Z'); // 02:30 CET, the same wall-clock time again
    expect(await fireTimes(both!)).toEqual(['2027-10-31T00:30:00.000Z', '2027-10-31T01:30:00.000Z']);
  });

  it('catch-up ALL runs every fire time missed during an outage of 10 intervals, each on its own time', async () => {
    const w = await workflowWith({ catch_up: { mode: 'ALL' } });
    expect(await w.tickAt(10)).toMatchObject({ created: 11, skipped: 0 });
    const jobs = await jobsOf(database.db, w.id);
    expect(jobs.map((j) => (j.scheduled_at.getTime() - START) / MINUTE)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(jobs.every((j) => j.trigger === 'AUTOMATIC' && j.skipped_ticks === 0)).toBe(true);
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', w.id)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at!.getTime()).toBe(START + 11 * MINUTE);
  });

  it('catch-up ALL with max_runs keeps the most recent and counts the others on the first run', async () => {
    const w = await workflowWith({ catch_up: { mode: 'ALL', max_runs: 3 } });
    expect(await w.tickAt(10)).toMatchObject({ created: 3, skipped: 8 });
    const jobs = await jobsOf(database.db, w.id);
    expect(jobs.map((j) => [(j.scheduled_at.getTime() - START) / MINUTE, j.skipped_ticks])).toEqual([
      [8, 8],
      [9, 0],
      [10, 0],
    ]);
  });

  it('catch-up ALL under SKIP: the first missed fire time runs, the others would overlap it', async () => {
    const w = await workflowWith({ overlap: 'SKIP', catch_up: { mode: 'ALL' } });
    expect(await w.tickAt(10)).toMatchObject({ created: 1, skippedOverlap: 10 });
    const [job] = await jobsOf(database.db, w.id);
    expect(job!.scheduled_at.getTime()).toBe(START);
  });

  it('catch-up NONE runs none of the fire times missed during an outage, only the one due now', async () => {
    const w = await workflowWith({ catch_up: { mode: 'NONE' } });
    expect(await w.tickAt(10)).toMatchObject({ created: 1, skipped: 10 });
    const [job] = await jobsOf(database.db, w.id);
    expect(job!.scheduled_at.getTime()).toBe(START + 10 * MINUTE);
    expect(await w.tickAt(11)).toMatchObject({ created: 1, skipped: 0 });
  });

  it('catch-up NONE runs nothing when even the latest fire time is later than its window', async () => {
    const w = await workflowWith({ catch_up: { mode: 'NONE', window_seconds: 10 } });
    expect(await w.tickAt(10.5)).toMatchObject({ created: 0, skipped: 11 });
    expect(await w.statuses()).toEqual([]);
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', w.id)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at!.getTime()).toBe(START + 11 * MINUTE);
  });

  it('jitter delays each run by its deterministic offset and keeps the fire times on the grid', async () => {
    const w = await workflowWith({ jitter_seconds: 45 });
    for (const minute of [0, 1, 2, 3]) await w.tickAt(minute);
    const jobs = await jobsOf(database.db, w.id);
    expect(jobs).toHaveLength(4);
    for (const [i, job] of jobs.entries()) {
      const nominal = new Date(START + i * MINUTE);
      const delay = job.scheduled_at.getTime() - nominal.getTime();
      expect(delay).toBe(jitterMs(w.id, nominal, 45));
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(45_000);
    }
    // Four fire times, four different offsets (a constant offset would not spread a burst).
    expect(new Set(jobs.map((j) => j.scheduled_at.getTime() % MINUTE)).size).toBe(4);
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', w.id)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at!.getTime()).toBe(START + 4 * MINUTE);
  });

  it('starting deadline: a run still waiting after it ends CANCELED with MISSED_DEADLINE, with its fact', async () => {
    const w = await workflowWith({ starting_deadline_seconds: 30 });
    await w.tickAt(0);
    const [job] = await jobsOf(database.db, w.id);
    expect(job!.start_by!.getTime()).toBe(START + 30_000);
    // 24 s late: still within its deadline.
    expect(await w.tickAt(0.4)).toMatchObject({ missedDeadline: 0 });
    expect(await w.statuses()).toEqual(['PENDING']);
    // 30.1 s late: past it.
    expect(await w.tickAt(0.5)).toMatchObject({ missedDeadline: 1 });
    const [missed] = await jobsOf(database.db, w.id);
    expect(missed).toMatchObject({
      status: 'CANCELED',
      error_kind: 'SYSTEM',
      error_code: 'MISSED_DEADLINE',
      lease_owner: null,
      attempts: 0,
    });
    expect(missed!.error_message).toContain('2021-01-01T00:00:30Z');
    expect(missed!.completed_at!.getTime()).toBe(START + 30_100);
    const facts = await database.db
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'JOB_FINISHED')
      .where('key', '=', w.id)
      .execute();
    expect(facts.map((f) => (f.payload as { job_id: string }).job_id)).toEqual([job!.id]);
    // A running job is past waiting: its deadline no longer applies.
    await w.tickAt(1);
    const [, next] = await jobsOf(database.db, w.id);
    await setStatus(next!.id, 'RUNNING');
    expect(await w.tickAt(1.9)).toMatchObject({ missedDeadline: 0 });
    expect((await jobsOf(database.db, w.id))[1]!.status).toBe('RUNNING');
  });

  it('the claim passes over a job past its starting deadline and takes one within it', async () => {
    const [past, future] = await insertWorkflows(database.db, [
      { userId, nextRunAt: null },
      { userId, nextRunAt: null },
    ]);
    const late = await insertManualJob(database, past!, userId);
    const onTime = await insertManualJob(database, future!, userId);
    await database.db
      .updateTable('jobs')
      .set({ start_by: new Date(Date.now() - 1_000) })
      .where('id', '=', late)
      .execute();
    await database.db
      .updateTable('jobs')
      .set({ start_by: new Date(Date.now() + 60_000) })
      .where('id', '=', onTime)
      .execute();
    const claimed = await jobsClaim(database.db, 'deadline-test', 10, 30_000);
    expect(claimed.map((j) => j.id)).toContain(onTime);
    expect(claimed.map((j) => j.id)).not.toContain(late);
    await database.db.deleteFrom('jobs').where('id', 'in', [late, onTime]).execute();
  });
});

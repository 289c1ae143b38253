/**
 * The tick ledger (migration 0022) written by the real scheduler on both engines, driven by a test
 * clock: every nominal fire time exactly once across ticks, outages and racing schedulers, with
 * the outcome catch-up, overlap, pause and the starting deadline gave it. The per-tick outcomes
 * themselves are unit-tested in src/domain/catch-up.test.ts (tickLedger, pausedLedger).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulePolicyInput } from '../../src/domain/schedule-policy.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { LogRetention } from '../../src/workers/log-retention/log-retention.ts';
import { insertUser, insertWorkflows, jobsOf } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const START = Date.parse('2021-01-01T00:00:00Z');
const MINUTE = 60_000;
const logger = createLogger('silent');

describe.each(ENGINES)('tick ledger (%s)', (engine) => {
  let database: Database;
  let userId: string;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());
  afterEach(async () => {
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('terminated_at', 'is', null)
      .execute();
  });

  async function workflowWith(policy?: SchedulePolicyInput, count = 1) {
    const ids = await insertWorkflows(
      database.db,
      Array.from({ length: count }, () => ({
        userId,
        intervalMinutes: 1,
        nextRunAt: new Date(START),
        ...(policy ? { policy } : {}),
      })),
    );
    const clock = new TestClock(START);
    const events = new Events();
    const scheduler = new Scheduler({ db: database.db, clock, events, logger });
    const tickAt = async (minutes: number) => {
      clock.advance(START + minutes * MINUTE + 100 - clock.now().getTime());
      return scheduler.runOnce();
    };
    return { id: ids[0]!, ids, clock, events, tickAt };
  }

  /** The ledger of a workflow as [minute after START, outcome], in nominal order. */
  async function ledgerOf(workflowId: string) {
    const rows = await database.db
      .selectFrom('workflow_ticks')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .orderBy('nominal_at')
      .execute();
    return rows.map((r) => ({
      minute: (r.nominal_at.getTime() - START) / MINUTE,
      outcome: r.outcome,
      jobId: r.job_id,
      reason: r.reason,
      scheduledAt: r.scheduled_at,
    }));
  }
  const outcomes = async (id: string) => (await ledgerOf(id)).map((r) => [r.minute, r.outcome]);
  const minutes = (n: number) => Array.from({ length: n }, (_, i) => i);

  async function setStatus(jobId: string, status: 'RUNNING' | 'COMPLETED') {
    const now = new Date();
    await database.db
      .updateTable('jobs')
      .set(
        status === 'RUNNING'
          ? { status, attempts: 1, lease_owner: 'test', lease_expires_at: new Date(now.getTime() + MINUTE) }
          : { status, completed_at: now, lease_owner: null, lease_expires_at: null },
      )
      .where('id', '=', jobId)
      .execute();
  }

  it('records every nominal fire time exactly once across ticks and a restart gap, with its job', async () => {
    const w = await workflowWith();
    for (const m of [0, 1, 2, 6, 7, 7.5, 8]) await w.tickAt(m);
    const ledger = await ledgerOf(w.id);
    expect(ledger.map((r) => r.minute)).toEqual(minutes(9));
    expect(ledger.map((r) => r.outcome)).toEqual([
      'STARTED',
      'STARTED',
      'STARTED',
      'STARTED',
      'CAUGHT_UP',
      'CAUGHT_UP',
      'CAUGHT_UP',
      'STARTED',
      'STARTED',
    ]);
    // Minute 3 ran at minute 6 for 3, 4, 5 and 6 (LATEST: on the first); 7.5 had nothing due.
    const jobs = await jobsOf(database.db, w.id);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    expect(
      ledger.filter((r) => r.outcome === 'STARTED').map((r) => byId.get(r.jobId!)!.scheduled_at.getTime()),
    ).toEqual([0, 1, 2, 3, 7, 8].map((m) => START + m * MINUTE));
    expect(ledger[4]!.reason).toContain('2021-01-01T00:03:00.000Z');
  });

  it('after an outage of 10 intervals, by catch-up mode', async () => {
    const none = await workflowWith({ catch_up: { mode: 'NONE' } });
    await none.tickAt(10);
    expect(await outcomes(none.id)).toEqual([
      ...minutes(10).map((m) => [m, 'SKIPPED_CATCH_UP']),
      [10, 'STARTED'],
    ]);
    const all = await workflowWith({ catch_up: { mode: 'ALL', max_runs: 4 } });
    await all.tickAt(10);
    expect(await outcomes(all.id)).toEqual([
      ...minutes(7).map((m) => [m, 'SKIPPED_CATCH_UP']),
      ...[7, 8, 9, 10].map((m) => [m, 'STARTED']),
    ]);
    const window = await workflowWith({ catch_up: { mode: 'LATEST', window_seconds: 150 } });
    await window.tickAt(10);
    expect(await outcomes(window.id)).toEqual([
      ...minutes(8).map((m) => [m, 'SKIPPED_CATCH_UP']),
      [8, 'STARTED'],
      [9, 'CAUGHT_UP'],
      [10, 'CAUGHT_UP'],
    ]);
  });

  it('two schedulers ticking at once write each fire time of each workflow once', async () => {
    const w = await workflowWith(undefined, 30);
    const clock = new TestClock(START);
    const schedulers = [0, 1].map(
      () => new Scheduler({ db: database.db, clock, events: new Events(), logger }),
    );
    for (let m = 0; m < 12; m++) {
      // Irregular: some rounds skip minutes, so both schedulers also race over catch-up ticks.
      clock.advance(START + m * MINUTE + (m % 4 === 3 ? 2 * MINUTE : 100) - clock.now().getTime());
      await Promise.all(schedulers.map((s) => s.runOnce()));
    }
    for (const id of w.ids) {
      const ledger = await ledgerOf(id);
      expect(ledger.map((r) => r.minute)).toEqual(minutes(14));
    }
  });

  it('overlap: SKIPPED_OVERLAP, BUFFERED, and CANCELED_OTHER on the run a later fire time replaced', async () => {
    const skip = await workflowWith({ overlap: 'SKIP' });
    await skip.tickAt(0);
    await skip.tickAt(1);
    expect(await outcomes(skip.id)).toEqual([
      [0, 'STARTED'],
      [1, 'SKIPPED_OVERLAP'],
    ]);
    expect((await ledgerOf(skip.id))[1]!.reason).toBe('policy SKIP: 1 earlier run was unfinished');

    const one = await workflowWith({ overlap: 'BUFFER_ONE' });
    await one.tickAt(0);
    await setStatus((await jobsOf(database.db, one.id))[0]!.id, 'RUNNING');
    await one.tickAt(1);
    await one.tickAt(2);
    expect(await outcomes(one.id)).toEqual([
      [0, 'STARTED'],
      [1, 'BUFFERED'],
      [2, 'SKIPPED_OVERLAP'],
    ]);

    const cancel = await workflowWith({ overlap: 'CANCEL_OTHER' });
    await cancel.tickAt(0);
    await setStatus((await jobsOf(database.db, cancel.id))[0]!.id, 'RUNNING');
    await cancel.tickAt(1);
    const ledger = await ledgerOf(cancel.id);
    const jobs = await jobsOf(database.db, cancel.id);
    expect(ledger.map((r) => [r.minute, r.outcome, r.jobId])).toEqual([
      [0, 'CANCELED_OTHER', jobs[0]!.id],
      [1, 'STARTED', jobs[1]!.id],
    ]);
    expect(ledger[0]!.reason).toContain('2021-01-01T00:01:00.000Z');
  });

  it('CANCEL_OTHER after an outage: the earlier due fire times are CANCELED_OTHER, the last runs', async () => {
    const w = await workflowWith({ overlap: 'CANCEL_OTHER', catch_up: { mode: 'ALL' } });
    await w.tickAt(3);
    expect(await outcomes(w.id)).toEqual([
      [0, 'CANCELED_OTHER'],
      [1, 'CANCELED_OTHER'],
      [2, 'CANCELED_OTHER'],
      [3, 'STARTED'],
    ]);
  });

  it('MISSED_DEADLINE replaces STARTED on the row of a run the deadline sweep ended', async () => {
    const w = await workflowWith({ starting_deadline_seconds: 30, jitter_seconds: 20 });
    await w.tickAt(0);
    const [job] = await jobsOf(database.db, w.id);
    const [row] = await ledgerOf(w.id);
    expect(row).toMatchObject({
      minute: 0,
      outcome: 'STARTED',
      jobId: job!.id,
      scheduledAt: job!.scheduled_at,
    });
    await w.tickAt(0.95);
    expect(await ledgerOf(w.id)).toMatchObject([
      {
        minute: 0,
        outcome: 'MISSED_DEADLINE',
        jobId: job!.id,
        reason: expect.stringContaining('starting deadline'),
      },
    ]);
  });

  it('a paused workflow: PAUSED rows while paused, filled on resume when no scheduler ran', async () => {
    const w = await workflowWith();
    const workflows = new WorkflowsService(database.db, w.clock, { idempotencyTtlMs: 60_000 }, w.events);
    await w.tickAt(0);
    w.clock.advance(30_000);
    await workflows.pause(userId, w.id, { note: 'deploy' });
    await w.tickAt(1);
    expect(await w.tickAt(2)).toMatchObject({ claimed: 0, created: 0, paused: 1, nextDueAt: null });
    // No scheduler from 00:03 to 00:05: the resume records 3, 4 and 5.
    w.clock.advance(START + 5 * MINUTE + 30_000 - w.clock.now().getTime());
    const resumed = await workflows.resume(userId, w.id);
    expect(resumed.next_run_at).toBe('2021-01-01T00:06:00.000Z');
    await w.tickAt(6);
    const ledger = await ledgerOf(w.id);
    expect(ledger.map((r) => [r.minute, r.outcome])).toEqual([
      [0, 'STARTED'],
      ...[1, 2, 3, 4, 5].map((m) => [m, 'PAUSED']),
      [6, 'STARTED'],
    ]);
    expect(ledger[1]!.reason).toBe('the workflow was paused: deploy');
    expect((await jobsOf(database.db, w.id)).map((j) => j.skipped_ticks)).toEqual([0, 0]);
  });

  it('a failed build: NOT_BUILT rows with the build error while it lasts, filled on rebuild, nothing caught up', async () => {
    const w = await workflowWith();
    const workflows = new WorkflowsService(database.db, w.clock, { idempotencyTtlMs: 60_000 }, w.events);
    await w.tickAt(0);
    // The build of an edit fails (as the workflow worker's #finishBuild leaves it: next_run_at kept).
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'FAILED', state: 'BUILD_FAILED', build_error: 'image example:missing not found' })
      .where('id', '=', w.id)
      .execute();
    expect(await w.tickAt(1)).toMatchObject({ claimed: 0, created: 0, notBuilt: 1, paused: 0 });
    expect(await w.tickAt(2)).toMatchObject({ claimed: 0, notBuilt: 1 });
    // The API announces no next run while the build is failed.
    expect((await workflows.get(userId, w.id)).next_run_at).toBeNull();
    // No scheduler from 00:03 to 00:05: the rebuild records 3, 4 and 5 (and queues the build).
    w.clock.advance(START + 5 * MINUTE + 30_000 - w.clock.now().getTime());
    await workflows.rebuild(userId, w.id);
    const ledger = await ledgerOf(w.id);
    expect(ledger.map((r) => [r.minute, r.outcome])).toEqual([
      [0, 'STARTED'],
      ...[1, 2, 3, 4, 5].map((m) => [m, 'NOT_BUILT']),
    ]);
    expect(
      ledger
        .slice(1)
        .every((r) => r.reason === "the workflow's build failed: image example:missing not found"),
    ).toBe(true);
    // Built again: the next fire time (on the rebuild's grid, 00:06:30) runs; the failed ones are not caught up.
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', w.id)
      .execute();
    expect(await w.tickAt(7)).toMatchObject({ created: 1, notBuilt: 0 });
    expect((await jobsOf(database.db, w.id)).map((j) => j.skipped_ticks)).toEqual([0, 0]);
    expect((await outcomes(w.id)).at(-1)).toEqual([6.5, 'STARTED']);
  });

  it('a once workflow whose instant passed unbuilt: NOT_BUILT, then STARTED when it runs late after the fix', async () => {
    const [id] = await insertWorkflows(database.db, [
      { userId, runAt: new Date(START + MINUTE), nextRunAt: new Date(START + MINUTE), buildStatus: 'FAILED' },
    ]);
    const clock = new TestClock(START + 2 * MINUTE);
    const scheduler = new Scheduler({ db: database.db, clock, events: new Events(), logger });
    expect(await scheduler.runOnce()).toMatchObject({ notBuilt: 1 });
    expect(await outcomes(id!)).toEqual([[1, 'NOT_BUILT']]);
    const row = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(row.next_run_at).toBeNull();
    // Fixed and built (the worker gives a once workflow that never ran its instant back: lateOnce).
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE', next_run_at: new Date(START + MINUTE) })
      .where('id', '=', id!)
      .execute();
    expect(await scheduler.runOnce()).toMatchObject({ created: 1 });
    const ledger = await ledgerOf(id!);
    expect(ledger.map((r) => [r.minute, r.outcome])).toEqual([[1, 'STARTED']]);
    expect(ledger[0]!.jobId).toBe((await jobsOf(database.db, id!))[0]!.id);
  });

  describe('daylight saving (cron in Europe/Berlin, a test clock across the real changes of 2027)', () => {
    async function cronWorkflow(expression: string, firstRun: string, dst?: SchedulePolicyInput['dst']) {
      const [id] = await insertWorkflows(database.db, [
        {
          userId,
          cron: { expression, timezone: 'Europe/Berlin' },
          nextRunAt: new Date(firstRun),
          ...(dst ? { policy: { dst } } : {}),
        },
      ]);
      const clock = new TestClock(Date.parse(firstRun));
      const scheduler = new Scheduler({ db: database.db, clock, events: new Events(), logger });
      const tickAt = async (iso: string) => {
        clock.advance(Date.parse(iso) + 100 - clock.now().getTime());
        return scheduler.runOnce();
      };
      const ledger = async () =>
        (
          await database.db
            .selectFrom('workflow_ticks')
            .selectAll()
            .where('workflow_id', '=', id!)
            .orderBy('nominal_at')
            .execute()
        ).map((r) => ({
          at: r.nominal_at.toISOString(),
          outcome: r.outcome,
          job: r.job_id,
          reason: r.reason,
        }));
      return { id: id!, tickAt, ledger };
    }

    it('DST_SKIPPED: the gap time that dst.gap SKIP drops, once, recorded by the next fire time', async () => {
      // 02:30 on 2027-03-28 does not exist in Berlin (02:00 CET → 03:00 CEST at 01:00Z).
      const w = await cronWorkflow('30 2 * * *', '2027-03-27T01:30:00Z', { gap: 'SKIP' });
      await w.tickAt('2027-03-27T01:30:00Z');
      await w.tickAt('2027-03-28T12:00:00Z'); // nothing due: 03-28 has no fire time under SKIP
      const mid = await w.ledger();
      expect(mid.map((r) => r.outcome)).toEqual(['STARTED']);
      await w.tickAt('2027-03-29T00:30:00Z');
      await w.tickAt('2027-03-29T00:31:00Z'); // a repeated look writes nothing twice
      const ledger = await w.ledger();
      expect(ledger.map((r) => [r.at, r.outcome])).toEqual([
        ['2027-03-27T01:30:00.000Z', 'STARTED'],
        // 02:30 read with the offset before the gap (CET), as the preview's nominal_at: 03:30 CEST.
        ['2027-03-28T01:30:00.000Z', 'DST_SKIPPED'],
        ['2027-03-29T00:30:00.000Z', 'STARTED'],
      ]);
      expect(ledger[1]).toMatchObject({
        job: null,
        reason: '02:30 does not exist on 2027-03-28 in Europe/Berlin: skipped by policy SKIP',
      });
      expect(await jobsOf(database.db, w.id)).toHaveLength(2);
    });

    it('RUN_AFTER_GAP (the default) records no DST_SKIPPED: the gap time runs at 03:00', async () => {
      const w = await cronWorkflow('30 2 * * *', '2027-03-27T01:30:00Z');
      for (const at of ['2027-03-27T01:30:00Z', '2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z'])
        await w.tickAt(at);
      expect((await w.ledger()).map((r) => [r.at, r.outcome])).toEqual([
        ['2027-03-27T01:30:00.000Z', 'STARTED'],
        ['2027-03-28T01:00:00.000Z', 'STARTED'],
        ['2027-03-29T00:30:00.000Z', 'STARTED'],
      ]);
    });

    it("DST_DOUBLED: the second occurrence of a doubled hour runs, by Vixie cron's rule and by BOTH", async () => {
      // 2027-10-31: 03:00 CEST → 02:00 CET at 01:00Z, so 02:00–03:00 occurs twice.
      const hourly = await cronWorkflow('0 * * * *', '2027-10-31T00:00:00Z');
      const daily = await cronWorkflow('30 2 * * *', '2027-10-31T00:30:00Z', { overlap: 'BOTH' });
      const first = await cronWorkflow('30 2 * * *', '2027-10-31T00:30:00Z');
      for (const at of [
        '2027-10-31T00:00:00Z',
        '2027-10-31T00:30:00Z',
        '2027-10-31T01:00:00Z',
        '2027-10-31T01:30:00Z',
        '2027-10-31T02:00:00Z',
      ]) {
        await hourly.tickAt(at);
        await daily.tickAt(at);
        await first.tickAt(at);
      }
      const h = await hourly.ledger();
      expect(h.map((r) => [r.at, r.outcome])).toEqual([
        ['2027-10-31T00:00:00.000Z', 'STARTED'],
        ['2027-10-31T01:00:00.000Z', 'DST_DOUBLED'],
        ['2027-10-31T02:00:00.000Z', 'STARTED'],
      ]);
      expect(h[1]!.job).not.toBeNull();
      expect(h[1]!.reason).toBe(
        '02:00 occurs twice on 2027-10-31 in Europe/Berlin: runs at both by policy BOTH (the default for this expression); this is the second (UTC+01:00)',
      );
      const d = await daily.ledger();
      expect(d.map((r) => [r.at, r.outcome])).toEqual([
        ['2027-10-31T00:30:00.000Z', 'STARTED'],
        ['2027-10-31T01:30:00.000Z', 'DST_DOUBLED'],
      ]);
      expect(d[1]!.reason).toContain('by policy BOTH; this is the second (UTC+01:00)');
      const jobs = await jobsOf(database.db, daily.id);
      expect(jobs.map((j) => j.id)).toEqual(d.map((r) => r.job));
      // FIRST (the default for a time of day): the second occurrence is not a fire time at all.
      expect((await first.ledger()).map((r) => r.outcome)).toEqual(['STARTED']);
    });
  });

  it('TERMINATED: the fire time that would have come next, once; none after', async () => {
    const w = await workflowWith();
    const workflows = new WorkflowsService(database.db, w.clock, { idempotencyTtlMs: 60_000 }, w.events);
    await w.tickAt(0);
    await w.tickAt(1);
    w.clock.advance(20_000);
    await workflows.terminate(userId, w.id);
    await workflows.terminate(userId, w.id);
    for (const m of [2, 3, 4]) await w.tickAt(m);
    const ledger = await ledgerOf(w.id);
    expect(ledger.map((r) => [r.minute, r.outcome])).toEqual([
      [0, 'STARTED'],
      [1, 'STARTED'],
      [2, 'TERMINATED'],
    ]);
    expect(ledger[2]).toMatchObject({ jobId: null, reason: 'the workflow was terminated by its owner' });
  });

  it('a month-long outage of a minutely schedule writes 1,000 rows and one summary', async () => {
    const w = await workflowWith();
    await w.tickAt(30 * 24 * 60);
    const ledger = await ledgerOf(w.id);
    expect(ledger).toHaveLength(1_001);
    expect(ledger[0]).toMatchObject({ minute: 0, outcome: 'STARTED' });
    expect(ledger[1]).toMatchObject({
      minute: 1,
      outcome: 'CAUGHT_UP',
      reason: expect.stringContaining('42,201 fire times'),
    });
    expect(ledger.at(-1)).toMatchObject({ minute: 30 * 24 * 60, outcome: 'CAUGHT_UP' });
  });

  it('with the ledger off, the scheduler writes no rows and leaves paused workflows alone', async () => {
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 1, nextRunAt: new Date(START) },
    ]);
    const clock = new TestClock(START + 100);
    const scheduler = new Scheduler(
      { db: database.db, clock, events: new Events(), logger },
      { ledger: false },
    );
    expect(await scheduler.runOnce()).toMatchObject({ created: 1, paused: 0 });
    expect(await ledgerOf(id!)).toEqual([]);
  });

  it('log retention deletes the rows recorded before the retention period, and only those', async () => {
    const w = await workflowWith();
    await w.tickAt(0);
    await w.tickAt(1);
    await database.db
      .updateTable('workflow_ticks')
      .set({ recorded_at: new Date(Date.now() - 3 * 86_400_000) })
      .where('workflow_id', '=', w.id)
      .where('nominal_at', '=', new Date(START))
      .execute();
    await database.db
      .updateTable('workflow_ticks')
      .set({ recorded_at: new Date(Date.now() - 86_400_000 + 60_000) })
      .where('workflow_id', '=', w.id)
      .where('nominal_at', '=', new Date(START + MINUTE))
      .execute();
    const retention = new LogRetention(
      { db: database.db, clock: new TestClock(Date.now()), logger },
      { retentionDays: 1 },
    );
    await retention.runOnce();
    expect((await ledgerOf(w.id)).map((r) => r.minute)).toEqual([1]);
  });
});

/**
 * A paused workflow creates no jobs, and after a resume runs again from the schedule's next fire
 * time, without a catch-up run for the fire times of the pause: the real scheduler's `runOnce()`
 * and the real workflows service on one database, with one test clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { insertUser, insertWorkflows, jobsOf } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const REFERENCE_TIME = Date.parse('2021-01-01T00:00:00Z');
const MINUTE = 60_000;
const logger = createLogger('silent');

describe.each(ENGINES)('scheduler and pause (%s)', (engine) => {
  let database: Database;
  let userId: string;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());

  function setup() {
    const clock = new TestClock(REFERENCE_TIME);
    const events = new Events();
    const scheduler = new Scheduler({ db: database.db, clock, events, logger });
    const workflows = new WorkflowsService(database.db, clock, { idempotencyTtlMs: 60_000 }, events);
    return { clock, events, scheduler, workflows };
  }

  const scheduledTimes = async (id: string) =>
    (await jobsOf(database.db, id)).map((j) => j.scheduled_at.toISOString());

  it('creates no jobs while paused, none for the fire times of the pause, and runs again after resume', async () => {
    const { clock, scheduler, workflows } = setup();
    // Every 5 minutes, first run at 00:05.
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 5, nextRunAt: new Date(REFERENCE_TIME + 5 * MINUTE) },
    ]);
    clock.advance(5 * MINUTE);
    expect(await scheduler.runOnce()).toMatchObject({ created: 1 });
    expect(await scheduledTimes(id!)).toEqual(['2021-01-01T00:05:00.000Z']);

    clock.advance(MINUTE); // 00:06
    await workflows.pause(userId, id!, { note: 'deploy' });
    // Tick through an hour of fire times (00:10 … 01:05): nothing is created, nothing is due.
    for (let i = 0; i < 12; i++) {
      clock.advance(5 * MINUTE);
      const tick = await scheduler.runOnce();
      expect(tick).toMatchObject({ claimed: 0, created: 0 });
      // The wake-up never points at the paused workflow.
      expect(tick.nextDueAt).toBeNull();
    }
    expect(await scheduledTimes(id!)).toEqual(['2021-01-01T00:05:00.000Z']);

    clock.advance(2 * MINUTE); // 01:08
    const resumed = await workflows.resume(userId, id!);
    expect(resumed.next_run_at).toBe('2021-01-01T01:10:00.000Z');
    // Right after the resume, nothing is due: no catch-up run for 00:10 … 01:05.
    expect(await scheduler.runOnce()).toMatchObject({ claimed: 0, created: 0, skipped: 0 });
    clock.advance(2 * MINUTE); // 01:10
    expect(await scheduler.runOnce()).toMatchObject({ claimed: 1, created: 1, skipped: 0 });
    clock.advance(5 * MINUTE); // 01:15
    expect(await scheduler.runOnce()).toMatchObject({ created: 1, skipped: 0 });
    expect(await scheduledTimes(id!)).toEqual([
      '2021-01-01T00:05:00.000Z',
      '2021-01-01T01:10:00.000Z',
      '2021-01-01T01:15:00.000Z',
    ]);
    const jobs = await jobsOf(database.db, id!);
    expect(jobs.map((j) => j.skipped_ticks)).toEqual([0, 0, 0]);
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: clock.now() })
      .where('id', '=', id!)
      .execute();
  });

  it('a cron workflow paused across its fire times runs at the next one after resume', async () => {
    const { clock, scheduler, workflows } = setup();
    const [id] = await insertWorkflows(database.db, [
      {
        userId,
        cron: { expression: '0 * * * *', timezone: 'Europe/Berlin' },
        nextRunAt: new Date(REFERENCE_TIME + 60 * MINUTE),
      },
    ]);
    await workflows.pause(userId, id!, undefined);
    clock.advance(3 * 60 * MINUTE + 30 * MINUTE); // 03:30, three fire times missed while paused
    expect(await scheduler.runOnce()).toMatchObject({ created: 0 });
    const resumed = await workflows.resume(userId, id!);
    expect(resumed.next_run_at).toBe('2021-01-01T04:00:00.000Z');
    clock.advance(30 * MINUTE);
    expect(await scheduler.runOnce()).toMatchObject({ created: 1, skipped: 0 });
    expect(await scheduledTimes(id!)).toEqual(['2021-01-01T04:00:00.000Z']);
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: clock.now() })
      .where('id', '=', id!)
      .execute();
  });
});

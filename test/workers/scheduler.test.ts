import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { openDatabase } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { insertUser, insertWorkflows, jobsOf } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const REFERENCE_TIME = Date.parse('2021-01-01T00:00:00Z');
const logger = createLogger('silent');

function setup(database: Database, clock = new TestClock(REFERENCE_TIME), batchSize = 1000) {
  const events = new Events();
  const scheduler = new Scheduler({ db: database.db, clock, events, logger }, { batchSize });
  return { scheduler, clock, events };
}

describe.each(ENGINES)('scheduler (%s)', (engine) => {
  let database: Database;
  let userId: string;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());

  it('splits the dispatch of many new jobs into keyed chunks (they wake several executors)', async () => {
    const clock = new TestClock(REFERENCE_TIME);
    const scheduler = new Scheduler(
      { db: database.db, clock, events: new Events(), logger },
      { dispatchChunkSize: 2 },
    );
    const ids = await insertWorkflows(
      database.db,
      Array.from({ length: 5 }, () => ({ userId, intervalMinutes: 1, nextRunAt: new Date(REFERENCE_TIME) })),
    );
    const before = await database.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirst();
    clock.advance(10);
    expect(await scheduler.runOnce()).toMatchObject({ created: 5 });
    const rows = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'jobs')
      .where('id', '>', Number(before?.max ?? 0))
      .orderBy('id')
      .execute();
    const chunks = rows.map((r) => (r.payload as { job_ids: string[] }).job_ids);
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(rows.map((r) => r.key)).toEqual(chunks.map((c) => c[0]));
    const jobIds = (await Promise.all(ids.map((id) => jobsOf(database.db, id)))).flat().map((j) => j.id);
    expect(chunks.flat().sort()).toEqual(jobIds.sort());
    // Leave the shared database as found: the other cases count jobs and outbox rows.
    await database.db
      .deleteFrom('outbox')
      .where('id', '>', Number(before?.max ?? 0))
      .execute();
    await database.db.deleteFrom('jobs').where('workflow_id', 'in', ids).execute();
    await database.db.deleteFrom('workflows').where('id', 'in', ids).execute();
  });

  it('creates one job per due workflow, advances next_run_at and writes a dispatch row', async () => {
    const { scheduler, clock, events } = setup(database);
    const [due, later, unbuilt] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 1, nextRunAt: new Date(REFERENCE_TIME) },
      { userId, intervalMinutes: 1, nextRunAt: new Date(REFERENCE_TIME + 30_000) },
      { userId, intervalMinutes: 1, nextRunAt: new Date(REFERENCE_TIME), buildStatus: 'QUEUED' },
    ]);
    const ticked = events.next('scheduler:tick:completed');
    clock.advance(100);
    const result = await scheduler.runOnce();
    expect(result).toMatchObject({ claimed: 1, created: 1, skipped: 0 });
    expect(await ticked).toMatchObject({ claimed: 1, created: 1, lagMs: 100 });
    const [job] = await jobsOf(database.db, due!);
    expect(job).toMatchObject({ status: 'PENDING', trigger: 'AUTOMATIC', skipped_ticks: 0 });
    expect(job!.scheduled_at.toISOString()).toBe('2021-01-01T00:00:00.000Z');
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', due!)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at?.toISOString()).toBe('2021-01-01T00:01:00.000Z');
    expect(await jobsOf(database.db, later!)).toHaveLength(0);
    expect(await jobsOf(database.db, unbuilt!)).toHaveLength(0);
    const dispatch = await database.db.selectFrom('outbox').selectAll().where('topic', '=', 'jobs').execute();
    expect(dispatch.map((d) => [d.event_type, (d.payload as { job_ids: string[] }).job_ids])).toEqual([
      ['DISPATCH', [job!.id]],
    ]);
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('id', 'in', [due!, later!])
      .execute();
  });

  it('does not create a tick twice when the clock goes backwards', async () => {
    const { scheduler, clock } = setup(database);
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 5, nextRunAt: new Date(REFERENCE_TIME) },
    ]);
    await scheduler.runOnce();
    // Another scheduler with a slow clock (or a restored backup) re-offers the same tick.
    await database.db
      .updateTable('workflows')
      .set({ next_run_at: new Date(REFERENCE_TIME) })
      .where('id', '=', id!)
      .execute();
    clock.advance(-60_000);
    await scheduler.runOnce();
    clock.advance(120_000);
    const second = await scheduler.runOnce();
    expect(second.created).toBe(0);
    expect(await jobsOf(database.db, id!)).toHaveLength(1);
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('id', '=', id!)
      .execute();
  });

  it('folds missed ticks into one catch-up run and records how many were skipped', async () => {
    const { scheduler, clock } = setup(database);
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 1, nextRunAt: new Date(REFERENCE_TIME) },
    ]);
    clock.advance(10 * 60_000 + 5_000); // down for ten minutes
    await scheduler.runOnce();
    await scheduler.runOnce();
    const jobs = await jobsOf(database.db, id!);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.skipped_ticks).toBe(10);
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at?.toISOString()).toBe('2021-01-01T00:11:00.000Z');
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('id', '=', id!)
      .execute();
  });

  it('runs a once schedule once, then leaves it without a next run', async () => {
    const { scheduler, clock } = setup(database);
    const runAt = new Date(REFERENCE_TIME + 1000);
    const [id] = await insertWorkflows(database.db, [{ userId, runAt, nextRunAt: runAt }]);
    clock.advance(2000);
    await scheduler.runOnce();
    clock.advance(3_600_000);
    await scheduler.runOnce();
    expect(await jobsOf(database.db, id!)).toHaveLength(1);
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at).toBeNull();
  });

  it('follows a cron schedule in its time zone', async () => {
    const { scheduler, clock } = setup(database);
    const first = new Date('2021-01-01T08:00:00Z'); // 09:00 Europe/Paris
    const [id] = await insertWorkflows(database.db, [
      { userId, cron: { expression: '0 9 * * *', timezone: 'Europe/Paris' }, nextRunAt: first },
    ]);
    clock.advance(first.getTime() - REFERENCE_TIME + 10);
    await scheduler.runOnce();
    const wf = await database.db
      .selectFrom('workflows')
      .select('next_run_at')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(wf.next_run_at?.toISOString()).toBe('2021-01-02T08:00:00.000Z');
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('id', '=', id!)
      .execute();
  });

  it('processes a backlog larger than one batch over several ticks', async () => {
    const { scheduler, clock } = setup(database, new TestClock(REFERENCE_TIME), 50);
    const ids = await insertWorkflows(
      database.db,
      Array.from({ length: 120 }, () => ({
        userId,
        intervalMinutes: 1,
        nextRunAt: new Date(REFERENCE_TIME),
      })),
    );
    clock.advance(1);
    const rounds = [await scheduler.runOnce(), await scheduler.runOnce(), await scheduler.runOnce()];
    expect(rounds.map((r) => r.created)).toEqual([50, 50, 20]);
    expect(rounds[2]!.nextDueAt?.toISOString()).toBe('2021-01-01T00:01:00.000Z');
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('id', 'in', ids)
      .execute();
  });
});

describe('two schedulers on one PostgreSQL database', () => {
  let database: Database;
  let second: Database;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(database.db);
    const url = new URL(process.env.CHRONOVERSE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    url.pathname = `/${rows[0]!.db}`;
    second = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 4 });
  });
  afterAll(async () => {
    await second.close();
    await database.close();
  });

  it('never duplicate nor miss a tick: 1,000 workflows × 5 ticks, racing', async () => {
    const userId = await insertUser(database.db);
    const ids = await insertWorkflows(
      database.db,
      Array.from({ length: 1000 }, () => ({
        userId,
        intervalMinutes: 1,
        nextRunAt: new Date(REFERENCE_TIME),
      })),
    );
    const clock = new TestClock(REFERENCE_TIME);
    const a = new Scheduler({ db: database.db, clock, events: new Events(), logger }, { batchSize: 64 });
    const b = new Scheduler({ db: second.db, clock, events: new Events(), logger }, { batchSize: 64 });
    const drain = async (s: Scheduler) => {
      let created = 0;
      for (;;) {
        const r = await s.runOnce();
        created += r.created;
        if (r.claimed === 0) return created;
      }
    };
    const perScheduler: number[][] = [];
    for (let tick = 0; tick < 5; tick++) {
      clock.advance(tick === 0 ? 1 : 60_000);
      perScheduler.push(await Promise.all([drain(a), drain(b)]));
    }
    const { rows } = await sql<{ workflow_id: string; n: number; distinct_ticks: number }>`
      select workflow_id, count(*)::int as n, count(distinct scheduled_at)::int as distinct_ticks
      from jobs where workflow_id = any(${ids}::uuid[]) group by workflow_id`.execute(database.db);
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.n === 5 && r.distinct_ticks === 5)).toBe(true);
    // Both took part (the work was shared, not serialised behind one of them).
    const totals = perScheduler.reduce((acc, [x, y]) => [acc[0]! + x!, acc[1]! + y!], [0, 0]);
    expect(totals[0]! + totals[1]!).toBe(5000);
    expect(Math.min(totals[0]!, totals[1]!)).toBeGreaterThan(0);
  });
});

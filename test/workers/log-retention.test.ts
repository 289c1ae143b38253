/**
 * Job log retention on real databases: daily partitions ahead are created, whole days older than
 * the retention period are dropped (their lines with them), recent days and the default partition
 * are kept, and a second round changes nothing.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { LogRetention } from '../../src/workers/log-retention/log-retention.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const DAY_MS = 86_400_000;

/** The UTC day `offset` days from `base`, as YYYY-MM-DD. */
function day(base: Date, offset: number): string {
  return new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate()) + offset * DAY_MS)
    .toISOString()
    .slice(0, 10);
}

function partition(isoDay: string): string {
  return `job_logs_p${isoDay.replaceAll('-', '')}`;
}

describe.each(ENGINES)('job log retention (%s)', (engineName) => {
  let database: Database;
  const logger = createLogger('silent');
  const jobId = newId();
  const workflowId = newId();
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
  });
  afterAll(() => database.close());

  async function insertLine(ingestedAt: string, message: string): Promise<void> {
    await database.db
      .insertInto('job_logs')
      .values({
        job_id: jobId,
        workflow_id: workflowId,
        sequence_num: seq++,
        attempt: 1,
        stream: 'stdout',
        timestamp: new Date(ingestedAt),
        message,
        ingested_at: new Date(ingestedAt),
      })
      .execute();
  }

  async function exists(table: string): Promise<boolean> {
    const { rows } = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(
      database.db,
    );
    return rows[0]!.t !== null;
  }

  async function messages(table = 'job_logs'): Promise<string[]> {
    const { rows } = await sql<{ message: string }>`
      select message from ${sql.table(table)} order by sequence_num`.execute(database.db);
    return rows.map((r) => r.message);
  }

  it('refuses a retention below one whole day', () => {
    expect(
      () => new LogRetention({ db: database.db, clock: new TestClock(), logger }, { retentionDays: 0 }),
    ).toThrow(/at least 1/);
  });

  it('drops whole days older than the retention period and expired default-partition lines, keeps the rest; idempotent', async () => {
    const now = new Date();
    const clock = new TestClock(now.getTime());
    // Old days: today-10 … today-2, each with one line at noon.
    const { rows } = await sql<{ created: number }>`
      select chronoverse_ensure_job_log_partitions(${day(now, -10)}::date, 9) as created`.execute(
      database.db,
    );
    expect(rows[0]!.created).toBe(9);
    for (let offset = -10; offset <= -2; offset++) {
      await insertLine(`${day(now, offset)}T12:00:00.000Z`, `day${offset}`);
    }
    // Outside every daily partition: lands in the default partition, which is never dropped;
    // its expired lines are deleted.
    await insertLine('2001-01-01T00:00:00.000Z', 'ancient');
    expect(await messages('job_logs_default')).toEqual(['ancient']);

    const retention = new LogRetention({ db: database.db, clock, logger }, { retentionDays: 2 });
    const first = await retention.runOnce();
    // Yesterday … today+7 did not exist yet.
    expect(first.created).toBe(9);
    // Whole days ending at or before now - 2 days: today-10 … today-3.
    const expectedDropped = Array.from({ length: 8 }, (_, i) => partition(day(now, -10 + i)));
    expect([...first.dropped].sort()).toEqual(expectedDropped);
    for (const name of expectedDropped) expect(await exists(name)).toBe(false);
    expect(await exists(partition(day(now, -2)))).toBe(true);
    expect(await exists(partition(day(now, -1)))).toBe(true);
    for (let offset = 0; offset <= 7; offset++) expect(await exists(partition(day(now, offset)))).toBe(true);
    expect(await exists('job_logs_default')).toBe(true);
    expect(await messages()).toEqual(['day-2']);
    expect(await messages('job_logs_default')).toEqual([]);

    // A line ingested now goes to today's partition and stays.
    await insertLine(now.toISOString(), 'today');
    expect(await messages(partition(day(now, 0)))).toEqual(['today']);

    // Idempotent: nothing more to create or drop.
    expect(await retention.runOnce()).toEqual({ created: 0, dropped: [] });
    expect(await retention.runOnce()).toEqual({ created: 0, dropped: [] });

    // A day later, today-2 has aged out too; the default partition is still untouched.
    clock.advance(DAY_MS);
    expect(await retention.runOnce()).toEqual({ created: 0, dropped: [partition(day(now, -2))] });
    expect(await messages()).toEqual(['today']);
  });

  it('start() runs a round at once and hourly after; stop() is safe twice and before start', async () => {
    const retention = new LogRetention(
      { db: database.db, clock: new TestClock(), logger },
      { retentionDays: 30 },
    );
    const ahead = partition(day(new Date(), 7));
    await sql`drop table if exists ${sql.table(ahead)}`.execute(database.db);
    await retention.stop();
    retention.start();
    const deadline = Date.now() + 10_000;
    // The first round, at once, creates the missing day a week ahead again.
    while (!(await exists(ahead)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await retention.stop();
    await retention.stop();
    expect(await exists(ahead)).toBe(true);
  });
});

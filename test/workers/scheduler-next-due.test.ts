/**
 * The scheduler's "when is the next fire time" read (earliestDue) takes the first entry of
 * workflows_due_idx whatever the planner's statistics say. With statistics taken before the
 * workflows had fire times (the estimate: one row), `min(next_run_at)` aggregated a scan of the
 * whole index after every tick (250,000 rows, 1 s per tick in `bench/engine.ts firelag 250000`).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { earliestDue, earliestDueQuery } from '../../src/workers/scheduler/scheduler.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';

const COUNT = 3000;

/** Rows produced by every scan node of a plan (EXPLAIN ANALYZE, FORMAT JSON). */
function scannedRows(plan: Record<string, unknown>): number {
  const own = String(plan['Node Type']).includes('Scan') ? Number(plan['Actual Rows']) : 0;
  const children = (plan['Plans'] as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + scannedRows(child), 0);
}

describe('the scheduler reads the next fire time from the first index entry (postgres)', () => {
  let database: Database;
  const base = Date.parse('2030-01-01T00:00:00Z');
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const userId = await insertUser(database.db);
    await insertWorkflows(
      database.db,
      Array.from({ length: COUNT }, () => ({ userId, intervalMinutes: 1, nextRunAt: null })),
    );
    // Statistics of workflows without fire times, then every workflow gets one: the planner
    // believes the due index nearly empty, as after a bulk creation before autoanalyze ran.
    await sql`ANALYZE workflows`.execute(database.db);
    await sql`UPDATE workflows SET next_run_at = ${new Date(base)}::timestamptz + (random() * 3600) * interval '1 second'`.execute(
      database.db,
    );
    await sql`UPDATE workflows SET next_run_at = ${new Date(base - 5000)} WHERE id = (SELECT id FROM workflows LIMIT 1)`.execute(
      database.db,
    );
  });
  afterAll(() => database.close());

  it('answers the earliest fire time', async () => {
    expect((await earliestDue(database.db))?.getTime()).toBe(base - 5000);
  });

  it('reads one index entry, not every due workflow, with statistics that say there are none', async () => {
    const { rows } = await sql<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>`
      EXPLAIN (ANALYZE, FORMAT JSON) ${earliestDueQuery()}`.execute(database.db);
    const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
    expect(JSON.stringify(plan)).toContain('workflows_due_idx');
    expect(scannedRows(plan)).toBeLessThanOrEqual(1);
  });
});

/**
 * Two `chronoverse start --role scheduler` processes on one PostgreSQL database: every tick of
 * 1,000 workflows becomes exactly one job (no duplicate, none missed), over several rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { databaseUrl } from '../helpers/postgres.ts';

const NODE = existsSync('node_modules/.bin/node') ? path.resolve('node_modules/.bin/node') : process.execPath;

describe('two scheduler processes on one PostgreSQL database', () => {
  let database: Database;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await database.close();
  });

  it('create every tick exactly once: 1,000 workflows, ticks spread over 4 s, ≥ 1,000 ticks', async () => {
    const userId = await insertUser(database.db);
    const start = Date.now() + 2_000;
    // Ticks fall at start + 0..4 s: both processes are running and racing for them.
    const ids = await insertWorkflows(
      database.db,
      Array.from({ length: 1000 }, (_, i) => ({
        userId,
        intervalMinutes: 1,
        nextRunAt: new Date(start + (i % 40) * 100),
      })),
    );
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(database.db);
    for (let i = 0; i < 2; i++) {
      children.push(
        spawn(NODE, ['src/cli/main.ts', 'start', '--role', 'scheduler'], {
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: databaseUrl(rows[0]!.db),
            CHRONOVERSE_SCHEDULER_BATCH_SIZE: '50',
            LOG_LEVEL: 'warn',
          },
          stdio: 'ignore',
        }),
      );
    }
    // Done when every tick of the window was taken: each workflow's next run is a minute later.
    // A tick's transaction holds its workflow row until it commits, so once no workflow is due
    // in the window any more, every job of the window is in the table.
    await waitFor(async () => {
      const { rows: due } = await sql<{ n: number }>`
        select count(*)::int as n from workflows
        where id = any(${ids}::uuid[]) and next_run_at < ${new Date(start + 60_000)}`.execute(database.db);
      return due[0]!.n === 0;
    }, 30_000);
    const { rows: perWorkflow } = await sql<{ workflow_id: string; n: number }>`
      select workflow_id, count(*)::int as n from jobs where workflow_id = any(${ids}::uuid[]) group by workflow_id`.execute(
      database.db,
    );
    expect(perWorkflow).toHaveLength(1000);
    expect(perWorkflow.filter((r) => r.n !== 1)).toEqual([]);
    // The tick ledger (on by default) has each of those fire times exactly once, with its job.
    const { rows: ledger } = await sql<{ n: number; with_job: number; started: number }>`
      select count(*)::int as n, count(t.job_id)::int as with_job,
             count(*) filter (where t.outcome = 'STARTED')::int as started
      from workflow_ticks t join jobs j on j.id = t.job_id and j.workflow_id = t.workflow_id and j.scheduled_at = t.nominal_at
      where t.workflow_id = any(${ids}::uuid[])`.execute(database.db);
    expect(ledger[0]).toEqual({ n: 1000, with_job: 1000, started: 1000 });
    const { rows: ledgerRows } = await sql<{ n: number }>`
      select count(*)::int as n from workflow_ticks where workflow_id = any(${ids}::uuid[])`.execute(
      database.db,
    );
    expect(ledgerRows[0]!.n).toBe(1000);
    const { rows: next } = await sql<{ n: number }>`
      select count(*)::int as n from workflows where next_run_at < ${new Date(start + 60_000)}`.execute(
      database.db,
    );
    expect(next[0]!.n).toBe(0);
    expect(children.every((c) => c.exitCode === null)).toBe(true);
  }, 60_000);
});

/**
 * Named prepared statements on PostgreSQL (src/platform/db/prepared.ts): a PREPARED text is
 * parsed once per connection, and the executor's claim, which asks for a generic plan, reuses its
 * plan. Read from the server's own view of the session (pg_prepared_statements), so the test
 * fails when the marker, the pool wrapper or the claim's plan_cache_mode is removed.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { PREPARED, preparedName } from '../../src/platform/db/prepared.ts';
import { Completer } from '../../src/workers/executor/completer.ts';
import { jobsClaim } from '../../src/workers/executor/sql.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestDatabase } from '../helpers/harness.ts';

describe('prepared statements (postgres)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.close());

  const preparedOf = (db: Database['db']) =>
    sql<{ name: string; statement: string; generic_plans: number; custom_plans: number }>`
      SELECT name, statement, generic_plans::int, custom_plans::int FROM pg_prepared_statements`.execute(db);

  it('a PREPARED text runs as one named statement per connection; others stay unnamed', async () => {
    await database.db.connection().execute(async (db) => {
      const text = `${PREPARED} SELECT $1::int + 1 AS n`;
      for (const n of [1, 2, 3]) {
        const { rows } = await sql<{ n: number }>`${sql.raw(PREPARED)} SELECT ${n}::int + 1 AS n`.execute(db);
        expect(rows[0]!.n).toBe(n + 1);
      }
      await sql`SELECT 1`.execute(db);
      const { rows } = await preparedOf(db);
      expect(rows.map((r) => [r.name, r.statement])).toEqual([[preparedName(text), text]]);
      expect(rows[0]!.generic_plans + rows[0]!.custom_plans).toBe(3);
    });
  });

  it("the executor's claim is prepared once and runs on its generic plan", async () => {
    await database.db.connection().execute(async (db) => {
      for (let i = 0; i < 3; i++)
        await jobsClaim(db, 'prepared-test', { heartbeat: 8, container: 2 }, 30_000);
      const claims = (await preparedOf(db)).rows.filter((r) => r.statement.includes('UPDATE jobs j'));
      expect(claims).toHaveLength(1);
      expect(claims[0]).toMatchObject({ generic_plans: 3, custom_plans: 0 });
    });
  });

  it("the completer's statement is prepared once per connection", async () => {
    await database.db.connection().execute(async (db) => {
      const completer = new Completer({ db, owner: 'prepared-test', logger: createLogger('silent') });
      // Jobs this owner does not hold: the guard writes nothing, the statement still runs.
      for (let i = 0; i < 3; i++) {
        const written = await completer.complete({
          jobId: '00000000-0000-7000-8000-00000000000' + i,
          status: 'COMPLETED',
          exitCode: null,
          httpStatusCode: 200,
          latencyMs: 1,
          errorKind: null,
          errorCode: null,
          errorMessage: null,
          retryDelayMs: null,
          attempt: 1,
          traceHeaders: null,
          outputs: null,
          runId: null,
        });
        expect(written).toBe(false);
      }
      const statements = (await preparedOf(db)).rows.filter((r) =>
        r.statement.includes('INSERT INTO outbox'),
      );
      expect(statements).toHaveLength(1);
      expect(statements[0]!.generic_plans + statements[0]!.custom_plans).toBe(3);
    });
  });
});

/**
 * Named prepared statements for the hot path on PostgreSQL (issue 11). A statement whose text
 * starts with PREPARED is sent as a named statement (the name is a hash of the text): each pooled
 * connection parses and plans it once, later runs only bind and execute. With
 * `plan_cache_mode = force_generic_plan` in its transaction the plan itself is reused too.
 *
 * Why: the executor's claim is one statement of nine CTEs. Planning it took 2.3–6.4 ms against
 * 0.4 ms of execution on an empty queue; named with a generic plan a whole round trip took
 * 0.5–0.7 ms p50 against 8.3 ms unnamed (60 runs each, one connection, PostgreSQL 15 on the
 * shared 2-core machine; docs/performance.md "Where a job's time goes"). Every idle executor
 * woken by a new job runs it, so that was most of a single job's pickup.
 *
 * Texts must be stable (no values spliced in: parameters only), or each variant is one more
 * statement per connection. PGlite ignores the marker (a comment). A connection pooler in front
 * of PostgreSQL must support protocol-level prepared statements (PgBouncer ≥ 1.21 with
 * `max_prepared_statements`, or session pooling).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/** Put first in a statement's text to run it as a named prepared statement. */
export const PREPARED = '/* prepared */';

const names = new Map<string, string>();

/** The statement name of a text: stable across connections and processes, unique per text. */
export function preparedName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `cv_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    // Bounded: texts are a handful of hot-path statements; never grow without limit on a bug.
    if (names.size < 1000) names.set(text, name);
  }
  return name;
}

/** A pool for Kysely's PostgresDialect that runs PREPARED statements as named ones. */
export function preparedStatementsPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async (): Promise<PostgresPoolClient> => {
      const client = await pool.connect();
      return {
        // Kysely calls query(text, parameters), or query(cursor) to stream.
        query: ((text: unknown, parameters?: readonly unknown[]): unknown => {
          if (typeof text === 'string' && text.startsWith(PREPARED)) {
            return client.query({ name: preparedName(text), text, values: parameters as unknown[] });
          }
          return client.query(text as string, parameters as unknown[]);
        }) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}

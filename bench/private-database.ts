/**
 * What the PostgreSQL benchmarks share: a private database on BENCH_PG_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres), migrated, dropped when done; and the percentile
 * they print.
 */
import pg from 'pg';
import { openDatabase, type Database } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';

const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

/** Creates and migrates `<prefix>_<pid>`; `drop()` closes the pool and drops it. */
export async function privateDatabase(
  prefix: string,
  poolSize: number,
): Promise<{ database: Database; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}`;
  await withAdmin(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize });
  await migrate(database.db);
  return {
    database,
    drop: async () => {
      await database.close();
      await withAdmin(`drop database if exists "${name}" with (force)`);
    },
  };
}

/** The nearest-rank percentile `p` (0–100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Forward-only SQL migrations from `migrations/NNNN_name.sql`, shared by PostgreSQL and PGlite.
 *
 * All pending files are applied in one transaction that first takes a transaction-scoped advisory
 * lock, so concurrent migrators (several processes starting at once) serialise: the second waits,
 * then finds nothing left to do. An applied file whose checksum changed is refused: migrations are
 * never edited, a new file is added instead.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

export const MIGRATIONS_DIR = new URL('../../../migrations/', import.meta.url);
// Arbitrary constant shared by every Chronoverse process: "chronoverse.migrate".
const MIGRATION_LOCK_KEY = 727_450_100_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(new URL(file, dir), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    }),
  );
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema: this runs before the tables exist
export async function migrate(db: Kysely<any>, migrations?: Migration[]): Promise<MigrateResult> {
  const all = migrations ?? (await loadMigrations());
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    await sql`
      create table if not exists schema_migrations (
        version    integer primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`.execute(trx);
    const { rows } = await sql<{ version: number; name: string; checksum: string }>`
      select version, name, checksum from schema_migrations order by version`.execute(trx);
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const m of all) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new Error(
            `migration ${m.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await sql.raw(m.sql).execute(trx);
      await sql`insert into schema_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`.execute(
        trx,
      );
      applied.push(m.name);
    }
    const known = new Set(all.map((m) => m.version));
    const unknown = rows.filter((r) => !known.has(r.version));
    if (unknown.length > 0) {
      throw new Error(
        `the database has migrations this build does not know (${unknown.map((u) => u.name).join(', ')}); run a newer Chronoverse`,
      );
    }
    return { applied, current: Math.max(0, ...all.map((m) => m.version)) };
  });
}

/** Creates the daily job-log partitions from yesterday to `daysAhead` days from now. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function ensureJobLogPartitions(db: Kysely<any>, daysAhead = 7): Promise<number> {
  const { rows } = await sql<{ created: number }>`
    select chronoverse_ensure_job_log_partitions((now() at time zone 'UTC')::date - 1, ${daysAhead + 2}::int) as created`.execute(
    db,
  );
  return rows[0]?.created ?? 0;
}

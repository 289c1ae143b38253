/**
 * The database seam: one Kysely instance over either a PostgreSQL pool (`pg`) or the embedded
 * PGlite. Everything above this module sees only `Database`.
 */
import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { preparedStatementsPool } from './prepared.ts';

export type Engine = 'postgres' | 'pglite';

export interface Database {
  readonly db: Kysely<DB>;
  readonly engine: Engine;
  /** PGlite: this open made the data directory as a copy of the installation's template. */
  readonly seededFromTemplate?: boolean;
  /** Is the database answering? For readiness probes. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; empty means PGlite in `dataDir`. */
  url: string;
  /**
   * PGlite directory, or `memory://` for an ephemeral database. A directory is locked for this
   * process until `close()` (./data-dir-lock.ts): every command that opens it takes the lock.
   */
  dataDir: string;
  poolSize: number;
  /**
   * PGlite: a data directory that does not exist yet (or is empty) starts as a copy of the
   * installation's template, initdb and migrations done (./pglite-template.ts). `start` only.
   */
  seedFromTemplate?: boolean;
  /** PGlite's shared_buffers in MiB (default 32; see CHRONOVERSE_PGLITE_SHARED_BUFFERS_MB). */
  pgliteSharedBuffersMb?: number;
  onPoolError?: (err: Error) => void;
}

const PGLITE_SHARED_BUFFERS_MB = 32;

// int8 (COUNT(*), bigint columns) as a JS number: every bigint we store stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url !== '') {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
    // An idle client losing its server must not crash the process; the next query reconnects.
    pool.on('error', (err) => options.onPoolError?.(err));
    // Hot-path statements marked PREPARED run as named prepared statements (./prepared.ts).
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparedStatementsPool(pool) }) });
    return wrap(db, 'postgres');
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const onDisk = !options.dataDir.startsWith('memory://');
  const release = onDisk ? await lockDataDir(options.dataDir) : async () => {};
  try {
    const seeded =
      onDisk && options.seedFromTemplate === true
        ? await import('./pglite-template.ts').then((t) => t.seedFromTemplate(options.dataDir))
        : false;
    if (onDisk) await mkdir(options.dataDir, { recursive: true });
    const client = await PGlite.create(options.dataDir, {
      parsers: { 20: (v: string) => Number(v) },
      // PGlite's own start parameters (fsync stays as PGlite sets it), plus a smaller page cache:
      // PostgreSQL's 128 MB of shared buffers are touched at start and stay resident, about
      // 100 MiB of RSS more than 32 MB (docs/performance.md, Startup).
      startParams: [
        ...PGlite.defaultStartParams,
        '-c',
        `shared_buffers=${options.pgliteSharedBuffersMb ?? PGLITE_SHARED_BUFFERS_MB}MB`,
      ],
    });
    const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
    return { ...wrap(db, 'pglite', release), seededFromTemplate: seeded };
  } catch (err) {
    await release();
    throw err;
  }
}

function wrap(db: Kysely<DB>, engine: Engine, afterClose: () => Promise<void> = async () => {}): Database {
  let closed = false;
  return {
    db,
    engine,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.destroy();
      } finally {
        await afterClose();
      }
    },
  };
}

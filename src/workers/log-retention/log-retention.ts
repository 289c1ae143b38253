/**
 * Job log retention: `job_logs` is partitioned by ingestion day (`job_logs_pYYYYMMDD`), so keeping
 * N days is dropping whole partitions, never a DELETE that leaves dead rows behind.
 *
 * Each round (`runOnce`, hourly under `start()`):
 * 1. makes sure the daily partitions from yesterday to 7 days ahead exist (ensureJobLogPartitions,
 *    by the database's clock, which is also what stamps `ingested_at`), so lines never pile up in
 *    the default partition;
 * 2. drops, one `DROP TABLE` each, the daily partitions whose whole range ends at or before
 *    `now - retentionDays` (by the injected clock). The range is read from the catalogue, not
 *    from the name, so a partition made under another session time zone is still judged by its
 *    real bounds. Only tables named `job_logs_pYYYYMMDD` are ever considered: the default
 *    partition (`job_logs_default`) is never dropped.
 *
 * Each drop runs alone with a short lock_timeout: dropping a partition locks `job_logs`, and a
 * drop stuck behind a long read must not hold up log ingestion queued behind it; it is retried
 * next round. Concurrent runs in several processes are harmless (`DROP TABLE IF EXISTS`; a
 * partition-creation race fails one round, which the loop logs and retries).
 *
 * The tick ledger shares the retention period (`expireTicks`, a batched delete).
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import { ensureJobLogPartitions } from '../../platform/db/migrate.ts';
import type { Logger } from '../../platform/logger.ts';
import { Loop } from '../loop.ts';

const DAY_MS = 86_400_000;
const DAILY_PARTITION = /^job_logs_p\d{8}$/;

export interface LogRetentionConfig {
  /** Days lines are kept; whole days are dropped. */
  retentionDays: number;
  /** Time between rounds. @default 3600000 */
  intervalMs: number;
}

export const LOG_RETENTION_DEFAULTS: Omit<LogRetentionConfig, 'retentionDays'> = { intervalMs: 3_600_000 };

export class LogRetention {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #config: LogRetentionConfig;
  readonly #loop: Loop;

  constructor(
    deps: { db: Kysely<DB>; clock: Clock; logger: Logger },
    config: { retentionDays: number; intervalMs?: number },
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#logger = deps.logger.child({ worker: 'log-retention' });
    this.#config = { ...LOG_RETENTION_DEFAULTS, ...config };
    if (!Number.isInteger(this.#config.retentionDays) || this.#config.retentionDays < 1) {
      throw new Error('log retention must keep at least 1 whole day');
    }
    if (!(this.#config.intervalMs > 0)) throw new Error('log retention intervalMs must be positive');
    this.#loop = new Loop({
      name: 'log-retention',
      logger: this.#logger,
      run: async () => {
        await this.runOnce();
        return this.#config.intervalMs;
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  /** Safe twice and before start; waits for a round in progress. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One round: partitions created ahead, and the names of the partitions dropped. */
  async runOnce(): Promise<{ created: number; dropped: string[] }> {
    const created = await ensureJobLogPartitions(this.#db);
    const cutoff = new Date(this.#clock.now().getTime() - this.#config.retentionDays * DAY_MS);
    const expired = (await this.#dailyPartitions()).filter((p) => p.upper.getTime() <= cutoff.getTime());
    const dropped: string[] = [];
    for (const { name } of expired) {
      try {
        await this.#db.transaction().execute(async (trx) => {
          await sql`SET LOCAL lock_timeout = '5s'`.execute(trx);
          await sql`DROP TABLE IF EXISTS ${sql.table(name)}`.execute(trx);
        });
        dropped.push(name);
      } catch (err) {
        // A busy table is retried at the next round (an hour later), not in a tight loop that
        // would keep queueing exclusive locks in front of log inserts.
        this.#logger.warn(
          { partition: name, err: { message: (err as Error).message } },
          'could not drop a log partition',
        );
      }
    }
    // Lines that landed in the default partition (partition upkeep lapsed) expire too.
    let purged = 0;
    for (;;) {
      const result = await sql`
        DELETE FROM job_logs_default WHERE ctid IN (
          SELECT ctid FROM job_logs_default WHERE ingested_at < ${cutoff} LIMIT 10000)`.execute(this.#db);
      const n = Number(result.numAffectedRows ?? 0);
      purged += n;
      if (n < 10_000) break;
    }
    if (purged > 0) this.#logger.info({ purged }, 'expired lines removed from the default log partition');
    const ticks = await this.expireTicks(cutoff);
    if (ticks > 0) this.#logger.info({ ticks }, 'expired tick ledger rows removed');
    if (created > 0 || dropped.length > 0) {
      this.#logger.info(
        { created, dropped, retentionDays: this.#config.retentionDays },
        'job log partitions maintained',
      );
    }
    return { created, dropped };
  }

  /**
   * The tick ledger (workflow_ticks, migration 0022) is kept for the log retention period too:
   * rows recorded before `cutoff` go, in batches of 10,000 found by the BRIN index on
   * recorded_at, each its own short statement so that no long transaction holds back vacuum or
   * the scheduler's inserts. Not partitioned like job_logs (migration 0022 says why). Returns
   * the rows deleted.
   */
  async expireTicks(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result = await sql`
        DELETE FROM workflow_ticks WHERE ctid IN (
          SELECT ctid FROM workflow_ticks WHERE recorded_at < ${cutoff} LIMIT 10000)`.execute(this.#db);
      const n = Number(result.numAffectedRows ?? 0);
      deleted += n;
      if (n < 10_000) return deleted;
    }
  }

  /** The daily partitions of job_logs with the upper bound of their range, oldest first. */
  async #dailyPartitions(): Promise<{ name: string; upper: Date }[]> {
    // The bound expression reads FOR VALUES FROM ('…') TO ('…'), printed in this session's
    // time zone and style, and cast back to timestamptz in the same session.
    const { rows } = await sql<{ name: string; upper: Date | null }>`
      SELECT c.relname AS name,
             substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS upper
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'job_logs'::regclass AND c.relname ~ '^job_logs_p[0-9]{8}$'
      ORDER BY c.relname`.execute(this.#db);
    return rows
      .filter((r): r is { name: string; upper: Date } => DAILY_PARTITION.test(r.name) && r.upper !== null)
      .map((r) => ({ name: r.name, upper: new Date(r.upper) }));
  }
}

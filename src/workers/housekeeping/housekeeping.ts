/**
 * Housekeeping: deletes rows that have done their job, in bounded batches so a large backlog never
 * becomes one long transaction:
 * - outbox rows PUBLISHED more than `publishedRetentionMs` ago (DEAD rows stay: they need a human);
 * - consumer de-duplication records older than `processedRetentionMs` (a redelivery older than
 *   that is not expected: the outbox relay retries for minutes, not weeks);
 * - idempotency keys past their expiry;
 * - audit log entries older than `auditRetentionMs` (CHRONOVERSE_AUDIT_RETENTION, by the clock);
 * - analytics duration rows (per job and per DAG task) finished more than `analyticsRetentionMs`
 *   ago: the percentiles read 30 days of them, the totals and hourly buckets keep the rest, and
 *   as de-duplication records they outlive any redelivery (processed_events keep 14 days);
 * - with an artifact store: artifacts older than `artifactRetentionMs` (objects and rows), and,
 *   every `orphanSweepIntervalMs`, objects without rows (./artifacts.ts).
 * Runs with the outbox relay (it owns the outbox), every `intervalMs`.
 */
import { sql, type Kysely } from 'kysely';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/logger.ts';
import { auditPurge } from '../../services/users/audit.ts';
import { Loop } from '../loop.ts';
import { artifactsExpire, artifactsSweepOrphans } from './artifacts.ts';

export interface HousekeepingConfig {
  /** @default 3600000 (1 h) */
  publishedRetentionMs: number;
  /** @default 1209600000 (14 days) */
  processedRetentionMs: number;
  /** @default 7776000000 (90 days) */
  auditRetentionMs: number;
  /**
   * Analytics duration rows, older than the 30-day percentile window (src/services/analytics).
   * @default 3024000000 (35 days)
   */
  analyticsRetentionMs: number;
  /** CHRONOVERSE_ARTIFACTS_RETENTION. @default 2592000000 (30 days) */
  artifactRetentionMs: number;
  /** How often the janitor walks the artifact store for objects without rows. @default 3600000 (1 h) */
  orphanSweepIntervalMs: number;
  /**
   * An object without a row is an orphan once it is this old: younger, its row may be about to be
   * written (the executor stores the object first). @default 3600000 (1 h)
   */
  orphanGraceMs: number;
  /** Rows deleted per statement. @default 10000 */
  batchSize: number;
  /** @default 300000 (5 min) */
  intervalMs: number;
}

export const HOUSEKEEPING_DEFAULTS: HousekeepingConfig = {
  publishedRetentionMs: 3_600_000,
  processedRetentionMs: 14 * 86_400_000,
  auditRetentionMs: 90 * 86_400_000,
  analyticsRetentionMs: 35 * 86_400_000,
  artifactRetentionMs: 30 * 86_400_000,
  orphanSweepIntervalMs: 3_600_000,
  orphanGraceMs: 3_600_000,
  batchSize: 10_000,
  intervalMs: 300_000,
};

export class Housekeeping {
  readonly #db: Kysely<DB>;
  readonly #config: HousekeepingConfig;
  readonly #clock: Clock;
  readonly #loop: Loop;
  readonly #artifacts: ArtifactStore | null;
  /** When the janitor last walked the store (ms; never: -Infinity). */
  #lastOrphanSweep = Number.NEGATIVE_INFINITY;

  constructor(
    deps: { db: Kysely<DB>; logger: Logger; clock?: Clock; artifacts?: ArtifactStore },
    config: Partial<HousekeepingConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock ?? systemClock;
    this.#config = { ...HOUSEKEEPING_DEFAULTS, ...config };
    this.#artifacts = deps.artifacts ?? null;
    this.#loop = new Loop({
      name: 'housekeeping',
      logger: deps.logger,
      run: async () => {
        const deleted = await this.runOnce();
        const total =
          deleted.outbox +
          deleted.processedEvents +
          deleted.idempotencyKeys +
          deleted.auditEvents +
          deleted.artifacts +
          deleted.orphanArtifacts;
        if (total > 0) deps.logger.info(deleted, 'housekeeping deleted finished rows');
        return this.#config.intervalMs;
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async runOnce(): Promise<{
    outbox: number;
    processedEvents: number;
    idempotencyKeys: number;
    auditEvents: number;
    analyticsDurations: number;
    artifacts: number;
    orphanArtifacts: number;
  }> {
    const n = this.#config.batchSize;
    const publishedBefore = new Date(Date.now() - this.#config.publishedRetentionMs);
    const processedBefore = new Date(Date.now() - this.#config.processedRetentionMs);
    const outbox = await this.#drain(
      () => sql`DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE status = 'PUBLISHED' AND published_at < ${publishedBefore} LIMIT ${n})`,
    );
    const processedEvents = await this.#drain(
      () => sql`DELETE FROM processed_events WHERE (consumer, event_id) IN (
        SELECT consumer, event_id FROM processed_events WHERE created_at < ${processedBefore} LIMIT ${n})`,
    );
    const idempotencyKeys = await this.#drain(
      () => sql`DELETE FROM idempotency_keys WHERE (user_id, operation, key) IN (
        SELECT user_id, operation, key FROM idempotency_keys WHERE expires_at < now() LIMIT ${n})`,
    );
    const auditBefore = new Date(this.#clock.now().getTime() - this.#config.auditRetentionMs);
    const auditEvents = await this.#drain(() => auditPurge(auditBefore, n));
    const analyticsBefore = new Date(this.#clock.now().getTime() - this.#config.analyticsRetentionMs);
    const analyticsDurations =
      (await this.#drain(
        () => sql`DELETE FROM analytics_job_durations WHERE job_id IN (
          SELECT job_id FROM analytics_job_durations WHERE finished_at < ${analyticsBefore} LIMIT ${n})`,
      )) +
      (await this.#drain(
        () => sql`DELETE FROM analytics_task_durations WHERE job_id IN (
          SELECT job_id FROM analytics_task_durations WHERE finished_at < ${analyticsBefore} LIMIT ${n})`,
      ));
    let artifacts = 0;
    let orphanArtifacts = 0;
    if (this.#artifacts) {
      const now = this.#clock.now().getTime();
      artifacts = await artifactsExpire(
        this.#db,
        this.#artifacts,
        new Date(now - this.#config.artifactRetentionMs),
        // Each batch's objects are deleted by key: keep the batches smaller than the row batches.
        Math.min(n, 1000),
        new Date(now),
      );
      if (now - this.#lastOrphanSweep >= this.#config.orphanSweepIntervalMs) {
        orphanArtifacts = await artifactsSweepOrphans(
          this.#db,
          this.#artifacts,
          new Date(now - this.#config.orphanGraceMs),
        );
        this.#lastOrphanSweep = now;
      }
    }
    return {
      outbox,
      processedEvents,
      idempotencyKeys,
      auditEvents,
      analyticsDurations,
      artifacts,
      orphanArtifacts,
    };
  }

  /** Repeats a bounded DELETE until it deletes less than a full batch. */
  async #drain(statement: () => ReturnType<typeof sql>): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await statement().execute(this.#db);
      const deleted = Number(result.numAffectedRows ?? 0);
      total += deleted;
      if (deleted < this.#config.batchSize) return total;
    }
  }
}

/**
 * Artifact housekeeping (docs/artifacts.md "Retention"), run by ./housekeeping.ts:
 *
 * - retention: artifacts past their workflow's `artifact_retention` (fixed on the row as
 *   `expires_at` when it was stored) or, without one, created before the cutoff
 *   (CHRONOVERSE_ARTIFACTS_RETENTION) are deleted, rows first, in batches (one DELETE … RETURNING
 *   per batch, for every workflow at once), then their objects;
 * - the janitor: objects without a row, older than a grace period, are deleted. They come from a
 *   crash between an object's upload and its row (the executor writes the object first), from an
 *   object delete that failed after its rows were gone (retention, a deleted workflow), and from
 *   rows removed by cascade (a deleted user). The grace keeps it away from an upload whose row is
 *   about to be written. It lists the whole store, so it runs far less often than retention.
 *
 * Rows always go before objects, so a row never lacks its object; what a failure leaves behind is
 * an orphan object, which the next janitor run removes.
 */
import { sql, type Kysely } from 'kysely';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { DB } from '../../platform/db/schema.ts';

/** Keys checked against the table per query while the janitor walks the store. */
const JANITOR_PAGE = 1000;

/**
 * artifactsExpire: deletes the artifacts past their retention, `batchSize` rows per half per
 * statement, then their objects; returns how many. One statement covers every workflow at once:
 * a row with its own end (`expires_at`, from its workflow's `artifact_retention`) goes once
 * `now` passed it (artifacts_expires_idx), a row without one once it was created before
 * `before`, the installation's cutoff (artifacts_created_idx).
 */
export async function artifactsExpire(
  db: Kysely<DB>,
  store: ArtifactStore,
  before: Date,
  batchSize: number,
  now: Date,
): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await sql<{ storage_key: string }>`
      DELETE FROM artifacts WHERE id IN (
        (SELECT id FROM artifacts WHERE expires_at IS NULL AND created_at < ${before}
          ORDER BY created_at LIMIT ${batchSize})
        UNION ALL
        (SELECT id FROM artifacts WHERE expires_at < ${now} ORDER BY expires_at LIMIT ${batchSize}))
      RETURNING storage_key`.execute(db);
    await store.delete(rows.map((r) => r.storage_key));
    total += rows.length;
    // Fewer than a batch in all: neither half was cut short.
    if (rows.length < batchSize) return total;
  }
}

/** The janitor: deletes objects without a row last changed before `olderThan`; returns how many. */
export async function artifactsSweepOrphans(
  db: Kysely<DB>,
  store: ArtifactStore,
  olderThan: Date,
): Promise<number> {
  let removed = (await store.sweepIncomplete?.(olderThan)) ?? 0;
  let page: string[] = [];
  const flush = async () => {
    const { rows } = await sql<{ storage_key: string }>`
      SELECT storage_key FROM artifacts WHERE storage_key = ANY(${page}::text[])`.execute(db);
    const known = new Set(rows.map((r) => r.storage_key));
    const orphans = page.filter((k) => !known.has(k));
    await store.delete(orphans);
    removed += orphans.length;
    page = [];
  };
  for await (const object of store.list('')) {
    if (object.modifiedAt >= olderThan) continue;
    page.push(object.key);
    if (page.length >= JANITOR_PAGE) await flush();
  }
  if (page.length > 0) await flush();
  return removed;
}

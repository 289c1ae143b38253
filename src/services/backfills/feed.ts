/**
 * backfillsFeed: creates the next jobs of running backfills, keeping at most `max_parallel` of
 * each backfill's jobs unfinished (PENDING, QUEUED or RUNNING) at any instant (migration 0024).
 *
 * Called in the transaction that changes a backfill's count of unfinished jobs, so the count it
 * reads is the one that commits:
 * - its creation (POST /workflows/{id}/backfill): the first `max_parallel` jobs;
 * - the executor's completer, in the transaction of a batch that finished some of its jobs
 *   (src/workers/executor/completer.ts): one job per freed place, so a backfill runs at the pace
 *   of its jobs, not of a poll;
 * - the scheduler's tick, as a sweep (SKIP LOCKED) of every RUNNING backfill: a job canceled by
 *   hand, rescued after an executor crash or ended by a terminate frees a place no completion
 *   reports; the sweep also ends backfills whose workflow was terminated.
 *
 * Why the bound holds: every creation first locks the backfill row (FOR UPDATE), then counts its
 * unfinished jobs in a statement of its own (READ COMMITTED: a fresh snapshot, taken after the
 * lock, so it sees every job an earlier holder created), and creates at most the difference. Jobs
 * only leave the unfinished states otherwise, never enter them (a retry stays PENDING). Four
 * statements per call, none per backfill or job; the count reads jobs_backfill_fire_uq.
 */
import { sql, type Transaction } from 'kysely';
import type { DB } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { writeOutbox } from '../outbox.ts';

export type FeedTarget =
  /** These backfills (their rows are waited for: the caller just changed their counts). */
  | { ids: readonly string[] }
  /** Any RUNNING backfills, up to this many, passing over those another transaction holds. */
  | { sweep: number };

export interface FeedResult {
  /** Jobs created (PENDING, due: their fire times are past). */
  created: string[];
  /** Backfills that ended (COMPLETED, or CANCELED with their workflow terminated). */
  ended: number;
}

export async function backfillsFeed(
  trx: Transaction<DB>,
  target: FeedTarget,
  now: Date,
): Promise<FeedResult> {
  if ('ids' in target && target.ids.length === 0) return { created: [], ended: 0 };
  const which =
    'ids' in target
      ? sql`b.id = ANY(${[...new Set(target.ids)]}::uuid[]) AND b.status = 'RUNNING' ORDER BY b.id FOR UPDATE OF b`
      : sql`b.status = 'RUNNING' ORDER BY b.id LIMIT ${target.sweep} FOR UPDATE OF b SKIP LOCKED`;
  // backfills_running_idx for the sweep (only RUNNING rows are in it); the primary key otherwise.
  const { rows: locked } = await sql<{
    id: string;
    max_parallel: number;
    next_index: number;
    total: number;
    upcoming: Date[];
    terminated: boolean;
  }>`
    SELECT b.id, b.max_parallel, b.next_index, cardinality(b.scheduled_times) AS total,
           b.scheduled_times[b.next_index + 1 : b.next_index + b.max_parallel] AS upcoming,
           w.state = 'TERMINATED' AS terminated
    FROM backfills b JOIN workflows w ON w.id = b.workflow_id
    WHERE ${which}`.execute(trx);
  if (locked.length === 0) return { created: [], ended: 0 };
  const { rows: counts } = await sql<{ backfill_id: string; unfinished: number }>`
    SELECT backfill_id, count(*)::int AS unfinished FROM jobs
    WHERE backfill_id = ANY(${locked.map((b) => b.id)}::uuid[]) AND status IN ('PENDING', 'QUEUED', 'RUNNING')
    GROUP BY backfill_id`.execute(trx);
  const unfinished = new Map(counts.map((c) => [c.backfill_id, c.unfinished]));

  const jobs: { id: string; backfillId: string; scheduledAt: Date }[] = [];
  const updates: { id: string; nextIndex: number; status: string }[] = [];
  for (const b of locked) {
    const open = unfinished.get(b.id) ?? 0;
    if (b.terminated) {
      // Its unfinished jobs were canceled with the workflow; nothing more is created.
      updates.push({ id: b.id, nextIndex: b.next_index, status: 'CANCELED' });
      continue;
    }
    const take = Math.max(0, Math.min(b.max_parallel - open, b.total - b.next_index));
    for (const at of parseTimes(b.upcoming).slice(0, take)) {
      jobs.push({ id: newId(), backfillId: b.id, scheduledAt: at });
    }
    const nextIndex = b.next_index + take;
    if (take > 0) updates.push({ id: b.id, nextIndex, status: 'RUNNING' });
    else if (open === 0 && nextIndex >= b.total) updates.push({ id: b.id, nextIndex, status: 'COMPLETED' });
  }

  let created: string[] = [];
  if (jobs.length > 0) {
    // The workflow's definition now is what the job runs, as for a scheduled run (migration 0016).
    const { rows } = await sql<{ id: string }>`
      INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, workflow_version, trigger,
                        scheduled_at, backfill_id, concurrent, created_at, updated_at)
      SELECT v.id, b.workflow_id, b.user_id, w.generation, w.kind, w.payload, w.version, 'BACKFILL',
             v.scheduled_at, b.id, b.overlap = 'ALLOW_ALL', ${now}, ${now}
      FROM unnest(${jobs.map((j) => j.id)}::uuid[], ${jobs.map((j) => j.backfillId)}::uuid[],
                  ${jobs.map((j) => j.scheduledAt.toISOString())}::timestamptz[]) AS v(id, backfill_id, scheduled_at)
      JOIN backfills b ON b.id = v.backfill_id JOIN workflows w ON w.id = b.workflow_id
      ORDER BY v.id
      ON CONFLICT (backfill_id, scheduled_at) WHERE backfill_id IS NOT NULL DO NOTHING
      RETURNING id`.execute(trx);
    created = rows.map((r) => r.id);
  }
  if (updates.length > 0) {
    await sql`
      UPDATE backfills b
      SET next_index = v.next_index, status = v.status, updated_at = ${now},
          finished_at = CASE WHEN v.status = 'RUNNING' THEN NULL ELSE ${now}::timestamptz END
      FROM unnest(${updates.map((u) => u.id)}::uuid[], ${updates.map((u) => u.nextIndex)}::int[],
                  ${updates.map((u) => u.status)}::text[]) AS v(id, next_index, status)
      WHERE b.id = v.id`.execute(trx);
  }
  if (created.length > 0) {
    await writeOutbox(trx, [
      { topic: 'jobs', key: created[0]!, type: 'DISPATCH', payload: { job_ids: created } },
    ]);
  }
  return { created, ended: updates.filter((u) => u.status !== 'RUNNING').length };
}

/** A timestamptz[] as the driver returns it: Dates (pg) or its text form (PGlite, some paths). */
function parseTimes(value: unknown): Date[] {
  if (Array.isArray(value)) return value.map((v) => (v instanceof Date ? v : new Date(String(v))));
  if (typeof value === 'string') {
    const inner = value.replace(/^\{|\}$/g, '');
    if (inner === '') return [];
    return inner
      .split(',')
      .map((s) => new Date(s.replace(/^"|"$/g, '').replace(' ', 'T').replace(/\+00$/, 'Z')));
  }
  return [];
}

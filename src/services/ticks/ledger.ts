/**
 * The tick ledger's writes (migration 0022): one row per (workflow, nominal fire time), written in
 * the transaction that decided the fire time's fate. Each write is one statement whatever the
 * number of rows (INSERT … SELECT FROM unnest): the scheduler writes a batch's rows at once on its
 * hot path.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { DEFAULT_SCHEDULE_POLICY, jitterMs, JITTER_MAX_SECONDS } from '../../domain/schedule-policy.ts';
import { notBuiltLedger, pausedLedger, type LedgerTick, type TickLedger } from '../../domain/catch-up.ts';
import type { DB, TickOutcome, WorkflowRow } from '../../platform/db/schema.ts';
import { scheduleOf } from '../workflows/codec.ts';
import { dstSkippedTicks } from '../../domain/schedule-preview.ts';
import { cronFireTimes, type Schedule } from '../../domain/schedule.ts';

export interface TickRow {
  workflowId: string;
  nominalAt: Date;
  scheduledAt: Date;
  outcome: TickOutcome;
  jobId: string | null;
  reason: string | null;
}

/**
 * Inserts ledger rows; a fire time already recorded keeps its row (ON CONFLICT DO NOTHING): a
 * retried tick or a resume that finds the scheduler's rows writes nothing twice.
 */
export async function insertTicks(
  db: Kysely<DB> | Transaction<DB>,
  rows: readonly TickRow[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  // Instants as epoch milliseconds and the jitter as an offset: numbers cost the client and the
  // server less to write and parse than timestamptz text (this statement is on the scheduler's
  // hot path, one per batch of up to 2,000 fire times; docs/performance.md "Tick ledger").
  await sql`
    INSERT INTO workflow_ticks (workflow_id, nominal_at, scheduled_at, outcome, job_id, reason, recorded_at)
    SELECT t.workflow_id, to_timestamp(t.nominal_ms / 1000.0), to_timestamp((t.nominal_ms + t.jitter_ms) / 1000.0),
           t.outcome, t.job_id, t.reason, ${now}
    FROM unnest(
      ${rows.map((r) => r.workflowId)}::uuid[], ${rows.map((r) => r.nominalAt.getTime())}::float8[],
      ${rows.map((r) => r.scheduledAt.getTime() - r.nominalAt.getTime())}::int[], ${rows.map((r) => r.outcome)}::text[],
      ${rows.map((r) => r.jobId)}::uuid[], ${rows.map((r) => r.reason)}::text[]
    ) AS t(workflow_id, nominal_ms, jitter_ms, outcome, job_id, reason)
    -- In key order: consecutive rows land on the same primary-key leaf pages (UUIDv7 ids of
    -- workflows created together are neighbours), fewer pages touched per batch.
    ORDER BY t.workflow_id, t.nominal_ms
    ON CONFLICT (workflow_id, nominal_at) DO NOTHING`.execute(db);
}

/**
 * Gives the rows of runs that ended without running their later outcome (MISSED_DEADLINE, or
 * CANCELED_OTHER when a later fire time replaced them), keeping the row and its job_id. The row is
 * found through the primary key: its nominal time is at most the jitter bound before the job's
 * scheduled_at, so the scan is a short range of one workflow's rows (no index on job_id, which
 * would cost every insert).
 */
export async function endTicksOfJobs(
  trx: Transaction<DB>,
  jobs: readonly { id: string; workflow_id: string; scheduled_at: Date; reason: string }[],
  outcome: 'MISSED_DEADLINE' | 'CANCELED_OTHER',
): Promise<void> {
  if (jobs.length === 0) return;
  await sql`
    UPDATE workflow_ticks t SET outcome = ${outcome}, reason = v.reason
    FROM unnest(
      ${jobs.map((j) => j.id)}::uuid[], ${jobs.map((j) => j.workflow_id)}::uuid[],
      ${jobs.map((j) => new Date(j.scheduled_at).toISOString())}::timestamptz[], ${jobs.map((j) => j.reason)}::text[]
    ) AS v(job_id, workflow_id, scheduled_at, reason)
    WHERE t.workflow_id = v.workflow_id AND t.job_id = v.job_id
      AND t.nominal_at BETWEEN v.scheduled_at - ${JITTER_MAX_SECONDS} * interval '1 second' AND v.scheduled_at
      AND t.outcome IN ('STARTED', 'BUFFERED', 'DST_DOUBLED')`.execute(trx);
}

/**
 * The rows of a ledger whose entries need no decision of the overlap policy (PAUSED, CAUGHT_UP,
 * SKIPPED_CATCH_UP, and the summary row), for one workflow. FIRE entries are left to the caller.
 */
export function plainTickRows(
  workflowId: string,
  jitterSeconds: number,
  ledger: TickLedger,
): { rows: TickRow[]; fires: LedgerTick[] } {
  const rows: TickRow[] = [];
  const fires: LedgerTick[] = [];
  const row = (t: LedgerTick, outcome: TickOutcome): TickRow => ({
    workflowId,
    nominalAt: t.nominalAt,
    scheduledAt: new Date(t.nominalAt.getTime() + jitterMs(workflowId, t.nominalAt, jitterSeconds)),
    outcome,
    jobId: null,
    reason: t.reason,
  });
  for (const t of ledger.ticks) {
    if (t.outcome === 'FIRE') fires.push(t);
    else rows.push(row(t, t.outcome));
  }
  if (ledger.summary && ledger.summary.outcome !== 'FIRE') {
    rows.push({ ...row(ledger.summary, ledger.summary.outcome), scheduledAt: ledger.summary.nominalAt });
  }
  return { rows, fires };
}

/**
 * DST_SKIPPED rows (cron, `dst.gap: SKIP`): the gaps whose dropped times fall between the fire time
 * before `dueAt` and `now` (src/domain/schedule-preview.ts dstSkippedTicks). The range reaches back
 * to the previous fire time so that the tick of the first fire time after a gap records it; a gap
 * already recorded by an earlier tick is not written twice (ON CONFLICT DO NOTHING), and a gap
 * before the workflow was created is not its own.
 */
export function dstSkippedRows(
  workflow: { id: string; next_run_at: Date; created_at: Date },
  schedule: Schedule,
  jitterSeconds: number,
  now: Date,
): TickRow[] {
  if (schedule.type !== 'cron' || schedule.policy?.dst.gap !== 'SKIP') return [];
  const workflowId = workflow.id;
  const dueAt = workflow.next_run_at;
  // Not before the workflow existed: a gap between the previous fire time and its creation is not its own.
  const before = Math.max(
    cronFireTimes(schedule).previous(dueAt)?.getTime() ?? dueAt.getTime() - 1,
    workflow.created_at.getTime(),
  );
  return dstSkippedTicks(schedule, before, now.getTime()).map((t) => ({
    workflowId,
    nominalAt: t.nominalAt,
    scheduledAt: new Date(t.nominalAt.getTime() + jitterMs(workflowId, t.nominalAt, jitterSeconds)),
    outcome: 'DST_SKIPPED',
    jobId: null,
    reason: t.reason,
  }));
}

/**
 * TERMINATED (issue 13): when a workflow is terminated, its next fire time — the one that would
 * have fired next, due or not — is recorded once as TERMINATED with the reason; later fire times
 * are not recorded (a terminated workflow has no schedule any more, and the ledger would otherwise
 * grow for ever). Called in the transaction that sets `terminated_at`, with the row before it.
 */
export async function recordTerminatedTick(
  trx: Transaction<DB>,
  workflow: WorkflowRow,
  reason: string,
  now: Date,
): Promise<void> {
  if (workflow.next_run_at === null) return;
  const schedule = scheduleOf(workflow);
  const policy = (schedule.type === 'once' ? undefined : schedule.policy) ?? DEFAULT_SCHEDULE_POLICY;
  const nominalAt = workflow.next_run_at;
  await insertTicks(
    trx,
    [
      {
        workflowId: workflow.id,
        nominalAt,
        scheduledAt: new Date(nominalAt.getTime() + jitterMs(workflow.id, nominalAt, policy.jitterSeconds)),
        outcome: 'TERMINATED',
        jobId: null,
        reason,
      },
    ],
    now,
  );
}

/**
 * On resume: the fire times of the pause the scheduler has not recorded yet (from the workflow's
 * `next_run_at` up to now) as PAUSED, so a scheduler stopped during the pause leaves no hole.
 * The scheduler normally recorded them already and moved `next_run_at` past them: then nothing
 * is due and nothing is written.
 */
export async function recordPauseTicks(
  trx: Transaction<DB>,
  workflow: WorkflowRow,
  now: Date,
): Promise<void> {
  await recordHeldTicks(trx, workflow, now, (schedule, dueAt) =>
    pausedLedger(schedule, dueAt, now, workflow.pause_note),
  );
}

/**
 * On the rebuild of a workflow whose build failed (an edit or `POST …/rebuild`): the fire times
 * the scheduler has not recorded as NOT_BUILT yet, as for a resume.
 */
export async function recordNotBuiltTicks(
  trx: Transaction<DB>,
  workflow: WorkflowRow,
  now: Date,
): Promise<void> {
  if (workflow.build_status !== 'FAILED' || workflow.paused_at !== null) return;
  await recordHeldTicks(trx, workflow, now, (schedule, dueAt) =>
    notBuiltLedger(schedule, dueAt, now, workflow.build_error),
  );
}

async function recordHeldTicks(
  trx: Transaction<DB>,
  workflow: WorkflowRow,
  now: Date,
  ledgerOf: (schedule: Schedule, dueAt: Date) => TickLedger,
): Promise<void> {
  if (workflow.next_run_at === null || workflow.next_run_at.getTime() > now.getTime()) return;
  const schedule = scheduleOf(workflow);
  const policy = (schedule.type === 'once' ? undefined : schedule.policy) ?? DEFAULT_SCHEDULE_POLICY;
  const ledger = ledgerOf(schedule, workflow.next_run_at);
  await insertTicks(trx, plainTickRows(workflow.id, policy.jitterSeconds, ledger).rows, now);
}

// ─── reading ─────────────────────────────────────────────────────────────────────────────────

/** Most entries one page of `GET /workflows/{id}/ticks` holds, and the default. */
export const TICKS_PAGE_MAX = 500;
export const TICKS_PAGE_DEFAULT = 100;

export interface TickView {
  nominal_at: string;
  scheduled_at: string;
  outcome: TickOutcome;
  job_id: string | null;
  reason: string | null;
}

export interface TicksPage {
  ticks: TickView[];
  /** For the next page; null on the last. */
  cursor: string | null;
}

export interface TicksQuery {
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function parseInstant(value: string): Date | null {
  if (!RFC3339.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The cursor of a page: the nominal time of its last entry (the next page starts after it). */
export function encodeTickCursor(after: Date): string {
  return Buffer.from(JSON.stringify({ after: after.toISOString() })).toString('base64url');
}

function decodeTickCursor(cursor: string): Date | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && 'after' in value && typeof value.after === 'string') {
      return parseInstant(value.after);
    }
  } catch {
    // not ours
  }
  return null;
}

/** The query's instants, or the issues naming the offending fields. */
export function parseTicksQuery(
  query: TicksQuery,
):
  | { ok: true; from: Date | null; to: Date | null; after: Date | null; limit: number }
  | { ok: false; issues: { path: string; message: string }[] } {
  const issues: { path: string; message: string }[] = [];
  const instant = (field: 'from' | 'to', value: string | undefined) => {
    if (value === undefined) return null;
    const d = parseInstant(value);
    if (d === null) issues.push({ path: field, message: 'must be an RFC 3339 date-time with an offset' });
    return d;
  };
  const from = instant('from', query.from);
  const to = instant('to', query.to);
  if (from !== null && to !== null && to.getTime() < from.getTime()) {
    issues.push({ path: 'to', message: 'must not be before from' });
  }
  const after = query.cursor === undefined ? null : decodeTickCursor(query.cursor);
  if (query.cursor !== undefined && after === null) {
    issues.push({ path: 'cursor', message: 'is not a cursor returned by this API' });
  }
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > TICKS_PAGE_MAX) {
    issues.push({ path: 'limit', message: `must be an integer from 1 to ${TICKS_PAGE_MAX}` });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, from, to, after, limit: query.limit };
}

/**
 * A page of a workflow's ledger in nominal order, `from` and `to` inclusive, after the cursor's
 * entry: a range scan of the primary key (workflow_id, nominal_at). Keyset paging: rows the
 * scheduler records meanwhile land after the last page, never shift the ones already read.
 */
export async function listTicks(
  db: Kysely<DB>,
  workflowId: string,
  q: { from: Date | null; to: Date | null; after: Date | null; limit: number },
): Promise<TicksPage> {
  let query = db
    .selectFrom('workflow_ticks')
    .select(['nominal_at', 'scheduled_at', 'outcome', 'job_id', 'reason'])
    .where('workflow_id', '=', workflowId);
  if (q.from !== null) query = query.where('nominal_at', '>=', q.from);
  if (q.to !== null) query = query.where('nominal_at', '<=', q.to);
  if (q.after !== null) query = query.where('nominal_at', '>', q.after);
  const rows = await query
    .orderBy('nominal_at')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  return {
    ticks: page.map((r) => ({
      nominal_at: r.nominal_at.toISOString(),
      scheduled_at: r.scheduled_at.toISOString(),
      outcome: r.outcome,
      job_id: r.job_id,
      reason: r.reason,
    })),
    cursor: rows.length > q.limit ? encodeTickCursor(page.at(-1)!.nominal_at) : null,
  };
}

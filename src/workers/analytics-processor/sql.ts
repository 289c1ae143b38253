/**
 * analyticsApplyJobFinished: one statement per batch of JOB_FINISHED facts.
 *
 * 1. `input`: the batch as rows (jsonb_to_recordset), one per job, for users that still exist (a
 *    fact about a deleted account is dropped instead of failing the batch forever on the FK).
 * 2. `fresh`: INSERT into analytics_job_durations (job_id primary key) ON CONFLICT DO NOTHING
 *    RETURNING: only jobs never counted before come out. This is the de-duplication: a replayed
 *    or redelivered fact returns nothing here and so adds nothing below.
 * 3. `totals` and `buckets`: upserts adding the aggregates of `fresh` (grouped per workflow, and
 *    per workflow and UTC hour of completion), in key order so concurrent batches lock in one order.
 *
 * Data-modifying CTEs run in one snapshot and commit together: either the job row and its
 * contributions are all there, or none is. Measured in bench/analytics.ts.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/schema.ts';
import type { JobTrigger } from '../../domain/job-state.ts';

/** The part of a JobFinishedPayload the aggregates use. */
export interface FinishedJobRow {
  job_id: string;
  workflow_id: string;
  user_id: string;
  status: 'COMPLETED' | 'FAILED' | 'CANCELED';
  trigger: JobTrigger;
  scheduled_at: string;
  started_at: string | null;
  completed_at: string;
  log_lines: number;
}

export async function analyticsApplyJobFinished(
  db: Kysely<DB>,
  rows: readonly FinishedJobRow[],
): Promise<{ applied: number }> {
  if (rows.length === 0) return { applied: 0 };
  const result = await sql<{ applied: number }>`
    WITH input AS (
      SELECT DISTINCT ON (x.job_id) x.*
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(
        job_id uuid, workflow_id uuid, user_id uuid, status text, trigger text,
        scheduled_at timestamptz, started_at timestamptz, completed_at timestamptz, log_lines bigint)
      WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)
      ORDER BY x.job_id
    ),
    fresh AS (
      INSERT INTO analytics_job_durations AS d
        (job_id, user_id, workflow_id, status, trigger, duration_ms, fire_lag_ms, finished_at)
      SELECT i.job_id, i.user_id, i.workflow_id, i.status, i.trigger,
             CASE WHEN i.started_at IS NOT NULL THEN
               LEAST(GREATEST(round(extract(epoch FROM i.completed_at - i.started_at) * 1000), 0), 2147483647)::integer
             END,
             CASE WHEN i.started_at IS NOT NULL THEN
               LEAST(GREATEST(round(extract(epoch FROM i.started_at - i.scheduled_at) * 1000), 0), 2147483647)::integer
             END,
             i.completed_at
      FROM input i
      ON CONFLICT (job_id) DO NOTHING
      RETURNING d.job_id, d.user_id, d.workflow_id, d.status, d.duration_ms, d.fire_lag_ms, d.finished_at
    ),
    totals AS (
      INSERT INTO analytics_workflow_totals AS t
        (user_id, workflow_id, jobs_total, jobs_completed, jobs_failed, jobs_canceled, log_lines,
         duration_ms_total, duration_count, fire_lag_ms_total, fire_lag_count, updated_at)
      SELECT f.user_id, f.workflow_id, count(*),
             count(*) FILTER (WHERE f.status = 'COMPLETED'),
             count(*) FILTER (WHERE f.status = 'FAILED'),
             count(*) FILTER (WHERE f.status = 'CANCELED'),
             coalesce(sum(i.log_lines), 0),
             coalesce(sum(f.duration_ms), 0), count(f.duration_ms),
             coalesce(sum(f.fire_lag_ms), 0), count(f.fire_lag_ms),
             now()
      FROM fresh f JOIN input i ON i.job_id = f.job_id
      GROUP BY f.user_id, f.workflow_id
      ORDER BY f.user_id, f.workflow_id
      ON CONFLICT (user_id, workflow_id) DO UPDATE SET
        jobs_total = t.jobs_total + excluded.jobs_total,
        jobs_completed = t.jobs_completed + excluded.jobs_completed,
        jobs_failed = t.jobs_failed + excluded.jobs_failed,
        jobs_canceled = t.jobs_canceled + excluded.jobs_canceled,
        log_lines = t.log_lines + excluded.log_lines,
        duration_ms_total = t.duration_ms_total + excluded.duration_ms_total,
        duration_count = t.duration_count + excluded.duration_count,
        fire_lag_ms_total = t.fire_lag_ms_total + excluded.fire_lag_ms_total,
        fire_lag_count = t.fire_lag_count + excluded.fire_lag_count,
        updated_at = excluded.updated_at
      RETURNING 1
    ),
    buckets AS (
      INSERT INTO analytics_job_buckets AS b
        (user_id, workflow_id, bucket, completed, failed, canceled,
         duration_ms_total, duration_count, fire_lag_ms_total, fire_lag_count)
      SELECT f.user_id, f.workflow_id, date_trunc('hour', f.finished_at, 'UTC'),
             (count(*) FILTER (WHERE f.status = 'COMPLETED'))::integer,
             (count(*) FILTER (WHERE f.status = 'FAILED'))::integer,
             (count(*) FILTER (WHERE f.status = 'CANCELED'))::integer,
             coalesce(sum(f.duration_ms), 0), count(f.duration_ms)::integer,
             coalesce(sum(f.fire_lag_ms), 0), count(f.fire_lag_ms)::integer
      FROM fresh f
      GROUP BY 1, 2, 3
      ORDER BY 1, 2, 3
      ON CONFLICT (user_id, workflow_id, bucket) DO UPDATE SET
        completed = b.completed + excluded.completed,
        failed = b.failed + excluded.failed,
        canceled = b.canceled + excluded.canceled,
        duration_ms_total = b.duration_ms_total + excluded.duration_ms_total,
        duration_count = b.duration_count + excluded.duration_count,
        fire_lag_ms_total = b.fire_lag_ms_total + excluded.fire_lag_ms_total,
        fire_lag_count = b.fire_lag_count + excluded.fire_lag_count
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM fresh)::integer AS applied,
           (SELECT count(*) FROM totals)::integer AS workflows,
           (SELECT count(*) FROM buckets)::integer AS buckets`.execute(db);
  return { applied: Number(result.rows[0]?.applied ?? 0) };
}

/** The part of a TaskFinishedPayload the per-task figures use. */
export interface FinishedTaskRow {
  job_id: string;
  workflow_id: string;
  user_id: string;
  run_id: string;
  task: string;
  status: 'COMPLETED' | 'FAILED';
  attempts: number;
  started_at: string | null;
  completed_at: string;
}

/**
 * analyticsApplyTaskFinished: one statement per batch of TASK_FINISHED facts, into
 * analytics_task_durations (job_id primary key, ON CONFLICT DO NOTHING: a redelivered fact adds
 * nothing). Only raw rows: the per-task view aggregates a bounded window of them at read time
 * (src/services/analytics/service.ts), so there are no totals to keep in step.
 */
export async function analyticsApplyTaskFinished(
  db: Kysely<DB>,
  rows: readonly FinishedTaskRow[],
): Promise<{ applied: number }> {
  if (rows.length === 0) return { applied: 0 };
  const result = await sql`
    INSERT INTO analytics_task_durations
      (job_id, user_id, workflow_id, run_id, task_name, status, attempts, duration_ms, finished_at)
    SELECT x.job_id, x.user_id, x.workflow_id, x.run_id, x.task, x.status, x.attempts,
           CASE WHEN x.started_at IS NOT NULL THEN
             LEAST(GREATEST(round(extract(epoch FROM x.completed_at - x.started_at) * 1000), 0), 2147483647)::integer
           END,
           x.completed_at
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(
      job_id uuid, workflow_id uuid, user_id uuid, run_id uuid, task text, status text, attempts integer,
      started_at timestamptz, completed_at timestamptz)
    -- A fact about a deleted account is dropped (as for jobs).
    WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)
    ORDER BY x.job_id
    ON CONFLICT (job_id) DO NOTHING`.execute(db);
  return { applied: Number(result.numAffectedRows ?? 0) };
}

/**
 * Analytics service: reads what the analytics-processor aggregated from JOB_FINISHED facts
 * (src/workers/analytics-processor), plus the jobs still in flight, counted live.
 *
 * - Final statuses, log lines and execution time come from `analytics_workflow_totals` (one row
 *   per workflow, no foreign key to workflows: figures outlive a deleted workflow). PENDING,
 *   QUEUED and RUNNING are counted from `jobs` (partial index jobs_in_flight_idx).
 * - Percentiles are nearest-rank (`percentile_disc`) over `analytics_job_durations` for the jobs
 *   finished in the last PERCENTILE_WINDOW_DAYS days: an index-only scan of a bounded range,
 *   instead of sorting every job a user ever ran (docs/performance.md "Analytics").
 * - Time series read the hourly `analytics_job_buckets`, rolled up to days in SQL, and are
 *   zero-filled here.
 *
 * Ownership: a workflow's figures are the user's when the workflow is theirs or when the
 * aggregates recorded it under their id (a deleted workflow); anything else is "not found".
 */
import { sql, type Kysely } from 'kysely';
import { NotFoundError } from '../../domain/errors.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { AnalyticsApi } from './api.ts';
import { resolveRange } from './range.ts';
import type {
  AnalyticsSummary,
  JobsByStatus,
  Percentiles,
  TaskAnalytics,
  TimeseriesOptions,
  TimeseriesPoint,
  WorkflowAnalytics,
} from './types.ts';

export const PERCENTILE_WINDOW_DAYS = 30;

interface Scope {
  userId: string;
  workflowId: string | null;
}

export class AnalyticsService implements AnalyticsApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;

  constructor(db: Kysely<DB>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async user(userId: string): Promise<AnalyticsSummary> {
    return this.#summary({ userId, workflowId: null });
  }

  async workflow(userId: string, workflowId: string): Promise<WorkflowAnalytics> {
    await this.#assertOwned(userId, workflowId);
    return { workflow_id: workflowId, ...(await this.#summary({ userId, workflowId })) };
  }

  async timeseries(
    userId: string,
    workflowId: string | null,
    options: TimeseriesOptions,
  ): Promise<TimeseriesPoint[]> {
    const range = resolveRange(options, this.#clock.now());
    if (workflowId !== null) await this.#assertOwned(userId, workflowId);
    // analyticsTimeseries: the hourly buckets of the range (PK (user_id, workflow_id, bucket) for
    // one workflow, analytics_job_buckets_user_bucket_idx for all), rolled up to the requested unit.
    const rows = await sql<{
      ts: Date;
      completed: number;
      failed: number;
      canceled: number;
      duration_ms_total: number;
      duration_count: number;
      fire_lag_ms_total: number;
      fire_lag_count: number;
    }>`
      SELECT date_trunc(${range.bucket}, b.bucket, 'UTC') AS ts,
             sum(b.completed)::bigint AS completed, sum(b.failed)::bigint AS failed,
             sum(b.canceled)::bigint AS canceled,
             sum(b.duration_ms_total)::bigint AS duration_ms_total, sum(b.duration_count)::bigint AS duration_count,
             sum(b.fire_lag_ms_total)::bigint AS fire_lag_ms_total, sum(b.fire_lag_count)::bigint AS fire_lag_count
      FROM analytics_job_buckets b
      WHERE b.user_id = ${userId}
        ${workflowId !== null ? sql`AND b.workflow_id = ${workflowId}` : sql``}
        AND b.bucket >= ${range.from} AND b.bucket < ${range.to}
      GROUP BY 1`.execute(this.#db);
    const byStart = new Map(rows.rows.map((r) => [new Date(r.ts).getTime(), r]));
    return range.starts.map((start) => {
      const r = byStart.get(start.getTime());
      return {
        ts: start.toISOString(),
        completed: Number(r?.completed ?? 0),
        failed: Number(r?.failed ?? 0),
        canceled: Number(r?.canceled ?? 0),
        avg_duration_ms: average(r?.duration_ms_total, r?.duration_count),
        avg_fire_lag_ms: average(r?.fire_lag_ms_total, r?.fire_lag_count),
      };
    });
  }

  async tasks(userId: string, workflowId: string): Promise<TaskAnalytics> {
    await this.#assertOwned(userId, workflowId);
    const since = new Date(this.#clock.now().getTime() - PERCENTILE_WINDOW_DAYS * 86_400_000);
    // analyticsTaskFigures: one workflow's window of analytics_task_durations_workflow_idx
    // (index-only: the index includes every column read), grouped per task name.
    const rows = await sql<{
      name: string;
      runs: number;
      instances: number;
      completed: number;
      failed: number;
      attempts: number;
      d50: number | null;
      d95: number | null;
      d99: number | null;
      last_finished_at: Date;
    }>`
      SELECT task_name AS name, count(DISTINCT run_id)::bigint AS runs, count(*)::bigint AS instances,
             count(*) FILTER (WHERE status = 'COMPLETED')::bigint AS completed,
             count(*) FILTER (WHERE status = 'FAILED')::bigint AS failed,
             coalesce(sum(attempts), 0)::bigint AS attempts,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS d50,
             percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS d95,
             percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS d99,
             max(finished_at) AS last_finished_at
      FROM analytics_task_durations
      WHERE workflow_id = ${workflowId} AND finished_at >= ${since}
      GROUP BY task_name
      ORDER BY task_name`.execute(this.#db);
    return {
      workflow_id: workflowId,
      since: since.toISOString(),
      tasks: rows.rows.map((r) => {
        const instances = Number(r.instances);
        return {
          name: r.name,
          runs: Number(r.runs),
          instances,
          completed: Number(r.completed),
          failed: Number(r.failed),
          attempts: Number(r.attempts),
          success_rate: instances === 0 ? null : Number(r.completed) / instances,
          duration_ms: percentilesOf(r.d50, r.d95, r.d99),
          last_finished_at: new Date(r.last_finished_at).toISOString(),
        };
      }),
    };
  }

  async #assertOwned(userId: string, workflowId: string): Promise<void> {
    const row = await sql<{ owned: boolean }>`
      SELECT EXISTS (SELECT 1 FROM workflows WHERE id = ${workflowId} AND user_id = ${userId})
          OR EXISTS (SELECT 1 FROM analytics_workflow_totals WHERE workflow_id = ${workflowId} AND user_id = ${userId})
          AS owned`.execute(this.#db);
    if (!row.rows[0]?.owned) throw new NotFoundError('Workflow');
  }

  async #summary(scope: Scope): Promise<AnalyticsSummary> {
    const since = new Date(this.#clock.now().getTime() - PERCENTILE_WINDOW_DAYS * 86_400_000);
    const { userId, workflowId } = scope;
    const onWorkflow = workflowId !== null ? sql`AND workflow_id = ${workflowId}` : sql``;
    const [totals, inFlight, workflows, percentiles] = await Promise.all([
      sql<{
        completed: number;
        failed: number;
        canceled: number;
        log_lines: number;
        duration_ms_total: number;
      }>`
        SELECT coalesce(sum(jobs_completed), 0)::bigint AS completed,
               coalesce(sum(jobs_failed), 0)::bigint AS failed,
               coalesce(sum(jobs_canceled), 0)::bigint AS canceled,
               coalesce(sum(log_lines), 0)::bigint AS log_lines,
               coalesce(sum(duration_ms_total), 0)::bigint AS duration_ms_total
        FROM analytics_workflow_totals
        WHERE user_id = ${userId} ${onWorkflow}`.execute(this.#db),
      // Jobs in flight, live (jobs_in_flight_idx holds only these rows).
      sql<{ status: string; n: number }>`
        SELECT status, count(*)::bigint AS n FROM jobs
        WHERE user_id = ${userId} ${onWorkflow} AND status IN ('PENDING', 'QUEUED', 'RUNNING') AND run_id IS NULL
        GROUP BY status`.execute(this.#db),
      workflowId !== null
        ? Promise.resolve(null)
        : sql<{ n: number }>`
            SELECT count(*)::bigint AS n FROM (
              SELECT id FROM workflows WHERE user_id = ${userId}
              UNION
              SELECT workflow_id FROM analytics_workflow_totals WHERE user_id = ${userId}
            ) w`.execute(this.#db),
      // analyticsPercentiles: nearest rank over the window; the three percentiles of one measure
      // share one sort. Index-only scan of analytics_job_durations_{user,workflow}_idx. A
      // workflow id belongs to one user (checked above), so the workflow scan needs no user filter.
      sql<{
        d50: number | null;
        d95: number | null;
        d99: number | null;
        l50: number | null;
        l95: number | null;
        l99: number | null;
      }>`
        SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS d50,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS d95,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS d99,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY fire_lag_ms) AS l50,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY fire_lag_ms) AS l95,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY fire_lag_ms) AS l99
        FROM analytics_job_durations
        WHERE ${workflowId !== null ? sql`workflow_id = ${workflowId}` : sql`user_id = ${userId}`}
          AND finished_at >= ${since}`.execute(this.#db),
    ]);
    const t = totals.rows[0]!;
    const live = new Map(inFlight.rows.map((r) => [r.status, Number(r.n)]));
    const jobs: JobsByStatus = {
      PENDING: live.get('PENDING') ?? 0,
      QUEUED: live.get('QUEUED') ?? 0,
      RUNNING: live.get('RUNNING') ?? 0,
      COMPLETED: Number(t.completed),
      FAILED: Number(t.failed),
      CANCELED: Number(t.canceled),
    };
    const p = percentiles.rows[0]!;
    const decided = jobs.COMPLETED + jobs.FAILED;
    return {
      total_workflows: workflows ? Number(workflows.rows[0]!.n) : 1,
      total_jobs: Object.values(jobs).reduce((a, b) => a + b, 0),
      total_joblogs: Number(t.log_lines),
      total_job_execution_duration: Number(t.duration_ms_total) / 1000,
      jobs_by_status: jobs,
      success_rate: decided === 0 ? null : jobs.COMPLETED / decided,
      duration_ms: percentilesOf(p.d50, p.d95, p.d99),
      fire_lag_ms: percentilesOf(p.l50, p.l95, p.l99),
      percentiles_since: since.toISOString(),
    };
  }
}

function percentilesOf(p50: number | null, p95: number | null, p99: number | null): Percentiles {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return { p50: n(p50), p95: n(p95), p99: n(p99) };
}

function average(total: number | undefined, count: number | undefined): number | null {
  const c = Number(count ?? 0);
  return c === 0 ? null : Math.round(Number(total) / c);
}

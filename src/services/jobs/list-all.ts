/**
 * jobsListAll: the statement behind `GET /jobs`, the dashboard's Runs page (polled while open).
 * Kept apart from the service so that bench/job-lists.ts explains exactly what runs.
 *
 * Shape: one UNION ALL branch per requested status (all six when no status filter), each an
 * ordered walk of jobs_user_status_idx (user_id, status, id DESC, migration 0011) that stops after
 * `limit` rows; the branches' rows are merged newest first and cut to `limit`, then named. So a page reads at most
 * (statuses × limit) index entries whatever the data, where one walk of the user's jobs filtered
 * on status reads everything when a status is rare or absent: a user's "FAILED" filter with no
 * failed job read all of their jobs (see the figures below).
 *
 * Plan (PostgreSQL 15, EXPLAIN (ANALYZE, BUFFERS); 1M jobs over 2,000 workflows of 10 users, user
 * A owning 600k jobs and user J 12k; `node bench/job-lists.ts`):
 * - no filter: a Merge Append of six Index Scans of jobs_user_status_idx (the planner takes
 *   jobs_pkey backwards for COMPLETED, 95 % of A's jobs, and reads 31 rows), then 21 probes of
 *   workflows_pkey for the names: 0.24 ms for A, 0.16 ms for J. Without the index: 0.33 ms for
 *   A, 345 ms for J (its branches for statuses it has none of walked all 1M jobs).
 * - a status the user has none of: 0.03 ms (without the index: 181 ms); `status=FAILED` for A:
 *   0.12 ms, 21 index entries read.
 * - `workflow_id`: jobs_workflow_id_idx, or a BitmapAnd with jobs_user_status_idx for the rare
 *   statuses: 3.8 ms.
 * - `since` a day back: 0.4 ms.
 * What stays slow: a filter the index cannot see (trigger, workflow, time) that few of a status's
 * rows pass makes its branch read that status's rows until the page is full. `until` a month
 * back (a one-day window) read the 500k newer COMPLETED rows: 167 ms; FAILED,CANCELED with a
 * trigger none of them have read A's 12k FAILED rows: 80 ms (cold cache). created_at is not
 * the id's time (the test clock, the database's clock), so the time bounds stay on created_at.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { RUN_STATES } from '../../domain/job-state.ts';
import type { DB, JobRow } from '../../platform/db/schema.ts';
import type { AllJobsFilters } from './service.ts';

export type JobWithWorkflowName = JobRow & { workflow_name: string };

/**
 * The caller's jobs of every workflow, newest first (keyset on the UUIDv7 id: `after` is the
 * cursor's id), each with its workflow's name, at most `limit` rows. Ownership is `jobs.user_id`
 * (the workflow owner's id, copied on every job): another user's `workflow_id` matches nothing.
 */
export function jobsListAll(
  userId: string,
  filters: Omit<AllJobsFilters, 'cursor' | 'limit'>,
  after: string | undefined,
  limit: number,
): RawBuilder<JobWithWorkflowName> {
  // A run is never SKIPPED (only a DAG's task instances are).
  const statuses = filters.status !== undefined && filters.status.length > 0 ? filters.status : RUN_STATES;
  const conditions = sql.join(
    [
      sql`jobs.user_id = ${userId}`,
      // Runs: a DAG's task instances are read through their run.
      sql`jobs.run_id IS NULL`,
      ...(after !== undefined ? [sql`jobs.id < ${after}`] : []),
      ...(filters.workflow_id !== undefined ? [sql`jobs.workflow_id = ${filters.workflow_id}`] : []),
      ...(filters.trigger !== undefined ? [sql`jobs.trigger = ${filters.trigger}`] : []),
      ...(filters.since !== undefined ? [sql`jobs.created_at >= ${filters.since}`] : []),
      ...(filters.until !== undefined ? [sql`jobs.created_at < ${filters.until}`] : []),
    ],
    sql` AND `,
  );
  // One branch per status, each with the status as its own parameter: planned with that value's
  // statistics (a LATERAL over an array of statuses was planned for an unknown status, as common as
  // the average, and walked jobs_pkey: 336 ms for a status the user had none of).
  const branches = [...new Set(statuses)].map(
    (status) =>
      sql`(SELECT * FROM jobs WHERE ${conditions} AND jobs.status = ${status} ORDER BY jobs.id DESC LIMIT ${limit})`,
  );
  // The name by primary key for the page's rows only (a join was planned as a hash join over a
  // sequential scan of every workflow).
  return sql<JobWithWorkflowName>`
    SELECT page.*, (SELECT w.name FROM workflows w WHERE w.id = page.workflow_id) AS workflow_name
    FROM (
      SELECT * FROM (${sql.join(branches, sql` UNION ALL `)}) AS candidates
      ORDER BY id DESC
      LIMIT ${limit}
    ) AS page
    ORDER BY page.id DESC`;
}

export async function runJobsListAll(
  db: Kysely<DB>,
  ...args: Parameters<typeof jobsListAll>
): Promise<JobWithWorkflowName[]> {
  return (await jobsListAll(...args).execute(db)).rows;
}

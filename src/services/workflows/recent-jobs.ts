/**
 * The `recent_jobs` of workflow objects: each workflow's latest runs — jobs that started (RUNNING
 * or final) — newest first, for a whole page of workflows in one statement. A job canceled before
 * it started (an edit cancels the pending one) is not a run: it would push real runs out of the
 * dashboard's strip and show "canceled" as the last run of a workflow that runs fine.
 *
 * Why the workflows service computes them, and not the gateway from a jobs-service call: every
 * service reads the one database (the workflows service already cancels jobs), so this is one
 * more statement beside the page's own query, in the same transaction as a create, edit, rebuild
 * or terminate answer (so the answer an Idempotency-Key replays is the one that was sent), and
 * the RPC client returns exactly what the class returns. Composing in the gateway would add a
 * jobs-service round trip to every workflow answer and a second, differently-timed read.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DEQUEUED_JOB_STATES, type JobState, type JobTrigger } from '../../domain/job-state.ts';
import type { DB } from '../../platform/db/schema.ts';
import { toRecentJobView, type RecentJobView } from './codec.ts';

/** How many recent jobs a workflow object carries (the dashboard's last run and its strip). */
export const RECENT_JOBS_LIMIT = 10;

export interface RecentJobRow {
  workflow_id: string;
  id: string;
  status: JobState;
  trigger: JobTrigger;
  scheduled_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

/**
 * workflowsRecentJobs: up to RECENT_JOBS_LIMIT dequeued jobs per workflow of `workflowIds`, newest
 * first (by UUIDv7 id, like every list). A LATERAL subquery per id walks jobs_workflow_id_idx
 * (workflow_id, id DESC) backwards and stops after the limit; the PENDING/QUEUED jobs it steps
 * over are a workflow's queue, a handful at most, and jobs canceled before they started are as rare.
 *
 * Plan (PostgreSQL 15, EXPLAIN (ANALYZE, BUFFERS), 1M jobs of 2,000 workflows, 500 each;
 * `node bench/job-lists.ts`): Nested Loop over the Function Scan of the ids, each an Index Scan
 * of jobs_workflow_id_idx reading 10 rows (none removed by the status filter), then a quicksort
 * of the page's rows: 1.0 ms for a page of 20 workflows, 2.7–6.8 ms for 100. No new index.
 */
export function workflowsRecentJobsQuery(workflowIds: readonly string[]): RawBuilder<RecentJobRow> {
  return sql<RecentJobRow>`
    SELECT w.id AS workflow_id, r.id, r.status, r.trigger, r.scheduled_at, r.started_at, r.completed_at
    FROM unnest(${[...workflowIds]}::uuid[]) AS w(id)
    CROSS JOIN LATERAL (
      SELECT j.id, j.status, j.trigger, j.scheduled_at, j.started_at, j.completed_at
      FROM jobs j
      WHERE j.workflow_id = w.id AND j.status = ANY(${[...DEQUEUED_JOB_STATES]}::text[])
        AND j.started_at IS NOT NULL AND j.run_id IS NULL
      ORDER BY j.id DESC
      LIMIT ${RECENT_JOBS_LIMIT}
    ) r
    ORDER BY w.id, r.id DESC`;
}

/** The recent jobs of each workflow of a page, by workflow id (absent ids: none). */
export async function workflowsRecentJobs(
  db: Kysely<DB>,
  workflowIds: readonly string[],
): Promise<Map<string, RecentJobView[]>> {
  const byWorkflow = new Map<string, RecentJobView[]>();
  if (workflowIds.length === 0) return byWorkflow;
  const { rows } = await workflowsRecentJobsQuery(workflowIds).execute(db);
  for (const row of rows) {
    const list = byWorkflow.get(row.workflow_id);
    if (list) list.push(toRecentJobView(row));
    else byWorkflow.set(row.workflow_id, [toRecentJobView(row)]);
  }
  return byWorkflow;
}

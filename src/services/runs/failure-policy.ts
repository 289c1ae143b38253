/**
 * The failure policy, applied in the statement that records a job's result (the completer's
 * batch, the lease rescue): a success resets the workflow's consecutive-failure count, a failure
 * adds one, a `once` workflow is complete after its run, and a failure that reaches the
 * workflow's maximum writes one FAILURE_LIMIT_REACHED event (topic `workflows`), on which the
 * workflow worker terminates the workflow.
 *
 * Why here and not in a consumer: the count is a fact about the order of a workflow's results,
 * and jobs of a workflow run one at a time (jobs_one_running_per_workflow), so the statement that
 * commits a result sees every earlier one of that workflow (concurrent runs: see `folded` below). Counted in a consumer, each result
 * needed its own outbox row on `workflows` (per-key order), a relay read, a publish mark and a
 * `processed_events` row: about half of a finished job's writes (docs/performance.md). Exactly
 * once holds by construction: the count changes in the transaction that moves the job out of
 * RUNNING, which happens once (the completion's lease guard, the rescue's status guard).
 */
import { sql, type RawBuilder } from 'kysely';
import { workflowFrom } from '../workflows/state-sql.ts';

/**
 * The SET clauses that complete a once workflow after a run of it finished, when its one fire time
 * has been taken (`next_run_at` NULL): the state moves to COMPLETED by the machine's
 * `onceCompleted` (any state but TERMINATED) and `completed_at` says when. Unqualified columns:
 * the UPDATE's target table is workflows.
 */
export function onceCompletion(now: RawBuilder<unknown>): RawBuilder<unknown> {
  const done = sql`schedule_type = 'once' AND next_run_at IS NULL AND state IN (${workflowFrom('onceCompleted')})`;
  return sql`state = CASE WHEN ${done} THEN 'COMPLETED' ELSE state END,
        completed_at = CASE WHEN ${done} THEN ${now} ELSE completed_at END`;
}

/**
 * Three CTEs, `folded`, `policy` and `limit_reached`, over a relation named `source` with columns
 * (job_id uuid, workflow_id uuid, succeeded boolean, headers jsonb). The source holds no backfill
 * runs: each caller leaves them out from what it already read (a past range failing says nothing
 * of the live schedule).
 *
 * `folded` makes one row per workflow. Runs of a workflow run one at a time, so a batch mostly has
 * one result per workflow; runs created `concurrent` (overlap ALLOW_ALL, migration 0024) finish
 * side by side, and several of their results can come in one batch. They are taken in run order
 * (UUIDv7 ids): the count becomes the failures after the last success, or grows by all of them
 * when none succeeded; the event names the latest.
 *
 * Why the callers filter and these CTEs do not look the job up again: they did, with a `NOT
 * EXISTS` on `jobs` per result, and a completion statement's generic plan made while `jobs` had
 * no statistics (PostgreSQL without autovacuum, or a plan cached right after a bulk load) ran it
 * as a sequential scan per result: 1.9 ms × 145 results = 273 ms of a 276 ms batch in
 * auto_explain (`node bench/bulk.ts 10000 1000 20`, one run in three, the executor then fell 10 s
 * behind). Every caller has the trigger at hand.
 */
export function failurePolicyCtes(source: string): RawBuilder<unknown> {
  const from = sql.raw(source);
  return sql`folded AS (
    SELECT r.workflow_id,
           bool_or(r.succeeded) AS any_succeeded,
           count(*) FILTER (WHERE NOT r.succeeded)::int AS failed,
           count(*) FILTER (WHERE NOT r.succeeded AND r.later_successes = 0)::int AS trailing,
           (array_agg(r.job_id ORDER BY r.job_id DESC))[1] AS job_id,
           (array_agg(r.succeeded ORDER BY r.job_id DESC))[1] AS succeeded,
           (array_agg(r.headers ORDER BY r.job_id DESC))[1] AS headers
    FROM (
      SELECT s.job_id, s.workflow_id, s.succeeded, s.headers,
             count(*) FILTER (WHERE s.succeeded) OVER (PARTITION BY s.workflow_id ORDER BY s.job_id DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS later_successes
      FROM ${from} s
    ) r
    GROUP BY r.workflow_id
  ), policy AS (
    UPDATE workflows w
    SET consecutive_job_failures_count = CASE WHEN r.any_succeeded THEN r.trailing
                                              ELSE w.consecutive_job_failures_count + r.failed END,
        ${onceCompletion(sql`now()`)},
        updated_at = now()
    FROM folded r
    WHERE w.id = r.workflow_id
    RETURNING w.id, w.user_id, w.generation, w.consecutive_job_failures_count AS failures,
              w.max_consecutive_job_failures_allowed AS max_failures, w.state, r.job_id, r.succeeded, r.headers
  ), limit_reached AS (
    INSERT INTO outbox (topic, key, event_type, payload, headers)
    SELECT 'workflows', p.id::text, 'FAILURE_LIMIT_REACHED',
           jsonb_build_object('workflow_id', p.id, 'user_id', p.user_id, 'generation', p.generation,
                              'job_id', p.job_id, 'consecutive_failures', p.failures,
                              'max_consecutive_failures', p.max_failures),
           p.headers
    FROM policy p
    WHERE NOT p.succeeded AND p.state <> 'TERMINATED' AND p.failures >= p.max_failures
    ORDER BY p.id
    RETURNING id
  )`;
}

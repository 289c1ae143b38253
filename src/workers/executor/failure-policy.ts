/**
 * The failure policy, applied in the statement that records a job's result (the completer's
 * batch, the lease rescue): a success resets the workflow's consecutive-failure count, a failure
 * adds one, a `once` workflow is complete after its run, and a failure that reaches the
 * workflow's maximum writes one FAILURE_LIMIT_REACHED event (topic `workflows`), on which the
 * workflow worker terminates the workflow.
 *
 * Why here and not in a consumer: the count is a fact about the order of a workflow's results,
 * and jobs of a workflow run one at a time (jobs_one_running_per_workflow), so the statement that
 * commits a result sees every earlier one of that workflow. Counted in a consumer, each result
 * needed its own outbox row on `workflows` (per-key order), a relay read, a publish mark and a
 * `processed_events` row: about half of a finished job's writes (docs/performance.md). Exactly
 * once holds by construction: the count changes in the transaction that moves the job out of
 * RUNNING, which happens once (the completion's lease guard, the rescue's status guard).
 */
import { sql, type RawBuilder } from 'kysely';

/**
 * Two CTEs, `policy` and `limit_reached`, over a relation named `source` with columns
 * (job_id uuid, workflow_id uuid, succeeded boolean, headers jsonb): at most one row per workflow
 * (one running job per workflow).
 */
export function failurePolicyCtes(source: string): RawBuilder<unknown> {
  const from = sql.raw(source);
  return sql`policy AS (
    UPDATE workflows w
    SET consecutive_job_failures_count = CASE WHEN r.succeeded THEN 0 ELSE w.consecutive_job_failures_count + 1 END,
        completed_at = CASE WHEN w.schedule_type = 'once' AND w.next_run_at IS NULL AND w.terminated_at IS NULL
                            THEN now() ELSE w.completed_at END,
        updated_at = now()
    FROM ${from} r
    WHERE w.id = r.workflow_id
    RETURNING w.id, w.user_id, w.generation, w.consecutive_job_failures_count AS failures,
              w.max_consecutive_job_failures_allowed AS max_failures, w.terminated_at, r.job_id, r.succeeded, r.headers
  ), limit_reached AS (
    INSERT INTO outbox (topic, key, event_type, payload, headers)
    SELECT 'workflows', p.id::text, 'FAILURE_LIMIT_REACHED',
           jsonb_build_object('workflow_id', p.id, 'user_id', p.user_id, 'generation', p.generation,
                              'job_id', p.job_id, 'consecutive_failures', p.failures,
                              'max_consecutive_failures', p.max_failures),
           p.headers
    FROM policy p
    WHERE NOT p.succeeded AND p.terminated_at IS NULL AND p.failures >= p.max_failures
    ORDER BY p.id
    RETURNING id
  )`;
}

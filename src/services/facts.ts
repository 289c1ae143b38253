/**
 * Writing the facts of src/domain/events.ts, always inside the transaction of the change.
 *
 * JOB_FINISHED for jobs that reached a final status earlier in the same transaction: one
 * INSERT … SELECT from the jobs table, so the fact carries exactly what was committed. The
 * executor's batched completer builds the same payload inside its own statement.
 */
import { sql, type Transaction } from 'kysely';
import type { WorkflowFacts, WorkflowEventType } from '../domain/events.ts';
import type { DB, WorkflowRow } from '../platform/db/schema.ts';
import { contextHeaders } from '../platform/telemetry/propagation.ts';
import { writeOutbox, type OutboxEvent } from './outbox.ts';

/** The payload as SQL over a jobs row aliased `j`; `bulk` is a SQL boolean expression. */
export function jobFinishedPayloadSql(bulk: boolean) {
  return sql`jsonb_build_object(
    'job_id', j.id, 'workflow_id', j.workflow_id, 'user_id', j.user_id, 'generation', j.workflow_generation,
    'status', j.status, 'trigger', j.trigger, 'attempts', j.attempts, 'scheduled_at', j.scheduled_at,
    'started_at', j.started_at, 'completed_at', j.completed_at, 'exit_code', j.exit_code,
    'http_status_code', j.http_status_code, 'error_code', j.error_code, 'error_message', j.error_message,
    'log_lines', j.log_lines, 'bulk', ${bulk}::boolean)`;
}

/** TASK_FINISHED's payload over a task's jobs row aliased `j` (src/domain/events.ts). */
export function taskFinishedPayloadSql(bulk = false) {
  return sql`(${jobFinishedPayloadSql(bulk)} || jsonb_build_object(
    'run_id', j.run_id, 'task', j.task_name, 'task_index', j.task_index))`;
}

/**
 * Writes one JOB_FINISHED per job of `jobIds` that is in a final status, or TASK_FINISHED for a
 * DAG task's row (SKIPPED included); returns how many. The caller passes the rows its own
 * statement just moved to a final status, so each gets its fact once. Trace headers: the active
 * context (the cancel request), else the job's own (lease rescue).
 */
export async function writeJobFinishedEvents(
  trx: Transaction<DB>,
  jobIds: readonly string[],
  options: { bulk: boolean },
): Promise<number> {
  if (jobIds.length === 0) return 0;
  const active = contextHeaders();
  const headers = active.traceparent ? JSON.stringify(active) : null;
  const result = await sql`
    INSERT INTO outbox (topic, key, event_type, payload, headers)
    SELECT 'analytics', j.workflow_id::text,
           CASE WHEN j.run_id IS NULL THEN 'JOB_FINISHED' ELSE 'TASK_FINISHED' END,
           CASE WHEN j.run_id IS NULL THEN ${jobFinishedPayloadSql(options.bulk)}
                ELSE ${taskFinishedPayloadSql(options.bulk)} END,
           COALESCE(${headers}::jsonb, j.trace_context::jsonb, '{}'::jsonb)
    FROM jobs j
    WHERE j.id = ANY(${jobIds}::uuid[]) AND j.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'SKIPPED')
    ORDER BY j.id`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/** One workflow lifecycle fact on the `notifications` topic. */
export async function writeWorkflowFact<T extends WorkflowEventType>(
  trx: Transaction<DB>,
  type: T,
  workflow: Pick<WorkflowRow, 'id' | 'user_id' | 'generation' | 'name' | 'kind'>,
  at: Date,
  details: Omit<WorkflowFacts[T], 'workflow_id' | 'user_id' | 'generation' | 'name' | 'kind' | 'at'>,
): Promise<void> {
  await writeOutbox(trx, [workflowFact(type, workflow, at, details)]);
}

/** The outbox row of one workflow lifecycle fact (several go in one `writeOutbox`). */
export function workflowFact<T extends WorkflowEventType>(
  type: T,
  workflow: Pick<WorkflowRow, 'id' | 'user_id' | 'generation' | 'name' | 'kind'>,
  at: Date,
  details: Omit<WorkflowFacts[T], 'workflow_id' | 'user_id' | 'generation' | 'name' | 'kind' | 'at'>,
): OutboxEvent {
  return {
    topic: 'notifications',
    key: workflow.id,
    type,
    payload: {
      workflow_id: workflow.id,
      user_id: workflow.user_id,
      generation: workflow.generation,
      name: workflow.name,
      kind: workflow.kind,
      at: at.toISOString(),
      ...details,
    },
  };
}

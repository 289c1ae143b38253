/** Job rows ↔ the API's job object (api.md "Jobs"). Every field is always present. */
import type { ErrorKind, JobState, JobTrigger } from '../../domain/job-state.ts';
import type { JobRow } from '../../platform/db/schema.ts';

export interface JobErrorView {
  kind: ErrorKind;
  code: string;
  message: string;
}

export interface JobView {
  id: string;
  workflow_id: string;
  status: JobState;
  trigger: JobTrigger;
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  attempts: number;
  max_attempts: number;
  exit_code: number | null;
  http_status_code: number | null;
  latency_ms: number | null;
  skipped_ticks: number;
  retry_of: string | null;
  /** The workflow version this run ran (GET /workflows/{id}/versions/{n}). */
  workflow_version: number | null;
  error: JobErrorView | null;
}

/** A job of the list across workflows (`GET /jobs`): the job object and its workflow's name. */
export type WorkflowJobView = JobView & { workflow_name: string };

export function toJobView(row: JobRow): JobView {
  return {
    id: row.id,
    workflow_id: row.workflow_id,
    status: row.status,
    trigger: row.trigger,
    scheduled_at: row.scheduled_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    completed_at: row.completed_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    exit_code: row.exit_code,
    http_status_code: row.http_status_code,
    latency_ms: row.latency_ms,
    skipped_ticks: row.skipped_ticks,
    retry_of: row.retry_of,
    workflow_version: row.workflow_version,
    // The schema's CHECK ties error_kind to error_code; the message may be absent on old rows.
    error:
      row.error_kind !== null && row.error_code !== null
        ? { kind: row.error_kind, code: row.error_code, message: row.error_message ?? '' }
        : null,
  };
}

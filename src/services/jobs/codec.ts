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
  /** HEARTBEAT, CONTAINER or DAG (a run of several tasks). */
  kind: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  /** A DAG run's task instances, in run order: on `GET` of one job only. */
  tasks?: TaskView[];
}

/** One task instance of a DAG run (api.md "DAG runs"). */
export interface TaskView {
  /** The task instance's own job id: its logs and artifacts are under it. */
  id: string;
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  /** The fan-out instance (0-based), or null for a plain task. */
  index: number | null;
  status: JobState;
  attempts: number;
  started_at: string | null;
  completed_at: string | null;
  exit_code: number | null;
  http_status: number | null;
  error: JobErrorView | null;
  outputs: Record<string, unknown> | null;
  /** The fan-out item ({{item}}); absent for a plain task. */
  item?: unknown;
  /** Why it was skipped (its condition and the upstream states). */
  skipped_reason?: string;
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
    kind: row.kind,
  };
}

/** A task row of a run as the API shows it. */
export function toTaskView(row: JobRow): TaskView {
  const view: TaskView = {
    id: row.id,
    name: row.task_name ?? '',
    kind: row.kind === 'CONTAINER' ? 'CONTAINER' : 'HEARTBEAT',
    index: row.task_index,
    status: row.status,
    attempts: row.attempts,
    started_at: row.started_at?.toISOString() ?? null,
    completed_at: row.completed_at?.toISOString() ?? null,
    exit_code: row.exit_code,
    http_status: row.http_status_code,
    error:
      row.error_kind !== null && row.error_code !== null
        ? { kind: row.error_kind, code: row.error_code, message: row.error_message ?? '' }
        : null,
    outputs: row.outputs,
  };
  if (row.task_index !== null) view.item = row.task_item;
  if (row.status === 'SKIPPED') view.skipped_reason = row.error_message ?? '';
  return view;
}

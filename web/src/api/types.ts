/**
 * Response shapes of the API as the dashboard reads them (src/gateway/schemas.ts is the source;
 * docs/api.md describes them). Enumerations come from the pure domain modules.
 */
import type { ErrorKind, JobState, JobTrigger } from '../../../src/domain/job-state.ts';
import type { NotificationPreference, UserRole } from '../../../src/domain/user-input.ts';
import type { WorkflowKind } from '../../../src/domain/workflow-input.ts';
import type { BuildStatus, WorkflowStatus } from '../../../src/domain/workflow-status.ts';

export type {
  BuildStatus,
  ErrorKind,
  JobState,
  JobTrigger,
  NotificationPreference,
  UserRole,
  WorkflowKind,
  WorkflowStatus,
};
export { JOB_STATES, JOB_TRIGGERS } from '../../../src/domain/job-state.ts';
// Not re-exported from workflow-input.ts: that module brings zod and croner, which only the forms need.
export const WORKFLOW_KINDS = ['HEARTBEAT', 'CONTAINER'] as const satisfies readonly WorkflowKind[];
export { BUILD_STATUSES, WORKFLOW_STATUSES } from '../../../src/domain/workflow-status.ts';

export interface User {
  id: string;
  email: string;
  role: UserRole;
  notification_preference: NotificationPreference;
  created_at: string;
  updated_at: string;
}

export interface Session {
  user: User;
  token: string;
  expires_at: string;
}

export type ScheduleView =
  | { type: 'interval'; interval_minutes: number }
  | { type: 'cron'; cron: string; timezone: string }
  | { type: 'once'; run_at: string };

export interface Workflow {
  id: string;
  name: string;
  kind: WorkflowKind;
  payload: Record<string, unknown>;
  schedule: ScheduleView;
  interval: number | null;
  build_status: BuildStatus;
  build_error: string | null;
  status: WorkflowStatus;
  consecutive_job_failures_count: number;
  max_consecutive_job_failures_allowed: number;
  log_retention: boolean;
  next_run_at: string | null;
  created_at: string;
  updated_at: string;
  terminated_at: string | null;
  generation: number;
  /** Up to 10 latest jobs that have left PENDING/QUEUED, newest first. */
  recent_jobs: RecentJob[];
}

/** A workflow's recent run as the workflow object carries it (`recent_jobs`). */
export interface RecentJob {
  id: string;
  status: JobState;
  trigger: JobTrigger;
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** Null until the job completes. */
  duration_ms: number | null;
}

export interface Job {
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
  error: { kind: ErrorKind; code: string; message: string } | null;
}

export interface WorkflowPage {
  workflows: Workflow[];
  cursor: string | null;
}

export interface JobPage {
  jobs: Job[];
  cursor: string | null;
}

/** A job in the list across workflows (`GET /jobs`): the job and its workflow's name. */
export interface Run extends Job {
  workflow_name: string;
}

export interface RunPage {
  jobs: Run[];
  cursor: string | null;
}

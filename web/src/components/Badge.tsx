import type { ReactNode } from 'react';
import type { BuildStatus, JobState, Workflow, WorkflowStatus } from '../api/types.ts';

export type BadgeTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

export function Badge({ tone = 'neutral', children }: { tone?: BadgeTone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export const WORKFLOW_STATUS_LABEL: Record<WorkflowStatus, string> = {
  BUILDING: 'Building',
  ACTIVE: 'Active',
  PAUSED: 'Paused',
  BUILD_FAILED: 'Build failed',
  TERMINATED: 'Terminated',
  COMPLETED: 'Completed',
};

const WORKFLOW_STATUS_TONE: Record<WorkflowStatus, BadgeTone> = {
  BUILDING: 'info',
  ACTIVE: 'success',
  PAUSED: 'warning',
  BUILD_FAILED: 'danger',
  TERMINATED: 'danger',
  COMPLETED: 'neutral',
};

/**
 * The human status of a workflow: the API's `status` (its state, src/domain/workflow-status.ts).
 * An older or partial object without one shows what its build and termination say.
 */
export function workflowStatusOf(
  w: Pick<Workflow, 'build_status' | 'terminated_at'> & { status?: WorkflowStatus | undefined },
): WorkflowStatus {
  if (w.status) return w.status;
  if (w.terminated_at) return 'TERMINATED';
  return BUILD_STATUS_STATE[w.build_status];
}

const BUILD_STATUS_STATE: Record<BuildStatus, WorkflowStatus> = {
  QUEUED: 'BUILDING',
  STARTED: 'BUILDING',
  COMPLETED: 'ACTIVE',
  FAILED: 'BUILD_FAILED',
  CANCELED: 'BUILD_FAILED',
};

export function WorkflowStatusBadge({ status }: { status: WorkflowStatus }) {
  return <Badge tone={WORKFLOW_STATUS_TONE[status]}>{WORKFLOW_STATUS_LABEL[status]}</Badge>;
}

export const JOB_STATUS_LABEL: Record<JobState, string> = {
  PENDING: 'Pending',
  QUEUED: 'Queued',
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
  SKIPPED: 'Skipped',
};

export const JOB_STATUS_TONE: Record<JobState, BadgeTone> = {
  PENDING: 'neutral',
  QUEUED: 'neutral',
  RUNNING: 'info',
  COMPLETED: 'success',
  FAILED: 'danger',
  CANCELED: 'warning',
  SKIPPED: 'neutral',
};

export function JobStatusBadge({ status }: { status: JobState }) {
  return <Badge tone={JOB_STATUS_TONE[status]}>{JOB_STATUS_LABEL[status]}</Badge>;
}

/** The API's build statuses in words, unchanged in meaning ("Completed", never "Built"). */
export const BUILD_STATUS_LABEL: Record<BuildStatus, string> = {
  QUEUED: 'Queued',
  STARTED: 'Started',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
};

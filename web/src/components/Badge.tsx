import type { ReactNode } from 'react';
import { deriveWorkflowStatus } from '../../../src/domain/workflow-status.ts';
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
 * The human status of a workflow. The API derives it (`status`); an older or partial object is
 * derived here with the same rules (src/domain/workflow-status.ts).
 */
export function workflowStatusOf(
  w: Pick<Workflow, 'build_status' | 'terminated_at'> & { status?: WorkflowStatus | undefined },
): WorkflowStatus {
  if (w.status) return w.status;
  return deriveWorkflowStatus({
    buildStatus: w.build_status,
    terminatedAt: w.terminated_at ? new Date(w.terminated_at) : null,
    completedAt: null,
    pausedAt: null,
  });
}

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

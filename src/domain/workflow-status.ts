/** Workflow build status and the human status derived from it (api.md "Workflows"). */
export const BUILD_STATUSES = ['QUEUED', 'STARTED', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export const WORKFLOW_STATUSES = [
  'BUILDING',
  'ACTIVE',
  'PAUSED',
  'BUILD_FAILED',
  'TERMINATED',
  'COMPLETED',
] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

export interface WorkflowStatusInput {
  buildStatus: BuildStatus;
  terminatedAt: Date | null;
  completedAt: Date | null;
  pausedAt: Date | null;
}

/** Precedence: terminated > completed (a once schedule that ran) > build outcome > paused > active. */
export function deriveWorkflowStatus(w: WorkflowStatusInput): WorkflowStatus {
  if (w.terminatedAt) return 'TERMINATED';
  if (w.completedAt) return 'COMPLETED';
  switch (w.buildStatus) {
    case 'QUEUED':
    case 'STARTED':
      return 'BUILDING';
    case 'FAILED':
    case 'CANCELED':
      return 'BUILD_FAILED';
    case 'COMPLETED':
      return w.pausedAt ? 'PAUSED' : 'ACTIVE';
  }
}

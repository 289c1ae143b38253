/**
 * Facts the engine publishes for the consumers that tell users what happened (notifications,
 * webhooks) and count it (analytics). Written to the outbox in the transaction of the change they
 * describe, so a fact is published if and only if the change committed; consumers must be
 * idempotent (a fact can be delivered more than once) and key their effects on the fact's natural
 * identity (the job id, the workflow id + generation), never on the message id alone.
 *
 * Topic `analytics`, type `JOB_FINISHED`: one per job reaching a final status (COMPLETED, FAILED,
 * CANCELED), whoever finished it: an executor, the lease rescue, a user's cancel, or the
 * cancellation of a workflow's pending jobs when it is terminated or edited (`bulk: true`).
 *
 * Topic `notifications`: workflow lifecycle facts (BUILD_STARTED, BUILD_COMPLETED, BUILD_FAILED,
 * WORKFLOW_TERMINATED, SCHEDULE_MISSED), keyed by workflow id.
 */

import type { JobTrigger } from './job-state.ts';

export const FINAL_JOB_STATUSES = ['COMPLETED', 'FAILED', 'CANCELED'] as const;
export type FinalJobStatus = (typeof FINAL_JOB_STATUSES)[number];

export const JOB_FINISHED = 'JOB_FINISHED';

/**
 * Topic `analytics`, type `TASK_FINISHED`: one per DAG task instance that reached a final status,
 * whether it ran (COMPLETED or FAILED through an executor, or FAILED when its lease was lost for
 * good) or ended without running: SKIPPED by a false condition, FAILED before it started (its
 * payload could not render, its fan-out list was unusable, its timeout_seconds passed while it
 * waited), CANCELED with its run. Written with the change of its row, in the same transaction,
 * so each instance has one. Tasks of a canceled run that never got a row make none (there is no
 * instance); the run's own JOB_FINISHED tells how the run ended. Webhooks send it as
 * `task.finished`.
 */
export const TASK_FINISHED = 'TASK_FINISHED';

export interface JobFinishedPayload {
  job_id: string;
  workflow_id: string;
  user_id: string;
  generation: number;
  status: FinalJobStatus;
  trigger: JobTrigger;
  attempts: number;
  /** RFC 3339 timestamps as PostgreSQL's jsonb renders them (e.g. "2026-11-23T10:00:00.123+00:00"). */
  scheduled_at: string;
  /** Null when the job never started (canceled while pending). */
  started_at: string | null;
  completed_at: string;
  exit_code: number | null;
  http_status_code: number | null;
  error_code: string | null;
  error_message: string | null;
  log_lines: number;
  /** Canceled together with its workflow (terminate, edit): the workflow's own event tells the user. */
  bulk: boolean;
}

export const WORKFLOW_EVENT_TYPES = [
  'BUILD_STARTED',
  'BUILD_COMPLETED',
  'BUILD_FAILED',
  'WORKFLOW_TERMINATED',
  'SCHEDULE_MISSED',
] as const;
export type WorkflowEventType = (typeof WORKFLOW_EVENT_TYPES)[number];

interface WorkflowFactBase {
  workflow_id: string;
  user_id: string;
  /** The workflow's generation when it happened: (workflow_id, generation, type) identifies the fact. */
  generation: number;
  /** The workflow's name at the time. */
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  at: string;
}

export interface BuildStartedPayload extends WorkflowFactBase {
  image: string | null;
}
export type BuildCompletedPayload = WorkflowFactBase;
export interface BuildFailedPayload extends WorkflowFactBase {
  reason: string;
}
export interface WorkflowTerminatedPayload extends WorkflowFactBase {
  /** `manual`: a user terminated it; `auto`: it reached its maximum of consecutive failures. */
  reason: 'manual' | 'auto';
  consecutive_failures: number;
  max_consecutive_failures: number;
}

/** Why a due fire time did not start (src/domain/missed-fire.ts). */
export const MISSED_FIRE_CAUSES = ['SCHEDULER_DOWN', 'EXECUTORS_SATURATED', 'NOT_BUILT'] as const;
export type MissedFireCause = (typeof MISSED_FIRE_CAUSES)[number];

/**
 * A missed-fire incident opened (issue 13): a due fire time of the workflow had not started within
 * CHRONOVERSE_SCHEDULER_MISSED_ALERT_AFTER. One per incident (`incident_id`), however many
 * detectors saw it.
 */
export interface ScheduleMissedPayload extends WorkflowFactBase {
  incident_id: string;
  cause: MissedFireCause;
  /** The fire time (or the waiting run's scheduled time) that did not start. */
  due_at: string;
  reason: string;
}

export interface WorkflowFacts {
  BUILD_STARTED: BuildStartedPayload;
  BUILD_COMPLETED: BuildCompletedPayload;
  BUILD_FAILED: BuildFailedPayload;
  WORKFLOW_TERMINATED: WorkflowTerminatedPayload;
  SCHEDULE_MISSED: ScheduleMissedPayload;
}

/** A TASK_FINISHED fact: the task's job fields, and its run and place in it. */
export const TASK_FINISHED_STATUSES = ['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED'] as const;

export interface TaskFinishedPayload extends Omit<JobFinishedPayload, 'status'> {
  status: (typeof TASK_FINISHED_STATUSES)[number];
  run_id: string;
  task: string;
  /** The fan-out instance, or null. */
  task_index: number | null;
}

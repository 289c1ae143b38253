/** Workflow rows ↔ the API's workflow object (api.md "Workflows"). */
import type { JobState, JobTrigger } from '../../domain/job-state.ts';
import { DEFAULT_DST_POLICY } from '../../domain/dst.ts';
import type { Schedule } from '../../domain/schedule.ts';
import {
  DEFAULT_SCHEDULE_POLICY,
  isDefaultPolicy,
  schedulePolicyFromView,
  schedulePolicyView,
  type SchedulePolicy,
  type SchedulePolicyView,
  type StoredSchedulePolicyView,
} from '../../domain/schedule-policy.ts';
import type { FireTime } from '../../domain/schedule-preview.ts';
import type { BuildStatus, WorkflowStatus } from '../../domain/workflow-status.ts';
import type { WorkflowKind } from '../../domain/workflow-input.ts';
import type { WorkflowRow } from '../../platform/db/schema.ts';

export type ScheduleView =
  | { type: 'interval'; interval_minutes: number; policy: SchedulePolicyView }
  | { type: 'cron'; cron: string; timezone: string; policy: SchedulePolicyView }
  | { type: 'once'; run_at: string };

/**
 * One of a workflow's latest jobs that left the queue (RUNNING or final): what the dashboard shows
 * as the last run and the recent-runs strip.
 */
export interface RecentJobView {
  id: string;
  status: JobState;
  trigger: JobTrigger;
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** completed_at − started_at; null until completed (and for a job canceled before it started). */
  duration_ms: number | null;
}

export interface WorkflowView {
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
  /** When it was paused (status PAUSED once built); null when not paused. */
  paused_at: string | null;
  /** Why it is paused: the user's note or the failure policy's; null when none. */
  pause_note: string | null;
  /** At the failure limit, pause instead of terminating. */
  pause_on_failure: boolean;
  generation: number;
  /** The current version of its definition (GET /workflows/{id}/versions). */
  version: number;
  /** `{key: value}`, keys sorted (src/domain/labels.ts). */
  labels: Record<string, string>;
  /** Up to RECENT_JOBS_LIMIT (recent-jobs.ts), newest first. */
  recent_jobs: RecentJobView[];
}

export function scheduleOf(
  row: Pick<
    WorkflowRow,
    'schedule_type' | 'interval_minutes' | 'cron_expression' | 'timezone' | 'run_at' | 'schedule_policy'
  >,
): Schedule {
  switch (row.schedule_type) {
    case 'interval':
      return { type: 'interval', intervalMinutes: row.interval_minutes!, policy: policyOf(row) };
    case 'cron':
      return { type: 'cron', cron: row.cron_expression!, timezone: row.timezone!, policy: policyOf(row) };
    case 'once':
      return { type: 'once', runAt: row.run_at! };
  }
}

/** Column values of a schedule (the other forms' columns are nulled). */
export function scheduleColumns(schedule: Schedule) {
  return {
    schedule_type: schedule.type,
    interval_minutes: schedule.type === 'interval' ? schedule.intervalMinutes : null,
    cron_expression: schedule.type === 'cron' ? schedule.cron : null,
    timezone: schedule.type === 'cron' ? schedule.timezone : null,
    run_at: schedule.type === 'once' ? schedule.runAt : null,
    schedule_policy:
      schedule.type === 'once' || schedule.policy === undefined || isDefaultPolicy(schedule.policy)
        ? null
        : storedPolicyView(schedule.policy),
  };
}

/**
 * The policy as stored: its view, without `dst` while that is the default. Rows stored before the
 * DST policy have none, and `workflow_definition()` (migration 0020) compares stored policies
 * byte for byte: storing the default `dst` would make an edit that changes nothing a new version.
 */
function storedPolicyView(policy: SchedulePolicy): StoredSchedulePolicyView {
  const { dst, ...view } = schedulePolicyView(policy);
  return dst.gap === DEFAULT_DST_POLICY.gap && dst.overlap === DEFAULT_DST_POLICY.overlap
    ? view
    : { ...view, dst };
}

function policyOf(row: Pick<WorkflowRow, 'schedule_policy'>): SchedulePolicy {
  return row.schedule_policy === null ? DEFAULT_SCHEDULE_POLICY : schedulePolicyFromView(row.schedule_policy);
}

export function scheduleView(schedule: Schedule): ScheduleView {
  switch (schedule.type) {
    case 'interval':
      return {
        type: 'interval',
        interval_minutes: schedule.intervalMinutes,
        policy: schedulePolicyView(schedule.policy ?? DEFAULT_SCHEDULE_POLICY),
      };
    case 'cron':
      return {
        type: 'cron',
        cron: schedule.cron,
        timezone: schedule.timezone,
        policy: schedulePolicyView(schedule.policy ?? DEFAULT_SCHEDULE_POLICY),
      };
    case 'once':
      return { type: 'once', run_at: schedule.runAt.toISOString() };
  }
}

export function sameSchedule(a: Schedule, b: Schedule): boolean {
  return JSON.stringify(scheduleView(a)) === JSON.stringify(scheduleView(b));
}

/**
 * The API's duration of a run from its RFC 3339 times (milliseconds). The RPC mapping recomputes it
 * from the same strings instead of sending it, so both sides agree by construction.
 */
export function runDurationMs(startedAt: string | null, completedAt: string | null): number | null {
  if (startedAt === null || completedAt === null) return null;
  return Date.parse(completedAt) - Date.parse(startedAt);
}

export function toRecentJobView(job: {
  id: string;
  status: JobState;
  trigger: JobTrigger;
  scheduled_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}): RecentJobView {
  const startedAt = job.started_at?.toISOString() ?? null;
  const completedAt = job.completed_at?.toISOString() ?? null;
  return {
    id: job.id,
    status: job.status,
    trigger: job.trigger,
    scheduled_at: job.scheduled_at.toISOString(),
    started_at: startedAt,
    completed_at: completedAt,
    duration_ms: runDurationMs(startedAt, completedAt),
  };
}

/** The API's workflow object; `recentJobs` come from `workflowsRecentJobs` (recent-jobs.ts). */
export function toWorkflowView(row: WorkflowRow, recentJobs: RecentJobView[]): WorkflowView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    payload: row.payload as Record<string, unknown>,
    schedule: scheduleView(scheduleOf(row)),
    interval: row.interval_minutes,
    build_status: row.build_status,
    build_error: row.build_error,
    status: row.state,
    consecutive_job_failures_count: row.consecutive_job_failures_count,
    max_consecutive_job_failures_allowed: row.max_consecutive_job_failures_allowed,
    log_retention: row.log_retention,
    // A paused workflow, or one whose build failed, keeps its next_run_at (resume reads an
    // interval's phase from it; the scheduler records failed ones' fire times as NOT_BUILT), but
    // nothing runs then: the API says so rather than announce a run that will not happen.
    next_run_at:
      row.paused_at === null && row.build_status !== 'FAILED'
        ? (row.next_run_at?.toISOString() ?? null)
        : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    terminated_at: row.terminated_at?.toISOString() ?? null,
    paused_at: row.paused_at?.toISOString() ?? null,
    pause_note: row.pause_note,
    pause_on_failure: row.pause_on_failure,
    generation: row.generation,
    version: row.version,
    labels: sortedLabels(row.labels),
    recent_jobs: recentJobs,
  };
}

/** Labels with their keys in order: the same object whatever order they were given in. */
export function sortedLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One fire time of a preview (api.md "Schedule preview"). */
export interface FireTimeView {
  at: string;
  nominal_at: string;
  /** Why `at` is irregular (daylight saving); null when it is not. */
  reason: string | null;
}

export function toFireTimeView(f: FireTime): FireTimeView {
  return { at: f.at.toISOString(), nominal_at: f.nominalAt.toISOString(), reason: f.reason ?? null };
}

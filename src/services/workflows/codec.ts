/** Workflow rows ↔ the API's workflow object (api.md "Workflows"). */
import type { Schedule } from '../../domain/schedule.ts';
import { deriveWorkflowStatus, type BuildStatus, type WorkflowStatus } from '../../domain/workflow-status.ts';
import type { WorkflowKind } from '../../domain/workflow-input.ts';
import type { WorkflowRow } from '../../platform/db/schema.ts';

export type ScheduleView =
  | { type: 'interval'; interval_minutes: number }
  | { type: 'cron'; cron: string; timezone: string }
  | { type: 'once'; run_at: string };

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
  generation: number;
}

export function scheduleOf(row: WorkflowRow): Schedule {
  switch (row.schedule_type) {
    case 'interval':
      return { type: 'interval', intervalMinutes: row.interval_minutes! };
    case 'cron':
      return { type: 'cron', cron: row.cron_expression!, timezone: row.timezone! };
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
  };
}

export function scheduleView(schedule: Schedule): ScheduleView {
  switch (schedule.type) {
    case 'interval':
      return { type: 'interval', interval_minutes: schedule.intervalMinutes };
    case 'cron':
      return { type: 'cron', cron: schedule.cron, timezone: schedule.timezone };
    case 'once':
      return { type: 'once', run_at: schedule.runAt.toISOString() };
  }
}

export function sameSchedule(a: Schedule, b: Schedule): boolean {
  return JSON.stringify(scheduleView(a)) === JSON.stringify(scheduleView(b));
}

export function toWorkflowView(row: WorkflowRow): WorkflowView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    payload: row.payload as Record<string, unknown>,
    schedule: scheduleView(scheduleOf(row)),
    interval: row.interval_minutes,
    build_status: row.build_status,
    build_error: row.build_error,
    status: deriveWorkflowStatus({
      buildStatus: row.build_status,
      terminatedAt: row.terminated_at,
      completedAt: row.completed_at,
      pausedAt: row.paused_at,
    }),
    consecutive_job_failures_count: row.consecutive_job_failures_count,
    max_consecutive_job_failures_allowed: row.max_consecutive_job_failures_allowed,
    log_retention: row.log_retention,
    next_run_at: row.next_run_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    terminated_at: row.terminated_at?.toISOString() ?? null,
    generation: row.generation,
  };
}

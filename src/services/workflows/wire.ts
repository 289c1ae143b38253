/** Workflow views ↔ chronoverse.workflows.v1 messages. Payloads and replayed answers are JSON text. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { JOB_STATES, JOB_TRIGGERS } from '../../domain/job-state.ts';
import { BUILD_STATUSES, WORKFLOW_STATUSES } from '../../domain/workflow-status.ts';
import { JobStatusSchema, JobTriggerSchema } from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import { WORKFLOW_KINDS } from '../../domain/workflow-input.ts';
import {
  BuildStatusSchema,
  WorkflowKindSchema,
  WorkflowStatusSchema,
  type PreviewResponse,
  type PreviewResponseSchema,
  type ListTicksResponse,
  type ListTicksResponseSchema,
  type RecentJob,
  type RecentJobSchema,
  type Schedule,
  type SchedulePolicy,
  type SchedulePolicySchema,
  type Workflow,
  type WorkflowResult,
  type WorkflowResultSchema,
  type WorkflowSchema,
  type WorkflowsResult,
  type WorkflowsResultSchema,
  type WorkflowVersion,
  type WorkflowVersionSchema,
} from '../../gen/chronoverse/workflows/v1/workflows_pb.js';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import { ValidationError } from '../../domain/errors.ts';
import { CATCH_UP_MODES, OVERLAP_POLICIES, type SchedulePolicyView } from '../../domain/schedule-policy.ts';
import { DEFAULT_DST_POLICY, DST_GAP_POLICIES, DST_OVERLAP_POLICIES } from '../../domain/dst.ts';
import type { IdempotentResult } from '../idempotency.ts';
import type { TicksPage } from '../ticks/ledger.ts';
import type { TickOutcome } from '../../platform/db/schema.ts';
import {
  runDurationMs,
  sortedLabels,
  type FireTimeView,
  type RecentJobView,
  type ScheduleView,
  type WorkflowView,
} from './codec.ts';
import type { WorkflowDefinitionView, WorkflowVersionView } from './versions.ts';

function policyToWire(p: SchedulePolicyView): MessageInitShape<typeof SchedulePolicySchema> {
  return {
    overlap: p.overlap,
    catchUpMode: p.catch_up.mode,
    ...(p.catch_up.window_seconds === null ? {} : { catchUpWindowSeconds: p.catch_up.window_seconds }),
    ...(p.catch_up.max_runs === null ? {} : { catchUpMaxRuns: p.catch_up.max_runs }),
    jitterSeconds: p.jitter_seconds,
    ...(p.starting_deadline_seconds === null ? {} : { startingDeadlineSeconds: p.starting_deadline_seconds }),
    dstGap: p.dst.gap,
    ...(p.dst.overlap === null ? {} : { dstOverlap: p.dst.overlap }),
  };
}

function policyFromWire(m: SchedulePolicy | undefined): SchedulePolicyView {
  const p = required(m, 'schedule.policy');
  return {
    overlap: oneOf(OVERLAP_POLICIES, p.overlap, 'schedule.policy.overlap'),
    catch_up: {
      mode: oneOf(CATCH_UP_MODES, p.catchUpMode, 'schedule.policy.catch_up_mode'),
      window_seconds: p.catchUpWindowSeconds ?? null,
      max_runs: p.catchUpMaxRuns ?? null,
    },
    jitter_seconds: p.jitterSeconds,
    starting_deadline_seconds: p.startingDeadlineSeconds ?? null,
    dst: {
      // Empty from a peer that predates the DST policy: the default.
      gap:
        p.dstGap === ''
          ? DEFAULT_DST_POLICY.gap
          : oneOf(DST_GAP_POLICIES, p.dstGap, 'schedule.policy.dst_gap'),
      overlap:
        p.dstOverlap === undefined
          ? null
          : oneOf(DST_OVERLAP_POLICIES, p.dstOverlap, 'schedule.policy.dst_overlap'),
    },
  };
}

function oneOf<T extends string>(values: readonly T[], value: string, field: string): T {
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new Error(`${field}: unknown value ${JSON.stringify(value)}`);
}

function scheduleToWire(s: ScheduleView): MessageInitShape<typeof WorkflowSchema>['schedule'] {
  switch (s.type) {
    case 'interval':
      return {
        schedule: { case: 'interval', value: { intervalMinutes: s.interval_minutes } },
        policy: policyToWire(s.policy),
      };
    case 'cron':
      return {
        schedule: { case: 'cron', value: { cron: s.cron, timezone: s.timezone } },
        policy: policyToWire(s.policy),
      };
    case 'once':
      return { schedule: { case: 'once', value: { runAt: toTimestamp(s.run_at) } } };
  }
}

function scheduleFromWire(m: Schedule | undefined): ScheduleView {
  const { schedule: s, policy } = required(m, 'schedule');
  switch (s.case) {
    case 'interval':
      return { type: 'interval', interval_minutes: s.value.intervalMinutes, policy: policyFromWire(policy) };
    case 'cron':
      return { type: 'cron', cron: s.value.cron, timezone: s.value.timezone, policy: policyFromWire(policy) };
    case 'once':
      return { type: 'once', run_at: fromTimestamp(s.value.runAt) };
    default:
      throw new Error('the workflow has no schedule');
  }
}

function recentJobToWire(j: RecentJobView): MessageInitShape<typeof RecentJobSchema> {
  return {
    id: j.id,
    status: toEnum(JobStatusSchema, j.status),
    trigger: toEnum(JobTriggerSchema, j.trigger),
    scheduledAt: toTimestamp(j.scheduled_at),
    startedAt: toOptionalTimestamp(j.started_at),
    completedAt: toOptionalTimestamp(j.completed_at),
  };
}

function recentJobFromWire(m: RecentJob): RecentJobView {
  const startedAt = fromOptionalTimestamp(m.startedAt);
  const completedAt = fromOptionalTimestamp(m.completedAt);
  return {
    id: m.id,
    status: fromEnum(JobStatusSchema, m.status, JOB_STATES),
    trigger: fromEnum(JobTriggerSchema, m.trigger, JOB_TRIGGERS),
    scheduled_at: fromTimestamp(m.scheduledAt),
    started_at: startedAt,
    completed_at: completedAt,
    duration_ms: runDurationMs(startedAt, completedAt),
  };
}

export function workflowToWire(w: WorkflowView): MessageInitShape<typeof WorkflowSchema> {
  return {
    id: w.id,
    name: w.name,
    kind: toEnum(WorkflowKindSchema, w.kind),
    payloadJson: JSON.stringify(w.payload),
    schedule: scheduleToWire(w.schedule),
    ...(w.interval !== null ? { interval: w.interval } : {}),
    buildStatus: toEnum(BuildStatusSchema, w.build_status),
    ...(w.build_error !== null ? { buildError: w.build_error } : {}),
    status: toEnum(WorkflowStatusSchema, w.status),
    consecutiveJobFailuresCount: w.consecutive_job_failures_count,
    maxConsecutiveJobFailuresAllowed: w.max_consecutive_job_failures_allowed,
    logRetention: w.log_retention,
    nextRunAt: toOptionalTimestamp(w.next_run_at),
    createdAt: toTimestamp(w.created_at),
    updatedAt: toTimestamp(w.updated_at),
    terminatedAt: toOptionalTimestamp(w.terminated_at),
    pausedAt: toOptionalTimestamp(w.paused_at),
    ...(w.pause_note !== null ? { pauseNote: w.pause_note } : {}),
    pauseOnFailure: w.pause_on_failure,
    generation: w.generation,
    version: w.version,
    recentJobs: w.recent_jobs.map(recentJobToWire),
    labels: w.labels,
  };
}

export function workflowFromWire(m: Workflow | undefined): WorkflowView {
  const w = required(m, 'workflow');
  return {
    id: w.id,
    name: w.name,
    kind: fromEnum(WorkflowKindSchema, w.kind, WORKFLOW_KINDS),
    payload: JSON.parse(w.payloadJson) as Record<string, unknown>,
    schedule: scheduleFromWire(w.schedule),
    interval: w.interval ?? null,
    build_status: fromEnum(BuildStatusSchema, w.buildStatus, BUILD_STATUSES),
    build_error: w.buildError ?? null,
    status: fromEnum(WorkflowStatusSchema, w.status, WORKFLOW_STATUSES),
    consecutive_job_failures_count: w.consecutiveJobFailuresCount,
    max_consecutive_job_failures_allowed: w.maxConsecutiveJobFailuresAllowed,
    log_retention: w.logRetention,
    next_run_at: fromOptionalTimestamp(w.nextRunAt),
    created_at: fromTimestamp(w.createdAt),
    updated_at: fromTimestamp(w.updatedAt),
    terminated_at: fromOptionalTimestamp(w.terminatedAt),
    paused_at: fromOptionalTimestamp(w.pausedAt),
    pause_note: w.pauseNote ?? null,
    pause_on_failure: w.pauseOnFailure,
    generation: w.generation,
    version: w.version,
    // A protobuf map has no order: the API's is the keys', restored here.
    labels: sortedLabels(w.labels),
    recent_jobs: w.recentJobs.map(recentJobFromWire),
  };
}

/** A replay's body is the stored answer: sent verbatim as JSON, not re-shaped. */
export function resultToWire(
  r: IdempotentResult<WorkflowView>,
): MessageInitShape<typeof WorkflowResultSchema> {
  return {
    status: r.status,
    replayed: r.replayed,
    body: r.replayed
      ? { case: 'storedJson', value: JSON.stringify(r.body) }
      : { case: 'workflow', value: workflowToWire(r.body) },
  };
}

export function resultFromWire(m: WorkflowResult): IdempotentResult<WorkflowView> {
  const body =
    m.body.case === 'storedJson'
      ? (JSON.parse(m.body.value) as WorkflowView)
      : workflowFromWire(m.body.case === 'workflow' ? m.body.value : undefined);
  return { status: m.status, body, replayed: m.replayed };
}

/** The answer of a bulk create; a replay's body is the stored answer, sent verbatim as JSON. */
export function resultsToWire(
  r: IdempotentResult<WorkflowView[]>,
): MessageInitShape<typeof WorkflowsResultSchema> {
  return {
    status: r.status,
    replayed: r.replayed,
    body: r.replayed
      ? { case: 'storedJson', value: JSON.stringify(r.body) }
      : { case: 'created', value: { workflows: r.body.map(workflowToWire) } },
  };
}

/** A bulk create refused for its items, as an answer (see BulkRefusal in the .proto). */
export function refusalToWire(err: ValidationError): MessageInitShape<typeof WorkflowsResultSchema> {
  return {
    status: 400,
    replayed: false,
    body: { case: 'invalid', value: { message: err.message, issues: err.issues } },
  };
}

export function resultsFromWire(m: WorkflowsResult): IdempotentResult<WorkflowView[]> {
  if (m.body.case === 'invalid') {
    throw new ValidationError(
      m.body.value.issues.map((x) => ({
        path: x.path,
        message: x.message,
        ...(x.index !== undefined ? { index: x.index, field: x.field ?? '' } : {}),
      })),
      m.body.value.message,
    );
  }
  const body =
    m.body.case === 'storedJson'
      ? (JSON.parse(m.body.value) as WorkflowView[])
      : (m.body.case === 'created' ? m.body.value.workflows : []).map(workflowFromWire);
  return { status: m.status, body, replayed: m.replayed };
}

/** The request body as JSON text (absent: no body), parsed back exactly (NUL, lone surrogates, `__proto__`). */
export function bodyToWire(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}

export function bodyFromWire(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}

export function previewToWire(p: {
  fire_times: FireTimeView[];
}): MessageInitShape<typeof PreviewResponseSchema> {
  return {
    fireTimes: p.fire_times.map((f) => ({
      at: toTimestamp(f.at),
      nominalAt: toTimestamp(f.nominal_at),
      ...(f.reason !== null ? { reason: f.reason } : {}),
    })),
  };
}

export function previewFromWire(m: PreviewResponse): { fire_times: FireTimeView[] } {
  return {
    fire_times: m.fireTimes.map((f) => ({
      at: fromTimestamp(f.at),
      nominal_at: fromTimestamp(f.nominalAt),
      reason: f.reason ?? null,
    })),
  };
}

export function versionToWire(v: WorkflowVersionView): MessageInitShape<typeof WorkflowVersionSchema> {
  return {
    workflowId: v.workflow_id,
    version: v.version,
    createdAt: toTimestamp(v.created_at),
    ...(v.created_by !== null ? { createdBy: v.created_by } : {}),
    current: v.current,
    changes: v.changes,
    definitionJson: JSON.stringify(v.definition),
  };
}

export function versionFromWire(m: WorkflowVersion | undefined): WorkflowVersionView {
  const v = required(m, 'version');
  return {
    workflow_id: v.workflowId,
    version: v.version,
    created_at: fromTimestamp(v.createdAt),
    created_by: v.createdBy ?? null,
    current: v.current,
    changes: v.changes,
    definition: JSON.parse(v.definitionJson) as WorkflowDefinitionView,
  };
}

export function ticksToWire(p: TicksPage): MessageInitShape<typeof ListTicksResponseSchema> {
  return {
    ticks: p.ticks.map((t) => ({
      nominalAt: toTimestamp(t.nominal_at),
      scheduledAt: toTimestamp(t.scheduled_at),
      outcome: t.outcome,
      ...(t.job_id !== null ? { jobId: t.job_id } : {}),
      ...(t.reason !== null ? { reason: t.reason } : {}),
    })),
    ...(p.cursor !== null ? { cursor: p.cursor } : {}),
  };
}

export function ticksFromWire(m: ListTicksResponse): TicksPage {
  return {
    ticks: m.ticks.map((t) => ({
      nominal_at: fromTimestamp(t.nominalAt),
      scheduled_at: fromTimestamp(t.scheduledAt),
      outcome: t.outcome as TickOutcome,
      job_id: t.jobId ?? null,
      reason: t.reason ?? null,
    })),
    cursor: m.cursor ?? null,
  };
}

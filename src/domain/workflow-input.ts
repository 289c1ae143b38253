/**
 * Validation of workflow input: the create and update bodies, the per-kind payloads and the
 * schedule. The zod schemas here are the single source for both request validation and the
 * OpenAPI document. Validation composes independent checks so that a body with several bad fields
 * reports every one of them (zod alone stops at object-level rules once a field fails).
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { fieldIssuesFromZod, unstorableValues } from './field-issues.ts';
import { LabelsSchema, type Labels } from './labels.ts';
import { DEFAULT_DST_POLICY } from './dst.ts';
import {
  canonicalTimezone,
  checkCron,
  checkTimezone,
  INTERVAL_MAX_MINUTES,
  INTERVAL_MIN_MINUTES,
  type Schedule,
} from './schedule.ts';
import {
  jitterProblem,
  SchedulePolicySchema,
  schedulePolicyFrom,
  type SchedulePolicyInput,
} from './schedule-policy.ts';
import { DagPayloadSchema, validateDagPayload } from './dag-definition.ts';
import {
  ContainerPayloadSchema,
  HeartbeatPayloadSchema,
  TASK_KINDS,
  validatePayload,
  type ContainerPayload,
  type TaskPayload,
  type Validated,
} from './task-payload.ts';

// Task payloads live in task-payload.ts (a DAG's tasks use them too); re-exported for the callers
// that validate a whole workflow.
export * from './task-payload.ts';

/** A workflow is one task (its kind) or a DAG of tasks (dag-definition.ts). */
export const WORKFLOW_KINDS = [...TASK_KINDS, 'DAG'] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];

/** A DAG's payload as stored: `{ tasks, finally?, max_parallel? }` with each task's defaults filled in. */
export type DagPayload = Record<string, unknown>;

/** A workflow's payload: its task's, or its DAG's. */
export type WorkflowPayload = TaskPayload | DagPayload;

/** Validates a workflow's payload for its kind, issues prefixed with `payload`. */
export function validateWorkflowPayload(kind: WorkflowKind, raw: unknown): Validated<WorkflowPayload> {
  if (kind !== 'DAG') {
    const result = validatePayload(kind, raw);
    // Inputs come from upstream tasks, which only a DAG has.
    if (result.ok && kind === 'CONTAINER' && (result.value as ContainerPayload).inputs !== undefined) {
      return {
        ok: false,
        issues: [
          { path: 'payload.inputs', message: 'only a task of a DAG can have inputs (from upstream tasks)' },
        ],
      };
    }
    return result;
  }
  const dag = validateDagPayload(raw);
  return dag.ok ? { ok: true, value: dag.value.stored } : dag;
}

// ─── schedule ──────────────────────────────────────────────────────────────────────────────
const intervalMinutes = z.number().int().min(INTERVAL_MIN_MINUTES).max(INTERVAL_MAX_MINUTES);

export const ScheduleSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('interval'),
        interval_minutes: intervalMinutes,
        policy: SchedulePolicySchema.optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('cron'),
        cron: z.string().superRefine((c, ctx) => {
          const problem = checkCron(c);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        timezone: z
          .string()
          .superRefine((tz, ctx) => {
            const problem = checkTimezone(tz);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .default('UTC'),
        policy: SchedulePolicySchema.optional(),
      })
      .strict(),
    z.object({ type: z.literal('once'), run_at: z.iso.datetime({ offset: true }) }).strict(),
  ])
  .meta({ id: 'Schedule' });
export type ScheduleInput = z.output<typeof ScheduleSchema>;

// ─── bodies ────────────────────────────────────────────────────────────────────────────────
const name = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(255, 'must be at most 255 characters')
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
const maxFailures = z.number().int().min(1).max(100);
const payloadDoc = z
  .union([HeartbeatPayloadSchema, ContainerPayloadSchema, DagPayloadSchema, z.string()])
  .describe('The kind-specific payload, as an object or as a JSON string of one.');

const commonFields = {
  name,
  interval: intervalMinutes
    .optional()
    .describe('Minutes between runs (Chronoverse form); or use `schedule`.'),
  schedule: ScheduleSchema.optional(),
  max_consecutive_job_failures_allowed: maxFailures.optional(),
  pause_on_failure: z
    .boolean()
    .optional()
    .describe(
      'At max_consecutive_job_failures_allowed, pause the workflow (resume it as it is) instead of terminating it. Default false.',
    ),
  log_retention: z.boolean().optional(),
  labels: LabelsSchema.optional(),
};

/** Documentation schema of `POST /workflows` (validation: `validateWorkflowCreate`). */
export const WorkflowCreateBodySchema = z
  .object({ ...commonFields, kind: z.enum(WORKFLOW_KINDS), payload: payloadDoc })
  .strict()
  .meta({ id: 'WorkflowCreate' });

/** Most workflows one `POST /workflows/bulk` creates. */
export const BULK_MAX_ITEMS = 10_000;

/** Documentation schema of `POST /workflows/bulk` (validation: `validateWorkflowBulk` + per item). */
export const WorkflowBulkCreateBodySchema = z
  .object({
    workflows: z
      .array(WorkflowCreateBodySchema)
      .min(1)
      .max(BULK_MAX_ITEMS)
      .describe(`1 to ${BULK_MAX_ITEMS} workflows, each as \`POST /workflows\` takes it`),
  })
  .strict()
  .meta({ id: 'WorkflowBulkCreate' });

/**
 * The envelope of a bulk create: `{ workflows: [...] }` with 1 to BULK_MAX_ITEMS items, checked
 * before any item (an item is checked by `validateWorkflowCreate`, as a single create is).
 */
export function validateWorkflowBulk(input: unknown): Validated<unknown[]> {
  if (!isPlainObject(input))
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  const issues: FieldIssue[] = Object.keys(input)
    .filter((k) => k !== 'workflows')
    .map((k) => ({ path: k, message: 'is not a known field' }));
  const items = input.workflows;
  if (!Array.isArray(items)) {
    issues.push({ path: 'workflows', message: 'is required: an array of workflows' });
  } else if (items.length === 0) {
    issues.push({ path: 'workflows', message: 'must have at least 1 item' });
  } else if (items.length > BULK_MAX_ITEMS) {
    issues.push({
      path: 'workflows',
      message: `must have at most ${BULK_MAX_ITEMS} items (has ${items.length}); send several requests`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: items as unknown[] };
}

/** Documentation schema of `PUT /workflows/{id}` (validation: `validateWorkflowUpdate`). */
export const WorkflowUpdateBodySchema = z
  .object({
    name: name.optional(),
    kind: z
      .enum(WORKFLOW_KINDS)
      .optional()
      .describe('Cannot change; accepted when equal to the current kind.'),
    payload: payloadDoc.optional(),
    interval: commonFields.interval,
    schedule: commonFields.schedule,
    max_consecutive_job_failures_allowed: commonFields.max_consecutive_job_failures_allowed,
    pause_on_failure: commonFields.pause_on_failure,
    log_retention: commonFields.log_retention,
    labels: LabelsSchema.optional().describe('Replaces every label (absent: labels kept; {}: none).'),
  })
  .strict()
  .meta({ id: 'WorkflowUpdate' });

// Shape checks without the payload, which is validated per kind below.
const CreateShape = z
  .object({ ...commonFields, kind: z.enum(WORKFLOW_KINDS), payload: z.unknown().optional() })
  .strict();
const UpdateShape = WorkflowUpdateBodySchema.extend({ payload: z.unknown().optional() }).strict();

export interface WorkflowDraft {
  name: string;
  kind: WorkflowKind;
  payload: WorkflowPayload;
  schedule: Schedule;
  maxConsecutiveFailures: number;
  /** At the failure limit: pause instead of terminate. */
  pauseOnFailure: boolean;
  logRetention: boolean;
  labels: Labels;
}

export interface WorkflowChanges {
  name?: string;
  payload?: WorkflowPayload;
  schedule?: Schedule;
  maxConsecutiveFailures?: number;
  pauseOnFailure?: boolean;
  logRetention?: boolean;
  labels?: Labels;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schedule of a body, from `interval` or `schedule`, checked on its own so that its problems
 * are reported together with every other field's. Shape errors of the two fields are reported by
 * the body's shape check; this adds the rules between them and the clock.
 */
function scheduleFrom(
  input: Record<string, unknown>,
  now: Date,
  required: boolean,
  issues: FieldIssue[],
): Schedule | undefined {
  const hasInterval = input.interval !== undefined;
  const hasSchedule = input.schedule !== undefined;
  if (hasInterval && hasSchedule) {
    issues.push({ path: 'schedule', message: 'give either interval or schedule, not both' });
    return undefined;
  }
  if (hasInterval) {
    const interval = intervalMinutes.safeParse(input.interval);
    return interval.success ? { type: 'interval', intervalMinutes: interval.data } : undefined;
  }
  if (!hasSchedule) {
    if (required)
      issues.push({ path: 'schedule', message: 'is required: give interval (minutes) or schedule' });
    return undefined;
  }
  const parsed = ScheduleSchema.safeParse(input.schedule);
  if (!parsed.success) return undefined;
  const schedule = parsed.data;
  switch (schedule.type) {
    case 'interval':
      return withPolicy(
        { type: 'interval', intervalMinutes: schedule.interval_minutes },
        schedule.policy,
        now,
        issues,
      );
    case 'cron':
      return withPolicy(
        { type: 'cron', cron: schedule.cron.trim(), timezone: canonicalTimezone(schedule.timezone)! },
        schedule.policy,
        now,
        issues,
      );
    case 'once': {
      const runAt = new Date(schedule.run_at);
      if (runAt.getTime() <= now.getTime()) {
        issues.push({ path: 'schedule.run_at', message: 'must be in the future' });
        return undefined;
      }
      return { type: 'once', runAt };
    }
  }
}

/**
 * A recurring schedule with the policies the body gives (absent: none given, see
 * `keepPolicyOnEdit`), checked against each other.
 */
function withPolicy<S extends Extract<Schedule, { type: 'interval' | 'cron' }>>(
  schedule: S,
  input: SchedulePolicyInput | undefined,
  now: Date,
  issues: FieldIssue[],
): S | undefined {
  if (input === undefined) return schedule;
  const dstGiven =
    input.dst !== undefined &&
    ((input.dst.gap !== undefined && input.dst.gap !== DEFAULT_DST_POLICY.gap) ||
      (input.dst.overlap !== undefined && input.dst.overlap !== DEFAULT_DST_POLICY.overlap));
  if (schedule.type === 'interval' && dstGiven) {
    // Refused rather than ignored (as max_runs outside mode ALL): a setting that silently does
    // nothing is one a user believes is in force. The defaults are accepted: they are what an
    // interval's view shows, so a view sent back as it was read (GET, then PUT) stays valid.
    issues.push({
      path: 'schedule.policy.dst',
      message:
        'applies to cron schedules only: an interval counts elapsed time and has no wall clock to change',
    });
    return undefined;
  }
  const policy = schedulePolicyFrom(input);
  const jitter = jitterProblem(schedule, policy.jitterSeconds, now);
  if (jitter !== null) {
    issues.push({ path: 'schedule.policy.jitter_seconds', message: jitter });
    return undefined;
  }
  return { ...schedule, policy };
}

/**
 * An edit's schedule without `policy` keeps the workflow's policies (as absent `labels` keep the
 * labels): a client that changes the time alone, such as the dashboard's form, does not reset
 * them; `policy: {}` does. The kept jitter is checked against the new times.
 */
export function keepPolicyOnEdit(next: Schedule, current: Schedule, now: Date): Validated<Schedule> {
  if (
    next.type === 'once' ||
    next.policy !== undefined ||
    current.type === 'once' ||
    current.policy === undefined
  ) {
    return { ok: true, value: next };
  }
  const jitter = jitterProblem(next, current.policy.jitterSeconds, now);
  if (jitter !== null) {
    return {
      ok: false,
      issues: [
        {
          path: 'schedule.policy.jitter_seconds',
          message: `${jitter} (the workflow's jitter, kept by this edit)`,
        },
      ],
    };
  }
  // A cron schedule's DST policy does not follow it to an interval, where it means nothing.
  const policy = next.type === 'interval' ? { ...current.policy, dst: DEFAULT_DST_POLICY } : current.policy;
  return { ok: true, value: { ...next, policy } };
}

/**
 * A schedule on its own (`POST /schedules/preview`), checked exactly as `POST /workflows` checks
 * its `schedule` field (shape, cron syntax, zone, a once `run_at` in the future), issues named
 * `schedule.…`.
 */
export function validateScheduleInput(raw: unknown, now: Date): Validated<Schedule> {
  if (raw === undefined || raw === null) {
    return { ok: false, issues: [{ path: 'schedule', message: 'is required' }] };
  }
  const unstorable = unstorableValues(raw, 'schedule');
  const shape = ScheduleSchema.safeParse(raw);
  if (!shape.success || unstorable.length > 0) {
    const issues = [
      ...unstorable,
      ...(shape.success ? [] : fieldIssuesFromZod(shape.error.issues, 'schedule')),
    ];
    return { ok: false, issues: dedupe(issues) };
  }
  const issues: FieldIssue[] = [];
  const schedule = scheduleFrom({ schedule: raw }, now, true, issues);
  if (schedule === undefined || issues.length > 0) return { ok: false, issues };
  return { ok: true, value: schedule };
}

/** Whether a workflow keeps logs unless told: every kind that has logs (a heartbeat has none). */
export function defaultLogRetention(kind: WorkflowKind): boolean {
  return kind !== 'HEARTBEAT';
}

function checkRetention(kind: WorkflowKind, logRetention: unknown, issues: FieldIssue[]): void {
  if (kind === 'HEARTBEAT' && logRetention === true) {
    issues.push({ path: 'log_retention', message: 'HEARTBEAT workflows have no logs to retain' });
  }
}

export function validateWorkflowCreate(input: unknown, now: Date): Validated<WorkflowDraft> {
  if (!isPlainObject(input))
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  const issues: FieldIssue[] = unstorableValues(input);
  const shape = CreateShape.safeParse(input);
  if (!shape.success) issues.push(...fieldIssuesFromZod(shape.error.issues));
  const kind = z.enum(WORKFLOW_KINDS).safeParse(input.kind);
  let payload: WorkflowPayload | undefined;
  if (input.payload === undefined || input.payload === null) {
    issues.push({ path: 'payload', message: 'is required' });
  } else if (kind.success) {
    const result = validateWorkflowPayload(kind.data, input.payload);
    if (result.ok) payload = result.value;
    else issues.push(...result.issues);
  }
  const schedule = scheduleFrom(input, now, true, issues);
  if (kind.success) checkRetention(kind.data, input.log_retention, issues);
  if (issues.length > 0 || !shape.success || payload === undefined || schedule === undefined) {
    return { ok: false, issues: dedupe(issues) };
  }
  const body = shape.data;
  return {
    ok: true,
    value: {
      name: body.name,
      kind: body.kind,
      payload,
      schedule,
      maxConsecutiveFailures: body.max_consecutive_job_failures_allowed ?? 3,
      pauseOnFailure: body.pause_on_failure ?? false,
      logRetention: body.log_retention ?? defaultLogRetention(body.kind),
      labels: body.labels ?? {},
    },
  };
}

export function validateWorkflowUpdate(
  input: unknown,
  kind: WorkflowKind,
  now: Date,
): Validated<WorkflowChanges> {
  if (!isPlainObject(input))
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  const issues: FieldIssue[] = unstorableValues(input);
  const shape = UpdateShape.safeParse(input);
  if (!shape.success) issues.push(...fieldIssuesFromZod(shape.error.issues));
  if (input.kind !== undefined && input.kind !== kind && !issues.some((i) => i.path === 'kind')) {
    issues.push({ path: 'kind', message: `cannot be changed (this workflow is ${kind})` });
  }
  let payload: WorkflowPayload | undefined;
  if (input.payload !== undefined) {
    const result = validateWorkflowPayload(kind, input.payload);
    if (result.ok) payload = result.value;
    else issues.push(...result.issues);
  }
  const schedule = scheduleFrom(input, now, false, issues);
  checkRetention(kind, input.log_retention, issues);
  if (issues.length > 0 || !shape.success) return { ok: false, issues: dedupe(issues) };
  const body = shape.data;
  const changes: WorkflowChanges = {};
  if (body.name !== undefined) changes.name = body.name;
  if (payload !== undefined) changes.payload = payload;
  if (schedule !== undefined) changes.schedule = schedule;
  if (body.max_consecutive_job_failures_allowed !== undefined) {
    changes.maxConsecutiveFailures = body.max_consecutive_job_failures_allowed;
  }
  if (body.pause_on_failure !== undefined) changes.pauseOnFailure = body.pause_on_failure;
  if (body.log_retention !== undefined) changes.logRetention = body.log_retention;
  if (body.labels !== undefined) changes.labels = body.labels;
  return { ok: true, value: changes };
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The image the build step must have locally; a change of it means a rebuild. */
export function buildInputOf(kind: WorkflowKind, payload: WorkflowPayload): string | null {
  if (kind === 'CONTAINER') return (payload as ContainerPayload).image;
  if (kind !== 'DAG') return null;
  // A DAG's container images, each once, in order: a change of any of them means a rebuild.
  const tasks = [
    ...((payload as { tasks?: unknown[] }).tasks ?? []),
    ...((payload as { finally?: unknown[] }).finally ?? []),
  ] as { kind?: string; payload?: { image?: string } }[];
  const images = [
    ...new Set(tasks.filter((t) => t.kind === 'CONTAINER').map((t) => t.payload?.image ?? '')),
  ].sort();
  return images.length > 0 ? images.join('\n') : null;
}

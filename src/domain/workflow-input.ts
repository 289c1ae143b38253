/**
 * Validation of workflow input: the create and update bodies, the per-kind payloads and the
 * schedule. The zod schemas here are the single source for both request validation and the
 * OpenAPI document. Validation composes independent checks so that a body with several bad fields
 * reports every one of them (zod alone stops at object-level rules once a field fails).
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { fieldIssuesFromZod, unstorableValues } from './field-issues.ts';
import { parseDuration } from './duration.ts';
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

export const WORKFLOW_KINDS = ['HEARTBEAT', 'CONTAINER'] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const durationString = (maxMs: number, maxText: string) =>
  z
    .string()
    .max(32)
    .superRefine((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null)
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m" or "1h30m"' });
      else if (ms <= 0) ctx.addIssue({ code: 'custom', message: 'must be greater than zero' });
      else if (ms > maxMs) ctx.addIssue({ code: 'custom', message: `must be at most ${maxText}` });
    });

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

// RFC 9110 token characters for header names; values must not smuggle line breaks.
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, 'must be a valid HTTP header name');
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, 'must not contain line breaks');

export const HeartbeatPayloadSchema = z
  .object({
    endpoint: z.string().max(2048).refine(isHttpUrl, 'must be an http:// or https:// URL'),
    method: z.enum(HTTP_METHODS).default('GET'),
    headers: z
      .record(headerName, z.union([headerValue, z.array(headerValue).max(32)]))
      .refine((h) => Object.keys(h).length <= 64, 'must have at most 64 headers')
      .default({}),
    body: z.string().max(65_536).nullable().default(null),
    expected_status_code: z.number().int().min(100).max(599).default(200),
    timeout: durationString(5 * 60_000, '5m').default('10s'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.body !== null && (p.method === 'GET' || p.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `is not allowed with method ${p.method}` });
    }
  })
  .meta({
    id: 'HeartbeatPayload',
    description: 'An HTTP request whose answer must have the expected status.',
  });
export type HeartbeatPayload = z.output<typeof HeartbeatPayloadSchema>;

// Docker image reference: [registry[:port]/]path[:tag][@sha256:digest].
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const commandArgs = z.array(z.string().max(16_384)).max(256);

/** Most artifacts one CONTAINER payload may declare. */
export const MAX_ARTIFACTS = 20;

/** An artifact's name: part of its storage key and of download file names, so a safe slug. */
export const ARTIFACT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const ArtifactDeclarationSchema = z
  .object({
    name: z
      .string()
      .regex(
        ARTIFACT_NAME,
        'must be 1–63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
      ),
    path: z
      .string()
      .max(1024)
      .startsWith('/', 'must be an absolute path')
      // `..` would let a path name something other than what it reads as; NUL ends it early.
      .refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments')
      .refine((p) => !p.includes('\0'), 'must not contain NUL characters'),
  })
  .strict()
  .meta({
    id: 'ArtifactDeclaration',
    description:
      'A file or directory the container leaves behind, copied out as a tar archive after every attempt.',
  });

const artifactDeclarations = z
  .array(ArtifactDeclarationSchema)
  .max(MAX_ARTIFACTS, `must have at most ${MAX_ARTIFACTS} artifacts`)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((a, i) => {
      if (seen.has(a.name)) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `repeats the name "${a.name}"` });
      }
      seen.add(a.name);
    });
  });

export const ContainerPayloadSchema = z
  .object({
    image: z
      .string()
      .max(255)
      .regex(
        IMAGE_REFERENCE,
        'must be an image reference such as "alpine:3.20" or "ghcr.io/org/app@sha256:…"',
      ),
    cmd: commandArgs.nullable().default(null),
    entrypoint: commandArgs.nullable().default(null),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'must be an environment variable name'),
        z.string().max(32_768),
      )
      .refine((e) => Object.keys(e).length <= 256, 'must have at most 256 variables')
      .default({}),
    workdir: z.string().max(1024).startsWith('/', 'must be an absolute path').nullable().default(null),
    timeout: durationString(60 * 60_000, '1h').default('30s'),
    resources: z
      .object({
        cpus: z.number().min(0.01).max(64).nullable().default(null),
        memory_mb: z.number().int().min(6).max(262_144).nullable().default(null),
        pids: z.number().int().min(1).max(32_768).nullable().default(null),
      })
      .strict()
      .default({ cpus: null, memory_mb: null, pids: null })
      .describe('Limits; null means the executor default.'),
    network: z
      .enum(['none', 'bridge'])
      .default('none')
      .describe('"bridge" only for administrators, unless the administrator allows it.'),
    read_only_root_fs: z
      .boolean()
      .default(false)
      .describe('Mount the image read-only; /tmp stays writable (a 64 MiB tmpfs).'),
    user: z
      .string()
      .max(32)
      .superRefine((u, ctx) => {
        if (!/^\d{1,10}(?::\d{1,10})?$/.test(u)) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a numeric "uid" or "uid:gid", such as "1000:1000"',
          });
        } else if (u.split(':').some((n) => Number(n) > 2_147_483_647)) {
          ctx.addIssue({ code: 'custom', message: 'must have a uid and gid of at most 2147483647' });
        }
      })
      .nullable()
      .default(null)
      .describe("Run as this uid[:gid] instead of the image's user; null keeps the image's."),
    // Optional rather than defaulted: payloads stored before it existed read back unchanged.
    artifacts: artifactDeclarations
      .optional()
      .describe(
        'Files or directories to keep after every attempt, whatever its outcome (docs/artifacts.md). Unique names; at most 20.',
      ),
  })
  .strict()
  .meta({ id: 'ContainerPayload', description: 'A container run through the Docker Engine API.' });
export type ContainerPayload = z.output<typeof ContainerPayloadSchema>;

export type WorkflowPayload = HeartbeatPayload | ContainerPayload;

const PAYLOAD_SCHEMAS = { HEARTBEAT: HeartbeatPayloadSchema, CONTAINER: ContainerPayloadSchema } as const;

/** The payload type of one kind. */
export type PayloadOf<K extends WorkflowKind> = z.output<(typeof PAYLOAD_SCHEMAS)[K]>;

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
  .union([HeartbeatPayloadSchema, ContainerPayloadSchema, z.string()])
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

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a payload (object or JSON string) for `kind`, issues prefixed with `payload`. */
export function validatePayload(kind: WorkflowKind, raw: unknown): Validated<WorkflowPayload> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, issues: [{ path: 'payload', message: 'is not valid JSON' }] };
    }
  }
  if (!isPlainObject(value)) {
    return {
      ok: false,
      issues: [{ path: 'payload', message: 'must be an object (or a JSON string of one)' }],
    };
  }
  if (typeof raw === 'string') {
    // A JSON-string payload hides its strings from the body-wide check; look inside it here.
    const unstorable = unstorableValues(value, 'payload');
    if (unstorable.length > 0) return { ok: false, issues: unstorable };
  }
  const parsed = PAYLOAD_SCHEMAS[kind].safeParse(value);
  if (!parsed.success) return { ok: false, issues: fieldIssuesFromZod(parsed.error.issues, 'payload') };
  return { ok: true, value: parsed.data };
}

/** validatePayload, typed for one kind (the value was parsed by that kind's schema). */
export function validatePayloadOf<K extends WorkflowKind>(kind: K, raw: unknown): Validated<PayloadOf<K>> {
  return validatePayload(kind, raw) as Validated<PayloadOf<K>>;
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
  if (schedule.type === 'interval' && input.dst !== undefined) {
    // Refused rather than ignored (as max_runs outside mode ALL): a setting that silently does
    // nothing is one a user believes is in force.
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
    const result = validatePayload(kind.data, input.payload);
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
      logRetention: body.log_retention ?? body.kind === 'CONTAINER',
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
    const result = validatePayload(kind, input.payload);
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
  return kind === 'CONTAINER' ? (payload as ContainerPayload).image : null;
}

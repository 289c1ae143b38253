/**
 * Workflow definition documents: workflows as files in version control, applied by the command
 * line (`chronoverse apply -f`, docs/cli.md).
 *
 *   apiVersion: chronoverse/v1
 *   kind: Workflow
 *   metadata: { name, labels }
 *   spec: { kind, payload, schedule | interval, max_consecutive_job_failures_allowed, pause_on_failure,
 *           log_retention }
 *
 * One source with the API: `spec` and `metadata` are the fields of `POST /workflows`, taken from
 * its schema (workflow-input.ts), and a document is checked by `validateWorkflowCreate`, the very
 * function the workflows service runs, so a file the command line accepts is one the server
 * accepts. The JSON Schema editors validate files with (docs/schemas/workflow.json, also served at
 * /api/v1/schemas/workflow.json) is generated from `WorkflowDefinitionSchema` below.
 *
 * `spec` is a union on `spec.kind`: each kind has its `payload` today; a DAG kind with `tasks`
 * (issue 12) is one more branch of that union, and one more case in `definitionToBody`.
 *
 * Canonical form: `canonicalDefinition` writes a workflow as the shortest document that means
 * it: defaults left out (payload fields, `max_consecutive_job_failures_allowed: 3`,
 * `pause_on_failure: false`, the kind's
 * `log_retention`, the cron `timezone: UTC`), schedules in the `schedule:` form, labels in key
 * order. `apply` compares the canonical form of the file (plus the management label it sets) with
 * that of the server's workflow (equal: unchanged); `export` writes it without that label.
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { MANAGED_BY_LABEL, type Labels } from './labels.ts';
import { DagPayloadSchema } from './dag-definition.ts';
import type { Schedule } from './schedule.ts';
import {
  DEFAULT_SCHEDULE_POLICY,
  minimalPolicyInput,
  schedulePolicyView,
  type SchedulePolicyView,
} from './schedule-policy.ts';
import {
  ContainerPayloadSchema,
  defaultLogRetention,
  HeartbeatPayloadSchema,
  validateWorkflowCreate,
  WorkflowCreateBodySchema,
  type WorkflowKind,
} from './workflow-input.ts';

export const DEFINITION_API_VERSION = 'chronoverse/v1';
export const DEFINITION_KIND = 'Workflow';
/** The value of `chronoverse.io/managed-by` on workflows `apply` created or changed. */
export const MANAGED_BY_CLI = 'cli';

const body = WorkflowCreateBodySchema.shape;
const specFields = {
  schedule: body.schedule,
  interval: body.interval,
  max_consecutive_job_failures_allowed: body.max_consecutive_job_failures_allowed,
  pause_on_failure: body.pause_on_failure,
  log_retention: body.log_retention,
};

/** The definition document, for the JSON Schema (validation: `checkDefinition`). */
export const WorkflowDefinitionSchema = z
  .object({
    apiVersion: z.literal(DEFINITION_API_VERSION),
    kind: z.literal(DEFINITION_KIND),
    metadata: z
      .object({
        name: body.name.describe('Unique among your workflows: apply finds the workflow by it.'),
        labels: body.labels,
      })
      .strict(),
    spec: z.discriminatedUnion('kind', [
      z
        .object({ kind: z.literal('HEARTBEAT'), payload: HeartbeatPayloadSchema, ...specFields })
        .strict()
        .describe('An HTTP request on a schedule.'),
      z
        .object({ kind: z.literal('CONTAINER'), payload: ContainerPayloadSchema, ...specFields })
        .strict()
        .describe('A container on a schedule.'),
      z
        .object({ kind: z.literal('DAG'), payload: DagPayloadSchema, ...specFields })
        .strict()
        .describe('Several tasks with dependencies, conditions, retries and fan-out, on a schedule.'),
    ]),
  })
  .strict()
  .meta({
    title: 'Chronoverse workflow definition',
    description:
      'A workflow as a file: `chronoverse apply -f <file|dir>` creates or changes it by name (docs/cli.md).',
  });

/** The JSON Schema of definition documents (2020-12), as published in docs/schemas/workflow.json. */
export function workflowDefinitionJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(WorkflowDefinitionSchema, { io: 'input', unrepresentable: 'any' });
  return { ...schema, $id: 'urn:chronoverse:schemas:workflow:v1' };
}

export type DefinitionPath = (string | number)[];
export interface DefinitionIssue {
  /** Where in the document: `['spec', 'payload', 'endpoint']`; `[]` for the whole document. */
  path: DefinitionPath;
  message: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An API field path (`payload.endpoint`, `labels.team`, `name`) as a document path. */
export function definitionPathOf(apiPath: string): DefinitionPath {
  const parts: DefinitionPath =
    apiPath === '' ? [] : apiPath.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const [first, ...rest] = parts;
  if (first === undefined) return [];
  if (first === 'name') return ['metadata', 'name', ...rest];
  if (first === 'labels') {
    // A label key may contain dots (example.com/team): everything after `labels.` is the key.
    return rest.length > 0 ? ['metadata', 'labels', apiPath.slice('labels.'.length)] : ['metadata', 'labels'];
  }
  return ['spec', ...parts];
}

export function formatDefinitionPath(path: DefinitionPath): string {
  return path.map(String).join('.');
}

const ENVELOPE_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_KEYS = ['name', 'labels'];

/**
 * The `POST /workflows` body a document stands for, or what is wrong with its envelope
 * (`apiVersion`, `kind`, `metadata`, `spec` and their keys). Field values are checked by
 * `checkDefinition`.
 */
export function definitionToBody(
  doc: unknown,
): { ok: true; body: Record<string, unknown> } | { ok: false; issues: DefinitionIssue[] } {
  if (!isObject(doc)) {
    return {
      ok: false,
      issues: [{ path: [], message: 'must be a mapping with apiVersion, kind, metadata and spec' }],
    };
  }
  const issues: DefinitionIssue[] = [];
  for (const key of Object.keys(doc)) {
    if (!ENVELOPE_KEYS.includes(key)) issues.push({ path: [key], message: 'is not a known field' });
  }
  if (doc.apiVersion !== DEFINITION_API_VERSION) {
    issues.push({
      path: ['apiVersion'],
      message:
        doc.apiVersion === undefined
          ? `is required: ${DEFINITION_API_VERSION}`
          : `must be ${DEFINITION_API_VERSION}`,
    });
  }
  if (doc.kind !== DEFINITION_KIND) {
    issues.push({
      path: ['kind'],
      message: doc.kind === undefined ? `is required: ${DEFINITION_KIND}` : `must be ${DEFINITION_KIND}`,
    });
  }
  const metadata = doc.metadata;
  if (!isObject(metadata)) {
    issues.push({ path: ['metadata'], message: 'is required: a mapping with name (and labels)' });
  } else {
    for (const key of Object.keys(metadata)) {
      if (!METADATA_KEYS.includes(key))
        issues.push({ path: ['metadata', key], message: 'is not a known field' });
    }
  }
  const spec = doc.spec;
  if (!isObject(spec))
    issues.push({ path: ['spec'], message: 'is required: a mapping with kind, payload and schedule' });
  if (issues.length > 0 || !isObject(metadata) || !isObject(spec)) return { ok: false, issues };
  for (const key of ['name', 'labels']) {
    if (key in spec) issues.push({ path: ['spec', key], message: `belongs in metadata, not spec` });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    body: {
      ...(metadata.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata.labels !== undefined ? { labels: metadata.labels } : {}),
      ...spec,
    },
  };
}

/** A workflow as the canonical form describes it: the API's shapes, defaults filled in. */
export interface WorkflowDefinitionValues {
  name: string;
  labels: Labels;
  kind: WorkflowKind;
  payload: Record<string, unknown>;
  schedule:
    | { type: 'interval'; interval_minutes: number; policy?: SchedulePolicyView }
    | { type: 'cron'; cron: string; timezone: string; policy?: SchedulePolicyView }
    | { type: 'once'; run_at: string };
  max_consecutive_job_failures_allowed: number;
  pause_on_failure: boolean;
  log_retention: boolean;
}

export type CheckedDefinition =
  | { ok: true; body: Record<string, unknown>; values: WorkflowDefinitionValues }
  | { ok: false; issues: DefinitionIssue[] };

function scheduleValues(schedule: Schedule): WorkflowDefinitionValues['schedule'] {
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

/**
 * A schedule as a request or a file says it: the policies in their shortest form, left out when
 * they are the defaults unless `explicit` (an edit that must reset them sends `policy: {}`).
 */
export function scheduleInputOf(
  schedule: WorkflowDefinitionValues['schedule'],
  options: { explicit?: boolean } = {},
): Record<string, unknown> {
  if (schedule.type === 'once') return { type: 'once', run_at: new Date(schedule.run_at).toISOString() };
  const { policy, ...timing } = schedule;
  const minimal = minimalPolicyInput(policy ?? schedulePolicyView(DEFAULT_SCHEDULE_POLICY));
  return Object.keys(minimal).length > 0 || options.explicit ? { ...timing, policy: minimal } : timing;
}

/**
 * Checks a document as the server will (every problem, each at its document path) and returns the
 * body to send and the values it stands for. `now` decides whether a `once` time is in the future;
 * the command line passes the epoch, leaving that rule to the server (an unchanged file whose run
 * is past must still apply as unchanged).
 */
export function checkDefinition(doc: unknown, now: Date): CheckedDefinition {
  const envelope = definitionToBody(doc);
  if (!envelope.ok) return envelope;
  const validated = validateWorkflowCreate(envelope.body, now);
  if (!validated.ok) {
    return {
      ok: false,
      issues: validated.issues.map((i: FieldIssue) => ({
        path: definitionPathOf(i.path),
        message: i.message,
      })),
    };
  }
  const draft = validated.value;
  return {
    ok: true,
    body: envelope.body,
    values: {
      name: draft.name,
      labels: draft.labels,
      kind: draft.kind,
      payload: draft.payload as unknown as Record<string, unknown>,
      schedule: scheduleValues(draft.schedule),
      max_consecutive_job_failures_allowed: draft.maxConsecutiveFailures,
      pause_on_failure: draft.pauseOnFailure,
      log_retention: draft.logRetention,
    },
  };
}

const PAYLOAD_SHAPES = {
  HEARTBEAT: HeartbeatPayloadSchema.shape,
  CONTAINER: ContainerPayloadSchema.shape,
} as const;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `value` with the keys of every object in it sorted (arrays keep their order). */
function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedDeep(value[k])]),
  );
}

/**
 * The payload without the fields equal to their defaults, in the schema's order, with the keys of
 * objects inside sorted: the server stores JSON objects without their key order (PostgreSQL's
 * jsonb), so only a fixed order compares equal.
 */
function minimalPayload(kind: WorkflowKind, payload: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'DAG') return minimalDagPayload(payload);
  const shape = PAYLOAD_SHAPES[kind] as Record<string, z.ZodType>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    if (!(key in payload)) continue;
    const value = payload[key];
    if (field.def.type === 'default' && sameJson(sortedDeep(field.parse(undefined)), sortedDeep(value)))
      continue;
    out[key] = sortedDeep(value);
  }
  // Fields this build does not know (a newer server) are kept, after the known ones.
  for (const key of Object.keys(payload).sort()) if (!(key in shape)) out[key] = sortedDeep(payload[key]);
  return out;
}

/**
 * A DAG's payload as written (keys sorted), but each task's own payload without its defaults: the
 * server stores task payloads with their defaults filled in (dag-definition.ts, `stored`), and a
 * file that never wrote them must export back to itself.
 */
function minimalDagPayload(payload: Record<string, unknown>): Record<string, unknown> {
  const minimalTask = (task: unknown): unknown => {
    if (!isObject(task) || !isObject(task.payload)) return sortedDeep(task);
    const kind = task.kind;
    if (kind !== 'HEARTBEAT' && kind !== 'CONTAINER') return sortedDeep(task);
    return { ...(sortedDeep(task) as Record<string, unknown>), payload: minimalPayload(kind, task.payload) };
  };
  const out = sortedDeep(payload) as Record<string, unknown>;
  for (const list of ['tasks', 'finally'] as const) {
    const tasks = payload[list];
    if (Array.isArray(tasks)) out[list] = tasks.map(minimalTask);
  }
  return out;
}

function sortedLabels(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The canonical document of a workflow (see the note at the top). `exported`: without the command
 * line's management label, which `apply` adds back (what `export` writes).
 */
export function canonicalDefinition(
  values: WorkflowDefinitionValues,
  options: { exported?: boolean } = {},
): Record<string, unknown> {
  const labels = sortedLabels(values.labels);
  if (options.exported && labels[MANAGED_BY_LABEL] === MANAGED_BY_CLI) delete labels[MANAGED_BY_LABEL];
  const schedule = scheduleInputOf(values.schedule);
  if (schedule.type === 'cron' && schedule.timezone === 'UTC') delete schedule.timezone;
  const spec: Record<string, unknown> = {
    kind: values.kind,
    schedule,
    payload: minimalPayload(values.kind, values.payload),
  };
  if (values.max_consecutive_job_failures_allowed !== 3) {
    spec.max_consecutive_job_failures_allowed = values.max_consecutive_job_failures_allowed;
  }
  if (values.pause_on_failure) spec.pause_on_failure = true;
  if (values.log_retention !== defaultLogRetention(values.kind)) spec.log_retention = values.log_retention;
  return {
    apiVersion: DEFINITION_API_VERSION,
    kind: DEFINITION_KIND,
    metadata: { name: values.name, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec,
  };
}

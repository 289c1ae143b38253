/**
 * The definition of a multi-task workflow (`kind: "DAG"`, issue 12): validation of its payload and
 * the normalized form the run resolver (dag-resolution.ts) works from.
 *
 *   { tasks: [Task, …], finally?: [Task, …], max_parallel?: int }
 *   Task = { name, kind: HEARTBEAT|CONTAINER, payload, depends_on? | depends?, retry?,
 *            timeout_seconds?, for_each?, max_parallel? }
 *
 * Rules, each reported at its field path under `payload` (every problem at once, as
 * workflow-input.ts does):
 * - task names match TASK_NAME and are unique across `tasks` and `finally`;
 * - `depends_on` (all of these succeeded) and `depends` (an expression, dag-expression.ts) are
 *   alternatives, and name existing tasks other than the task itself; a regular task cannot name
 *   a `finally` task (those run after every regular task);
 * - a `finally` task may name regular tasks (all of them are final by then, so `depends:
 *   "deploy.failed"` makes an on-failure step) and other `finally` tasks;
 * - the graph has no cycle; each cycle is named, in the direction tasks run (`a → b` means b
 *   waits for a);
 * - a task payload is validated by the single-task validator of its kind (`validatePayload`), with
 *   template-bearing fields checked on a stand-in value (task-references.ts);
 * - templates refer only to upstream tasks (transitively) without `for_each` (a fan-out's
 *   outputs are per instance: which one would it be?), `{{item}}` only in a `for_each` task;
 * - `retry` follows task-retry.ts;
 * - at most DAG_MAX_TASKS tasks (regular and finally), FOR_EACH_MAX_ITEMS items in a literal
 *   `for_each`.
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { fieldIssuesFromZod, joinPath, unstorableValues } from './field-issues.ts';
import { allSucceeded, dependsReferences, parseDepends, type DependsExpression } from './dag-expression.ts';
import {
  checkReferences,
  fanOutOutputMessage,
  findTemplateFields,
  notUpstreamMessage,
  templatesIn,
  withStandIns,
  withTemplatesRestored,
  type TemplateField,
} from './task-references.ts';
import { NO_RETRY, retryPolicyOf, RetryPolicySchema, type TaskRetryPolicy } from './task-retry.ts';
import {
  artifactRetention,
  ContainerPayloadSchema,
  HeartbeatPayloadSchema,
  inputSource,
  type ContainerPayload,
  TASK_KINDS,
  validatePayload,
  type TaskKind,
  type TaskPayload,
  type Validated,
} from './task-payload.ts';

/** A task name: short enough for a label and a log stream key, safe in paths and expressions. */
export const TASK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Most tasks in one definition, `tasks` and `finally` together (issue 12). */
export const DAG_MAX_TASKS = 500;
/** Most items of a fan-out, literal or from an output (issue 12; Airflow stops at 1,024). */
export const FOR_EACH_MAX_ITEMS = 10_000;
/** Upper bound of `max_parallel`, for the DAG and for a task: the fan-out limit (more means no limit). */
export const MAX_PARALLEL_LIMIT = FOR_EACH_MAX_ITEMS;
export const TASK_MAX_TIMEOUT_SECONDS = 86_400;

export type ForEach =
  | { kind: 'items'; items: readonly unknown[] }
  | { kind: 'output'; task: string; key: string; reference: string };

export interface DagTask {
  name: string;
  kind: TaskKind;
  /** Validated, defaults filled in; template-bearing strings kept as written. */
  payload: TaskPayload;
  /** Direct upstream tasks, in definition order (from depends_on or from depends). */
  upstream: readonly string[];
  /**
   * When it may run once its upstream tasks are final: `depends` as parsed, or the `&&` of
   * `<name>.succeeded` that `depends_on` means; null when it has no upstream task.
   */
  condition: DependsExpression | null;
  retry: TaskRetryPolicy;
  /** Deadline of the task over all its attempts and waits; null: none beyond the payload's per-attempt timeout. */
  timeoutSeconds: number | null;
  forEach: ForEach | null;
  /** Most instances of this fan-out running at once; null: no limit of its own. */
  maxParallel: number | null;
  /** A `finally` task: runs once every regular task is final. */
  isFinally: boolean;
  /** The fields of `payload` that hold templates (to render before each run). */
  templateFields: readonly TemplateField[];
}

export interface DagDefinition {
  /** Regular tasks, in topological order (ties: definition order). */
  tasks: readonly DagTask[];
  /** `finally` tasks, in topological order among themselves. */
  finally: readonly DagTask[];
  /** Most task instances of a run running at once; null: no limit. */
  maxParallel: number | null;
  /** Every task name in run order: `tasks` then `finally`. */
  order: readonly string[];
  /**
   * The payload to store (a workflow version): as written, with each task payload's defaults
   * filled in. Validating it again gives this same definition.
   */
  stored: Record<string, unknown>;
}

const TASK_NAME_RULE =
  "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit";
const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `is required: ${what}` : undefined;
const maxParallel = z.number().int().min(1).max(MAX_PARALLEL_LIMIT);

/**
 * The fields of a task, each checked on its own (so that a task with several bad fields reports
 * every one); `payload` and `for_each` are read by hand below, because their problems need the
 * task's kind and the templates, which a schema cannot see.
 */
const TaskFieldSchemas = {
  name: z.string({ error: required('a task name such as "build"') }).regex(TASK_NAME, TASK_NAME_RULE),
  kind: z.enum(TASK_KINDS, {
    error: (issue) =>
      issue.input === undefined ? 'is required: HEARTBEAT or CONTAINER' : 'must be HEARTBEAT or CONTAINER',
  }),
  depends_on: z
    .array(z.string())
    .max(DAG_MAX_TASKS)
    .optional()
    .describe('Runs once each of these tasks succeeded (the condition `a.succeeded && b.succeeded …`).'),
  depends: z
    .string()
    .optional()
    .describe(
      'A condition over upstream results, such as "(build.succeeded || build.skipped) && !lint.failed".',
    ),
  retry: RetryPolicySchema.optional(),
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(TASK_MAX_TIMEOUT_SECONDS)
    .optional()
    .describe('Deadline over every attempt of the task; each attempt also has its payload timeout.'),
  max_parallel: maxParallel.optional().describe('Most instances of this fan-out running at once.'),
};

const forEachDoc = z
  .union([z.array(z.unknown()).max(FOR_EACH_MAX_ITEMS), z.string()])
  .optional()
  .describe(
    `Runs one instance per item (at most ${FOR_EACH_MAX_ITEMS}): a list, or "{{tasks.<name>.outputs.<key>}}" holding a JSON list.`,
  );

/** Documentation schema of a task (validation: `validateDagPayload`). */
export const DagTaskSchema = z
  .object({
    ...TaskFieldSchemas,
    payload: z.union([HeartbeatPayloadSchema, ContainerPayloadSchema]),
    for_each: forEachDoc,
  })
  .strict()
  .meta({ id: 'DagTask' });

/** Documentation schema of a DAG payload (validation: `validateDagPayload`). */
export const DagPayloadSchema = z
  .object({
    tasks: z.array(DagTaskSchema).min(1).max(DAG_MAX_TASKS),
    finally: z.array(DagTaskSchema).max(DAG_MAX_TASKS).optional().describe('Run once every task is final.'),
    max_parallel: maxParallel.optional().describe('Most task instances of a run running at once.'),
    artifact_retention: artifactRetention
      .optional()
      .describe(
        'How long the artifacts of its tasks are kept, such as "7d" (a task\'s own artifact_retention wins; absent: CHRONOVERSE_ARTIFACTS_RETENTION).',
      ),
  })
  .strict()
  .meta({ id: 'DagPayload', description: `At most ${DAG_MAX_TASKS} tasks, finally included.` });

const DAG_KEYS = Object.keys(DagPayloadSchema.shape);
const TASK_KEYS = Object.keys(DagTaskSchema.shape);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: readonly string[], path: string): FieldIssue[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => ({ path: joinPath(path, k), message: 'is not a known field' }));
}

/** One field through its schema: the parsed value, or undefined with its issues (paths under `path`). */
function checkField<T>(
  schema: z.ZodType<T>,
  value: unknown,
  path: string,
  issues: FieldIssue[],
): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  issues.push(...fieldIssuesFromZod(parsed.error.issues, path));
  return undefined;
}

/** A task as read from the payload, before the graph-wide checks. */
interface TaskDraft {
  index: number;
  /** `payload.tasks.3` or `payload.finally.0`. */
  path: string;
  isFinally: boolean;
  name: string | undefined;
  kind: TaskKind | undefined;
  payload: TaskPayload | undefined;
  templateFields: TemplateField[];
  /** Names without repeats, each with its index in the field as written (for issue paths). */
  dependsOn: { names: string[]; indices: number[] } | undefined;
  depends: DependsExpression | undefined;
  retry: TaskRetryPolicy;
  timeoutSeconds: number | null;
  forEach: ForEach | null;
  maxParallel: number | null;
}

function readForEach(value: unknown, path: string, issues: FieldIssue[]): ForEach | null {
  if (value === undefined) return null;
  if (Array.isArray(value)) {
    if (value.length > FOR_EACH_MAX_ITEMS) {
      issues.push({ path, message: `must have at most ${FOR_EACH_MAX_ITEMS} items (has ${value.length})` });
      return null;
    }
    return { kind: 'items', items: value };
  }
  if (typeof value === 'string') {
    const found = templatesIn(value);
    const only = found.ok && found.references.length === 1 ? found.references[0]! : undefined;
    if (only?.kind === 'output' && only.text === value) {
      return { kind: 'output', task: only.task, key: only.key, reference: only.text };
    }
  }
  issues.push({ path, message: 'must be an array of items or one "{{tasks.<name>.outputs.<key>}}"' });
  return null;
}

function readTask(raw: unknown, index: number, isFinally: boolean, issues: FieldIssue[]): TaskDraft {
  const path = `payload.${isFinally ? 'finally' : 'tasks'}.${index}`;
  const draft: TaskDraft = {
    index,
    path,
    isFinally,
    name: undefined,
    kind: undefined,
    payload: undefined,
    templateFields: [],
    dependsOn: undefined,
    depends: undefined,
    retry: NO_RETRY,
    timeoutSeconds: null,
    forEach: null,
    maxParallel: null,
  };
  if (!isObject(raw)) {
    issues.push({ path, message: 'must be an object with name, kind and payload' });
    return draft;
  }
  issues.push(...unknownKeys(raw, TASK_KEYS, path));
  const field = <T>(key: keyof typeof TaskFieldSchemas, schema: z.ZodType<T>) =>
    checkField(schema, raw[key], `${path}.${key}`, issues);

  draft.name = field('name', TaskFieldSchemas.name);
  draft.kind = field('kind', TaskFieldSchemas.kind);
  if (raw.payload === undefined || raw.payload === null) {
    issues.push({ path: `${path}.payload`, message: 'is required' });
  } else if (draft.kind !== undefined) {
    readPayload(draft, draft.kind, raw.payload, issues);
  }

  if (raw.depends_on !== undefined && raw.depends !== undefined) {
    issues.push({ path: `${path}.depends`, message: 'give either depends_on or depends, not both' });
  } else if (raw.depends_on !== undefined) {
    const names = field('depends_on', TaskFieldSchemas.depends_on);
    if (names !== undefined) {
      const first = new Map<string, number>();
      names.forEach((n, i) => {
        if (first.has(n)) issues.push({ path: `${path}.depends_on.${i}`, message: `names '${n}' twice` });
        else first.set(n, i);
      });
      draft.dependsOn = { names: [...first.keys()], indices: [...first.values()] };
    }
  } else if (raw.depends !== undefined) {
    const text = field('depends', TaskFieldSchemas.depends);
    if (text !== undefined) {
      const parsed = parseDepends(text);
      if (parsed.ok) draft.depends = parsed.expression;
      else issues.push({ path: `${path}.depends`, message: parsed.error.message });
    }
  }

  draft.retry = retryPolicyOf(field('retry', TaskFieldSchemas.retry));
  draft.timeoutSeconds = field('timeout_seconds', TaskFieldSchemas.timeout_seconds) ?? null;
  draft.forEach = readForEach(raw.for_each, `${path}.for_each`, issues);
  if (raw.max_parallel !== undefined && raw.for_each === undefined) {
    issues.push({ path: `${path}.max_parallel`, message: 'applies only to a task with for_each' });
  } else {
    draft.maxParallel = field('max_parallel', TaskFieldSchemas.max_parallel) ?? null;
  }
  return draft;
}

/**
 * The task's payload through its kind's single-task validator. That validator reports paths
 * starting with `payload`; they are re-rooted under the task (`payload.tasks.3.payload.…`).
 */
function readPayload(draft: TaskDraft, kind: TaskKind, raw: unknown, issues: FieldIssue[]): void {
  const reroot = (issue: FieldIssue): FieldIssue => ({
    ...issue,
    path: joinPath(draft.path, issue.path),
  });
  if (typeof raw === 'string') {
    // A payload given as a JSON string (as the single-task kinds accept) has its templates too.
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isObject(parsed)) {
        // Its strings were hidden from the body-wide check, as in validatePayload.
        issues.push(...unstorableValues(parsed, `${draft.path}.payload`));
        raw = parsed;
      }
    } catch {
      // Left to the validator, which words the problem.
    }
  }
  if (!isObject(raw)) {
    // Shape problems (a JSON string, a non-object) are the validator's to word.
    const result = validatePayload(kind, raw);
    if (!result.ok) issues.push(...result.issues.map(reroot));
    else draft.payload = result.value;
    return;
  }
  const templates = findTemplateFields(kind, raw, `${draft.path}.payload`);
  issues.push(...templates.issues);
  const result: Validated<TaskPayload> = validatePayload(kind, withStandIns(kind, raw, templates.fields));
  if (!result.ok) {
    issues.push(...result.issues.map(reroot));
    return;
  }
  draft.templateFields = templates.fields;
  draft.payload = withTemplatesRestored(result.value, templates.fields);
}

/**
 * Validates a DAG payload (object or JSON string); issue paths start with `payload`, as
 * `validatePayload`'s do for the single-task kinds.
 */
export function validateDagPayload(raw: unknown): Validated<DagDefinition> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, issues: [{ path: 'payload', message: 'is not valid JSON' }] };
    }
  }
  if (!isObject(value)) {
    return {
      ok: false,
      issues: [{ path: 'payload', message: 'must be an object with tasks (or a JSON string of one)' }],
    };
  }
  const issues: FieldIssue[] = typeof raw === 'string' ? unstorableValues(value, 'payload') : [];
  issues.push(...unknownKeys(value, DAG_KEYS, 'payload'));
  const runMaxParallel =
    checkField(DagPayloadSchema.shape.max_parallel, value.max_parallel, 'payload.max_parallel', issues) ??
    null;
  const retention = checkField(
    DagPayloadSchema.shape.artifact_retention,
    value.artifact_retention,
    'payload.artifact_retention',
    issues,
  );

  const lists: { key: 'tasks' | 'finally'; items: unknown[] }[] = [];
  if (!Array.isArray(value.tasks) || value.tasks.length === 0) {
    issues.push({ path: 'payload.tasks', message: 'is required: an array of at least one task' });
  } else {
    lists.push({ key: 'tasks', items: value.tasks });
  }
  if (value.finally !== undefined) {
    if (!Array.isArray(value.finally))
      issues.push({ path: 'payload.finally', message: 'must be an array of tasks' });
    else lists.push({ key: 'finally', items: value.finally });
  }
  const total = lists.reduce((n, l) => n + l.items.length, 0);
  if (total > DAG_MAX_TASKS) {
    // Checking 10,000 tasks one by one would only bury this issue under theirs.
    issues.push({
      path: 'payload.tasks',
      message: `must have at most ${DAG_MAX_TASKS} tasks, finally included (has ${total})`,
    });
    return { ok: false, issues };
  }

  const drafts = lists.flatMap((l) =>
    l.items.map((item, i) => readTask(item, i, l.key === 'finally', issues)),
  );
  const graph = checkGraph(drafts, issues);
  if (issues.length > 0 || graph === undefined) return { ok: false, issues };

  const toTask = (draft: TaskDraft): DagTask => {
    const upstream = graph.upstream.get(draft.name!)!;
    return {
      name: draft.name!,
      kind: draft.kind!,
      payload: draft.payload!,
      upstream,
      condition: draft.depends ?? allSucceeded(draft.dependsOn?.names ?? []),
      retry: draft.retry,
      timeoutSeconds: draft.timeoutSeconds,
      forEach: draft.forEach,
      maxParallel: draft.maxParallel,
      isFinally: draft.isFinally,
      templateFields: draft.templateFields,
    };
  };
  const byName = new Map(drafts.map((d) => [d.name!, d]));
  const tasks = graph.order.filter((n) => !byName.get(n)!.isFinally).map((n) => toTask(byName.get(n)!));
  const finallyTasks = graph.order.filter((n) => byName.get(n)!.isFinally).map((n) => toTask(byName.get(n)!));
  // The payload to store: as written (task order, depends text, retry as given), each task's
  // payload with its kind's defaults filled in, as single-task payloads are stored.
  const storedTasks = (key: 'tasks' | 'finally') =>
    drafts
      .filter((d) => d.isFinally === (key === 'finally'))
      .map((d) => ({ ...(lists.find((l) => l.key === key)!.items[d.index] as object), payload: d.payload }));
  const stored: Record<string, unknown> = { tasks: storedTasks('tasks') };
  if (value.finally !== undefined) stored.finally = storedTasks('finally');
  if (runMaxParallel !== null) stored.max_parallel = runMaxParallel;
  if (retention !== undefined) stored.artifact_retention = retention;
  return {
    ok: true,
    value: {
      tasks,
      finally: finallyTasks,
      maxParallel: runMaxParallel,
      order: [...tasks, ...finallyTasks].map((t) => t.name),
      stored,
    },
  };
}

/** Where a task's edges were written, for issues about them. */
function edgeField(draft: TaskDraft): string {
  return `${draft.path}.${draft.depends !== undefined ? 'depends' : 'depends_on'}`;
}

/**
 * Names, edges, cycles, references. Returns the direct upstream of each task and a topological
 * order (regular tasks first), or undefined when names or edges are broken.
 */
function checkGraph(
  drafts: readonly TaskDraft[],
  issues: FieldIssue[],
): { upstream: Map<string, string[]>; order: string[] } | undefined {
  const byName = new Map<string, TaskDraft>();
  for (const draft of drafts) {
    if (draft.name === undefined) continue;
    const first = byName.get(draft.name);
    if (first !== undefined) {
      issues.push({
        path: `${draft.path}.name`,
        message: `'${draft.name}' is already the name of ${first.path}`,
      });
    } else {
      byName.set(draft.name, draft);
    }
  }
  if (byName.size !== drafts.length) return undefined;

  const upstream = new Map<string, string[]>();
  let edgesOk = true;
  for (const draft of drafts) {
    const name = draft.name!;
    const refs: { task: string; path: string; where: string }[] = draft.dependsOn
      ? draft.dependsOn.names.map((task, k) => ({
          task,
          path: `${draft.path}.depends_on.${draft.dependsOn!.indices[k]}`,
          where: '',
        }))
      : draft.depends
        ? dependsReferences(draft.depends).map((r) => ({
            task: r.task,
            path: `${draft.path}.depends`,
            where: ` (column ${r.column})`,
          }))
        : [];
    const direct: string[] = [];
    for (const ref of refs) {
      const target = byName.get(ref.task);
      let problem: string | undefined;
      if (ref.task === name) problem = `task '${name}' cannot depend on itself${ref.where}`;
      else if (target === undefined) problem = `names '${ref.task}', which is not a task${ref.where}`;
      else if (target.isFinally && !draft.isFinally) {
        problem = `names '${ref.task}', a finally task; only finally tasks can depend on one${ref.where}`;
      }
      if (problem !== undefined) {
        issues.push({ path: ref.path, message: problem });
        edgesOk = false;
      } else if (!direct.includes(ref.task)) {
        direct.push(ref.task);
      }
    }
    upstream.set(name, direct);
  }
  if (!edgesOk) return undefined;

  // A finally task's edges to regular tasks are always met (it starts after all of them), so they
  // are left out of the cycle search and the order: only edges within each group count.
  const sameGroup = (a: string, b: string) => byName.get(a)!.isFinally === byName.get(b)!.isFinally;
  const names = drafts.map((d) => d.name!);
  const cycles = findCycles(names, (n) => upstream.get(n)!.filter((u) => sameGroup(n, u)));
  for (const cycle of cycles) {
    const first = byName.get(cycle[0]!)!;
    issues.push({ path: edgeField(first), message: `makes a cycle: ${[...cycle, cycle[0]].join(' → ')}` });
  }
  if (cycles.length > 0) return undefined;

  const order = topologicalOrder(
    names,
    (n) => upstream.get(n)!.filter((u) => sameGroup(n, u)),
    (n) => (byName.get(n)!.isFinally ? 1 : 0),
  );

  // Templates and output-driven fan-outs may only read tasks that finished before this one.
  // Ancestors are found only for the tasks that read something: sets for every task of a
  // 500-task chain were most of the time of a whole validation.
  const fanOuts = new Set(drafts.filter((d) => d.forEach !== null).map((d) => d.name!));
  const regular = drafts.filter((d) => !d.isFinally).map((d) => d.name!);
  for (const draft of drafts) {
    if (draft.templateFields.length === 0 && draft.forEach?.kind !== 'output') continue;
    const name = draft.name!;
    const before = ancestorsOf(name, (n) => upstream.get(n)!);
    // Every regular task is final before a finally task starts.
    if (draft.isFinally) for (const r of regular) before.add(r);
    issues.push(
      ...checkReferences(draft.templateFields, {
        task: name,
        upstream: before,
        hasForEach: draft.forEach !== null,
        fanOuts,
        prefix: `${draft.path}.payload`,
      }),
    );
    if (draft.forEach?.kind === 'output') {
      const { reference, task } = draft.forEach;
      if (!before.has(task)) {
        issues.push({ path: `${draft.path}.for_each`, message: notUpstreamMessage(reference, task, name) });
      } else if (fanOuts.has(task)) {
        issues.push({ path: `${draft.path}.for_each`, message: fanOutOutputMessage(reference, task) });
      }
    }
  }
  issues.push(...checkInputs(drafts, byName, fanOuts, regular, upstream));
  return { upstream, order };
}

/**
 * A CONTAINER task's `inputs`: each names an upstream task (as a template would: transitively,
 * every regular task for a finally task), a CONTAINER task that declares that artifact, and not a
 * fan-out: its instances each keep their own artifact, and which one would it be? (the rule of
 * outputs, for the same reason; a fan-in of every instance is not supported).
 */
function checkInputs(
  drafts: readonly TaskDraft[],
  byName: ReadonlyMap<string, TaskDraft>,
  fanOuts: ReadonlySet<string>,
  regular: readonly string[],
  upstream: ReadonlyMap<string, string[]>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const draft of drafts) {
    const inputs =
      draft.kind === 'CONTAINER' ? (draft.payload as ContainerPayload | undefined)?.inputs : undefined;
    if (inputs === undefined || inputs.length === 0) continue;
    const name = draft.name!;
    const before = ancestorsOf(name, (n) => upstream.get(n)!);
    if (draft.isFinally) for (const r of regular) before.add(r);
    inputs.forEach((input, i) => {
      const path = `${draft.path}.payload.inputs.${i}.from`;
      const source = inputSource(input.from);
      const from = byName.get(source.task);
      let problem: string | undefined;
      if (from === undefined) problem = `names '${source.task}', which is not a task`;
      else if (!before.has(source.task)) {
        problem = `takes ${input.from}, but task '${source.task}' is not upstream of '${name}' (add it to depends_on or depends)`;
      } else if (fanOuts.has(source.task)) {
        problem = `takes ${input.from}, but task '${source.task}' has for_each: each of its instances keeps its own artifacts`;
      } else {
        const declared =
          (from.kind === 'CONTAINER'
            ? (from.payload as ContainerPayload | undefined)?.artifacts
            : undefined) ?? [];
        if (!declared.some((a) => a.name === source.artifact)) {
          problem = `takes ${input.from}, but task '${source.task}' declares no artifact '${source.artifact}'`;
        }
      }
      if (problem !== undefined) issues.push({ path, message: problem });
    });
  }
  return issues;
}

/**
 * One cycle per strongly connected component of more than one task (Tarjan's algorithm, which
 * finds every component in one pass), each written from its first task in definition order and
 * following edges in the direction tasks run. Iterative, so 500 chained tasks cannot overflow the
 * stack.
 */
export function findCycles(
  names: readonly string[],
  upstreamOf: (name: string) => readonly string[],
): string[][] {
  const downstream = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const n of names) for (const u of upstreamOf(n)) downstream.get(u)!.push(n);

  const indexOf = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (indexOf.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    indexOf.set(root, counter);
    lowLink.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = downstream.get(frame.node)!;
      if (frame.next < edges.length) {
        const child = edges[frame.next++]!;
        if (!indexOf.has(child)) {
          indexOf.set(child, counter);
          lowLink.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, next: 0 });
        } else if (onStack.has(child)) {
          lowLink.set(frame.node, Math.min(lowLink.get(frame.node)!, indexOf.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined)
        lowLink.set(parent.node, Math.min(lowLink.get(parent.node)!, lowLink.get(frame.node)!));
      if (lowLink.get(frame.node) === indexOf.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1) components.push(component);
      }
    }
  }
  const position = new Map(names.map((n, i) => [n, i]));
  return components
    .map((component) => cycleWithin(new Set(component), names, downstream))
    .sort((a, b) => position.get(a[0]!)! - position.get(b[0]!)!);
}

/** A shortest cycle through the component's first task (breadth-first within the component). */
function cycleWithin(
  component: ReadonlySet<string>,
  names: readonly string[],
  downstream: ReadonlyMap<string, string[]>,
): string[] {
  const start = names.find((n) => component.has(n))!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const next of downstream.get(node)!) {
      if (!component.has(next)) continue;
      if (next === start) {
        const cycle = [node];
        while (cycle[0] !== start) cycle.unshift(cameFrom.get(cycle[0]!)!);
        return cycle;
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  // Unreachable: a strongly connected component of two or more tasks has a cycle through each.
  return [...component];
}

/**
 * Kahn's algorithm; among tasks ready together the one of the lower `group`, then the earlier in
 * `names`, comes first, so the order is stable for a given definition.
 */
function topologicalOrder(
  names: readonly string[],
  upstreamOf: (name: string) => readonly string[],
  group: (name: string) => number,
): string[] {
  // Tasks by preference (rank); `ready[r]` marks rank r runnable and `from` is the lowest rank
  // that may be ready. Each step scans forward from it: O(n²) byte reads at worst over at most
  // 500 tasks, well under a millisecond (a sort of a ready list per step measured 20 ms).
  const ranked = names
    .map((n, i) => ({ n, rank: group(n) * names.length + i }))
    .sort((a, b) => a.rank - b.rank)
    .map((r) => r.n);
  const rankOf = new Map(ranked.map((n, r) => [n, r]));
  const waiting = ranked.map((n) => upstreamOf(n).length);
  const downstream: number[][] = ranked.map(() => []);
  ranked.forEach((n, r) => {
    for (const u of upstreamOf(n)) downstream[rankOf.get(u)!]!.push(r);
  });
  const ready = new Uint8Array(ranked.length);
  waiting.forEach((w, r) => (ready[r] = w === 0 ? 1 : 0));
  const order: string[] = [];
  let from = 0;
  for (;;) {
    while (from < ranked.length && ready[from] === 0) from++;
    if (from === ranked.length) break;
    const next = from;
    ready[next] = 0;
    order.push(ranked[next]!);
    for (const d of downstream[next]!) {
      if (--waiting[d]! === 0) {
        ready[d] = 1;
        if (d < from) from = d;
      }
    }
  }
  return order;
}

/** Every task upstream of `name`, however far (a walk up the edges; the graph is acyclic). */
function ancestorsOf(name: string, upstreamOf: (name: string) => readonly string[]): Set<string> {
  const found = new Set<string>();
  const stack = [...upstreamOf(name)];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (found.has(task)) continue;
    found.add(task);
    stack.push(...upstreamOf(task));
  }
  return found;
}

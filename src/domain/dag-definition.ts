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
 * - templates refer only to upstream tasks (transitively), `{{item}}` only in a `for_each` task;
 * - at most DAG_MAX_TASKS tasks (regular and finally), FOR_EACH_MAX_ITEMS items in a literal
 *   `for_each`.
 */
import type { FieldIssue } from './errors.ts';
import { joinPath, unstorableValues } from './field-issues.ts';
import { allSucceeded, dependsReferences, parseDepends, type DependsExpression } from './dag-expression.ts';
import {
  checkReferences,
  findTemplateFields,
  templatesIn,
  withStandIns,
  withTemplatesRestored,
  type TemplateField,
} from './task-references.ts';
import {
  validatePayload,
  WORKFLOW_KINDS,
  type Validated,
  type WorkflowKind,
  type WorkflowPayload,
} from './workflow-input.ts';

/** A task name: short enough for a label and a log stream key, safe in paths and expressions. */
export const TASK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Most tasks in one definition, `tasks` and `finally` together (issue 12). */
export const DAG_MAX_TASKS = 500;
/** Most items of a fan-out, literal or from an output (issue 12; Airflow stops at 1,024). */
export const FOR_EACH_MAX_ITEMS = 10_000;
/** Upper bound of `max_parallel`, for the DAG and for a task: the fan-out limit (more means no limit). */
export const MAX_PARALLEL_LIMIT = FOR_EACH_MAX_ITEMS;
export const RETRY_MAX_LIMIT = 100;
/** Longest backoff delay and longest task deadline: one day. */
export const RETRY_MAX_SECONDS = 86_400;
export const TASK_MAX_TIMEOUT_SECONDS = 86_400;

/** Failure classes a retry policy can name; `EXIT_CODE:<n>` is one exit code of a container. */
export const RETRY_CLASSES = ['SYSTEM', 'USER', 'TIMEOUT', 'HTTP_5XX'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number] | `EXIT_CODE:${number}`;

/**
 * Without `retry.on`, a retry follows any failure: someone who writes `retry: { limit: 3 }` expects
 * three more tries whatever went wrong (USER covers HTTP_5XX and exit codes).
 */
export const DEFAULT_RETRY_ON: readonly RetryClass[] = ['SYSTEM', 'USER', 'TIMEOUT'];
/** The executor's backoff for system failures (job-state.ts), in seconds: 10 s doubling up to 5 min. */
export const DEFAULT_BACKOFF: RetryBackoff = { initialSeconds: 10, factor: 2, maxSeconds: 300 };

export interface RetryBackoff {
  initialSeconds: number;
  factor: number;
  maxSeconds: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt; 0 means the task runs once. */
  limit: number;
  backoff: RetryBackoff;
  on: readonly RetryClass[];
}

export type ForEach =
  | { kind: 'items'; items: readonly unknown[] }
  | { kind: 'output'; task: string; key: string; reference: string };

export interface DagTask {
  name: string;
  kind: WorkflowKind;
  /** Validated, defaults filled in; template-bearing strings kept as written. */
  payload: WorkflowPayload;
  /** Direct upstream tasks, in definition order (from depends_on or from depends). */
  upstream: readonly string[];
  /**
   * When it may run once its upstream tasks are final: `depends` as parsed, or the `&&` of
   * `<name>.succeeded` that `depends_on` means; null when it has no upstream task.
   */
  condition: DependsExpression | null;
  retry: RetryPolicy;
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
}

const DAG_KEYS = ['tasks', 'finally', 'max_parallel'];
const TASK_KEYS = [
  'name',
  'kind',
  'payload',
  'depends_on',
  'depends',
  'retry',
  'timeout_seconds',
  'for_each',
  'max_parallel',
];
const RETRY_KEYS = ['limit', 'backoff', 'on'];
const BACKOFF_KEYS = ['initial_seconds', 'factor', 'max_seconds'];
const EXIT_CODE = /^EXIT_CODE:(\d{1,3})$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: readonly string[], path: string): FieldIssue[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => ({ path: joinPath(path, k), message: 'is not a known field' }));
}

/** An integer in [min, max] or an issue; `undefined` stays undefined (an absent optional field). */
function integerIn(
  value: unknown,
  min: number,
  max: number,
  path: string,
  issues: FieldIssue[],
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    issues.push({ path, message: 'must be an integer' });
    return undefined;
  }
  if (value < min || value > max) {
    issues.push({ path, message: `must be between ${min} and ${max}` });
    return undefined;
  }
  return value;
}

function numberIn(
  value: unknown,
  min: number,
  max: number,
  path: string,
  issues: FieldIssue[],
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.push({ path, message: 'must be a number' });
    return undefined;
  }
  if (value < min || value > max) {
    issues.push({ path, message: `must be between ${min} and ${max}` });
    return undefined;
  }
  return value;
}

/** A task as read from the payload, before the graph-wide checks. */
interface TaskDraft {
  index: number;
  /** `payload.tasks.3` or `payload.finally.0`. */
  path: string;
  isFinally: boolean;
  name: string | undefined;
  kind: WorkflowKind | undefined;
  payload: WorkflowPayload | undefined;
  templateFields: TemplateField[];
  dependsOn: { names: string[] } | undefined;
  depends: DependsExpression | undefined;
  retry: RetryPolicy;
  timeoutSeconds: number | null;
  forEach: ForEach | null;
  maxParallel: number | null;
}

function readRetry(value: unknown, path: string, issues: FieldIssue[]): RetryPolicy {
  const policy: RetryPolicy = { limit: 0, backoff: DEFAULT_BACKOFF, on: DEFAULT_RETRY_ON };
  if (value === undefined) return policy;
  if (!isObject(value)) {
    issues.push({ path, message: 'must be an object such as { "limit": 3 }' });
    return policy;
  }
  issues.push(...unknownKeys(value, RETRY_KEYS, path));
  if (value.limit === undefined) issues.push({ path: joinPath(path, 'limit'), message: 'is required' });
  policy.limit = integerIn(value.limit, 0, RETRY_MAX_LIMIT, joinPath(path, 'limit'), issues) ?? 0;
  if (value.backoff !== undefined) {
    const backoffPath = joinPath(path, 'backoff');
    const backoff = value.backoff;
    if (!isObject(backoff)) {
      issues.push({
        path: backoffPath,
        message: 'must be an object with initial_seconds, factor and max_seconds',
      });
    } else {
      issues.push(...unknownKeys(backoff, BACKOFF_KEYS, backoffPath));
      const initial = numberIn(
        backoff.initial_seconds,
        0.1,
        RETRY_MAX_SECONDS,
        joinPath(backoffPath, 'initial_seconds'),
        issues,
      );
      const factor = numberIn(backoff.factor, 1, 10, joinPath(backoffPath, 'factor'), issues);
      const max = numberIn(
        backoff.max_seconds,
        0.1,
        RETRY_MAX_SECONDS,
        joinPath(backoffPath, 'max_seconds'),
        issues,
      );
      const merged: RetryBackoff = {
        initialSeconds: initial ?? DEFAULT_BACKOFF.initialSeconds,
        factor: factor ?? DEFAULT_BACKOFF.factor,
        maxSeconds: max ?? Math.max(DEFAULT_BACKOFF.maxSeconds, initial ?? 0),
      };
      if (merged.maxSeconds < merged.initialSeconds) {
        issues.push({
          path: joinPath(backoffPath, 'max_seconds'),
          message: 'must be at least initial_seconds',
        });
      }
      policy.backoff = merged;
    }
  }
  if (value.on !== undefined) {
    const onPath = joinPath(path, 'on');
    if (!Array.isArray(value.on) || value.on.length === 0) {
      issues.push({ path: onPath, message: 'must be a non-empty array such as ["SYSTEM", "EXIT_CODE:75"]' });
    } else {
      const on: RetryClass[] = [];
      value.on.forEach((item: unknown, i) => {
        const itemPath = joinPath(onPath, String(i));
        const exit = typeof item === 'string' ? EXIT_CODE.exec(item) : null;
        if (typeof item === 'string' && (RETRY_CLASSES as readonly string[]).includes(item)) {
          if (!on.includes(item as RetryClass)) on.push(item as RetryClass);
        } else if (exit !== null && Number(exit[1]) <= 255) {
          const code = `EXIT_CODE:${Number(exit[1])}` as RetryClass;
          if (!on.includes(code)) on.push(code);
        } else {
          issues.push({
            path: itemPath,
            message: 'must be SYSTEM, USER, TIMEOUT, HTTP_5XX or EXIT_CODE:<0–255>',
          });
        }
      });
      policy.on = on;
    }
  }
  return policy;
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
    retry: { limit: 0, backoff: DEFAULT_BACKOFF, on: DEFAULT_RETRY_ON },
    timeoutSeconds: null,
    forEach: null,
    maxParallel: null,
  };
  if (!isObject(raw)) {
    issues.push({ path, message: 'must be an object with name, kind and payload' });
    return draft;
  }
  issues.push(...unknownKeys(raw, TASK_KEYS, path));

  if (typeof raw.name !== 'string') {
    issues.push({ path: `${path}.name`, message: 'is required: a task name such as "build"' });
  } else if (!TASK_NAME.test(raw.name)) {
    issues.push({
      path: `${path}.name`,
      message: "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
    });
  } else {
    draft.name = raw.name;
  }

  if (raw.kind === undefined) {
    issues.push({ path: `${path}.kind`, message: 'is required: HEARTBEAT or CONTAINER' });
  } else if (!(WORKFLOW_KINDS as readonly unknown[]).includes(raw.kind)) {
    issues.push({ path: `${path}.kind`, message: 'must be HEARTBEAT or CONTAINER' });
  } else {
    draft.kind = raw.kind as WorkflowKind;
  }

  if (raw.payload === undefined || raw.payload === null) {
    issues.push({ path: `${path}.payload`, message: 'is required' });
  } else if (draft.kind !== undefined) {
    readPayload(draft, draft.kind, raw.payload, issues);
  }

  if (raw.depends_on !== undefined && raw.depends !== undefined) {
    issues.push({ path: `${path}.depends`, message: 'give either depends_on or depends, not both' });
  } else if (raw.depends_on !== undefined) {
    const names = raw.depends_on;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      issues.push({ path: `${path}.depends_on`, message: 'must be an array of task names' });
    } else {
      const seen = new Set<string>();
      names.forEach((n: string, i) => {
        if (seen.has(n)) issues.push({ path: `${path}.depends_on.${i}`, message: `names '${n}' twice` });
        seen.add(n);
      });
      draft.dependsOn = { names: [...seen] };
    }
  } else if (raw.depends !== undefined) {
    if (typeof raw.depends !== 'string') {
      issues.push({ path: `${path}.depends`, message: 'must be an expression such as "build.succeeded"' });
    } else {
      const parsed = parseDepends(raw.depends);
      if (parsed.ok) draft.depends = parsed.expression;
      else issues.push({ path: `${path}.depends`, message: parsed.error.message });
    }
  }

  draft.retry = readRetry(raw.retry, `${path}.retry`, issues);
  draft.timeoutSeconds =
    integerIn(raw.timeout_seconds, 1, TASK_MAX_TIMEOUT_SECONDS, `${path}.timeout_seconds`, issues) ?? null;
  draft.forEach = readForEach(raw.for_each, `${path}.for_each`, issues);
  if (raw.max_parallel !== undefined && raw.for_each === undefined) {
    issues.push({ path: `${path}.max_parallel`, message: 'applies only to a task with for_each' });
  } else {
    draft.maxParallel =
      integerIn(raw.max_parallel, 1, MAX_PARALLEL_LIMIT, `${path}.max_parallel`, issues) ?? null;
  }
  return draft;
}

/**
 * The task's payload through its kind's single-task validator. That validator reports paths
 * starting with `payload`; they are re-rooted under the task (`payload.tasks.3.payload.…`).
 */
function readPayload(draft: TaskDraft, kind: WorkflowKind, raw: unknown, issues: FieldIssue[]): void {
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
  const result: Validated<WorkflowPayload> = validatePayload(kind, withStandIns(kind, raw, templates.fields));
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
  const maxParallel =
    integerIn(value.max_parallel, 1, MAX_PARALLEL_LIMIT, 'payload.max_parallel', issues) ?? null;

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
  return {
    ok: true,
    value: {
      tasks,
      finally: finallyTasks,
      maxParallel,
      order: [...tasks, ...finallyTasks].map((t) => t.name),
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
      ? draft.dependsOn.names.map((task) => ({
          task,
          path: `${draft.path}.depends_on.${draft.dependsOn!.names.indexOf(task)}`,
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
  const ancestors = transitiveUpstream(order, (n) => upstream.get(n)!);
  for (const draft of drafts) {
    const name = draft.name!;
    const before = new Set(ancestors.get(name));
    // Every regular task is final before a finally task starts.
    if (draft.isFinally) for (const d of drafts) if (!d.isFinally) before.add(d.name!);
    issues.push(
      ...checkReferences(draft.templateFields, {
        task: name,
        upstream: before,
        hasForEach: draft.forEach !== null,
        prefix: `${draft.path}.payload`,
      }),
    );
    if (draft.forEach?.kind === 'output' && !before.has(draft.forEach.task)) {
      issues.push({
        path: `${draft.path}.for_each`,
        message: `refers to ${draft.forEach.reference}, but task '${draft.forEach.task}' is not upstream of '${name}' (add it to depends_on or depends)`,
      });
    }
  }
  return { upstream, order };
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
  const waiting = new Map(names.map((n) => [n, upstreamOf(n).length]));
  const downstream = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const n of names) for (const u of upstreamOf(n)) downstream.get(u)!.push(n);
  const rank = new Map(names.map((n, i) => [n, group(n) * names.length + i]));
  const ready = names.filter((n) => waiting.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    // At most 500 tasks: a sorted array is simpler than a heap and fast enough.
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const next = ready.shift()!;
    order.push(next);
    for (const d of downstream.get(next)!) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  return order;
}

/** Every task's transitive upstream, computed along a topological order. */
function transitiveUpstream(
  order: readonly string[],
  upstreamOf: (name: string) => readonly string[],
): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const name of order) {
    const all = new Set<string>();
    for (const u of upstreamOf(name)) {
      all.add(u);
      for (const a of result.get(u) ?? []) all.add(a);
    }
    result.set(name, all);
  }
  return result;
}

/**
 * The resolver of a DAG run (issue 12): given the normalized definition (dag-definition.ts) and
 * what the run's rows say now, which task instances to start, which tasks to skip, expand, fail
 * or cancel, and, once every task is final, how the run ends. Pure: the wiring step reads the rows,
 * calls `resolveRun`, and applies the answer in the transaction that completed the upstream task,
 * so the next tasks are runnable the moment it commits.
 *
 * States of a task instance: PENDING (not started), QUEUED (started, waiting for an executor),
 * RUNNING (an attempt in flight or a retry waiting: both hold a parallel slot), and the final
 * SUCCEEDED, FAILED (the task's own failure), ERRORED (the system could not run it), SKIPPED,
 * CANCELED.
 *
 * Rules:
 * - A task is decided once each of its direct upstream tasks is final. Its condition (`depends`,
 *   or the `&&` of `.succeeded` that `depends_on` means; none: true) is evaluated on their final
 *   states: false → SKIPPED, with a reason naming the condition and the states; true → it starts,
 *   or, with `for_each`, expands into instances `name[0]`, `name[1]`, …. A skip is final at once,
 *   so its dependents are decided in the same call (one pass in topological order).
 * - There is no fail-fast: a failure stops only what its conditions stop, so `depends:
 *   "build.failed"` handlers and independent branches still run.
 * - A fan-out's state, for its dependents and for the run, is SUCCEEDED when it has no instance or
 *   all succeeded; otherwise, once all are final, FAILED if one failed, else ERRORED if one
 *   errored, else CANCELED. Items from an output must be a JSON array of at most FOR_EACH_MAX_ITEMS; anything
 *   else fails the task (`fail` action, FAILED).
 * - Starts respect the DAG's `max_parallel` (QUEUED + RUNNING instances of the run, finally tasks
 *   included) and each fan-out's own `max_parallel`; they are handed out in topological order,
 *   then item order: deterministic, and an early wide fan-out takes the free slots first, up to
 *   its own `max_parallel` (set one to leave room for other branches).
 * - `finally` tasks are decided once every regular task is final, by the same rules (their
 *   conditions may read regular tasks: `depends: "deploy.failed"`).
 * - Cancel requested: no regular task starts or expands any more, PENDING regular tasks and
 *   instances are CANCELED (`cancel` actions; the wiring stops QUEUED and RUNNING ones), and
 *   `finally` tasks still run once the rest is final: they are where cleanup lives.
 * - The run ends when every task, `finally` included, is final: CANCELED if a cancel was
 *   requested; else SUCCEEDED iff every regular task SUCCEEDED or was SKIPPED; else FAILED. A
 *   skip never fails a run by itself: a skip caused by a failure comes with that failure. Outcomes
 *   of `finally` tasks do not change the run's state (they are reported per task).
 */
import { FOR_EACH_MAX_ITEMS, type DagDefinition, type DagTask } from './dag-definition.ts';
import { evaluateDepends, printDepends, type FinalTaskState } from './dag-expression.ts';
import type { TaskOutputs } from './task-references.ts';

export const TASK_STATES = [
  'PENDING',
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'SKIPPED',
  'ERRORED',
  'CANCELED',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export function isFinalTaskState(state: TaskState): state is FinalTaskState {
  return state !== 'PENDING' && state !== 'QUEUED' && state !== 'RUNNING';
}

function isActive(state: TaskState): boolean {
  return state === 'QUEUED' || state === 'RUNNING';
}

/**
 * What the rows say about one task: its own state, or, once a `for_each` task is expanded, the
 * state of each instance (index = item index). A task absent from the snapshot is PENDING.
 */
export type TaskSnapshot = { state: TaskState } | { instances: readonly TaskState[] };

export interface RunSnapshot {
  tasks: ReadonlyMap<string, TaskSnapshot>;
  /** Outputs of final tasks, for fan-outs over an output. */
  outputs: ReadonlyMap<string, TaskOutputs>;
  cancelRequested?: boolean;
}

/** `build` for a plain task, `build[3]` for the fourth instance of a fan-out. */
export function instanceName(task: string, index: number | null): string {
  return index === null ? task : `${task}[${index}]`;
}

export interface StartAction {
  task: string;
  /** The instance index of a fan-out; null for a plain task. */
  index: number | null;
  /** The item of a fan-out instance (absent for a plain task). */
  item?: unknown;
}

export interface Resolution {
  /** Fan-outs to split into instances, all PENDING, before applying `start`. */
  expand: { task: string; items: readonly unknown[] }[];
  start: StartAction[];
  skip: { task: string; reason: string }[];
  /** Tasks that fail without running (a fan-out whose output is not a usable list). */
  fail: { task: string; reason: string }[];
  /** PENDING tasks and instances a cancel ends. */
  cancel: { task: string; index: number | null }[];
  /** Every regular task is final: `finally` tasks are being decided. */
  finallyReady: boolean;
  /** The run's end, once every task is final; null while it goes on. */
  outcome: { state: 'SUCCEEDED' | 'FAILED' | 'CANCELED' } | null;
}

/** The state a task shows its dependents and the run (see the fan-out rule at the top). */
export function taskStateOf(snapshot: TaskSnapshot): TaskState {
  if ('state' in snapshot) return snapshot.state;
  const states = snapshot.instances;
  if (states.some(isActive)) return 'RUNNING';
  if (states.some((s) => s === 'PENDING')) return states.some((s) => s !== 'PENDING') ? 'RUNNING' : 'PENDING';
  for (const state of ['FAILED', 'ERRORED', 'CANCELED'] as const) if (states.includes(state)) return state;
  return 'SUCCEEDED';
}

/** The items of a fan-out, or why it cannot expand. */
function itemsOf(
  task: DagTask,
  outputs: ReadonlyMap<string, TaskOutputs>,
): { items: readonly unknown[] } | { error: string } {
  const forEach = task.forEach!;
  if (forEach.kind === 'items') return { items: forEach.items };
  const source = outputs.get(forEach.task);
  if (source === undefined || !Object.hasOwn(source, forEach.key)) {
    return {
      error: `for_each ${forEach.reference} has no value: task '${forEach.task}' set no output '${forEach.key}'`,
    };
  }
  let value = source[forEach.key];
  if (typeof value === 'string') {
    // `::output files=["a","b"]` sets a string; a list printed as JSON is what was meant.
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      // Reported below as not a list.
    }
  }
  if (!Array.isArray(value)) return { error: `for_each ${forEach.reference} is not a JSON array` };
  if (value.length > FOR_EACH_MAX_ITEMS) {
    return {
      error: `for_each ${forEach.reference} has ${value.length} items, over the limit of ${FOR_EACH_MAX_ITEMS}`,
    };
  }
  return { items: value };
}

/** Why a task is skipped: its condition and the upstream states that made it false. */
function skipReason(task: DagTask, upstream: ReadonlyMap<string, FinalTaskState>): string {
  const states = task.upstream.map((u) => `${u} ${upstream.get(u)}`).join(', ');
  return `condition ${printDepends(task.condition!)} is false (${states})`;
}

/**
 * The next actions of a run (see the rules at the top). Calling it again with the actions applied
 * gives no new action until some task changes state: it is safe to call after every change.
 */
export function resolveRun(definition: DagDefinition, snapshot: RunSnapshot): Resolution {
  const resolution: Resolution = {
    expand: [],
    start: [],
    skip: [],
    fail: [],
    cancel: [],
    finallyReady: false,
    outcome: null,
  };
  // The working copy: decisions of this call are applied to it, so later tasks see them.
  const current = new Map<string, TaskSnapshot>();
  for (const task of [...definition.tasks, ...definition.finally]) {
    const known = snapshot.tasks.get(task.name) ?? { state: 'PENDING' };
    if ('instances' in known && task.forEach === null) {
      throw new RangeError(`resolveRun: task '${task.name}' has instances but no for_each`);
    }
    current.set(task.name, known);
  }
  const stateOf = (name: string) => taskStateOf(current.get(name)!);
  const cancel = snapshot.cancelRequested === true;

  let active = 0;
  for (const s of current.values()) {
    active += 'state' in s ? Number(isActive(s.state)) : s.instances.filter(isActive).length;
  }
  const limit = definition.maxParallel ?? Infinity;

  const decide = (task: DagTask) => {
    const known = current.get(task.name)!;
    if (!('state' in known) || known.state !== 'PENDING') return;
    const upstream = new Map<string, FinalTaskState>();
    for (const u of task.upstream) {
      const state = stateOf(u);
      if (!isFinalTaskState(state)) return;
      upstream.set(u, state);
    }
    if (cancel && !task.isFinally) {
      resolution.cancel.push({ task: task.name, index: null });
      current.set(task.name, { state: 'CANCELED' });
      return;
    }
    if (task.condition !== null && !evaluateDepends(task.condition, upstream)) {
      resolution.skip.push({ task: task.name, reason: skipReason(task, upstream) });
      current.set(task.name, { state: 'SKIPPED' });
      return;
    }
    if (task.forEach !== null) {
      const found = itemsOf(task, snapshot.outputs);
      if ('error' in found) {
        resolution.fail.push({ task: task.name, reason: found.error });
        current.set(task.name, { state: 'FAILED' });
      } else {
        resolution.expand.push({ task: task.name, items: found.items });
        current.set(task.name, { instances: found.items.map(() => 'PENDING' as const) });
      }
    }
    // A plain task whose condition holds stays PENDING here and is started below, if a slot is free.
  };

  const startAll = (tasks: readonly DagTask[]) => {
    for (const task of tasks) {
      const known = current.get(task.name)!;
      if (cancel && !task.isFinally) {
        if ('instances' in known) {
          const instances = [...known.instances];
          instances.forEach((s, i) => {
            if (s === 'PENDING') {
              resolution.cancel.push({ task: task.name, index: i });
              instances[i] = 'CANCELED';
            }
          });
          current.set(task.name, { instances });
        }
        continue;
      }
      if ('state' in known) {
        // Only a plain task that `decide` let through is startable: PENDING with every upstream final.
        if (known.state !== 'PENDING' || task.forEach !== null || active >= limit) continue;
        if (!task.upstream.every((u) => isFinalTaskState(stateOf(u)))) continue;
        resolution.start.push({ task: task.name, index: null });
        current.set(task.name, { state: 'QUEUED' });
        active++;
        continue;
      }
      const instances = [...known.instances];
      let running = instances.filter(isActive).length;
      const own = task.maxParallel ?? Infinity;
      // The items again (for an output-driven fan-out, from the same outputs it expanded from);
      // absent when the caller did not pass those outputs this time: the rows then hold them.
      const found = itemsOf(task, snapshot.outputs);
      const items = 'items' in found ? found.items : undefined;
      for (let i = 0; i < instances.length && active < limit && running < own; i++) {
        if (instances[i] !== 'PENDING') continue;
        const start: StartAction = { task: task.name, index: i };
        if (items !== undefined) start.item = items[i];
        resolution.start.push(start);
        instances[i] = 'QUEUED';
        running++;
        active++;
      }
      current.set(task.name, { instances });
    }
  };

  for (const task of definition.tasks) decide(task);
  startAll(definition.tasks);

  resolution.finallyReady = definition.tasks.every((t) => isFinalTaskState(stateOf(t.name)));
  if (resolution.finallyReady) {
    for (const task of definition.finally) decide(task);
    startAll(definition.finally);
    if (definition.finally.every((t) => isFinalTaskState(stateOf(t.name)))) {
      const regularOk = definition.tasks.every((t) => {
        const state = stateOf(t.name);
        return state === 'SUCCEEDED' || state === 'SKIPPED';
      });
      resolution.outcome = { state: cancel ? 'CANCELED' : regularOk ? 'SUCCEEDED' : 'FAILED' };
    }
  }
  return resolution;
}

/**
 * Naming one task instance of a DAG run: `build`, or `test[3]` for item 3 of a fan-out — the
 * form `chronoverse logs --task` and the logs endpoints' `task` parameter take (api.md "DAG runs").
 * Pure: the callers bring the run's task instances.
 */
import { TASK_NAME } from './dag-definition.ts';

export interface TaskSelector {
  name: string;
  /** The fan-out item's index, or null when the name alone was given. */
  index: number | null;
}

/** `name` or `name[i]`, or null when the text is neither. */
export function parseTaskSelector(text: string): TaskSelector | null {
  const match = /^(.+?)(?:\[(\d{1,5})\])?$/.exec(text);
  if (!match || !TASK_NAME.test(match[1]!)) return null;
  return { name: match[1]!, index: match[2] === undefined ? null : Number(match[2]) };
}

export type TaskSelection<T> =
  | { ok: true; task: T }
  /** No instance of that name (yet): `names` are the tasks the run has so far. */
  | { ok: false; reason: 'none'; names: string[] }
  /** A fan-out name without an index: `count` instances to choose from. */
  | { ok: false; reason: 'ambiguous'; count: number };

/**
 * The instance a selector names. A name alone is enough for a plain task; for a fan-out it must
 * say which item (`test[0]`), unless the fan-out has exactly one.
 */
export function selectTask<T extends { name: string; index: number | null }>(
  tasks: readonly T[],
  selector: TaskSelector,
): TaskSelection<T> {
  const named = tasks.filter((t) => t.name === selector.name);
  const found = selector.index === null ? named : named.filter((t) => (t.index ?? 0) === selector.index);
  if (found.length === 1) return { ok: true, task: found[0]! };
  if (found.length > 1) return { ok: false, reason: 'ambiguous', count: found.length };
  return { ok: false, reason: 'none', names: [...new Set(tasks.map((t) => t.name))] };
}

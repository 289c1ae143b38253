/**
 * Retrying a finished DAG run (issue 12: "`retry` of a failed run creates a new run that re-runs
 * only failed, skipped and canceled tasks and keeps the outputs of those that succeeded").
 *
 * The new run's starting rows, from the old run's final ones. A task is kept (SUCCEEDED, its
 * outputs carried over by the caller) when it succeeded and no task upstream of it, however far,
 * runs again: a task whose inputs may change must run again too. That matters for `depends:
 * "build.failed"` handlers, which succeeded because an upstream task failed: once the upstream
 * task runs again, the handler's condition must be asked again. Everything else starts PENDING.
 *
 * A fan-out is kept instance by instance when its own upstream is kept: its SUCCEEDED instances
 * stay, the others are PENDING again (same items, same indices). When its upstream runs again,
 * it starts unexpanded, since an output-driven list may come out different.
 *
 * `finally` tasks always run again: they are the run's cleanup and reporting.
 */
import type { DagDefinition } from './dag-definition.ts';
import type { TaskSnapshot } from './dag-resolution.ts';

export interface RetriedRun {
  /** The new run's rows, for `resolveRun`. */
  tasks: Map<string, TaskSnapshot>;
  /** Tasks (whole or in part) whose results and outputs the new run keeps. */
  kept: string[];
}

export function retryRun(definition: DagDefinition, previous: ReadonlyMap<string, TaskSnapshot>): RetriedRun {
  const tasks = new Map<string, TaskSnapshot>();
  const kept: string[] = [];
  // Tasks that run again, whole or in part; filled in topological order, so upstream comes first.
  const rerun = new Set<string>();
  for (const task of definition.tasks) {
    const old = previous.get(task.name) ?? { state: 'PENDING' };
    const upstreamReruns = task.upstream.some((u) => rerun.has(u));
    if (!upstreamReruns && 'instances' in old) {
      const instances = old.instances.map((s) => (s === 'SUCCEEDED' ? s : 'PENDING'));
      tasks.set(task.name, { instances });
      if (instances.some((s) => s === 'SUCCEEDED')) kept.push(task.name);
      if (instances.some((s) => s !== 'SUCCEEDED')) rerun.add(task.name);
    } else if (!upstreamReruns && 'state' in old && old.state === 'SUCCEEDED') {
      tasks.set(task.name, { state: 'SUCCEEDED' });
      kept.push(task.name);
    } else {
      tasks.set(task.name, { state: 'PENDING' });
      rerun.add(task.name);
    }
  }
  for (const task of definition.finally) tasks.set(task.name, { state: 'PENDING' });
  return { tasks, kept };
}

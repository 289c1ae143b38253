import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { validateDagPayload, type DagDefinition } from './dag-definition.ts';
import { evaluateDepends, type FinalTaskState } from './dag-expression.ts';
import {
  instanceName,
  isFinalTaskState,
  resolveRun,
  taskStateOf,
  type Resolution,
  type RunSnapshot,
  type TaskSnapshot,
  type TaskState,
} from './dag-resolution.ts';
import type { TaskOutputs } from './task-references.ts';

function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

const task = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://example.com/' },
  ...extra,
});

function definition(payload: unknown): DagDefinition {
  const result = validateDagPayload(payload);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

/** A run driven by hand: applies each resolution to its rows, as the wiring will. */
class Run {
  readonly tasks = new Map<string, TaskSnapshot>();
  readonly outputs = new Map<string, TaskOutputs>();
  cancelRequested = false;
  readonly dag: DagDefinition;
  constructor(dag: DagDefinition) {
    this.dag = dag;
  }

  snapshot(): RunSnapshot {
    return { tasks: this.tasks, outputs: this.outputs, cancelRequested: this.cancelRequested };
  }

  step(): Resolution {
    const r = resolveRun(this.dag, this.snapshot());
    for (const { task, items } of r.expand) this.tasks.set(task, { instances: items.map(() => 'PENDING') });
    for (const { task } of r.skip) this.tasks.set(task, { state: 'SKIPPED' });
    for (const { task } of r.fail) this.tasks.set(task, { state: 'FAILED' });
    for (const { task, index } of r.cancel) this.set(task, index, 'CANCELED');
    for (const { task, index } of r.start) this.set(task, index, 'QUEUED');
    return r;
  }

  set(task: string, index: number | null, state: TaskState): void {
    if (index === null) {
      this.tasks.set(task, { state });
      return;
    }
    const known = this.tasks.get(task);
    if (known === undefined || !('instances' in known)) throw new Error(`${task} is not expanded`);
    const instances = [...known.instances];
    instances[index] = state;
    this.tasks.set(task, { instances });
  }

  state(task: string): TaskState {
    return taskStateOf(this.tasks.get(task) ?? { state: 'PENDING' });
  }
}

const started = (r: Resolution) => r.start.map((s) => instanceName(s.task, s.index));

describe('resolveRun', () => {
  it('runs the diamond in order and succeeds', () => {
    const run = new Run(
      definition({
        tasks: [
          task('a'),
          task('b', { depends_on: ['a'] }),
          task('c', { depends_on: ['a'] }),
          task('d', { depends_on: ['b', 'c'] }),
        ],
      }),
    );
    expect(started(run.step())).toEqual(['a']);
    expect(started(run.step())).toEqual([]);
    run.set('a', null, 'SUCCEEDED');
    expect(started(run.step())).toEqual(['b', 'c']);
    run.set('b', null, 'SUCCEEDED');
    expect(started(run.step())).toEqual([]);
    run.set('c', null, 'SUCCEEDED');
    const r = run.step();
    expect(started(r)).toEqual(['d']);
    expect(r.finallyReady).toBe(false);
    run.set('d', null, 'SUCCEEDED');
    expect(run.step()).toMatchObject({ finallyReady: true, outcome: { state: 'SUCCEEDED' }, start: [] });
  });

  it('skips on a false condition, cascades the skip in one call, and lets a condition allow it', () => {
    const run = new Run(
      definition({
        tasks: [
          task('build'),
          task('test', { depends_on: ['build'] }),
          task('deploy', { depends_on: ['test'] }),
          task('report', { depends: '(test.succeeded || test.skipped) && !build.succeeded' }),
          task('on-failure', { depends: 'build.failed' }),
        ],
        finally: [task('cleanup'), task('notify', { depends: 'deploy.succeeded' })],
      }),
    );
    run.step();
    run.set('build', null, 'FAILED');
    const r = run.step();
    expect(r.skip).toEqual([
      { task: 'test', reason: 'condition build.succeeded is false (build FAILED)' },
      { task: 'deploy', reason: 'condition test.succeeded is false (test SKIPPED)' },
    ]);
    expect(started(r)).toEqual(['report', 'on-failure']);
    run.set('report', null, 'SUCCEEDED');
    run.set('on-failure', null, 'SUCCEEDED');
    const fin = run.step();
    expect(fin.finallyReady).toBe(true);
    expect(started(fin)).toEqual(['cleanup']);
    expect(fin.skip).toEqual([
      { task: 'notify', reason: 'condition deploy.succeeded is false (deploy SKIPPED)' },
    ]);
    expect(fin.outcome).toBeNull();
    run.set('cleanup', null, 'FAILED');
    // The build failed: the run fails, handled or not; the cleanup's failure alone would not.
    expect(run.step().outcome).toEqual({ state: 'FAILED' });
  });

  it('succeeds when tasks were skipped by their conditions only', () => {
    const run = new Run(
      definition({ tasks: [task('a'), task('b', { depends: 'a.failed' })], finally: [task('f')] }),
    );
    run.step();
    run.set('a', null, 'SUCCEEDED');
    expect(run.step().skip.map((s) => s.task)).toEqual(['b']);
    run.set('f', null, 'FAILED');
    expect(run.step().outcome).toEqual({ state: 'SUCCEEDED' });
  });

  it('expands a fan-out and keeps its max_parallel and the DAG one', () => {
    const run = new Run(
      definition({
        tasks: [
          task('fan', { for_each: ['x', 'y', 'z', 'w'], max_parallel: 2 }),
          task('other'),
          task('after', { depends_on: ['fan'] }),
        ],
        max_parallel: 3,
      }),
    );
    const first = run.step();
    expect(first.expand).toEqual([{ task: 'fan', items: ['x', 'y', 'z', 'w'] }]);
    expect(first.start).toEqual([
      { task: 'fan', index: 0, item: 'x' },
      { task: 'fan', index: 1, item: 'y' },
      { task: 'other', index: null },
    ]);
    run.set('fan', 0, 'FAILED');
    expect(started(run.step())).toEqual(['fan[2]']);
    run.set('other', null, 'SUCCEEDED');
    expect(started(run.step())).toEqual([]);
    run.set('fan', 1, 'SUCCEEDED');
    run.set('fan', 2, 'SUCCEEDED');
    expect(started(run.step())).toEqual(['fan[3]']);
    expect(run.state('fan')).toBe('RUNNING');
    run.set('fan', 3, 'SUCCEEDED');
    expect(run.state('fan')).toBe('FAILED');
    const end = run.step();
    expect(end.skip.map((s) => s.task)).toEqual(['after']);
    expect(end.outcome).toEqual({ state: 'FAILED' });
  });

  it('fans out over an output: a JSON array, also printed as text; anything else fails the task', () => {
    const dag = definition({
      tasks: [
        task('list'),
        task('each', { depends_on: ['list'], for_each: '{{tasks.list.outputs.files}}' }),
        task('next', { depends: 'each.completed' }),
      ],
    });
    for (const [files, expected] of [
      [['a', 'b'], { expand: [{ task: 'each', items: ['a', 'b'] }] }],
      ['["a"]', { expand: [{ task: 'each', items: ['a'] }] }],
      [
        'a,b',
        { fail: [{ task: 'each', reason: 'for_each {{tasks.list.outputs.files}} is not a JSON array' }] },
      ],
      [
        new Array(10_001).fill(1),
        {
          fail: [
            {
              task: 'each',
              reason: 'for_each {{tasks.list.outputs.files}} has 10001 items, over the limit of 10000',
            },
          ],
        },
      ],
      [
        undefined,
        {
          fail: [
            {
              task: 'each',
              reason: "for_each {{tasks.list.outputs.files}} has no value: task 'list' set no output 'files'",
            },
          ],
        },
      ],
    ] as const) {
      const run = new Run(dag);
      run.step();
      run.set('list', null, 'SUCCEEDED');
      run.outputs.set('list', files === undefined ? {} : { files });
      const r = run.step();
      expect(r).toMatchObject(expected);
      if ('fail' in expected) expect(started(r)).toEqual(['next']);
    }
  });

  it('treats an empty fan-out as succeeded and decides its dependents in the same call', () => {
    const run = new Run(
      definition({ tasks: [task('none', { for_each: [] }), task('after', { depends_on: ['none'] })] }),
    );
    const r = run.step();
    expect(r.expand).toEqual([{ task: 'none', items: [] }]);
    expect(started(r)).toEqual(['after']);
  });

  it('on cancel: cancels what has not started, starts nothing new, still runs finally', () => {
    const run = new Run(
      definition({
        tasks: [
          task('a'),
          task('b', { depends_on: ['a'] }),
          task('fan', { for_each: [1, 2, 3], max_parallel: 1 }),
        ],
        finally: [task('cleanup')],
      }),
    );
    expect(started(run.step())).toEqual(['a', 'fan[0]']);
    run.cancelRequested = true;
    const r = run.step();
    expect(r.cancel).toEqual([
      { task: 'fan', index: 1 },
      { task: 'fan', index: 2 },
    ]);
    expect(r.start).toEqual([]);
    // The wiring stops what runs.
    run.set('a', null, 'CANCELED');
    run.set('fan', 0, 'CANCELED');
    const after = run.step();
    expect(after.cancel).toEqual([{ task: 'b', index: null }]);
    expect(started(after)).toEqual(['cleanup']);
    run.set('cleanup', null, 'SUCCEEDED');
    expect(run.step().outcome).toEqual({ state: 'CANCELED' });
  });

  it('gives nothing new when called again without a change', () => {
    const run = new Run(definition({ tasks: [task('a'), task('b', { depends_on: ['a'] })] }));
    run.step();
    expect(run.step()).toEqual({
      expand: [],
      start: [],
      skip: [],
      fail: [],
      cancel: [],
      finallyReady: false,
      outcome: null,
    });
  });

  it('refuses instances on a task without for_each (a caller bug)', () => {
    const dag = definition({ tasks: [task('a')] });
    expect(() =>
      resolveRun(dag, { tasks: new Map([['a', { instances: ['PENDING'] }]]), outputs: new Map() }),
    ).toThrow(RangeError);
  });

  it('states of a fan-out', () => {
    expect(taskStateOf({ instances: [] })).toBe('SUCCEEDED');
    expect(taskStateOf({ instances: ['PENDING', 'PENDING'] })).toBe('PENDING');
    expect(taskStateOf({ instances: ['SUCCEEDED', 'PENDING'] })).toBe('RUNNING');
    expect(taskStateOf({ instances: ['SUCCEEDED', 'QUEUED'] })).toBe('RUNNING');
    expect(taskStateOf({ instances: ['CANCELED', 'ERRORED', 'FAILED'] })).toBe('FAILED');
    expect(taskStateOf({ instances: ['CANCELED', 'ERRORED', 'SUCCEEDED'] })).toBe('ERRORED');
    expect(taskStateOf({ instances: ['CANCELED', 'SUCCEEDED'] })).toBe('CANCELED');
    expect(taskStateOf({ instances: ['SUCCEEDED', 'SKIPPED'] })).toBe('SUCCEEDED');
  });
});

// ─── property: drive random DAGs with random outcomes ──────────────────────────────────────

const RESULTS = ['succeeded', 'failed', 'skipped', 'errored', 'completed'] as const;

/** A random acyclic definition: task i may depend only on tasks before it. */
const dagArb = fc.integer({ min: 1, max: 9 }).chain((n) =>
  fc.record({
    tasks: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          upstream: fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, i - 1) }), {
            maxLength: i === 0 ? 0 : 3,
          }),
          form: fc.constantFrom('depends_on', 'depends-or', 'depends-not'),
          results: fc.array(fc.constantFrom(...RESULTS), { minLength: 3, maxLength: 3 }),
          fanOut: fc.option(fc.integer({ min: 0, max: 5 }), { freq: 3 }),
          ownParallel: fc.option(fc.integer({ min: 1, max: 3 })),
        }),
      ),
    ),
    finallyCount: fc.integer({ min: 0, max: 2 }),
    maxParallel: fc.option(fc.integer({ min: 1, max: 4 })),
  }),
);

type DagSpec = typeof dagArb extends fc.Arbitrary<infer T> ? T : never;

function toPayload(spec: DagSpec): unknown {
  const tasks = spec.tasks.map((t, i) => {
    const names = t.upstream.map((u) => `t${u}`);
    const extra: Record<string, unknown> = {};
    if (names.length > 0) {
      if (t.form === 'depends_on') extra.depends_on = names;
      else if (t.form === 'depends-or')
        extra.depends = names.map((u, k) => `${u}.${t.results[k]}`).join(' || ');
      else extra.depends = names.map((u, k) => `!${u}.${t.results[k]}`).join(' && ');
    }
    if (t.fanOut !== null) {
      extra.for_each = Array.from({ length: t.fanOut }, (_, k) => k);
      if (t.ownParallel !== null) extra.max_parallel = t.ownParallel;
    }
    return task(`t${i}`, extra);
  });
  const finallyTasks = Array.from({ length: spec.finallyCount }, (_, k) =>
    task(`f${k}`, k === 0 ? { depends: 't0.completed' } : { depends_on: [`f${k - 1}`] }),
  );
  return {
    tasks,
    ...(finallyTasks.length > 0 ? { finally: finallyTasks } : {}),
    ...(spec.maxParallel !== null ? { max_parallel: spec.maxParallel } : {}),
  };
}

describe('resolveRun driven with random outcomes (property)', () => {
  it('ends every task, never starts one early, keeps every limit, and ends the run by the rule', () => {
    fc.assert(
      fc.property(dagArb, fc.infiniteStream(fc.nat()), fc.boolean(), (spec, dice, cancelMidway) => {
        const dag = definition(toPayload(spec));
        const run = new Run(dag);
        const all = [...dag.tasks, ...dag.finally];
        const byName = new Map(all.map((t) => [t.name, t]));
        const roll = () => dice.next().value as number;
        let outcome: Resolution['outcome'] = null;
        for (let step = 0; step < 500 && outcome === null; step++) {
          if (cancelMidway && step === 3) run.cancelRequested = true;
          const before = new Map(run.tasks);
          const r = run.step();
          // Nothing starts, skips or expands before its upstream is final; finally waits for all regular tasks.
          for (const name of [
            ...r.start.map((s) => s.task),
            ...r.skip.map((s) => s.task),
            ...r.expand.map((e) => e.task),
          ]) {
            const t = byName.get(name)!;
            for (const u of t.upstream) expect(isFinalTaskState(run.state(u))).toBe(true);
            if (t.isFinally)
              for (const regular of dag.tasks) expect(isFinalTaskState(run.state(regular.name))).toBe(true);
            if (run.cancelRequested && !t.isFinally) expect(r.start.some((s) => s.task === name)).toBe(false);
          }
          // A task is skipped exactly when its condition is false on its upstream's final states.
          const conditionHolds = (name: string) => {
            const t = byName.get(name)!;
            const states = new Map(t.upstream.map((u) => [u, run.state(u) as FinalTaskState]));
            return t.condition === null || evaluateDepends(t.condition, states);
          };
          for (const { task: name } of r.skip) expect(conditionHolds(name)).toBe(false);
          for (const name of [
            ...r.start.filter((s) => s.index === null).map((s) => s.task),
            ...r.expand.map((e) => e.task),
          ]) {
            expect(conditionHolds(name)).toBe(true);
          }
          for (const { task: name, index } of r.start) {
            // Only PENDING instances start (instances of a fan-out expanded by this very call are).
            const was = before.get(name) ?? { state: 'PENDING' as const };
            if (index === null) expect(was).toEqual({ state: 'PENDING' });
            else if ('instances' in was) expect(was.instances[index]).toBe('PENDING');
            else expect(r.expand.some((e) => e.task === name)).toBe(true);
          }
          // Limits at this instant.
          let active = 0;
          for (const t of all) {
            const s = run.tasks.get(t.name) ?? { state: 'PENDING' as const };
            const mine =
              'state' in s
                ? Number(s.state === 'QUEUED' || s.state === 'RUNNING')
                : s.instances.filter((x) => x === 'QUEUED' || x === 'RUNNING').length;
            if (t.maxParallel !== null) expect(mine).toBeLessThanOrEqual(t.maxParallel);
            active += mine;
          }
          if (dag.maxParallel !== null) expect(active).toBeLessThanOrEqual(dag.maxParallel);
          outcome = r.outcome;
          if (outcome !== null) break;
          // Random executors: each active instance may move on or finish with a random state.
          const finals: TaskState[] = ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'ERRORED'];
          for (const t of all) {
            const s = run.tasks.get(t.name) ?? { state: 'PENDING' as const };
            const indices = 'state' in s ? [null] : s.instances.map((_, i) => i);
            for (const index of indices) {
              const state =
                index === null
                  ? (s as { state: TaskState }).state
                  : (s as { instances: TaskState[] }).instances[index]!;
              if (state !== 'QUEUED' && state !== 'RUNNING') continue;
              const move = roll() % 4;
              if (move === 0) continue;
              if (move === 1 && state === 'QUEUED') run.set(t.name, index, 'RUNNING');
              else run.set(t.name, index, run.cancelRequested ? 'CANCELED' : finals[roll() % finals.length]!);
            }
          }
        }
        expect(outcome).not.toBeNull();
        for (const t of all) expect(isFinalTaskState(run.state(t.name))).toBe(true);
        const regularStates = dag.tasks.map((t) => run.state(t.name));
        const expected = run.cancelRequested
          ? 'CANCELED'
          : regularStates.every((s) => s === 'SUCCEEDED' || s === 'SKIPPED')
            ? 'SUCCEEDED'
            : 'FAILED';
        expect(outcome).toEqual({ state: expected });
      }),
      { numRuns: runs(1_500) },
    );
  });
});

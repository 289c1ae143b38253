import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { validateDagPayload, type DagDefinition } from './dag-definition.ts';
import { resolveRun, taskStateOf, type TaskSnapshot, type TaskState } from './dag-resolution.ts';
import { retryRun } from './dag-run-retry.ts';

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

describe('retryRun', () => {
  const dag = definition({
    tasks: [
      task('a'),
      task('b', { depends_on: ['a'] }),
      task('c', { depends_on: ['b'] }),
      task('on-fail', { depends: 'b.failed' }),
      task('side'),
      task('fan', { for_each: [1, 2, 3] }),
      task('after-fan', { depends_on: ['fan'] }),
    ],
    finally: [task('cleanup')],
  });
  const previous = new Map<string, TaskSnapshot>([
    ['a', { state: 'SUCCEEDED' }],
    ['b', { state: 'FAILED' }],
    ['c', { state: 'SKIPPED' }],
    ['on-fail', { state: 'SUCCEEDED' }],
    ['side', { state: 'SUCCEEDED' }],
    ['fan', { instances: ['SUCCEEDED', 'ERRORED', 'SUCCEEDED'] }],
    ['after-fan', { state: 'SKIPPED' }],
    ['cleanup', { state: 'SUCCEEDED' }],
  ]);

  it('keeps what succeeded with unchanged inputs and re-runs the rest, handlers and finally included', () => {
    const retried = retryRun(dag, previous);
    expect(Object.fromEntries(retried.tasks)).toEqual({
      a: { state: 'SUCCEEDED' },
      b: { state: 'PENDING' },
      c: { state: 'PENDING' },
      // Its condition read b, which runs again.
      'on-fail': { state: 'PENDING' },
      side: { state: 'SUCCEEDED' },
      fan: { instances: ['SUCCEEDED', 'PENDING', 'SUCCEEDED'] },
      'after-fan': { state: 'PENDING' },
      cleanup: { state: 'PENDING' },
    });
    expect(retried.kept).toEqual(['a', 'side', 'fan']);
  });

  it('gives the resolver a run that starts with the failed parts', () => {
    const next = resolveRun(dag, { tasks: retryRun(dag, previous).tasks, outputs: new Map() });
    expect(next.start).toEqual([
      { task: 'b', index: null },
      { task: 'fan', index: 1, item: 2 },
    ]);
  });

  it('re-expands a fan-out whose upstream runs again', () => {
    const chained = definition({
      tasks: [task('list'), task('each', { depends_on: ['list'], for_each: '{{tasks.list.outputs.x}}' })],
    });
    const retried = retryRun(
      chained,
      new Map<string, TaskSnapshot>([
        ['list', { state: 'ERRORED' }],
        ['each', { state: 'SKIPPED' }],
      ]),
    );
    expect(retried.tasks.get('each')).toEqual({ state: 'PENDING' });
  });
});

describe('retryRun (property)', () => {
  const FINAL: TaskState[] = ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'ERRORED', 'SKIPPED', 'CANCELED'];
  it('keeps a task only if it succeeded and nothing upstream of it runs again', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((n) =>
          fc.tuple(
            fc.tuple(
              ...Array.from({ length: n }, (_, i) =>
                fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, i - 1) }), {
                  maxLength: i === 0 ? 0 : 3,
                }),
              ),
            ),
            fc.array(fc.constantFrom(...FINAL), { minLength: n, maxLength: n }),
          ),
        ),
        ([upstream, states]) => {
          const dag = definition({
            tasks: upstream.map((list, i) =>
              task(
                `t${i}`,
                list.length > 0 ? { depends: list.map((u) => `t${u}.completed`).join(' && ') } : {},
              ),
            ),
          });
          const previous = new Map<string, TaskSnapshot>(states.map((s, i) => [`t${i}`, { state: s }]));
          const { tasks, kept } = retryRun(dag, previous);
          // Reference: a task re-runs if it did not succeed or any task it (transitively) reads re-runs.
          const reruns = (i: number): boolean => states[i] !== 'SUCCEEDED' || upstream[i]!.some(reruns);
          upstream.forEach((_, i) => {
            const state = taskStateOf(tasks.get(`t${i}`)!);
            expect(state).toBe(reruns(i) ? 'PENDING' : 'SUCCEEDED');
            expect(kept.includes(`t${i}`)).toBe(!reruns(i));
          });
        },
      ),
      { numRuns: runs(1_000) },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { groupState, layoutDag, taskGroups } from './layout.ts';

const hb = { endpoint: 'http://127.0.0.1/ok' };
const task = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'HEARTBEAT',
  payload: hb,
  ...extra,
});

function columns(payload: unknown, extra: string[] = []) {
  return Object.fromEntries(layoutDag(payload, extra).nodes.map((n) => [n.name, n.column]));
}

describe('layoutDag', () => {
  it('puts each task one column right of its deepest upstream task (a diamond)', () => {
    const layout = layoutDag({
      tasks: [
        task('a'),
        task('b', { depends_on: ['a'] }),
        task('c', { depends_on: ['a'] }),
        task('d', { depends_on: ['b', 'c'] }),
      ],
    });
    expect(Object.fromEntries(layout.nodes.map((n) => [n.name, [n.column, n.row]]))).toEqual({
      a: [0, 0],
      b: [1, 0],
      c: [1, 1],
      d: [2, 0],
    });
    expect(layout.edges.map((e) => `${e.from}→${e.to}`).sort()).toEqual(['a→b', 'a→c', 'b→d', 'c→d']);
    expect(layout.finallyColumn).toBeNull();
  });

  it('reads the task names of a depends expression as edges', () => {
    const layout = layoutDag({
      tasks: [
        task('build'),
        task('lint'),
        task('deploy', { depends: '(build.succeeded || build.skipped) && !lint.failed' }),
      ],
    });
    expect(layout.edges.map((e) => `${e.from}→${e.to}`).sort()).toEqual(['build→deploy', 'lint→deploy']);
    expect(columns({ tasks: [task('x'), task('y', { depends: 'x.failed' })] })).toEqual({ x: 0, y: 1 });
  });

  it('uses the longest path, not the first edge found', () => {
    expect(
      columns({
        tasks: [task('a'), task('b', { depends_on: ['a'] }), task('c', { depends_on: ['a', 'b'] })],
      }),
    ).toEqual({ a: 0, b: 1, c: 2 });
  });

  it('draws finally tasks in columns of their own past a gap', () => {
    const layout = layoutDag({
      tasks: [task('a'), task('b', { depends_on: ['a'] })],
      finally: [
        task('cleanup'),
        task('notify', { depends: 'b.failed' }),
        task('last', { depends_on: ['cleanup'] }),
      ],
    });
    const byName = new Map(layout.nodes.map((n) => [n.name, n]));
    expect(layout.finallyColumn).toBe(3);
    expect(byName.get('cleanup')).toMatchObject({ column: 3, isFinally: true });
    expect(byName.get('notify')).toMatchObject({ column: 3, isFinally: true });
    expect(byName.get('last')).toMatchObject({ column: 4 });
    expect(byName.get('b')!.isFinally).toBe(false);
    // The edge into a finally task from a regular one is drawn.
    expect(layout.edges.some((e) => e.from === 'b' && e.to === 'notify')).toBe(true);
  });

  it('collapses a fan-out into one node', () => {
    const layout = layoutDag({
      tasks: [task('list'), task('each', { for_each: [1, 2, 3], depends_on: ['list'] })],
    });
    expect(layout.nodes.map((n) => [n.name, n.fanOut])).toEqual([
      ['list', false],
      ['each', true],
    ]);
  });

  it('lays out what it can of an invalid definition: cycles, unknown names, junk', () => {
    const layout = layoutDag({
      tasks: [
        task('a', { depends_on: ['c'] }),
        task('b', { depends_on: ['a', 'ghost'] }),
        task('c', { depends_on: ['b'] }),
        'junk',
        { kind: 'HEARTBEAT' },
        task('a'),
        task('d', { depends: 'a.succeeded &&' }),
      ],
    });
    expect(layout.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(layout.edges.every((e) => e.from !== 'ghost')).toBe(true);
    for (const n of layout.nodes) expect(Number.isFinite(n.column)).toBe(true);
    expect(layoutDag(null).nodes).toEqual([]);
    expect(layoutDag({ tasks: 'no' })).toMatchObject({ nodes: [], edges: [], width: 16, height: 16 });
  });

  it("adds a run's tasks that the definition lacks, without edges", () => {
    const layout = layoutDag({ tasks: [task('a')] }, ['a', 'old']);
    expect(layout.nodes.map((n) => [n.name, n.column])).toEqual([
      ['a', 0],
      ['old', 0],
    ]);
  });

  it('lays out a 500-task chain iteratively and sizes the drawing to it', () => {
    const tasks = Array.from({ length: 500 }, (_, i) =>
      task(`t${i}`, i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
    );
    const layout = layoutDag({ tasks });
    expect(layout.nodes[499]!.column).toBe(499);
    expect(layout.edges).toHaveLength(499);
    expect(layout.width).toBeGreaterThan(layout.nodes[499]!.x);
  });
});

describe('taskGroups', () => {
  const t = (name: string, index: number | null, status: string) => ({ name, index, status });

  it('groups instances by task, in index order, with counts by state', () => {
    const groups = taskGroups([
      t('a', null, 'COMPLETED'),
      t('each', 2, 'RUNNING'),
      t('each', 0, 'COMPLETED'),
      t('each', 1, 'FAILED'),
    ]);
    expect(groups.get('a')).toMatchObject({ state: 'COMPLETED', counts: { COMPLETED: 1 } });
    const each = groups.get('each')!;
    expect(each.instances.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(each.counts).toEqual({ COMPLETED: 1, FAILED: 1, RUNNING: 1 });
    expect(each.state).toBe('RUNNING');
  });

  it('colours a fan-out by its most telling state', () => {
    expect(groupState({ COMPLETED: 3, FAILED: 1 })).toBe('FAILED');
    expect(groupState({ COMPLETED: 3, QUEUED: 1, FAILED: 1 })).toBe('QUEUED');
    expect(groupState({ SKIPPED: 2 })).toBe('SKIPPED');
    expect(groupState({ SKIPPED: 1, COMPLETED: 1 })).toBe('COMPLETED');
    expect(groupState({})).toBe('PENDING');
  });
});

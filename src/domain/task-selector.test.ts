import { describe, expect, it } from 'vitest';
import { parseTaskSelector, selectTask } from './task-selector.ts';

const TASKS = [
  { id: 'a', name: 'build', index: null },
  { id: 'b', name: 'test', index: 0 },
  { id: 'c', name: 'test', index: 1 },
  { id: 'd', name: 'lone', index: 0 },
];

describe('task selectors', () => {
  it('parse a name or a name with an item index, and nothing else', () => {
    expect(parseTaskSelector('build')).toEqual({ name: 'build', index: null });
    expect(parseTaskSelector('test[12]')).toEqual({ name: 'test', index: 12 });
    for (const bad of ['', 'Build', 'test[]', 'test[-1]', 'test[1', 'a b', 'test[1][2]', 'x[123456]'])
      expect(parseTaskSelector(bad), bad).toBeNull();
  });

  it('select one instance; a fan-out needs its index unless it has one item', () => {
    expect(selectTask(TASKS, { name: 'build', index: null })).toMatchObject({ ok: true, task: { id: 'a' } });
    expect(selectTask(TASKS, { name: 'test', index: 1 })).toMatchObject({ ok: true, task: { id: 'c' } });
    expect(selectTask(TASKS, { name: 'test', index: null })).toEqual({
      ok: false,
      reason: 'ambiguous',
      count: 2,
    });
    expect(selectTask(TASKS, { name: 'lone', index: null })).toMatchObject({ ok: true, task: { id: 'd' } });
    // A plain task is its own item 0.
    expect(selectTask(TASKS, { name: 'build', index: 0 })).toMatchObject({ ok: true, task: { id: 'a' } });
    expect(selectTask(TASKS, { name: 'test', index: 2 })).toEqual({
      ok: false,
      reason: 'none',
      names: ['build', 'test', 'lone'],
    });
    expect(selectTask(TASKS, { name: 'deploy', index: null })).toMatchObject({ ok: false, reason: 'none' });
  });
});

import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './text-diff.ts';

const labels = { before: 'a', after: 'b' };
const text = (n: number, changes: Record<number, string> = {}) =>
  Array.from({ length: n }, (_, i) => changes[i + 1] ?? `line ${i + 1}`).join('\n') + '\n';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff(text(5), text(5), labels)).toEqual([]);
  });

  it('shows a change with three lines of context and diff(1)-style hunk headers', () => {
    expect(unifiedDiff(text(10), text(10, { 5: 'five' }), labels)).toEqual([
      '--- a',
      '+++ b',
      '@@ -2,7 +2,7 @@',
      ' line 2',
      ' line 3',
      ' line 4',
      '-line 5',
      '+five',
      ' line 6',
      ' line 7',
      ' line 8',
    ]);
  });

  it('keeps distant changes in separate hunks and near ones in one', () => {
    const far = unifiedDiff(text(30), text(30, { 2: 'two', 28: 'twenty-eight' }), labels);
    expect(far.filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,5 +1,5 @@', '@@ -25,6 +25,6 @@']);
    const near = unifiedDiff(text(30), text(30, { 10: 'ten', 15: 'fifteen' }), labels);
    expect(near.filter((l) => l.startsWith('@@'))).toEqual(['@@ -7,12 +7,12 @@']);
  });

  it('diffs a new text against nothing, and lines added and removed', () => {
    expect(unifiedDiff('', 'x\ny\n', { before: '/dev/null', after: 'b' })).toEqual([
      '--- /dev/null',
      '+++ b',
      '@@ -0,0 +1,2 @@',
      '+x',
      '+y',
    ]);
    expect(unifiedDiff('a\nb\nc\n', 'a\nc\nd\n', labels)).toEqual([
      '--- a',
      '+++ b',
      '@@ -1,3 +1,3 @@',
      ' a',
      '-b',
      ' c',
      '+d',
    ]);
  });
});

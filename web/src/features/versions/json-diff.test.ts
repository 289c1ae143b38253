import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffJson, diffLines, stableJson } from './json-diff.ts';

describe('diffJson', () => {
  it('shows nothing changed for the same value whatever its key order', () => {
    const lines = diffJson({ b: 1, a: { y: 2, x: 1 } }, { a: { x: 1, y: 2 }, b: 1 });
    expect(lines.every((l) => l.op === ' ')).toBe(true);
  });

  it('marks the changed line as removed and added, and keeps the rest', () => {
    const lines = diffJson(
      { endpoint: 'https://a.example/', timeout: '5s' },
      { endpoint: 'https://b.example/', timeout: '5s' },
    );
    expect(lines).toEqual([
      { op: ' ', text: '{' },
      { op: '-', text: '  "endpoint": "https://a.example/",' },
      { op: '+', text: '  "endpoint": "https://b.example/",' },
      { op: ' ', text: '  "timeout": "5s"' },
      { op: ' ', text: '}' },
    ]);
  });

  it('sorts keys at every level', () => {
    expect(stableJson({ b: [{ d: 1, c: 2 }], a: null })).toBe(
      '{\n  "a": null,\n  "b": [\n    {\n      "c": 2,\n      "d": 1\n    }\n  ]\n}',
    );
  });
});

describe('diffLines', () => {
  it('keeps every line of each side in order (property)', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 12 });
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const diff = diffLines(a, b);
        expect(diff.filter((l) => l.op !== '+').map((l) => l.text)).toEqual(a);
        expect(diff.filter((l) => l.op !== '-').map((l) => l.text)).toEqual(b);
      }),
    );
  });

  it('keeps a longest common subsequence: nothing removed from equal sides', () => {
    expect(diffLines(['x', 'y'], ['x', 'y']).map((l) => l.op)).toEqual([' ', ' ']);
    expect(diffLines(['a', 'x', 'b'], ['a', 'b']).map((l) => l.op)).toEqual([' ', '-', ' ']);
  });
});

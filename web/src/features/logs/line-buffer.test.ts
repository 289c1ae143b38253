import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogBuffer } from './line-buffer.ts';
import type { LogLine } from './types.ts';

const line = (n: number): LogLine => ({
  sequence_num: n,
  stream: n % 2 ? 'stderr' : 'stdout',
  timestamp: '2026-01-01T00:00:00.000Z',
  message: `line ${n}`,
});

describe('LogBuffer (SSE line merge)', () => {
  it('appends in order and ignores repeats (a reconnect replaying lines)', () => {
    const buffer = new LogBuffer();
    expect(buffer.add([0, 1, 2].map(line))).toBe(3);
    expect(buffer.add([1, 2, 3, 4].map(line))).toBe(2);
    expect(buffer.lines.map((l) => l.sequence_num)).toEqual([0, 1, 2, 3, 4]);
    expect(buffer.lastSequence).toBe(4);
  });

  it('places late lines by sequence number', () => {
    const buffer = new LogBuffer();
    buffer.add([5, 7, 2].map(line));
    buffer.add([6, 0, 7, 1].map(line));
    expect(buffer.lines.map((l) => l.sequence_num)).toEqual([0, 1, 2, 5, 6, 7]);
  });

  it('notifies once per batch with a new snapshot, and not for a batch of repeats', () => {
    const buffer = new LogBuffer();
    let calls = 0;
    const off = buffer.subscribe(() => calls++);
    const before = buffer.getSnapshot();
    buffer.add([0, 1, 2].map(line));
    expect(calls).toBe(1);
    const after = buffer.getSnapshot();
    expect(after).not.toBe(before);
    expect(after.version).toBe(1);
    buffer.add([1, 2].map(line));
    expect(calls).toBe(1);
    expect(buffer.getSnapshot()).toBe(after);
    off();
    buffer.add([3].map(line));
    expect(calls).toBe(1);
  });

  it('holds each number once, sorted, whatever the arrival order and repeats', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat({ max: 200 }), { maxLength: 30 }), { maxLength: 10 }),
        (batches) => {
          const buffer = new LogBuffer();
          for (const batch of batches) buffer.add(batch.map(line));
          const expected = [...new Set(batches.flat())].sort((a, b) => a - b);
          expect(buffer.lines.map((l) => l.sequence_num)).toEqual(expected);
        },
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { filterLines } from './filter.ts';
import type { LogLine } from './types.ts';

const line = (sequence_num: number, stream: LogLine['stream'], message: string): LogLine => ({
  sequence_num,
  stream,
  timestamp: '2026-01-01T00:00:00.000Z',
  message,
});
const LINES = [
  line(0, 'stdout', 'starting'),
  line(1, 'stderr', 'warning: Disk 90%'),
  line(2, 'stdout', 'disk ok'),
  line(3, 'stderr', 'fatal'),
];

describe('filterLines', () => {
  it('returns the same array when nothing is filtered', () => {
    expect(filterLines(LINES, { stream: 'all', query: '' })).toBe(LINES);
  });

  it('keeps one stream', () => {
    expect(filterLines(LINES, { stream: 'stderr', query: '' }).map((l) => l.sequence_num)).toEqual([1, 3]);
    expect(filterLines(LINES, { stream: 'stdout', query: '' }).map((l) => l.sequence_num)).toEqual([0, 2]);
  });

  it('searches case-insensitively and literally, combined with the stream', () => {
    expect(filterLines(LINES, { stream: 'all', query: 'DISK' }).map((l) => l.sequence_num)).toEqual([1, 2]);
    expect(filterLines(LINES, { stream: 'stdout', query: 'disk' }).map((l) => l.sequence_num)).toEqual([2]);
    expect(filterLines(LINES, { stream: 'all', query: '90%' }).map((l) => l.sequence_num)).toEqual([1]);
    expect(filterLines(LINES, { stream: 'all', query: 'd.sk' })).toEqual([]);
  });
});

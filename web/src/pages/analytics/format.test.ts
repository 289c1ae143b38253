import { describe, expect, it } from 'vitest';
import { formatDurationMs, formatRate } from './format.ts';

describe('analytics formatting', () => {
  it('formats durations in the largest sensible unit', () => {
    expect(formatDurationMs(null)).toBe('—');
    expect(formatDurationMs(850)).toBe('850 ms');
    expect(formatDurationMs(1_240)).toBe('1.2 s');
    expect(formatDurationMs(42_000)).toBe('42 s');
    expect(formatDurationMs(184_000)).toBe('3 min 4 s');
    expect(formatDurationMs(7_500_000)).toBe('2 h 5 min');
    expect(formatDurationMs(3_600_000)).toBe('1 h');
  });

  it('formats the success rate as a percentage, or a dash before any job', () => {
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0.9876, 'en-US')).toBe('98.8%');
    expect(formatRate(1, 'en-US')).toBe('100%');
  });
});

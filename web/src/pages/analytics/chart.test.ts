import { describe, expect, it } from 'vitest';
import type { TimeseriesPoint } from '../../api/analytics.ts';
import {
  bucketFor,
  fillBuckets,
  floorToBucket,
  formatBucket,
  linearScale,
  niceTicks,
  rangeOf,
  summarise,
} from './chart.ts';

const point = (ts: string, completed: number, failed = 0, canceled = 0): TimeseriesPoint => ({
  ts,
  completed,
  failed,
  canceled,
  avg_duration_ms: completed ? 120 : null,
  avg_fire_lag_ms: completed ? 15 : null,
});

describe('fillBuckets', () => {
  it('fills quiet buckets with zeros and keeps the server points in place', () => {
    const filled = fillBuckets(
      [point('2024-03-05T10:00:00Z', 3, 1), point('2024-03-05T12:00:00.000Z', 0, 0, 2)],
      new Date('2024-03-05T09:30:00Z'),
      new Date('2024-03-05T12:10:00Z'),
      'hour',
    );
    expect(filled.map((p) => new Date(p.ts).toISOString())).toEqual([
      '2024-03-05T09:00:00.000Z',
      '2024-03-05T10:00:00.000Z',
      '2024-03-05T11:00:00.000Z',
      '2024-03-05T12:00:00.000Z',
    ]);
    expect(filled.map((p) => p.total)).toEqual([0, 4, 0, 2]);
    expect(filled[1]).toMatchObject({ completed: 3, failed: 1, canceled: 0, avgDurationMs: 120 });
    expect(filled[0]!.avgDurationMs).toBeNull();
  });

  it('drops points outside the range and returns nothing for an inverted range', () => {
    const filled = fillBuckets(
      [point('2024-03-01T00:00:00Z', 9), point('2024-03-05T00:00:00Z', 1)],
      new Date('2024-03-04T00:00:00Z'),
      new Date('2024-03-05T23:59:00Z'),
      'day',
    );
    expect(filled.map((p) => p.completed)).toEqual([0, 1]);
    expect(
      fillBuckets([], new Date('2024-03-05T00:00:00Z'), new Date('2024-03-04T00:00:00Z'), 'day'),
    ).toEqual([]);
  });

  it('is empty-safe: no points gives a flat series of zeros', () => {
    const filled = fillBuckets([], new Date('2024-03-04T00:00:00Z'), new Date('2024-03-06T00:00:00Z'), 'day');
    expect(filled).toHaveLength(2); // `to` is exclusive
    expect(filled.every((p) => p.total === 0)).toBe(true);
  });
});

describe('scales and ticks', () => {
  it('maps a domain linearly onto pixels, inverted for a y axis', () => {
    const y = linearScale([0, 10], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(10)).toBe(0);
    expect(y(5)).toBe(100);
  });

  it('maps a zero-width domain to the range start instead of dividing by zero', () => {
    const x = linearScale([3, 3], [10, 90]);
    expect(x(3)).toBe(10);
    expect(Number.isNaN(x(4))).toBe(false);
  });

  it('gives round integer ticks covering the maximum', () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(95)).toEqual([0, 50, 100]);
    const ticks = niceTicks(1234);
    expect(ticks[0]).toBe(0);
    expect(ticks.at(-1)!).toBeGreaterThanOrEqual(1234);
    expect(ticks.every((t) => Number.isInteger(t))).toBe(true);
  });
});

describe('bucket labels and ranges', () => {
  it('formats day buckets in UTC and hour buckets with the hour', () => {
    const ts = Date.parse('2024-03-05T00:00:00Z');
    expect(formatBucket(ts, 'day', { locale: 'en-US' })).toBe('Mar 5');
    expect(
      formatBucket(Date.parse('2024-03-05T14:00:00Z'), 'hour', { locale: 'en-US', timeZone: 'UTC' }),
    ).toBe('Mar 5, 14:00');
  });

  it('rounds a range out to whole buckets ending after now', () => {
    const now = new Date('2024-03-05T14:25:00Z');
    expect(rangeOf('24h', 'hour', now)).toEqual({
      from: '2024-03-04T15:00:00.000Z',
      to: '2024-03-05T15:00:00.000Z',
    });
    expect(rangeOf('7d', 'day', now)).toEqual({
      from: '2024-02-28T00:00:00.000Z',
      to: '2024-03-06T00:00:00.000Z',
    });
    expect(floorToBucket(Date.parse('2024-03-05T14:25:00Z'), 'day')).toBe(Date.parse('2024-03-05T00:00:00Z'));
  });

  it('switches to a bucket the range offers', () => {
    expect(bucketFor('90d', 'hour')).toBe('day');
    expect(bucketFor('7d', 'hour')).toBe('hour');
    expect(bucketFor('24h', 'day')).toBe('hour');
  });

  it('summarises the series for screen readers', () => {
    const filled = fillBuckets(
      [point('2024-03-05T00:00:00Z', 2, 1), point('2024-03-06T00:00:00Z', 5)],
      new Date('2024-03-05T00:00:00Z'),
      new Date('2024-03-07T00:00:00Z'),
      'day',
    );
    const text = summarise(filled, 'day');
    expect(text).toContain('7 completed, 1 failed, 0 canceled');
    expect(text).toContain('with 5');
    expect(summarise([], 'day')).toBe('No data for this range.');
  });
});

import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { fillBuckets } from './chart.ts';
import { TimeseriesChart } from './TimeseriesChart.tsx';

const from = new Date('2024-03-05T00:00:00Z');
const to = new Date('2024-03-09T00:00:00Z');
const p = (ts: string, completed: number, failed: number, canceled: number) => ({
  ts,
  completed,
  failed,
  canceled,
  avg_duration_ms: 1_500,
  avg_fire_lag_ms: 20,
});

describe('TimeseriesChart', () => {
  it('stacks bars in proportion to the counts and states the data in a hidden table', () => {
    const points = fillBuckets(
      [p('2024-03-05T00:00:00Z', 2, 0, 0), p('2024-03-07T00:00:00Z', 2, 1, 1)],
      from,
      to,
      'day',
    );
    const { container } = render(<TimeseriesChart points={points} bucket="day" caption="Jobs per day" />);

    const img = screen.getByRole('img');
    expect(img.getAttribute('aria-label')).toContain('4 completed, 1 failed, 1 canceled');
    expect(img.getAttribute('aria-label')).toContain('Busiest day: Mar 7 with 4');

    const height = (el: Element | null | undefined) => Number(el?.getAttribute('height'));
    const groups = container.querySelectorAll('.chart-bars > g');
    expect(groups).toHaveLength(4); // every day, quiet ones included
    const first = groups[0]!.querySelector('.bar-completed');
    const third = groups[2]!;
    expect(groups[1]!.querySelectorAll('rect')).toHaveLength(0);
    // 2 completed vs 2 completed + 1 failed + 1 canceled: the stack is twice as tall.
    const stack = [...third.querySelectorAll('rect')].reduce((sum, r) => sum + height(r), 0);
    expect(stack).toBeCloseTo(2 * height(first), 6);
    expect(height(third.querySelector('.bar-completed'))).toBeCloseTo(height(first), 6);
    // Stacked, not overlapping: failed sits right on top of completed.
    const completed = third.querySelector('.bar-completed')!;
    const failed = third.querySelector('.bar-failed')!;
    expect(Number(failed.getAttribute('y')) + height(failed)).toBeCloseTo(
      Number(completed.getAttribute('y')),
      6,
    );

    const table = screen.getByRole('table', { name: 'Jobs per day' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent)).toEqual([
      'Mar 52001.5 s20 ms',
      'Mar 6000——',
      'Mar 72111.5 s20 ms',
      'Mar 8000——',
    ]);
  });

  it('draws an empty chart with an axis and a message when nothing finished', () => {
    const points = fillBuckets([], from, to, 'day');
    const { container } = render(<TimeseriesChart points={points} bucket="day" caption="Jobs per day" />);
    expect(container.querySelectorAll('rect')).toHaveLength(0);
    expect(screen.getByText('No jobs finished in this range')).toBeTruthy();
    expect(screen.getByRole('img').getAttribute('aria-label')).toContain('No jobs finished in this range.');
    const ticks = [...container.querySelectorAll('.chart-grid text')].map((t) => t.textContent);
    expect(ticks).toEqual(['0', '1']);
  });

  it('labels at most about six buckets on the x axis', () => {
    const points = fillBuckets(
      [],
      new Date('2024-03-05T00:00:00Z'),
      new Date('2024-03-06T00:00:00Z'),
      'hour',
    );
    const { container } = render(<TimeseriesChart points={points} bucket="hour" caption="Jobs per hour" />);
    expect(points).toHaveLength(24);
    expect(container.querySelectorAll('.chart-axis text')).toHaveLength(6);
  });
});

import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import {
  effectiveQuotas,
  NO_OVERRIDES,
  QUOTA_DEFAULTS,
  schedulePeriodProblem,
  shortestCronGapSeconds,
} from './quotas.ts';

/** The shortest gap croner itself produces over `runs` runs from 2001-01-01 UTC (a check of the analysis). */
function measuredGap(expression: string, runs: number): number {
  const cron = new Cron(expression, { paused: true, timezone: 'UTC' });
  let previous = cron.nextRun(new Date(Date.UTC(2001, 0, 1) - 1000))!;
  let shortest = 86_400;
  for (let i = 0; i < runs; i += 1) {
    const next = cron.nextRun(previous);
    if (next === null) break;
    shortest = Math.min(shortest, (next.getTime() - previous.getTime()) / 1000);
    previous = next;
  }
  return shortest;
}

describe('shortestCronGapSeconds', () => {
  it.each([
    ['* * * * * *', 1],
    ['*/30 * * * * *', 30],
    ['0,59 * * * * *', 1],
    ['0 * * * * *', 60],
    ['30 0 12 * * *', 86_400],
    ['* * * * *', 60],
    ['*/5 * * * *', 300],
    ['0,50 * * * *', 600],
    ['0 */2 * * *', 7200],
    ['@hourly', 3600],
    ['@daily', 86_400],
    ['@weekly', 86_400],
    ['0 9 * * 1-5', 86_400],
    // 23:59:59 and 00:00:00 of the next day: one second apart.
    ['0,59 0,59 0,23 * * *', 1],
    // Same times, but only on even days: never two days in a row (31 → 2), so 59 seconds.
    ['0,59 0,59 0,23 2-30/2 * *', 59],
    // Feb 28 23:59 → Feb 29 00:00 only in leap years.
    ['59,0 23,0 28,29 2 *', 60],
    ['0 0,23 * * 1', 82_800],
    ['0 0,23 * * 1,2', 3600],
    ['0-10/5 0 12 * * *', 5],
    ['? * * * *', 60],
  ])('%s → %i s', (expression, expected) => {
    expect(shortestCronGapSeconds(expression)).toBe(expected);
  });

  it('agrees with the gaps croner produces', () => {
    for (const expression of [
      '*/7 * * * * *',
      '5,10,50 */3 * * * *',
      '0 0,30 8-17 * * 1-5',
      '15 59 23 * * *',
      '0 0 0,12 1,15 * *',
      '0 1-59/17 * * * *',
      '0 0 0 L * *',
      '0 30 23 L * *',
    ]) {
      expect(shortestCronGapSeconds(expression), expression).toBe(measuredGap(expression, 1500));
    }
  });

  it('stops at the limit: the exact gap below it, the limit above it', () => {
    expect(shortestCronGapSeconds('*/30 * * * * *', 60)).toBe(30);
    expect(shortestCronGapSeconds('0 */5 * * * *', 60)).toBe(60);
    expect(shortestCronGapSeconds('0 0 * * *', 3600)).toBe(3600);
  });
});

describe('schedulePeriodProblem', () => {
  it('refuses a cron with seconds and an interval under the minimum, naming both', () => {
    expect(schedulePeriodProblem({ type: 'cron', cron: '* * * * * *', timezone: 'UTC' }, 60)).toEqual({
      shortestSeconds: 1,
      message:
        'runs too often: it can run 1 second after its previous run; your quota min_schedule_seconds asks for at least 1 minute between runs',
    });
    expect(schedulePeriodProblem({ type: 'interval', intervalMinutes: 1 }, 300)).toEqual({
      shortestSeconds: 60,
      message:
        'runs too often: an interval of 1 minute; your quota min_schedule_seconds asks for at least 5 minutes between runs',
    });
  });

  it('accepts what runs at most as often as the minimum, once schedules and a minimum of 0', () => {
    expect(schedulePeriodProblem({ type: 'cron', cron: '0 * * * * *', timezone: 'UTC' }, 60)).toBeNull();
    expect(schedulePeriodProblem({ type: 'interval', intervalMinutes: 1 }, 60)).toBeNull();
    expect(schedulePeriodProblem({ type: 'once', runAt: new Date() }, 86_400)).toBeNull();
    expect(schedulePeriodProblem({ type: 'cron', cron: '* * * * * *', timezone: 'UTC' }, 0)).toBeNull();
  });
});

describe('effectiveQuotas', () => {
  it('gives users the defaults, administrators no limits, and own values to anyone', () => {
    expect(effectiveQuotas('user', NO_OVERRIDES, QUOTA_DEFAULTS).quotas).toEqual(QUOTA_DEFAULTS);
    expect(effectiveQuotas('admin', NO_OVERRIDES, QUOTA_DEFAULTS)).toEqual({
      quotas: { max_workflows: 0, runs_per_minute: 0, min_schedule_seconds: 0, max_concurrent_containers: 0 },
      sources: {
        max_workflows: 'admin',
        runs_per_minute: 'admin',
        min_schedule_seconds: 'admin',
        max_concurrent_containers: 'admin',
      },
    });
    const own = { ...NO_OVERRIDES, runs_per_minute: 5 };
    expect(effectiveQuotas('admin', own, QUOTA_DEFAULTS).quotas.runs_per_minute).toBe(5);
    const user = effectiveQuotas('user', own, QUOTA_DEFAULTS);
    expect(user.quotas.runs_per_minute).toBe(5);
    expect(user.sources.runs_per_minute).toBe('user');
    expect(user.sources.max_workflows).toBe('default');
  });
});

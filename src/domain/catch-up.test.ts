import { describe, expect, it } from 'vitest';
import { MAX_COUNTED_SKIPS, planTick } from './catch-up.ts';

const t = (iso: string) => new Date(iso);

describe('planTick', () => {
  it('on time: no skips, next tick one interval later', () => {
    const plan = planTick(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T00:05:00.200Z'),
    );
    expect(plan).toEqual({
      scheduledAt: t('2021-01-01T00:05:00Z'),
      skipped: 0,
      nextRunAt: t('2021-01-01T00:10:00Z'),
    });
  });

  it('after an hour down, an interval workflow runs once and records the 12 skipped ticks', () => {
    const plan = planTick(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T01:07:00Z'),
    );
    expect(plan.skipped).toBe(12);
    expect(plan.nextRunAt).toEqual(t('2021-01-01T01:10:00Z'));
  });

  it('stays on the interval grid exactly at a tick boundary', () => {
    const plan = planTick(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T00:10:00Z'),
    );
    expect(plan).toMatchObject({ skipped: 1, nextRunAt: t('2021-01-01T00:15:00Z') });
  });

  it('counts missed cron ticks in the zone and moves to the first one after now', () => {
    const schedule = { type: 'cron' as const, cron: '0 * * * *', timezone: 'Europe/Berlin' };
    const plan = planTick(schedule, t('2021-01-01T00:00:00Z'), t('2021-01-01T05:30:00Z'));
    expect(plan).toEqual({
      scheduledAt: t('2021-01-01T00:00:00Z'),
      skipped: 5,
      nextRunAt: t('2021-01-01T06:00:00Z'),
    });
  });

  it('caps the count of missed cron ticks after a very long outage', () => {
    const schedule = { type: 'cron' as const, cron: '* * * * *', timezone: 'UTC' };
    const plan = planTick(schedule, t('2021-01-01T00:00:00Z'), t('2021-03-01T00:00:30Z'));
    expect(plan.skipped).toBe(MAX_COUNTED_SKIPS);
    expect(plan.nextRunAt).toEqual(t('2021-03-01T00:01:00Z'));
  });

  it('a once schedule fires once and has no next tick', () => {
    expect(
      planTick(
        { type: 'once', runAt: t('2021-01-01T00:00:00Z') },
        t('2021-01-01T00:00:00Z'),
        t('2021-01-02T00:00:00Z'),
      ),
    ).toEqual({
      scheduledAt: t('2021-01-01T00:00:00Z'),
      skipped: 0,
      nextRunAt: null,
    });
  });

  it.each([
    ['America/New_York', '2021-03-14T06:00:00Z', '2021-03-14T12:00:00Z', 6],
    ['America/New_York', '2021-11-07T05:00:00Z', '2021-11-07T11:00:00Z', 6],
    ['Europe/Berlin', '2021-03-28T00:00:00Z', '2021-03-28T06:00:00Z', 6],
    ['Europe/Berlin', '2021-10-31T00:00:00Z', '2021-10-31T06:00:00Z', 6],
  ])(
    'hourly cron across a DST change in %s counts real hours (%s → %s: %d skipped)',
    (timezone, due, now, skipped) => {
      const plan = planTick({ type: 'cron', cron: '0 * * * *', timezone }, t(due), t(now));
      expect(plan.skipped).toBe(skipped);
    },
  );
});

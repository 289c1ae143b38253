import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_COUNTED_SKIPS,
  MAX_LEDGER_TICKS,
  pausedLedger,
  planTick,
  tickLedger,
  type TickLedger,
} from './catch-up.ts';
import { DEFAULT_SCHEDULE_POLICY, type CatchUpMode } from './schedule-policy.ts';
import { nextRunAfter, type Schedule } from './schedule.ts';

const t = (iso: string) => new Date(iso);

describe('planTick', () => {
  it('on time: no skips, next tick one interval later', () => {
    const plan = planTick(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T00:05:00.200Z'),
    );
    expect(plan).toEqual({
      fires: [t('2021-01-01T00:05:00Z')],
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
      fires: [t('2021-01-01T00:00:00Z')],
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
      fires: [t('2021-01-01T00:00:00Z')],
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

describe('planTick by catch-up policy', () => {
  const every5 = { type: 'interval' as const, intervalMinutes: 5 };
  const hourly = { type: 'cron' as const, cron: '0 * * * *', timezone: 'Europe/Berlin' };
  const due = t('2021-01-01T00:00:00Z');
  // Down for one hour and 7 minutes: 14 interval ticks (00:00 … 01:05) and 2 hourly ones are due.
  const now = t('2021-01-01T01:07:00Z');
  const policy = (mode: CatchUpMode, windowSeconds: number | null = null, maxRuns = 100) => ({
    mode,
    windowSeconds,
    maxRuns,
  });

  it('LATEST: one run for the first due fire time, the others counted', () => {
    expect(planTick(every5, due, now, policy('LATEST'))).toEqual({
      fires: [due],
      skipped: 13,
      nextRunAt: t('2021-01-01T01:10:00Z'),
    });
  });

  it('LATEST with a window: the first fire time inside it', () => {
    expect(planTick(every5, due, now, policy('LATEST', 600))).toEqual({
      fires: [t('2021-01-01T01:00:00Z')],
      skipped: 13,
      nextRunAt: t('2021-01-01T01:10:00Z'),
    });
    expect(planTick(hourly, due, now, policy('LATEST', 60))).toEqual({
      fires: [],
      skipped: 2,
      nextRunAt: t('2021-01-01T02:00:00Z'),
    });
  });

  it('NONE: the most recent fire time only, and only while it is inside the window', () => {
    expect(planTick(every5, due, now, policy('NONE', 180))).toEqual({
      fires: [t('2021-01-01T01:05:00Z')],
      skipped: 13,
      nextRunAt: t('2021-01-01T01:10:00Z'),
    });
    expect(planTick(every5, due, now, policy('NONE', 60))).toMatchObject({ fires: [], skipped: 14 });
    // On time, NONE runs the tick like any other mode.
    expect(planTick(every5, due, t('2021-01-01T00:00:00.300Z'), policy('NONE', 60))).toEqual({
      fires: [due],
      skipped: 0,
      nextRunAt: t('2021-01-01T00:05:00Z'),
    });
  });

  it('ALL: every due fire time, the most recent max_runs of them', () => {
    const all = planTick(every5, due, now, policy('ALL'));
    expect(all.fires).toHaveLength(14);
    expect(all.fires[0]).toEqual(due);
    expect(all.fires.at(-1)).toEqual(t('2021-01-01T01:05:00Z'));
    expect(all.skipped).toBe(0);
    expect(planTick(every5, due, now, policy('ALL', null, 3))).toEqual({
      fires: [t('2021-01-01T00:55:00Z'), t('2021-01-01T01:00:00Z'), t('2021-01-01T01:05:00Z')],
      skipped: 11,
      nextRunAt: t('2021-01-01T01:10:00Z'),
    });
    expect(planTick(hourly, due, now, policy('ALL', 300))).toMatchObject({ fires: [], skipped: 2 });
    // A fire time exactly at the window's edge is inside it.
    expect(planTick(hourly, due, now, policy('ALL', 420)).fires).toEqual([t('2021-01-01T01:00:00Z')]);
    expect(planTick(hourly, due, now, policy('LATEST', 420)).fires).toEqual([t('2021-01-01T01:00:00Z')]);
    expect(planTick(every5, due, now, policy('ALL', 420)).fires).toEqual([
      t('2021-01-01T01:00:00Z'),
      t('2021-01-01T01:05:00Z'),
    ]);
    expect(planTick(hourly, due, now, policy('ALL', 1800))).toEqual({
      fires: [t('2021-01-01T01:00:00Z')],
      skipped: 1,
      nextRunAt: t('2021-01-01T02:00:00Z'),
    });
    expect(planTick(hourly, due, now, policy('ALL', 3600 + 420))).toEqual({
      fires: [due, t('2021-01-01T01:00:00Z')],
      skipped: 0,
      nextRunAt: t('2021-01-01T02:00:00Z'),
    });
  });

  it('ALL over cron in a zone with DST: the wall-clock fire times, the gap time once', () => {
    // 02:30 Europe/Berlin does not exist on 2021-03-28: croner runs it at 03:00 (01:00Z).
    const daily = { type: 'cron' as const, cron: '30 2 * * *', timezone: 'Europe/Berlin' };
    const plan = planTick(daily, t('2021-03-26T01:30:00Z'), t('2021-03-29T12:00:00Z'), policy('ALL'));
    expect(plan.fires).toEqual([
      t('2021-03-26T01:30:00Z'),
      t('2021-03-27T01:30:00Z'),
      t('2021-03-28T01:00:00Z'),
      t('2021-03-29T00:30:00Z'),
    ]);
    expect(plan.nextRunAt).toEqual(t('2021-03-30T00:30:00Z'));
  });

  it('property: fires are due, ordered, inside the window, and fires + skipped = due fire times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.constantFrom<CatchUpMode>('NONE', 'LATEST', 'ALL'),
        fc.option(fc.integer({ min: 1, max: 400_000 }), { nil: null }),
        fc.integer({ min: 1, max: 50 }),
        (minutes, lateMinutes, mode, windowSeconds, maxRuns) => {
          const nowAt = new Date(due.getTime() + lateMinutes * 60_000 + 1234);
          const plan = planTick({ type: 'interval', intervalMinutes: minutes }, due, nowAt, {
            mode,
            windowSeconds,
            maxRuns,
          });
          const dueCount = Math.floor((nowAt.getTime() - due.getTime()) / (minutes * 60_000)) + 1;
          expect(plan.fires.length + plan.skipped).toBe(dueCount);
          expect(plan.fires.length).toBeLessThanOrEqual(mode === 'ALL' ? maxRuns : 1);
          for (const [i, f] of plan.fires.entries()) {
            expect(f.getTime()).toBeLessThanOrEqual(nowAt.getTime());
            expect((f.getTime() - due.getTime()) % (minutes * 60_000)).toBe(0);
            if (windowSeconds !== null)
              expect(nowAt.getTime() - f.getTime()).toBeLessThanOrEqual(windowSeconds * 1000);
            if (i > 0) expect(f.getTime()).toBeGreaterThan(plan.fires[i - 1]!.getTime());
          }
          expect(plan.nextRunAt!.getTime()).toBeGreaterThan(nowAt.getTime());
          expect(plan.nextRunAt!.getTime() - nowAt.getTime()).toBeLessThanOrEqual(minutes * 60_000);
        },
      ),
    );
  });
});

describe('planTick over cron, against every fire time enumerated one by one', () => {
  it('property: each mode picks exactly the fire times its rule names', () => {
    const expressions = ['*/7 * * * *', '0 * * * *', '30 2 * * *', '15 */3 * * 1-5', '0 0 1 * *'];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago'];
    fc.assert(
      fc.property(
        fc.constantFrom(...expressions),
        fc.constantFrom(...zones),
        // A due tick somewhere in 2021 (both DST changes of each zone included) and an outage of up to 3 days.
        fc.integer({ min: 0, max: 364 * 24 * 60 }),
        fc.integer({ min: 0, max: 3 * 24 * 60 * 60 }),
        fc.constantFrom<CatchUpMode>('NONE', 'LATEST', 'ALL'),
        fc.option(fc.integer({ min: 1, max: 2 * 24 * 3600 }), { nil: null }),
        fc.integer({ min: 1, max: 20 }),
        // Every DST policy: catch-up walks the same fire-time sequence as nextRunAfter (dst.ts).
        fc.record({
          gap: fc.constantFrom('SKIP' as const, 'RUN_AFTER_GAP' as const),
          overlap: fc.constantFrom('FIRST' as const, 'BOTH' as const, null),
        }),
        (cron, timezone, startMinute, outageSeconds, mode, windowSeconds, maxRuns, dst) => {
          const schedule = {
            type: 'cron' as const,
            cron,
            timezone,
            policy: { ...DEFAULT_SCHEDULE_POLICY, dst },
          };
          const dueAt = nextRunAfter(schedule, new Date(Date.UTC(2021, 0, 1) + startMinute * 60_000))!;
          const now = new Date(dueAt.getTime() + outageSeconds * 1000);
          // The reference: walk every fire time from the due one up to now.
          const due: Date[] = [];
          for (
            let t: Date | null = dueAt;
            t !== null && t.getTime() <= now.getTime();
            t = nextRunAfter(schedule, t)
          ) {
            due.push(t);
          }
          const inWindow = due.filter(
            (d) => windowSeconds === null || now.getTime() - d.getTime() <= windowSeconds * 1000,
          );
          const expected =
            mode === 'LATEST'
              ? inWindow.slice(0, 1)
              : mode === 'NONE'
                ? inWindow.slice(-1).filter((d) => d === due.at(-1))
                : inWindow.slice(-maxRuns);
          const plan = planTick(schedule, dueAt, now, { mode, windowSeconds, maxRuns });
          expect(plan.fires.map((d) => d.toISOString())).toEqual(expected.map((d) => d.toISOString()));
          expect(plan.skipped).toBe(due.length - expected.length);
          expect(plan.nextRunAt).toEqual(nextRunAfter(schedule, now));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('tickLedger', () => {
  const interval = { type: 'interval' as const, intervalMinutes: 1 };
  const due = t('2021-01-01T00:00:00Z');
  const policy = (mode: CatchUpMode, windowSeconds: number | null = null, maxRuns = 100) => ({
    mode,
    windowSeconds,
    maxRuns,
  });
  const ledgerAt = (now: Date, catchUp: ReturnType<typeof policy>, schedule: Schedule = interval) =>
    tickLedger(schedule, due, now, catchUp, planTick(schedule, due, now, catchUp));
  const outcomes = (l: TickLedger) =>
    l.ticks.map((x) => [x.nominalAt.toISOString().slice(11, 16), x.outcome]);

  it('on time: the one fire time, nothing else', () => {
    const l = ledgerAt(t('2021-01-01T00:00:00.100Z'), policy('LATEST'));
    expect(l).toEqual({ ticks: [{ nominalAt: due, outcome: 'FIRE', reason: null }], summary: null });
  });

  it('LATEST: the first fire time runs, the later ones are caught up by it', () => {
    const l = ledgerAt(t('2021-01-01T00:03:30Z'), policy('LATEST'));
    expect(outcomes(l)).toEqual([
      ['00:00', 'FIRE'],
      ['00:01', 'CAUGHT_UP'],
      ['00:02', 'CAUGHT_UP'],
      ['00:03', 'CAUGHT_UP'],
    ]);
    expect(l.ticks[1]!.reason).toContain('2021-01-01T00:00:00.000Z');
  });

  it('LATEST with a window: older ones are skipped, the first in the window runs', () => {
    const l = ledgerAt(t('2021-01-01T00:03:30Z'), policy('LATEST', 150));
    expect(outcomes(l)).toEqual([
      ['00:00', 'SKIPPED_CATCH_UP'],
      ['00:01', 'FIRE'],
      ['00:02', 'CAUGHT_UP'],
      ['00:03', 'CAUGHT_UP'],
    ]);
    expect(l.ticks[0]!.reason).toContain('window (150 s)');
  });

  it('NONE and ALL with max_runs skip the others', () => {
    expect(outcomes(ledgerAt(t('2021-01-01T00:02:30Z'), policy('NONE', 60)))).toEqual([
      ['00:00', 'SKIPPED_CATCH_UP'],
      ['00:01', 'SKIPPED_CATCH_UP'],
      ['00:02', 'FIRE'],
    ]);
    const all = ledgerAt(t('2021-01-01T00:03:30Z'), policy('ALL', null, 2));
    expect(outcomes(all)).toEqual([
      ['00:00', 'SKIPPED_CATCH_UP'],
      ['00:01', 'SKIPPED_CATCH_UP'],
      ['00:02', 'FIRE'],
      ['00:03', 'FIRE'],
    ]);
    expect(all.ticks[0]!.reason).toContain('max_runs');
  });

  it('every due fire time exactly once, as many as planTick counts (property)', () => {
    const modes: CatchUpMode[] = ['NONE', 'LATEST', 'ALL'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 200 }),
        fc.constantFrom(...modes),
        fc.option(fc.integer({ min: 1, max: 3_600 }), { nil: null }),
        fc.integer({ min: 1, max: 50 }),
        (step, late, mode, window, maxRuns) => {
          const schedule = { type: 'interval' as const, intervalMinutes: step };
          const now = new Date(due.getTime() + late * 60_000 + 500);
          const catchUp = policy(mode, mode === 'NONE' ? (window ?? 60) : window, maxRuns);
          const plan = planTick(schedule, due, now, catchUp);
          const l = tickLedger(schedule, due, now, catchUp, plan);
          const times = l.ticks.map((x) => x.nominalAt.getTime());
          expect(new Set(times).size).toBe(times.length);
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(l.ticks.length).toBe(plan.fires.length + plan.skipped);
          expect(l.ticks.filter((x) => x.outcome === 'FIRE').map((x) => x.nominalAt)).toEqual(plan.fires);
          expect(l.summary).toBeNull();
        },
      ),
    );
  });

  it('a month of a minutely schedule: 1,000 rows and one summary for the rest', () => {
    const now = t('2021-01-31T00:00:30Z');
    const l = ledgerAt(now, policy('LATEST'));
    // The run's own fire time (the first) and the 999 most recent.
    expect(l.ticks).toHaveLength(MAX_LEDGER_TICKS);
    expect(l.ticks[0]).toMatchObject({ nominalAt: due, outcome: 'FIRE' });
    expect(l.ticks[1]!.nominalAt).toEqual(new Date(now.getTime() - 30_000 - 998 * 60_000));
    expect(l.ticks.at(-1)!.nominalAt).toEqual(t('2021-01-31T00:00:00Z'));
    const total = 30 * 24 * 60 + 1;
    expect(l.summary).toMatchObject({
      nominalAt: t('2021-01-01T00:01:00Z'),
      outcome: 'CAUGHT_UP',
      count: total - MAX_LEDGER_TICKS,
      atLeast: false,
      last: new Date(l.ticks[1]!.nominalAt.getTime() - 60_000),
    });
    expect(l.summary!.reason).toContain('42,201 fire times');
  });

  it('a cron schedule down for a month: the count is a lower bound past MAX_COUNTED_SKIPS', () => {
    const cron = { type: 'cron' as const, cron: '* * * * *', timezone: 'UTC' };
    const l = ledgerAt(t('2021-01-31T00:00:30Z'), policy('NONE', 60), cron);
    expect(l.ticks).toHaveLength(MAX_LEDGER_TICKS);
    expect(l.ticks.at(-1)).toMatchObject({ nominalAt: t('2021-01-31T00:00:00Z'), outcome: 'FIRE' });
    expect(l.summary).toMatchObject({ nominalAt: due, outcome: 'SKIPPED_CATCH_UP', atLeast: true });
    expect(l.summary!.reason).toContain('or more');
  });
});

describe('pausedLedger', () => {
  it('records every due fire time as PAUSED, with the note, and moves past now', () => {
    const l = pausedLedger(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T00:16:00Z'),
      'deploy',
    );
    expect(l.ticks.map((x) => [x.nominalAt.toISOString(), x.outcome])).toEqual([
      ['2021-01-01T00:05:00.000Z', 'PAUSED'],
      ['2021-01-01T00:10:00.000Z', 'PAUSED'],
      ['2021-01-01T00:15:00.000Z', 'PAUSED'],
    ]);
    expect(l.ticks[0]!.reason).toBe('the workflow was paused: deploy');
    expect(l.nextRunAt).toEqual(t('2021-01-01T00:20:00Z'));
  });

  it('nothing before the first fire time', () => {
    const l = pausedLedger(
      { type: 'interval', intervalMinutes: 5 },
      t('2021-01-01T00:05:00Z'),
      t('2021-01-01T00:04:00Z'),
      null,
    );
    expect(l).toEqual({ ticks: [], summary: null, nextRunAt: t('2021-01-01T00:05:00Z') });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { upcomingRuns, type Schedule } from './schedule.ts';
import {
  dstDoubledReason,
  dstSkippedTicks,
  previewFireTimes,
  validatePreviewInput,
} from './schedule-preview.ts';
import { DEFAULT_SCHEDULE_POLICY } from './schedule-policy.ts';

const t = (iso: string) => new Date(iso);
const cron = (expression: string, timezone: string): Schedule => ({
  type: 'cron',
  cron: expression,
  timezone,
});

/** The preview as plain ISO strings, for exact comparisons. */
function preview(schedule: Schedule, from: string, count: number) {
  return previewFireTimes(schedule, t(from), count).map((f) => ({
    at: f.at.toISOString(),
    nominal_at: f.nominalAt.toISOString(),
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
  }));
}

describe('previewFireTimes: spring-forward gap', () => {
  it('Europe/Berlin 02:30 on 2027-03-28 runs at 03:00 CEST (01:00Z); nominal 02:30 read before the change (01:30Z)', () => {
    expect(preview(cron('30 2 * * *', 'Europe/Berlin'), '2027-03-27T00:00:00Z', 3)).toEqual([
      { at: '2027-03-27T01:30:00.000Z', nominal_at: '2027-03-27T01:30:00.000Z' },
      {
        at: '2027-03-28T01:00:00.000Z',
        nominal_at: '2027-03-28T01:30:00.000Z',
        reason:
          '02:30 does not exist on 2027-03-28 in Europe/Berlin: runs at 03:00 (first instant after the gap) by policy RUN_AFTER_GAP',
      },
      { at: '2027-03-29T00:30:00.000Z', nominal_at: '2027-03-29T00:30:00.000Z' },
    ]);
  });

  it('America/New_York 02:30 on 2027-03-14 runs at 03:00 EDT (07:00Z)', () => {
    expect(preview(cron('30 2 * * *', 'America/New_York'), '2027-03-13T12:00:00Z', 2)).toEqual([
      {
        at: '2027-03-14T07:00:00.000Z',
        nominal_at: '2027-03-14T07:30:00.000Z',
        reason:
          '02:30 does not exist on 2027-03-14 in America/New_York: runs at 03:00 (first instant after the gap) by policy RUN_AFTER_GAP',
      },
      { at: '2027-03-15T06:30:00.000Z', nominal_at: '2027-03-15T06:30:00.000Z' },
    ]);
  });

  it('Australia/Lord_Howe (30-minute shift) 02:15 on 2027-10-03 runs at 02:30 (+11:00, 15:30Z)', () => {
    expect(preview(cron('15 2 * * *', 'Australia/Lord_Howe'), '2027-10-01T16:00:00Z', 2)).toEqual([
      {
        at: '2027-10-02T15:30:00.000Z',
        nominal_at: '2027-10-02T15:45:00.000Z',
        reason:
          '02:15 does not exist on 2027-10-03 in Australia/Lord_Howe: runs at 02:30 (first instant after the gap) by policy RUN_AFTER_GAP',
      },
      { at: '2027-10-03T15:15:00.000Z', nominal_at: '2027-10-03T15:15:00.000Z' },
    ]);
  });

  it('several times in the gap run once, with the first after the gap when it is a time of its own', () => {
    const fires = preview(cron('*/15 * * * *', 'Europe/Berlin'), '2027-03-28T00:40:00Z', 3);
    expect(fires).toEqual([
      { at: '2027-03-28T00:45:00.000Z', nominal_at: '2027-03-28T00:45:00.000Z' },
      {
        at: '2027-03-28T01:00:00.000Z',
        nominal_at: '2027-03-28T01:00:00.000Z',
        reason:
          '02:00, 02:15, 02:30 and 02:45 do not exist on 2027-03-28 in Europe/Berlin: run once at 03:00 (first instant after the gap) by policy RUN_AFTER_GAP, with its own 03:00 run',
      },
      { at: '2027-03-28T01:15:00.000Z', nominal_at: '2027-03-28T01:15:00.000Z' },
    ]);
  });
});

describe('previewFireTimes: autumn overlap', () => {
  it('Europe/Berlin daily 02:30 on 2027-10-31 runs once, at the first occurrence (CEST, 00:30Z)', () => {
    expect(preview(cron('30 2 * * *', 'Europe/Berlin'), '2027-10-30T12:00:00Z', 2)).toEqual([
      {
        at: '2027-10-31T00:30:00.000Z',
        nominal_at: '2027-10-31T00:30:00.000Z',
        reason:
          '02:30 occurs twice on 2027-10-31 in Europe/Berlin: runs once, at the first occurrence, by policy FIRST (the default for this expression) (UTC+02:00)',
      },
      { at: '2027-11-01T01:30:00.000Z', nominal_at: '2027-11-01T01:30:00.000Z' },
    ]);
  });

  it('Europe/Berlin hourly fires 02:00 at both occurrences, and says which is which', () => {
    expect(preview(cron('0 * * * *', 'Europe/Berlin'), '2027-10-30T23:30:00Z', 3)).toEqual([
      {
        at: '2027-10-31T00:00:00.000Z',
        nominal_at: '2027-10-31T00:00:00.000Z',
        reason:
          '02:00 occurs twice on 2027-10-31 in Europe/Berlin: runs at both by policy BOTH (the default for this expression); this is the first (UTC+02:00)',
      },
      {
        at: '2027-10-31T01:00:00.000Z',
        nominal_at: '2027-10-31T01:00:00.000Z',
        reason:
          '02:00 occurs twice on 2027-10-31 in Europe/Berlin: runs at both by policy BOTH (the default for this expression); this is the second (UTC+01:00)',
      },
      { at: '2027-10-31T02:00:00.000Z', nominal_at: '2027-10-31T02:00:00.000Z' },
    ]);
  });

  it('America/New_York daily 01:30 on 2027-11-07 runs once, at 01:30 EDT (05:30Z)', () => {
    expect(preview(cron('30 1 * * *', 'America/New_York'), '2027-11-06T12:00:00Z', 2)).toEqual([
      {
        at: '2027-11-07T05:30:00.000Z',
        nominal_at: '2027-11-07T05:30:00.000Z',
        reason:
          '01:30 occurs twice on 2027-11-07 in America/New_York: runs once, at the first occurrence, by policy FIRST (the default for this expression) (UTC-04:00)',
      },
      { at: '2027-11-08T06:30:00.000Z', nominal_at: '2027-11-08T06:30:00.000Z' },
    ]);
  });

  it('Australia/Lord_Howe (30-minute shift) daily 01:45 on 2027-04-04 runs once, at +11:00 (14:45Z)', () => {
    expect(preview(cron('45 1 * * *', 'Australia/Lord_Howe'), '2027-04-03T12:00:00Z', 2)).toEqual([
      {
        at: '2027-04-03T14:45:00.000Z',
        nominal_at: '2027-04-03T14:45:00.000Z',
        reason:
          '01:45 occurs twice on 2027-04-04 in Australia/Lord_Howe: runs once, at the first occurrence, by policy FIRST (the default for this expression) (UTC+11:00)',
      },
      { at: '2027-04-04T15:15:00.000Z', nominal_at: '2027-04-04T15:15:00.000Z' },
    ]);
  });
});

describe('previewFireTimes: regular schedules', () => {
  it('a cron away from any change, in UTC and in a zone without DST, has no reasons', () => {
    for (const zone of ['UTC', 'Asia/Tokyo', 'Europe/Berlin']) {
      const fires = previewFireTimes(cron('0 9 * * 1-5', zone), t('2027-06-01T00:00:00Z'), 10);
      expect(fires).toHaveLength(10);
      for (const f of fires) {
        expect(f.reason).toBeUndefined();
        expect(f.nominalAt).toEqual(f.at);
      }
    }
  });

  it('interval: on the grid of its anchor; once: its instant if ahead, else nothing', () => {
    expect(
      previewFireTimes(
        { type: 'interval', intervalMinutes: 30 },
        t('2027-01-01T10:05:00Z'),
        3,
        t('2027-01-01T09:00:00Z'),
      ).map((f) => [f.at.toISOString(), f.nominalAt.toISOString(), f.reason]),
    ).toEqual([
      ['2027-01-01T10:30:00.000Z', '2027-01-01T10:30:00.000Z', undefined],
      ['2027-01-01T11:00:00.000Z', '2027-01-01T11:00:00.000Z', undefined],
      ['2027-01-01T11:30:00.000Z', '2027-01-01T11:30:00.000Z', undefined],
    ]);
    const once: Schedule = { type: 'once', runAt: t('2027-05-01T00:00:00Z') };
    expect(previewFireTimes(once, t('2027-01-01T00:00:00Z'), 20)).toEqual([
      { at: once.runAt, nominalAt: once.runAt },
    ]);
    expect(previewFireTimes(once, t('2027-06-01T00:00:00Z'), 20)).toEqual([]);
  });
});

describe('previewFireTimes: properties', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Tehran',
    'UTC',
  ];
  const expressions = [
    '30 2 * * *',
    '0 * * * *',
    '*/20 1-3 * * *',
    '45 1 * * 0',
    '0 0 * * *',
    '15,45 2 * * *',
  ];

  it('fires exactly what the scheduler fires (nextRunAfter chained), strictly increasing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom(...expressions),
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2029-01-01T00:00:00Z') }),
        fc.record({
          gap: fc.constantFrom('SKIP' as const, 'RUN_AFTER_GAP' as const),
          overlap: fc.constantFrom('FIRST' as const, 'BOTH' as const, null),
        }),
        (zone, expression, fromMs, dst) => {
          const schedule: Schedule = {
            ...(cron(expression, zone) as Extract<Schedule, { type: 'cron' }>),
            policy: { ...DEFAULT_SCHEDULE_POLICY, dst },
          };
          const from = new Date(fromMs);
          const fires = previewFireTimes(schedule, from, 30);
          expect(fires.map((f) => f.at)).toEqual(upcomingRuns(schedule, from, 30));
          for (let i = 1; i < fires.length; i++) {
            expect(fires[i]!.at.getTime()).toBeGreaterThan(fires[i - 1]!.at.getTime());
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a fire time differs from its nominal time only in a spring gap, and then it is earlier by less than the shift', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom(...expressions),
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2029-01-01T00:00:00Z') }),
        (zone, expression, fromMs) => {
          for (const f of previewFireTimes(cron(expression, zone), new Date(fromMs), 30)) {
            if (f.at.getTime() === f.nominalAt.getTime()) continue;
            expect(f.reason).toMatch(/ not exist on /);
            const lead = f.nominalAt.getTime() - f.at.getTime();
            expect(lead).toBeGreaterThan(0);
            expect(lead).toBeLessThanOrEqual(3_600_000);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('validatePreviewInput', () => {
  const NOW = t('2027-01-01T00:00:00Z');
  const CRON = { type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' };

  it('defaults from to now and count to 20; canonicalises the zone as create does', () => {
    expect(validatePreviewInput({ schedule: { ...CRON, timezone: 'europe/berlin' } }, NOW)).toEqual({
      ok: true,
      value: {
        schedule: { type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' },
        from: NOW,
        count: 20,
      },
    });
    expect(
      validatePreviewInput({ schedule: CRON, from: '2027-03-27T00:00:00+01:00', count: 100 }, NOW),
    ).toMatchObject({ ok: true, value: { from: t('2027-03-26T23:00:00Z'), count: 100 } });
  });

  it('names schedule.cron, schedule.timezone, schedule.run_at, count, from and unknown fields', () => {
    const paths = (body: unknown) => {
      const result = validatePreviewInput(body, NOW);
      return result.ok ? [] : result.issues.map((i) => i.path);
    };
    expect(paths({ schedule: { ...CRON, cron: '61 * * * *' } })).toEqual(['schedule.cron']);
    expect(paths({ schedule: { ...CRON, timezone: 'Mars/Olympus' } })).toEqual(['schedule.timezone']);
    expect(paths({ schedule: { type: 'once', run_at: '2026-01-01T00:00:00Z' } })).toEqual([
      'schedule.run_at',
    ]);
    expect(paths({})).toEqual(['schedule']);
    for (const count of [0, 101, 2.5, '5']) expect(paths({ schedule: CRON, count })).toEqual(['count']);
    for (const from of ['yesterday', '2027-01-01', '2027-01-01T00:00:00', 5]) {
      expect(paths({ schedule: CRON, from })).toEqual(['from']);
    }
    expect(paths({ schedule: CRON, jitter: 5 })).toEqual(['jitter']);
    expect(paths([])).toEqual(['']);
  });
});

describe("the ledger's daylight-saving entries", () => {
  const withDst = (
    expression: string,
    timezone: string,
    dst: { gap: 'SKIP' | 'RUN_AFTER_GAP'; overlap: 'FIRST' | 'BOTH' | null },
  ): Schedule => ({
    ...(cron(expression, timezone) as Extract<Schedule, { type: 'cron' }>),
    policy: { ...DEFAULT_SCHEDULE_POLICY, dst },
  });
  const skipped = (s: Schedule, from: string, to: string) =>
    dstSkippedTicks(s, Date.parse(from), Date.parse(to)).map((x) => [x.nominalAt.toISOString(), x.reason]);

  it('one DST_SKIPPED entry per gap under SKIP, at the nominal_at the preview gives it, when due', () => {
    const s = withDst('15,45 2 * * *', 'Europe/Berlin', { gap: 'SKIP', overlap: null });
    expect(skipped(s, '2027-03-27T00:00:00Z', '2027-03-29T00:00:00Z')).toEqual([
      [
        '2027-03-28T01:15:00.000Z',
        '02:15 and 02:45 do not exist on 2027-03-28 in Europe/Berlin: skipped by policy SKIP',
      ],
    ]);
    // Not due yet, or already behind the range: nothing.
    expect(skipped(s, '2027-03-27T00:00:00Z', '2027-03-28T01:14:00Z')).toEqual([]);
    expect(skipped(s, '2027-03-28T01:15:00Z', '2027-03-29T00:00:00Z')).toEqual([]);
    // Lord Howe's 30-minute gap.
    expect(
      skipped(
        withDst('15 2 * * *', 'Australia/Lord_Howe', { gap: 'SKIP', overlap: null }),
        '2027-10-01T00:00:00Z',
        '2027-10-05T00:00:00Z',
      ),
    ).toHaveLength(1);
  });

  it('none under RUN_AFTER_GAP, for a schedule that fires at that instant anyway, or without a gap time', () => {
    expect(
      skipped(
        withDst('30 2 * * *', 'Europe/Berlin', { gap: 'RUN_AFTER_GAP', overlap: null }),
        '2027-03-27T00:00:00Z',
        '2027-03-29T00:00:00Z',
      ),
    ).toEqual([]);
    expect(
      skipped(
        withDst('*/30 * * * *', 'Europe/Berlin', { gap: 'SKIP', overlap: null }),
        '2027-03-27T00:00:00Z',
        '2027-03-29T00:00:00Z',
      ),
    ).toEqual([]);
    expect(
      skipped(
        withDst('0 12 * * *', 'Europe/Berlin', { gap: 'SKIP', overlap: null }),
        '2027-03-27T00:00:00Z',
        '2027-03-29T00:00:00Z',
      ),
    ).toEqual([]);
  });

  it('DST_DOUBLED only for the second occurrence of a time that runs at both', () => {
    const hourly = cron('0 * * * *', 'Europe/Berlin');
    expect(dstDoubledReason(hourly, t('2027-10-31T00:00:00Z'))).toBeNull();
    expect(dstDoubledReason(hourly, t('2027-10-31T01:00:00Z'))).toContain('this is the second (UTC+01:00)');
    expect(dstDoubledReason(hourly, t('2027-10-31T02:00:00Z'))).toBeNull();
    const firstOnly = withDst('0 * * * *', 'Europe/Berlin', { gap: 'RUN_AFTER_GAP', overlap: 'FIRST' });
    expect(dstDoubledReason(firstOnly, t('2027-10-31T01:00:00Z'))).toBeNull();
    expect(dstDoubledReason(cron('0 * * * *', 'Asia/Tehran'), t('2027-09-21T20:00:00Z'))).toBeNull();
    expect(dstDoubledReason({ type: 'interval', intervalMinutes: 60 }, t('2027-10-31T01:00:00Z'))).toBeNull();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CronFireTimes, overlapFor, zoneRules, type DstPolicy } from './dst.ts';

describe('overlapFor: the default by the expression (Vixie cron)', () => {
  it.each([
    ['0 * * * *', 'BOTH'],
    ['*/15 * * * *', 'BOTH'],
    ['* 2 * * *', 'BOTH'],
    ['0 0 * * * *', 'BOTH'],
    ['@hourly', 'BOTH'],
    ['30 2 * * *', 'FIRST'],
    ['15,45 2 * * *', 'FIRST'],
    ['0 30 2 * * *', 'FIRST'],
    ['0 9-17 * * 1-5', 'FIRST'],
    ['@daily', 'FIRST'],
  ] as const)('%s → %s', (expression, expected) => {
    expect(overlapFor(expression, null)).toBe(expected);
  });

  it('a given policy wins', () => {
    expect(overlapFor('0 * * * *', 'FIRST')).toBe('FIRST');
    expect(overlapFor('30 2 * * *', 'BOTH')).toBe('BOTH');
  });
});

describe('ZoneRules', () => {
  it('finds Europe/Berlin’s 2027 changes to the millisecond, with their offsets', () => {
    const rules = zoneRules('Europe/Berlin');
    const year = [Date.UTC(2027, 0, 1), Date.UTC(2028, 0, 1)] as const;
    expect(rules.firstIn(...year)).toEqual({
      at: Date.parse('2027-03-28T01:00:00Z'),
      before: 3_600_000,
      after: 7_200_000,
    });
    expect(rules.lastIn(...year)).toEqual({
      at: Date.parse('2027-10-31T01:00:00Z'),
      before: 7_200_000,
      after: 3_600_000,
    });
    expect(rules.offsetAt(Date.parse('2027-03-28T00:59:59.999Z'))).toBe(3_600_000);
    expect(rules.offsetAt(Date.parse('2027-03-28T01:00:00Z'))).toBe(7_200_000);
  });

  it('knows the second occurrence of an overlap time, not the first', () => {
    const rules = zoneRules('Europe/Berlin');
    expect(rules.isRepeat(Date.parse('2027-10-31T00:30:00Z'))).toBe(false); // 02:30 CEST
    expect(rules.isRepeat(Date.parse('2027-10-31T01:30:00Z'))).toBe(true); // 02:30 CET
    expect(rules.isRepeat(Date.parse('2027-10-31T02:00:00Z'))).toBe(false); // 03:00 CET
  });

  it('has no changes where there is no daylight saving', () => {
    expect(zoneRules('Asia/Tehran').firstIn(Date.UTC(2023, 0, 1), Date.UTC(2030, 0, 1))).toBeNull();
    expect(zoneRules('UTC').firstIn(Date.UTC(2020, 0, 1), Date.UTC(2030, 0, 1))).toBeNull();
  });
});

// ─── properties, against a brute-force reading of every minute ──────────────────────────────

/** Local wall clock of an instant, read with Intl directly (not through the module under test). */
function wallOf(zone: string): (ms: number) => { h: number; m: number; key: string } {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  return (ms) => {
    const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return {
      h: Number(p.hour),
      m: Number(p.minute),
      key: `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`,
    };
  };
}

/** A `minutes hours * * *` expression and its own matcher. */
const expressionArb = fc
  .record({
    minutes: fc.uniqueArray(fc.constantFrom<number>(0, 10, 15, 30, 45, 59), { minLength: 1, maxLength: 3 }),
    hours: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 3 }), {
      nil: null,
    }),
  })
  .map(({ minutes, hours }) => ({
    cron: `${[...minutes].sort((a, b) => a - b).join(',')} ${hours === null ? '*' : [...hours].sort((a, b) => a - b).join(',')} * * *`,
    matches: (h: number, m: number) => minutes.includes(m) && (hours === null || hours.includes(h)),
  }));

/** Two days around each 2027 change of four zones (30-minute and midnight changes included) and Apia's. */
const WINDOWS = [
  ['Europe/Berlin', '2027-03-27T12:00:00Z'],
  ['Europe/Berlin', '2027-10-30T12:00:00Z'],
  ['America/New_York', '2027-03-13T12:00:00Z'],
  ['America/New_York', '2027-11-06T12:00:00Z'],
  ['Australia/Lord_Howe', '2027-04-03T00:00:00Z'],
  ['Australia/Lord_Howe', '2027-10-02T00:00:00Z'],
  ['America/Santiago', '2027-04-03T00:00:00Z'],
  ['America/Santiago', '2027-09-04T12:00:00Z'],
  ['Pacific/Apia', '2011-12-29T00:00:00Z'],
  ['Pacific/Apia', '2012-03-31T00:00:00Z'],
] as const;
const windowArb = fc.constantFrom(...WINDOWS);
const policyArb: fc.Arbitrary<DstPolicy> = fc.record({
  gap: fc.constantFrom('SKIP' as const, 'RUN_AFTER_GAP' as const),
  overlap: fc.constantFrom('FIRST' as const, 'BOTH' as const, null),
});

function fires(expression: string, zone: string, dst: DstPolicy, fromMs: number, toMs: number): number[] {
  const seq = new CronFireTimes(expression, zone, dst);
  const out: number[] = [];
  for (let at = seq.next(new Date(fromMs - 1)); at !== null && at.getTime() < toMs; at = seq.next(at)) {
    out.push(at.getTime());
  }
  return out;
}

const DAY = 86_400_000;

describe('fire times: properties over every minute around a change', () => {
  it('BOTH + SKIP fires exactly the real instants whose wall clock matches, each once', () => {
    fc.assert(
      fc.property(expressionArb, windowArb, ({ cron, matches }, [zone, start]) => {
        const from = Date.parse(start);
        const wall = wallOf(zone);
        const expected: number[] = [];
        for (let ms = from; ms < from + 2 * DAY; ms += 60_000) {
          const w = wall(ms);
          if (matches(w.h, w.m)) expected.push(ms);
        }
        expect(fires(cron, zone, { gap: 'SKIP', overlap: 'BOTH' }, from, from + 2 * DAY)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('FIRST never fires one wall-clock time twice, and fires a subset of BOTH', () => {
    fc.assert(
      fc.property(
        expressionArb,
        windowArb,
        fc.constantFrom('SKIP' as const, 'RUN_AFTER_GAP' as const),
        ({ cron }, [zone, start], gap) => {
          const from = Date.parse(start);
          const first = fires(cron, zone, { gap, overlap: 'FIRST' }, from, from + 2 * DAY);
          const both = new Set(fires(cron, zone, { gap, overlap: 'BOTH' }, from, from + 2 * DAY));
          const wall = wallOf(zone);
          const keys = first.map((ms) => wall(ms).key);
          expect(new Set(keys).size).toBe(keys.length);
          for (const ms of first) expect(both.has(ms)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('SKIP fires no instant whose wall clock does not match; RUN_AFTER_GAP adds only the first instants after gaps', () => {
    fc.assert(
      fc.property(expressionArb, windowArb, policyArb, ({ cron, matches }, [zone, start], dst) => {
        const from = Date.parse(start);
        const wall = wallOf(zone);
        const skip = fires(cron, zone, { ...dst, gap: 'SKIP' }, from, from + 2 * DAY);
        for (const ms of skip) expect(matches(wall(ms).h, wall(ms).m)).toBe(true);
        const after = fires(cron, zone, { ...dst, gap: 'RUN_AFTER_GAP' }, from, from + 2 * DAY);
        const extra = after.filter((ms) => !skip.includes(ms));
        const rules = zoneRules(zone);
        for (const ms of extra) {
          // The instant a clock went forward, at which the wall clock jumps.
          expect(rules.offsetAt(ms - 1)).toBeLessThan(rules.offsetAt(ms));
        }
        expect(skip.every((ms) => after.includes(ms))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('walking back gives the same fire times as walking forward', () => {
    fc.assert(
      fc.property(expressionArb, windowArb, policyArb, ({ cron }, [zone, start], dst) => {
        const from = Date.parse(start);
        const to = from + 2 * DAY;
        const forward = fires(cron, zone, dst, from, to);
        const seq = new CronFireTimes(cron, zone, dst);
        const backward: number[] = [];
        for (
          let at = seq.previous(new Date(to));
          at !== null && at.getTime() >= from;
          at = seq.previous(at)
        ) {
          backward.unshift(at.getTime());
        }
        expect(backward).toEqual(forward);
      }),
      { numRuns: 200 },
    );
  });
});

describe('walking back over a repeated time that starts exactly at the change', () => {
  it('America/New_York 01:00 on 2027-11-07 (FIRST): the repeat at 01:00 EST is skipped, 01:00 EDT found', () => {
    // 01:00 EST is the instant of the change itself (06:00Z); found once by a random property run.
    const seq = new CronFireTimes('0 1 * * *', 'America/New_York', { gap: 'SKIP', overlap: 'FIRST' });
    expect(seq.previous(new Date('2027-11-08T06:00:00Z'))?.toISOString()).toBe('2027-11-07T05:00:00.000Z');
    expect(seq.next(new Date('2027-11-07T05:00:00Z'))?.toISOString()).toBe('2027-11-08T06:00:00.000Z');
  });
});

describe('Pacific/Apia skipped 2011-12-30', () => {
  const noon = (dst: DstPolicy) =>
    fires(
      '0 12 * * *',
      'Pacific/Apia',
      dst,
      Date.parse('2011-12-29T00:00:00Z'),
      Date.parse('2011-12-31T12:00:00Z'),
    ).map((ms) => new Date(ms).toISOString());
  it('RUN_AFTER_GAP runs the lost noon at 2011-12-31 00:00 (+14), then noon as usual', () => {
    expect(noon({ gap: 'RUN_AFTER_GAP', overlap: null })).toEqual([
      '2011-12-29T22:00:00.000Z',
      '2011-12-30T10:00:00.000Z',
      '2011-12-30T22:00:00.000Z',
    ]);
  });
  it('SKIP does not run it', () => {
    expect(noon({ gap: 'SKIP', overlap: null })).toEqual([
      '2011-12-29T22:00:00.000Z',
      '2011-12-30T22:00:00.000Z',
    ]);
  });
});

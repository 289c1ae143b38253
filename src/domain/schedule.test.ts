import { describe, expect, it } from 'vitest';
import { checkCron, checkTimezone, nextRunAfter, upcomingRuns } from './schedule.ts';

const REFERENCE_TIME = new Date('2021-01-01T00:00:00Z');

describe('checkTimezone', () => {
  it.each(['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'US/Eastern'])('accepts %s', (tz) => {
    expect(checkTimezone(tz)).toBeNull();
  });
  it.each(['', 'Mars/Olympus', 'Europe/Pariss', 'x'.repeat(65)])('rejects %j', (tz) => {
    expect(checkTimezone(tz)).toMatch(/time zone/);
  });
});

describe('checkCron', () => {
  it.each(['* * * * *', '0 9 * * 1-5', '*/15 * * * *', '30 0 9 * * *', '@daily', '@hourly', '0 0 L * *'])(
    'accepts %j',
    (expr) => {
      expect(checkCron(expr)).toBeNull();
    },
  );
  it('rejects 4 and 7 fields with the count', () => {
    expect(checkCron('* * * *')).toBe(
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 4',
    );
    expect(checkCron('* * * * * * *')).toMatch(/got 7$/);
  });
  it('rejects garbage and out-of-range fields in plain words, naming the cron field', () => {
    expect(checkCron('every day')).toMatch(/^expected 5 fields .* got 2$/);
    expect(checkCron('61 * * * *')).toBe("minute field '61' is out of range 0–59");
    expect(checkCron('* 5-25 * * *')).toBe("hour field '5-25': 25 is out of range 0–23");
    expect(checkCron('')).toBe('must not be empty');
    expect(checkCron(`0 0 ${'1,'.repeat(100)}1 * *`)).toBe('must be at most 200 characters');
  });
  it("never passes croner's own text on (the reported case)", () => {
    // croner: "CronPattern: Syntax error, illegal upper range (NaN)".
    const message = checkCron('0 9-x * * *');
    expect(message).toBe("hour field '9-x' has 'x', which is not a number; use 0–23");
    expect(checkCron('0 9- * * *')).toBe("hour field '9-' is not a valid range; write low-high, as in 9-17");
  });
  it('rejects an expression that can never fire', () => {
    expect(checkCron('0 0 30 2 *')).toBe(
      'never fires: no date matches its day-of-month, month and day-of-week (such as 30 February)',
    );
  });
});

describe('nextRunAfter', () => {
  it('interval: first run one interval after the anchor', () => {
    const next = nextRunAfter({ type: 'interval', intervalMinutes: 5 }, REFERENCE_TIME);
    expect(next?.toISOString()).toBe('2021-01-01T00:05:00.000Z');
  });

  it('interval: stays on the anchored grid (fixed rate, not fixed delay)', () => {
    const after = new Date('2021-01-01T00:12:34Z');
    const next = nextRunAfter({ type: 'interval', intervalMinutes: 5 }, after, REFERENCE_TIME);
    expect(next?.toISOString()).toBe('2021-01-01T00:15:00.000Z');
  });

  it('interval: a time exactly on the grid moves to the next slot', () => {
    const after = new Date('2021-01-01T00:10:00Z');
    expect(nextRunAfter({ type: 'interval', intervalMinutes: 5 }, after, REFERENCE_TIME)?.toISOString()).toBe(
      '2021-01-01T00:15:00.000Z',
    );
  });

  it('cron: evaluates wall-clock time in the schedule zone (winter and summer offsets)', () => {
    const schedule = { type: 'cron' as const, cron: '0 9 * * *', timezone: 'Europe/Paris' };
    expect(nextRunAfter(schedule, REFERENCE_TIME)?.toISOString()).toBe('2021-01-01T08:00:00.000Z');
    expect(nextRunAfter(schedule, new Date('2021-07-01T00:00:00Z'))?.toISOString()).toBe(
      '2021-07-01T07:00:00.000Z',
    );
  });

  it('cron: a wall-clock time inside the spring-forward gap fires once, right after the gap', () => {
    // Europe/Paris skips 02:00–03:00 on 2021-03-28: 02:30 does not exist, the run happens at 03:00 CEST.
    const schedule = { type: 'cron' as const, cron: '30 2 * * *', timezone: 'Europe/Paris' };
    const runs = upcomingRuns(schedule, new Date('2021-03-27T00:00:00Z'), 3).map((d) => d.toISOString());
    expect(runs).toEqual([
      '2021-03-27T01:30:00.000Z',
      '2021-03-28T01:00:00.000Z',
      '2021-03-29T00:30:00.000Z',
    ]);
  });

  it('cron: a wall-clock time in the autumn overlap fires once', () => {
    // Europe/Paris repeats 02:00–03:00 on 2021-10-31.
    const schedule = { type: 'cron' as const, cron: '30 2 * * *', timezone: 'Europe/Paris' };
    const runs = upcomingRuns(schedule, new Date('2021-10-30T12:00:00Z'), 3).map((d) => d.toISOString());
    // Once, at the first 02:30 (CEST, 00:30Z), not again at 02:30 CET.
    expect(runs).toEqual([
      '2021-10-31T00:30:00.000Z',
      '2021-11-01T01:30:00.000Z',
      '2021-11-02T01:30:00.000Z',
    ]);
  });

  it('once: the run time while it is ahead, then nothing', () => {
    const runAt = new Date('2021-01-02T00:00:00Z');
    expect(nextRunAfter({ type: 'once', runAt }, REFERENCE_TIME)).toEqual(runAt);
    expect(nextRunAfter({ type: 'once', runAt }, runAt)).toBeNull();
    expect(upcomingRuns({ type: 'once', runAt }, REFERENCE_TIME, 5)).toEqual([runAt]);
  });

  it('previews five increasing run times', () => {
    const runs = upcomingRuns({ type: 'cron', cron: '*/10 * * * *', timezone: 'UTC' }, REFERENCE_TIME, 5);
    expect(runs.map((d) => d.toISOString().slice(11, 16))).toEqual([
      '00:10',
      '00:20',
      '00:30',
      '00:40',
      '00:50',
    ]);
  });
});

describe('canonicalTimezone', () => {
  it('canonicalises IANA names and refuses offsets', async () => {
    const { canonicalTimezone } = await import('./schedule.ts');
    expect(canonicalTimezone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimezone('UTC')).toBe('UTC');
    expect(canonicalTimezone('+05:00')).toBeNull();
    expect(canonicalTimezone('-0300')).toBeNull();
  });
});

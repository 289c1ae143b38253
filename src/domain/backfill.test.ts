import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKFILL_MAX_FIRE_TIMES, backfillFireTimes, validateBackfillInput } from './backfill.ts';
import type { Schedule } from './schedule.ts';
import { previewFireTimes, withJitter } from './schedule-preview.ts';
import { validateScheduleInput } from './workflow-input.ts';

const NOW = new Date('2027-04-01T00:00:00Z');
const MINUTE = 60_000;
const WF = '01900000-0000-7000-8000-000000000001';

function parseScheduleForTest(raw: unknown, now = new Date('2020-01-01T00:00:00Z')): Schedule {
  const result = validateScheduleInput(raw, now);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('validateBackfillInput', () => {
  it('fills the defaults', () => {
    expect(
      validateBackfillInput({ from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00+01:00' }, NOW),
    ).toEqual({
      ok: true,
      value: {
        from: new Date('2027-03-01T00:00:00Z'),
        to: new Date('2027-03-01T23:00:00Z'),
        overlap: 'ALLOW_ALL',
        maxParallel: 1,
        dryRun: false,
      },
    });
  });

  it.each([
    [null, ''],
    [[], ''],
    [{ from: '2027-03-01', to: '2027-03-02T00:00:00Z' }, 'from'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-01T00:00:00Z' }, 'to'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-04-01T00:00:00.001Z' }, 'to'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00Z', overlap: 'BUFFER_ONE' }, 'overlap'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00Z', max_parallel: '2' }, 'max_parallel'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00Z', dry_run: 1 }, 'dry_run'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00Z', note: 'x' }, 'note'],
  ])('%j: an issue on %s', (body, path) => {
    const result = validateBackfillInput(body, NOW);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(path);
  });

  it('takes `to` equal to now', () => {
    expect(validateBackfillInput({ from: '2027-03-01T00:00:00Z', to: NOW.toISOString() }, NOW).ok).toBe(true);
  });
});

describe('backfillFireTimes', () => {
  it('an interval: the grid of its phase, extended back before the range, [from, to)', () => {
    const schedule = parseScheduleForTest({ type: 'interval', interval_minutes: 15 });
    // Phase 00:05 of a later day: the grid is …:05, :20, :35, :50.
    const result = backfillFireTimes(
      schedule,
      { from: new Date('2027-03-01T10:05:00Z'), to: new Date('2027-03-01T11:05:00Z') },
      new Date('2027-03-20T00:05:00Z'),
      WF,
      0,
    );
    expect(result.ok && result.fireTimes.map((f) => f.at.toISOString())).toEqual([
      '2027-03-01T10:05:00.000Z',
      '2027-03-01T10:20:00.000Z',
      '2027-03-01T10:35:00.000Z',
      '2027-03-01T10:50:00.000Z',
    ]);
  });

  it('a cron: what the preview lists from `from`, with the jitter, up to `to`', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('*/7 * * * *', '30 2 * * *', '0 * * * *', '15,45 2 * * *'),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'),
        fc.integer({ min: 0, max: 400 * 24 * 60 }),
        fc.integer({ min: 1, max: 3 * 24 * 60 }),
        fc.integer({ min: 0, max: 60 }),
        (cron, timezone, startMinute, lengthMinutes, jitter) => {
          const schedule = parseScheduleForTest({ type: 'cron', cron, timezone });
          const from = new Date(Date.parse('2026-01-01T00:00:00Z') + startMinute * MINUTE);
          const to = new Date(from.getTime() + lengthMinutes * MINUTE);
          const result = backfillFireTimes(schedule, { from, to }, from, WF, jitter);
          if (!result.ok) return false;
          const n = result.fireTimes.length;
          const preview = previewFireTimes(schedule, new Date(from.getTime() - 1), n + 1);
          // The preview's first n, jittered as the preview jitters them, all before `to`; the next at or after it.
          expect(result.fireTimes).toEqual(withJitter(preview.slice(0, n), WF, jitter));
          expect(preview.slice(0, n).every((f) => f.at.getTime() < to.getTime())).toBe(true);
          if (preview[n]) expect(preview[n].at.getTime()).toBeGreaterThanOrEqual(to.getTime());
          return true;
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses more than 10,000 fire times, on `to`', () => {
    const schedule = parseScheduleForTest({ type: 'interval', interval_minutes: 1 });
    const from = new Date('2027-03-01T00:00:00Z');
    const exactly = backfillFireTimes(
      schedule,
      { from, to: new Date(from.getTime() + BACKFILL_MAX_FIRE_TIMES * MINUTE) },
      from,
      WF,
      0,
    );
    expect(exactly.ok && exactly.fireTimes.length).toBe(BACKFILL_MAX_FIRE_TIMES);
    const over = backfillFireTimes(
      schedule,
      { from, to: new Date(from.getTime() + (BACKFILL_MAX_FIRE_TIMES + 1) * MINUTE) },
      from,
      WF,
      0,
    );
    expect(over).toMatchObject({ ok: false, issue: { path: 'to' } });
  });

  it('a once schedule: its instant when in the range, else nothing', () => {
    const schedule = parseScheduleForTest(
      { type: 'once', run_at: '2027-03-10T12:00:00Z' },
      new Date('2027-03-01T00:00:00Z'),
    );
    const range = (from: string, to: string) =>
      backfillFireTimes(schedule, { from: new Date(from), to: new Date(to) }, new Date(from), WF, 0);
    expect(range('2027-03-10T12:00:00Z', '2027-03-10T12:00:01Z')).toMatchObject({
      ok: true,
      fireTimes: [{ at: new Date('2027-03-10T12:00:00Z') }],
    });
    expect(range('2027-03-10T11:00:00Z', '2027-03-10T12:00:00Z')).toEqual({ ok: true, fireTimes: [] });
  });
});

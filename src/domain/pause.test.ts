import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failurePauseNote, nextRunOnResume, PAUSE_NOTE_MAX_CHARS, validatePauseInput } from './pause.ts';

const t = (iso: string) => new Date(iso);

describe('validatePauseInput', () => {
  it('accepts no body, {} and a null note as no note', () => {
    for (const body of [undefined, null, {}, { note: null }, { note: '   ' }]) {
      expect(validatePauseInput(body)).toEqual({ ok: true, note: null });
    }
  });

  it('keeps a note of exactly 500 characters, trimmed, with line breaks and tabs', () => {
    const note = 'x'.repeat(PAUSE_NOTE_MAX_CHARS);
    expect(validatePauseInput({ note })).toEqual({ ok: true, note });
    expect(validatePauseInput({ note: '  disk full\n\tsee ticket 42 ' })).toEqual({
      ok: true,
      note: 'disk full\n\tsee ticket 42',
    });
  });

  it('names note for 501 characters, a non-string, NUL and other control characters', () => {
    const cases: unknown[] = [
      { note: 'x'.repeat(PAUSE_NOTE_MAX_CHARS + 1) },
      { note: 42 },
      { note: ['a'] },
      { note: 'a\u0000b' },
      { note: 'bell\u0007' },
      { note: 'lone \ud800 surrogate' },
    ];
    for (const body of cases) {
      const result = validatePauseInput(body);
      expect(result.ok, JSON.stringify(body)).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual(['note']);
    }
  });

  it('names unknown fields and refuses a body that is not an object', () => {
    expect(validatePauseInput({ note: 'ok', reason: 'x' })).toEqual({
      ok: false,
      issues: [{ path: 'reason', message: 'is not a known field' }],
    });
    expect(validatePauseInput([])).toMatchObject({ ok: false, issues: [{ path: '' }] });
    expect(validatePauseInput('pause')).toMatchObject({ ok: false, issues: [{ path: '' }] });
  });

  it('accepts every string of printable text up to the limit, and nothing longer', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 600 }), (raw) => {
        const printable = raw.replace(/[\u0000-\u001f\u007f]/g, '');
        const result = validatePauseInput({ note: printable });
        expect(result.ok).toBe(printable.length <= PAUSE_NOTE_MAX_CHARS);
      }),
    );
  });
});

describe('nextRunOnResume', () => {
  const hourly = { type: 'interval', intervalMinutes: 60 } as const;

  it('interval: keeps the phase of the run that was next when paused, skipping the fire times of the pause', () => {
    // Paused with 10:00 next; resumed at 13:20: 11:00, 12:00 and 13:00 are not run, 14:00 is next.
    expect(nextRunOnResume(hourly, t('2027-01-01T10:00:00Z'), t('2027-01-01T13:20:00Z'))).toEqual(
      t('2027-01-01T14:00:00Z'),
    );
  });

  it('interval: resumed before the run that was next, that run is still next', () => {
    expect(nextRunOnResume(hourly, t('2027-01-01T10:00:00Z'), t('2027-01-01T09:30:00Z'))).toEqual(
      t('2027-01-01T10:00:00Z'),
    );
  });

  it('interval: resumed exactly at a fire time, the next one is strictly after', () => {
    expect(nextRunOnResume(hourly, t('2027-01-01T10:00:00Z'), t('2027-01-01T12:00:00Z'))).toEqual(
      t('2027-01-01T13:00:00Z'),
    );
  });

  it('interval without a known next run: one interval after the resume', () => {
    expect(nextRunOnResume(hourly, null, t('2027-01-01T12:34:00Z'))).toEqual(t('2027-01-01T13:34:00Z'));
  });

  it('interval: always strictly after now, on the grid, and less than one interval ahead', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_080 }),
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: 0, max: 1e10 }),
        (minutes, pausedNext, pauseMs) => {
          const step = minutes * 60_000;
          const now = new Date(pausedNext + pauseMs);
          const next = nextRunOnResume(
            { type: 'interval', intervalMinutes: minutes },
            new Date(pausedNext),
            now,
          )!;
          expect(next.getTime()).toBeGreaterThan(now.getTime());
          expect(next.getTime() - now.getTime()).toBeLessThanOrEqual(step);
          expect((next.getTime() - pausedNext) % step).toBe(0);
        },
      ),
    );
  });

  it('cron: the first fire time after the resume, in its zone', () => {
    const daily = { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Berlin' } as const;
    expect(nextRunOnResume(daily, t('2027-01-01T08:00:00Z'), t('2027-01-05T08:30:00Z'))).toEqual(
      t('2027-01-06T08:00:00Z'),
    );
  });

  it('once: runs if its instant is still ahead; passed during the pause, it does not run', () => {
    const once = { type: 'once', runAt: t('2027-01-02T00:00:00Z') } as const;
    expect(nextRunOnResume(once, once.runAt, t('2027-01-01T00:00:00Z'))).toEqual(once.runAt);
    expect(nextRunOnResume(once, once.runAt, t('2027-01-03T00:00:00Z'))).toBeNull();
  });
});

describe('failurePauseNote', () => {
  it('says how many consecutive failures paused it', () => {
    expect(failurePauseNote(3)).toBe('paused after 3 consecutive failures');
    expect(failurePauseNote(1)).toBe('paused after 1 consecutive failure');
  });
});

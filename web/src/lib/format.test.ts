import { describe, expect, it } from 'vitest';
import { describeCron } from './cron-words.ts';
import {
  canonicalZone,
  describePolicy,
  describeSchedule,
  formatArgv,
  formatBytes,
  formatDateTime,
  formatDurationMs,
  formatInZone,
  formatNextRun,
  formatPreviewRun,
  formatRelativeTime,
  jobDurationMs,
} from './format.ts';

const PARIS_CRON = { type: 'cron', cron: '0 2 * * *', timezone: 'Europe/Paris' } as const;

describe('absolute times carry their zone', () => {
  it('writes the zone after the time', () => {
    expect(formatDateTime('2026-01-05T08:00:00Z', { locale: 'en-GB', timeZone: 'Europe/Paris' })).toBe(
      '5 Jan 2026, 09:00:00 CET',
    );
    expect(
      formatDateTime('2026-07-05T08:00:00Z', { locale: 'en-GB', timeZone: 'Europe/Paris', seconds: false }),
    ).toBe('5 Jul 2026, 10:00 CEST');
    expect(formatDateTime('2026-01-05T08:00:00Z', { locale: 'en-GB', timeZone: 'UTC' })).toBe(
      '5 Jan 2026, 08:00:00 UTC',
    );
  });

  it('writes a dash for no time and ISO for a zone it does not know', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('not a date')).toBe('—');
    expect(formatDateTime('2026-01-05T08:00:00Z', { timeZone: 'Nowhere/Else' })).toBe(
      '2026-01-05T08:00:00.000Z',
    );
  });

  it('names another zone by its IANA name, with the day when the day differs', () => {
    expect(
      formatInZone('2026-01-05T01:00:00Z', 'Europe/Paris', { locale: 'en-GB', referenceZone: 'UTC' }),
    ).toBe('02:00 Europe/Paris');
    expect(
      formatInZone('2026-01-05T23:30:00Z', 'Europe/Paris', { locale: 'en-GB', referenceZone: 'UTC' }),
    ).toBe('6 Jan, 00:30 Europe/Paris');
  });

  it('treats zone aliases as the same zone', () => {
    expect(canonicalZone('Etc/UTC')).toBe(canonicalZone('UTC'));
    expect(canonicalZone('Nowhere/Else')).toBe('Nowhere/Else');
  });
});

describe('next run', () => {
  it('adds the schedule’s own time when its zone is not the viewer’s', () => {
    expect(formatNextRun('2026-01-05T01:00:00Z', PARIS_CRON, { locale: 'en-GB', viewerZone: 'UTC' })).toBe(
      '5 Jan 2026, 01:00 UTC · 02:00 Europe/Paris',
    );
  });

  it('says it once when the zones are the same (or the schedule has none)', () => {
    expect(
      formatNextRun('2026-01-05T01:00:00Z', PARIS_CRON, { locale: 'en-GB', viewerZone: 'Europe/Paris' }),
    ).toBe('5 Jan 2026, 02:00 CET');
    expect(
      formatNextRun(
        '2026-01-05T01:00:00Z',
        { type: 'interval', interval_minutes: 5 },
        { locale: 'en-GB', viewerZone: 'Europe/Paris' },
      ),
    ).toBe('5 Jan 2026, 02:00 CET');
    expect(formatNextRun(null, PARIS_CRON)).toBe('—');
  });

  it('previews form runs in the schedule’s zone with the weekday, then the viewer’s', () => {
    const run = new Date('2026-01-05T23:30:00Z');
    expect(formatPreviewRun(run, 'Europe/Paris', { locale: 'en-GB', viewerZone: 'UTC' })).toBe(
      'Tuesday, 6 January 2026 at 00:30 Europe/Paris · 5 Jan, 23:30 UTC',
    );
    expect(formatPreviewRun(run, 'UTC', { locale: 'en-GB', viewerZone: 'Etc/UTC' })).toBe(
      'Monday, 5 January 2026 at 23:30 UTC',
    );
    expect(formatPreviewRun(run, null, { locale: 'en-GB', viewerZone: 'Europe/Paris' })).toBe(
      'Tuesday, 6 January 2026 at 00:30 CET',
    );
  });

  it('a once schedule shows its time with the zone', () => {
    expect(
      describeSchedule(
        { type: 'once', run_at: '2026-12-24T17:00:00Z' },
        { locale: 'en-GB', timeZone: 'UTC' },
      ),
    ).toBe('once at 24 Dec 2026, 17:00 UTC');
  });
});

describe('relative times and durations', () => {
  const now = new Date('2024-03-05T12:00:00Z');

  it('says how long ago, in the largest whole unit', () => {
    expect(formatRelativeTime('2024-03-05T11:59:30Z', now, 'en')).toBe('now');
    expect(formatRelativeTime('2024-03-05T11:57:00Z', now, 'en')).toBe('3 minutes ago');
    expect(formatRelativeTime('2024-03-05T14:00:00Z', now, 'en')).toBe('in 2 hours');
  });

  it('formats durations in the largest sensible unit', () => {
    expect(formatDurationMs(850)).toBe('850 ms');
    expect(formatDurationMs(1_240)).toBe('1.2 s');
    expect(formatDurationMs(184_000)).toBe('3 min 4 s');
    expect(formatDurationMs(null)).toBe('—');
  });

  it('takes a job’s duration from the API, else from its timestamps, else none', () => {
    expect(jobDurationMs({ started_at: null, completed_at: null, duration_ms: 1_500 })).toBe(1_500);
    expect(
      jobDurationMs({ started_at: '2026-01-05T08:00:00.000Z', completed_at: '2026-01-05T08:00:02.500Z' }),
    ).toBe(2_500);
    expect(
      jobDurationMs({ started_at: '2026-01-05T08:00:00.000Z', completed_at: null, duration_ms: null }),
    ).toBe(null);
  });
});

describe('commands and cron expressions in words', () => {
  it('quotes arguments only where a shell would need it', () => {
    expect(formatArgv(['sh', '-c', 'echo hello'])).toBe("sh -c 'echo hello'");
    expect(formatArgv(['echo', "it's", ''])).toBe(`echo 'it'\\''s' ''`);
    expect(formatArgv(['node', '--max-old-space-size=64', '/app/x.js'])).toBe(
      'node --max-old-space-size=64 /app/x.js',
    );
  });

  it('describes cron expressions, with Sunday as 0 or 7, and nothing for garbage', () => {
    expect(describeCron('0 2 * * 1-5')).toBe('At 02:00, Monday through Friday');
    expect(describeCron('0 9 * * 0')).toBe(describeCron('0 9 * * 7'));
    expect(describeCron('*/10 * * * *')).toBe('Every 10 minutes');
    expect(describeCron('@hourly')).toBe('Every hour');
    expect(describeCron('61 * * * *')).toBeNull();
    expect(describeCron('  ')).toBeNull();
  });
});

describe('describePolicy', () => {
  it('says nothing for the defaults and each difference otherwise', () => {
    const defaults = {
      overlap: 'BUFFER_ALL',
      catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
      jitter_seconds: 0,
      starting_deadline_seconds: null,
      dst: { gap: 'RUN_AFTER_GAP', overlap: null },
    } as const;
    expect(describePolicy(defaults)).toBe('');
    expect(
      describePolicy({
        overlap: 'SKIP',
        catch_up: { mode: 'ALL', window_seconds: 3600, max_runs: 24 },
        jitter_seconds: 30,
        starting_deadline_seconds: null,
        dst: { gap: 'RUN_AFTER_GAP', overlap: null },
      }),
    ).toBe(
      'skips a run while one is going · runs each missed time (up to 24) · none later than 3600 s · jitter up to 30 s',
    );
    expect(
      describePolicy({ ...defaults, catch_up: { mode: 'NONE', window_seconds: 60, max_runs: null } }),
    ).toBe('does not run missed times');
    expect(describePolicy({ ...defaults, dst: { gap: 'SKIP', overlap: 'BOTH' } })).toBe(
      'skips times the clocks skip · runs a repeated time twice',
    );
    expect(describePolicy({ ...defaults, dst: { gap: 'RUN_AFTER_GAP', overlap: 'FIRST' } })).toBe(
      'runs a repeated time once',
    );
  });
});

describe('byte counts', () => {
  it('uses binary units with at most one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300_000)).toBe('293 KiB');
    expect(formatBytes(1024 * 1024 * 1024)).toBe('1 GiB');
    expect(formatBytes(5.25 * 1024 ** 3)).toBe('5.3 GiB');
  });
});

/**
 * How the dashboard writes times, durations and schedules. Every absolute time carries its zone
 * ("5 Jan 2026, 09:00 CET"), because a schedule's zone and the browser's often differ; a cron
 * schedule's next run is also given in the schedule's own zone when that is not the browser's.
 * Pure: the callers pass `now`, and tests pin `locale` and `timeZone` (the browser's by default).
 */
import type { SchedulePolicyView, ScheduleTiming } from '../api/types.ts';

export interface TimeOptions {
  /** BCP 47 locale; the browser's when absent. */
  locale?: string | undefined;
  /** IANA zone to write the time in; the browser's when absent. */
  timeZone?: string | undefined;
  /** Include seconds (job times) or not (schedules). Default true. */
  seconds?: boolean;
}

function toDate(value: string | Date | null | undefined): Date | null {
  if (!value) return null;
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? null : date;
}

// Building an Intl.DateTimeFormat costs far more than formatting with one: a 500-task run's table
// formats a thousand times, and building one per call was half of that page's first render
// (bench/dag-graph.ts, CPU profile). The few option sets in use are kept; the bound is a safety net.
const FORMATTERS_KEPT = 64;
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(
  fields: Intl.DateTimeFormatOptions,
  { locale, timeZone }: TimeOptions,
): Intl.DateTimeFormat | null {
  const key = JSON.stringify([locale ?? null, timeZone ?? null, fields]);
  const known = formatters.get(key);
  if (known !== undefined) return known;
  let made: Intl.DateTimeFormat | null;
  try {
    made = new Intl.DateTimeFormat(locale, { ...fields, ...(timeZone ? { timeZone } : {}) });
  } catch {
    made = null; // an unknown zone name: the caller falls back to ISO
  }
  if (formatters.size >= FORMATTERS_KEPT) formatters.clear();
  formatters.set(key, made);
  return made;
}

/** "5 Jan 2026, 09:00:00 CET" in the viewer's locale and zone (or the given ones); '—' for none. */
export function formatDateTime(value: string | Date | null | undefined, options: TimeOptions = {}): string {
  const date = toDate(value);
  if (!date) return '—';
  const fmt = formatter(
    {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(options.seconds === false ? {} : { second: '2-digit' }),
      timeZoneName: 'short',
    },
    options,
  );
  return fmt ? fmt.format(date) : date.toISOString();
}

/** The calendar day of `date` in `timeZone`, to tell whether two renderings fall on the same day. */
function dayIn(date: Date, timeZone: string | undefined): string {
  return formatter(
    { year: 'numeric', month: '2-digit', day: '2-digit' },
    { locale: 'en-CA', timeZone },
  )!.format(date);
}

/** The canonical IANA name of a zone ('Etc/UTC' and 'UTC' are the same), or the input if unknown. */
export function canonicalZone(timeZone: string): string {
  return formatter({}, { timeZone })?.resolvedOptions().timeZone ?? timeZone;
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The time in another zone: "02:00 Europe/Paris" (named by its IANA name) or, with `label: 'short'`,
 * "08:00 UTC"; with the day when it is not the same calendar day as in `referenceZone`
 * ("6 Jan, 00:30 Europe/Paris").
 */
export function formatInZone(
  value: string | Date,
  timeZone: string,
  options: { locale?: string | undefined; referenceZone?: string | undefined; label?: 'iana' | 'short' } = {},
): string {
  const date = toDate(value);
  if (!date) return '—';
  const reference = options.referenceZone ?? browserZone();
  const sameDay = dayIn(date, timeZone) === dayIn(date, reference);
  const short = options.label === 'short';
  const fmt = formatter(
    {
      ...(sameDay ? {} : { month: 'short', day: 'numeric' }),
      hour: '2-digit',
      minute: '2-digit',
      ...(short ? { timeZoneName: 'short' } : {}),
    },
    { locale: options.locale, timeZone },
  );
  if (!fmt) return date.toISOString();
  return short ? fmt.format(date) : `${fmt.format(date)} ${timeZone}`;
}

/**
 * A workflow's next run: "5 Jan 2026, 01:00 UTC", and for a cron schedule in another zone than the
 * viewer's also the schedule's own wall-clock time: "5 Jan 2026, 01:00 UTC · 02:00 Europe/Paris".
 */
export function formatNextRun(
  value: string | null | undefined,
  schedule: ScheduleTiming,
  options: { locale?: string | undefined; viewerZone?: string | undefined } = {},
): string {
  const date = toDate(value);
  if (!date) return '—';
  const viewer = options.viewerZone ?? browserZone();
  const here = formatDateTime(date, { locale: options.locale, timeZone: viewer, seconds: false });
  if (schedule.type !== 'cron' || canonicalZone(schedule.timezone) === canonicalZone(viewer)) return here;
  return `${here} · ${formatInZone(date, schedule.timezone, { locale: options.locale, referenceZone: viewer })}`;
}

/**
 * One upcoming run in the form's preview. A cron schedule's runs are read in its own zone, with the
 * weekday ("Monday, 5 January 2026 at 02:00 Europe/Paris"), and the viewer's time after them when the
 * zones differ ("· 01:00 UTC"); other schedules in the viewer's zone, with its name.
 */
export function formatPreviewRun(
  date: Date,
  scheduleZone: string | null,
  options: { locale?: string | undefined; viewerZone?: string | undefined } = {},
): string {
  const viewer = options.viewerZone ?? browserZone();
  const zone = scheduleZone ?? viewer;
  const fmt = formatter(
    {
      weekday: 'long',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(scheduleZone ? {} : { timeZoneName: 'short' }),
    },
    { locale: options.locale, timeZone: zone },
  );
  if (!fmt) return date.toISOString();
  if (!scheduleZone) return fmt.format(date);
  const main = `${fmt.format(date)} ${scheduleZone}`;
  if (canonicalZone(scheduleZone) === canonicalZone(viewer)) return main;
  return `${main} · ${formatInZone(date, viewer, { locale: options.locale, referenceZone: scheduleZone, label: 'short' })}`;
}

const RELATIVE_UNITS: ReadonlyArray<{ unit: Intl.RelativeTimeFormatUnit; ms: number }> = [
  { unit: 'year', ms: 365 * 24 * 3_600_000 },
  { unit: 'month', ms: 30 * 24 * 3_600_000 },
  { unit: 'week', ms: 7 * 24 * 3_600_000 },
  { unit: 'day', ms: 24 * 3_600_000 },
  { unit: 'hour', ms: 3_600_000 },
  { unit: 'minute', ms: 60_000 },
];

/** "3 minutes ago", "in 2 hours"; '' for a malformed timestamp. */
export function formatRelativeTime(iso: string, now: Date, locale?: string): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const diff = then - now.getTime();
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  // Under a minute (either way: clocks drift a little between browser and server) is "now".
  if (abs < 60_000) return rtf.format(0, 'second');
  for (const { unit, ms } of RELATIVE_UNITS) {
    if (abs >= ms) return rtf.format(Math.round(diff / ms), unit);
  }
  return rtf.format(Math.round(diff / 60_000), 'minute');
}

/** 850 ms, 1.2 s, 3 min 4 s, 2 h 5 min; an em dash when unknown. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const totalSeconds = Math.round(ms / 1_000);
  if (totalSeconds < 3_600) {
    const s = totalSeconds % 60;
    return s ? `${Math.floor(totalSeconds / 60)} min ${s} s` : `${totalSeconds / 60} min`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const m = totalMinutes % 60;
  return m ? `${Math.floor(totalMinutes / 60)} h ${m} min` : `${totalMinutes / 60} h`;
}

/** A job's run time from its timestamps (the API's `duration_ms` where it sends one); null until it ends. */
export function jobDurationMs(job: {
  started_at: string | null;
  completed_at: string | null;
  duration_ms?: number | null;
}): number | null {
  if (job.duration_ms !== undefined && job.duration_ms !== null) return job.duration_ms;
  if (!job.started_at || !job.completed_at) return null;
  const ms = Date.parse(job.completed_at) - Date.parse(job.started_at);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

export function describeSchedule(schedule: ScheduleTiming, options: TimeOptions = {}): string {
  switch (schedule.type) {
    case 'interval': {
      const m = schedule.interval_minutes;
      if (m % 1440 === 0) return `every ${m / 1440} day${m === 1440 ? '' : 's'}`;
      if (m % 60 === 0) return `every ${m / 60} hour${m === 60 ? '' : 's'}`;
      return `every ${m} minute${m === 1 ? '' : 's'}`;
    }
    case 'cron':
      return `cron ${schedule.cron} (${schedule.timezone})`;
    case 'once':
      return `once at ${formatDateTime(schedule.run_at, { ...options, seconds: false })}`;
  }
}

/**
 * A schedule's policies in words, only what differs from the defaults ("" for the defaults):
 * "skips a run while one is going · runs each missed time (up to 24) · jitter up to 30 s".
 */
export function describePolicy(policy: SchedulePolicyView): string {
  const parts: string[] = [];
  const overlap = {
    BUFFER_ALL: null,
    BUFFER_ONE: 'queues at most one run behind the running one',
    SKIP: 'skips a run while one is going',
    CANCEL_OTHER: 'cancels the running run for the new one',
    ALLOW_ALL: 'runs side by side',
  }[policy.overlap];
  if (overlap) parts.push(overlap);
  const c = policy.catch_up;
  if (c.mode === 'ALL') parts.push(`runs each missed time (up to ${c.max_runs ?? 100})`);
  if (c.mode === 'NONE') parts.push('does not run missed times');
  if (c.window_seconds !== null && c.mode !== 'NONE') parts.push(`none later than ${c.window_seconds} s`);
  if (policy.jitter_seconds > 0) parts.push(`jitter up to ${policy.jitter_seconds} s`);
  if (policy.starting_deadline_seconds !== null) {
    parts.push(`not started more than ${policy.starting_deadline_seconds} s late`);
  }
  // Absent in a view from a server older than the DST policy.
  const dst = (policy as Partial<SchedulePolicyView>).dst;
  if (dst?.gap === 'SKIP') parts.push('skips times the clocks skip');
  if (dst?.overlap === 'FIRST') parts.push('runs a repeated time once');
  if (dst?.overlap === 'BOTH') parts.push('runs a repeated time twice');
  return parts.join(' · ');
}

/** A fresh key per user action (Idempotency-Key): a double click or a retry does not run twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/**
 * A command (argv) as one shell-like line for reading, not for running: arguments with spaces or
 * shell characters are single-quoted (`sh -c 'echo hello'`).
 */
export function formatArgv(args: readonly string[]): string {
  return args
    .map((a) => (a !== '' && /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}

/** A byte count for people: "999 B", "1.5 KiB", "300 MiB" (binary units, as the limits are set). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${units[unit]}`;
}

/** A job's trigger in words (lists, filters, the job page). */
export const TRIGGER_LABEL = { AUTOMATIC: 'Automatic', MANUAL: 'Manual', BACKFILL: 'Backfill' } as const;

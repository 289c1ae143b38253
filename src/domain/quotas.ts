/**
 * Quotas: how much of a shared installation one user may take.
 *
 * Design note
 *
 * - Four quotas: `max_workflows` (workflows the user has, terminated ones included until deleted),
 *   `runs_per_minute` (manual runs and retries asked through the API in the last 60 s, a sliding
 *   window), `min_schedule_seconds` (the shortest time a schedule may leave between two runs) and
 *   `max_concurrent_containers` (CONTAINER jobs of the user running at once; the executor's claim
 *   leaves the others queued). 0 means "no limit" everywhere, in the configuration and per user.
 * - Whose: the configured defaults (CHRONOVERSE_QUOTA_*) apply to users with the role `user`.
 *   Administrators are the operators of the installation: without a value of their own they have
 *   no limits. A per-user value set by an administrator applies to anyone, administrators too;
 *   null goes back to the default.
 * - Answers: a count over its quota is a 409 (`max_workflows`), a rate a 429 with Retry-After
 *   (`runs_per_minute`), a schedule that runs too often a 400 on its field (`min_schedule_seconds`);
 *   each names the quota, its value and the usage that crossed it. A concurrency quota is never an
 *   error: the job waits in the queue.
 * - Schedule period: an interval's is its length. A cron's is the shortest time between two of its
 *   runs, computed from its fields in UTC (`shortestCronGapSeconds`): the times of day the second,
 *   minute and hour fields allow, and, across midnight, whether two consecutive days both match
 *   (asked of croner, which owns the day fields' grammar: L, W, #, names). Wall-clock effects of a
 *   daylight-saving change (a skipped 02:30 runs at 03:00) may shorten one gap a year; that is not
 *   counted. Gaps of a day or more count as one day, the largest minimum one can set.
 *
 * Pure: no I/O.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import type { Schedule } from './schedule.ts';

export const QUOTA_NAMES = [
  'max_workflows',
  'runs_per_minute',
  'min_schedule_seconds',
  'max_concurrent_containers',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** Effective quotas; 0 = no limit. */
export type Quotas = Record<QuotaName, number>;

/** A user's own values; null = the default for their role. */
export type QuotaOverrides = Record<QuotaName, number | null>;

/** Where an effective value comes from. */
export const QUOTA_SOURCES = ['user', 'default', 'admin'] as const;
export type QuotaSource = (typeof QUOTA_SOURCES)[number];

export const QUOTA_DEFAULTS: Quotas = {
  max_workflows: 500,
  runs_per_minute: 60,
  min_schedule_seconds: 60,
  max_concurrent_containers: 4,
};

/** Accepted values of each quota, per user and in the configuration. */
export const QUOTA_BOUNDS: Record<QuotaName, { min: number; max: number }> = {
  max_workflows: { min: 0, max: 1_000_000 },
  runs_per_minute: { min: 0, max: 100_000 },
  // A day: schedule periods are measured up to one day (see the design note).
  min_schedule_seconds: { min: 0, max: 86_400 },
  max_concurrent_containers: { min: 0, max: 10_000 },
};

export const NO_OVERRIDES: QuotaOverrides = {
  max_workflows: null,
  runs_per_minute: null,
  min_schedule_seconds: null,
  max_concurrent_containers: null,
};

/**
 * An administrator's change of a user's quotas: each field a value (0 = no limit), null (back to
 * the default) or absent (unchanged).
 */
export const QuotaUpdateSchema = z
  .object(
    Object.fromEntries(
      QUOTA_NAMES.map((name) => [
        name,
        z.number().int().min(QUOTA_BOUNDS[name].min).max(QUOTA_BOUNDS[name].max).nullable().optional(),
      ]),
    ) as Record<QuotaName, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>,
  )
  .strict()
  .meta({ id: 'QuotaUpdate' });
export type QuotaUpdate = Partial<QuotaOverrides>;

export type QuotaRole = 'admin' | 'user';

/** The quotas that apply to a user with `role` and `overrides`, and where each comes from. */
export function effectiveQuotas(
  role: QuotaRole,
  overrides: QuotaOverrides,
  defaults: Quotas,
): { quotas: Quotas; sources: Record<QuotaName, QuotaSource> } {
  const quotas = {} as Quotas;
  const sources = {} as Record<QuotaName, QuotaSource>;
  for (const name of QUOTA_NAMES) {
    const own = overrides[name];
    if (own !== null) {
      quotas[name] = own;
      sources[name] = 'user';
    } else if (role === 'admin') {
      quotas[name] = 0;
      sources[name] = 'admin';
    } else {
      quotas[name] = defaults[name];
      sources[name] = 'default';
    }
  }
  return { quotas, sources };
}

const DAY_SECONDS = 86_400;

/**
 * The shortest time in seconds between two runs of `schedule` when it is below `limit` (at most
 * one day), else `limit`; null for a `once` schedule. Assumes a valid schedule (checkCron accepted
 * its cron).
 */
export function shortestPeriodSeconds(schedule: Schedule, limit = DAY_SECONDS): number | null {
  switch (schedule.type) {
    case 'interval':
      return Math.min(schedule.intervalMinutes * 60, limit);
    case 'cron':
      return shortestCronGapSeconds(schedule.cron, limit);
    case 'once':
      return null;
  }
}

/** Why `schedule` runs more often than `minSeconds` allows (the message of its field), or null. */
export function schedulePeriodProblem(
  schedule: Schedule,
  minSeconds: number,
): { shortestSeconds: number; message: string } | null {
  if (minSeconds <= 0) return null;
  const shortest = shortestPeriodSeconds(schedule, Math.min(minSeconds, DAY_SECONDS));
  if (shortest === null || shortest >= minSeconds) return null;
  const what =
    schedule.type === 'interval'
      ? `an interval of ${formatSeconds(shortest)}`
      : `it can run ${formatSeconds(shortest)} after its previous run`;
  return {
    shortestSeconds: shortest,
    message: `runs too often: ${what}; your quota min_schedule_seconds asks for at least ${formatSeconds(minSeconds)} between runs`,
  };
}

/** "1 second", "90 seconds", "1 minute", "5 minutes", "1 hour": exact, in the largest whole unit. */
export function formatSeconds(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (seconds > 0 && seconds % 3600 === 0) return unit(seconds / 3600, 'hour');
  if (seconds > 0 && seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return unit(seconds, 'second');
}

const NICKNAME_FIELDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * The shortest time between two consecutive runs of a valid cron expression, in seconds, counted
 * in UTC, when it is below `limit` (at most a day); else `limit`. See the design note. Below the
 * limit the answer is exact; above it, the calendar is not searched (that can take croner a few
 * thousand steps, for days that match often but never two in a row).
 */
export function shortestCronGapSeconds(expression: string, limit = DAY_SECONDS): number {
  const trimmed = expression.trim();
  const text = NICKNAME_FIELDS[trimmed.toLowerCase()] ?? trimmed;
  const parts = text.split(/\s+/);
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = parts.length === 5 ? ['0', ...parts] : parts;
  const seconds = expandTimeField(second!, 59);
  const minutes = expandTimeField(minute!, 59);
  const hours = expandTimeField(hour!, 23);

  // Every time of day the expression fires at, in order (at most 86,400).
  const times: number[] = [];
  for (const h of hours) for (const m of minutes) for (const s of seconds) times.push(h * 3600 + m * 60 + s);
  let shortest = Math.min(limit, DAY_SECONDS);
  for (let i = 1; i < times.length; i += 1) shortest = Math.min(shortest, times[i]! - times[i - 1]!);
  // From the last run of a day to the first of the next, when two consecutive days both match.
  const acrossMidnight = DAY_SECONDS - times.at(-1)! + times[0]!;
  if (acrossMidnight < shortest && hasConsecutiveDays(dayOfMonth!, month!, dayOfWeek!)) {
    shortest = acrossMidnight;
  }
  return shortest;
}

/** The values of a second, minute or hour field (numbers, `*`, `?`, ranges, steps, lists), sorted. */
function expandTimeField(field: string, max: number): number[] {
  const values = new Set<number>();
  for (const item of field.replace(/\?/g, '*').split(',')) {
    const [range, stepText] = item.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = 0;
    let to = max;
    if (range !== '*') {
      const [a, b] = range.split('-');
      from = Number(a);
      // `n/step` is not valid cron (cron-syntax.ts refuses it); a single value is itself.
      to = b === undefined ? from : Number(b);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

// 28 years: the Gregorian calendar's days of the week and dates repeat (leap days included)
// within this span, but for century years, which cannot make two consecutive days match.
const CALENDAR_SPAN_YEARS = 28;
const CALENDAR_START = Date.UTC(2001, 0, 1);

/** Whether two consecutive days both match the day fields (in croner's reading of them). */
function hasConsecutiveDays(dayOfMonth: string, month: string, dayOfWeek: string): boolean {
  if (dayOfMonth === '*' && dayOfWeek === '*') return true;
  const days = new Cron(`0 0 0 ${dayOfMonth} ${month} ${dayOfWeek}`, { paused: true, timezone: 'UTC' });
  const end = Date.UTC(2001 + CALENDAR_SPAN_YEARS, 0, 2);
  let previous = days.nextRun(new Date(CALENDAR_START - 1000));
  while (previous !== null && previous.getTime() < end) {
    const next = days.nextRun(previous);
    if (next === null) return false;
    if (next.getTime() - previous.getTime() === DAY_SECONDS * 1000) return true;
    previous = next;
  }
  return false;
}

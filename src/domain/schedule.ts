/**
 * Schedules: when a workflow runs. Three forms: a fixed interval in minutes (the original
 * Chronoverse form), a cron expression evaluated in an IANA time zone (croner), or a single run at
 * a given instant. Pure: the caller passes the current time.
 *
 * Daylight saving of cron schedules: `dst.ts` produces their fire times, by the schedule's `dst`
 * policy (a spring-gap time runs after the gap or is skipped; an autumn-overlap time runs at its
 * first occurrence or at both). Every caller that needs a cron fire time comes through here or
 * through `cronFireTimes`, so the scheduler, catch-up and the preview agree.
 */
import { Cron } from 'croner';
import { cronSyntaxProblem } from './cron-syntax.ts';
import type { SchedulePolicy } from './schedule-policy.ts';
import { CronFireTimes } from './dst.ts';

/**
 * A recurring schedule carries its policies (overlap, catch-up, jitter); absent means the
 * defaults (DEFAULT_SCHEDULE_POLICY). A once schedule has none: it fires once.
 */
export type Schedule =
  | { type: 'interval'; intervalMinutes: number; policy?: SchedulePolicy }
  | { type: 'cron'; cron: string; timezone: string; policy?: SchedulePolicy }
  | { type: 'once'; runAt: Date };

export const INTERVAL_MIN_MINUTES = 1;
export const INTERVAL_MAX_MINUTES = 10_080; // one week

/**
 * The canonical IANA name of a zone ("europe/paris" → "Europe/Paris"), or null when it is not an
 * IANA zone. UTC offsets such as "+05:00" are refused: they have no daylight-saving rules, which is
 * what a user picking a zone for a cron schedule almost never means.
 */
export function canonicalTimezone(timezone: string): string | null {
  if (timezone.length === 0 || timezone.length > 64) return null;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    return /^[A-Za-z]/.test(resolved) ? resolved : null;
  } catch {
    return null;
  }
}

/** Error message for an invalid IANA zone name, or null when valid. */
export function checkTimezone(timezone: string): string | null {
  if (canonicalTimezone(timezone) !== null) return null;
  return `unknown time zone "${timezone}"; use an IANA name such as "Europe/Paris" or "UTC"`;
}

/**
 * Error message for an invalid cron expression, or null when valid. Plain words naming the cron
 * field (cron-syntax.ts), never croner's text; then croner is asked whether it ever fires.
 */
export function checkCron(expression: string): string | null {
  const trimmed = expression.trim();
  if (trimmed.length > 200) return 'must be at most 200 characters';
  const problem = cronSyntaxProblem(trimmed);
  if (problem !== null) return problem;
  let cron: Cron;
  try {
    cron = new Cron(trimmed, { paused: true, timezone: 'UTC' });
  } catch {
    // Unreachable while cron-syntax.ts follows croner's grammar (its property test compares them);
    // should a croner upgrade refuse more, the user still gets words, not the library's text.
    return 'is not a valid cron expression';
  }
  // "0 0 30 2 *" parses but never fires; reject it rather than accept a workflow that never runs.
  if (cron.nextRun(new Date(0)) === null) {
    return 'never fires: no date matches its day-of-month, month and day-of-week (such as 30 February)';
  }
  return null;
}

/**
 * The first run time strictly after `after`.
 * - interval: fixed rate anchored at `anchor` (the first run is one interval after the anchor);
 * - cron: the next matching wall-clock time in the schedule's zone;
 * - once: `runAt` if it is still ahead, else null (already ran or missed).
 */
export function nextRunAfter(schedule: Schedule, after: Date, anchor: Date = after): Date | null {
  switch (schedule.type) {
    case 'interval': {
      const step = schedule.intervalMinutes * 60_000;
      const first = anchor.getTime() + step;
      if (first > after.getTime()) return new Date(first);
      const periods = Math.floor((after.getTime() - first) / step) + 1;
      return new Date(first + periods * step);
    }
    case 'cron':
      return cronFireTimes(schedule).next(after);
    case 'once':
      return schedule.runAt.getTime() > after.getTime() ? schedule.runAt : null;
  }
}

/** The next `count` run times after `after` (fewer for a once schedule), for previews. */
export function upcomingRuns(schedule: Schedule, after: Date, count: number, anchor: Date = after): Date[] {
  const runs: Date[] = [];
  let cursor = after;
  // One sequence for the walk: building it costs about as much as a step.
  const cron = schedule.type === 'cron' ? cronFireTimes(schedule) : null;
  while (runs.length < count) {
    const next = cron !== null ? cron.next(cursor) : nextRunAfter(schedule, cursor, anchor);
    if (next === null) break;
    runs.push(next);
    cursor = next;
  }
  return runs;
}

/** The fire-time sequence of a cron schedule under its DST policy (dst.ts). */
export function cronFireTimes(schedule: Extract<Schedule, { type: 'cron' }>): CronFireTimes {
  return new CronFireTimes(schedule.cron, schedule.timezone, schedule.policy?.dst);
}

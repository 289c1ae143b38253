/**
 * Schedule preview: the next fire times of a schedule, each with the reason when it is irregular
 * (daylight saving). Pure: the caller passes the instant to start from.
 *
 * `at` is what the scheduler fires: the chain of `nextRunAfter` from `from`, exactly as the
 * scheduler advances `next_run_at` (src/domain/catch-up.ts), so the preview cannot disagree with
 * it (a property test checks this). What this module adds is the explanation, found by reading
 * each fire time back as wall-clock time in the schedule's zone:
 *
 * - Spring gap, policy RUN_AFTER_GAP: wall-clock times that do not exist run once, at the first
 *   instant after the gap (02:30 on 2027-03-28 in Europe/Berlin → 03:00 CEST). That fire time lands
 *   exactly on the transition; the cron times inside the gap are named in `reason`, and `nominal_at`
 *   is the first of them read with the offset in force before the gap (RFC 5545's and Temporal's
 *   "compatible" reading: 02:30 → 03:30 CEST), so `at` ≠ `nominal_at`.
 * - Spring gap, policy SKIP: the gap's times do not run; the first fire time after them says so.
 * - Autumn overlap: a wall-clock time that occurs twice runs at its first occurrence (FIRST) or at
 *   both (BOTH); unset, the expression decides (dst.ts `overlapFor`). The reason says which policy,
 *   and which occurrence this is (by its UTC offset).
 *
 * Interval and once schedules have no wall clock: `at` = `nominal_at`, never a reason.
 */
import { Cron } from 'croner';
import type { FieldIssue } from './errors.ts';
import { upcomingRuns, type Schedule } from './schedule.ts';
import { CronFireTimes, DEFAULT_DST_POLICY, overlapFor, zoneRules, type DstPolicy } from './dst.ts';
import { validateScheduleInput, type Validated } from './workflow-input.ts';
import { jitterMs } from './schedule-policy.ts';

export interface FireTime {
  /** When the scheduler fires it. */
  at: Date;
  /** When the schedule names it; differs from `at` only for a time in a spring-forward gap. */
  nominalAt: Date;
  /** Why this fire time is irregular (daylight saving); absent when it is not. */
  reason?: string;
}

export const PREVIEW_MAX_COUNT = 100;
export const PREVIEW_DEFAULT_COUNT = 20;

/** Gap times counted for a reason at most: a seconds cron has 3,600 in a one-hour gap. */
const MAX_GAP_MATCHES = 1_000;
/** Wall-clock times of an overlap are within this of the transition (shifts are at most 1 h, except Apia's day). */
const OVERLAP_PROBE_MS = 6 * 3_600_000;

export interface PreviewRequest {
  schedule: Schedule;
  from: Date;
  count: number;
}

/** Error message for a preview `count` (an integer 1 to PREVIEW_MAX_COUNT), or null when valid. */
export function checkPreviewCount(count: unknown): string | null {
  return typeof count === 'number' && Number.isInteger(count) && count >= 1 && count <= PREVIEW_MAX_COUNT
    ? null
    : `must be an integer from 1 to ${PREVIEW_MAX_COUNT}`;
}

/** A preview `from`: an RFC 3339 date-time with an offset (`2027-03-28T00:00:00Z`), or null when it is not. */
export function parsePreviewFrom(from: unknown): Date | null {
  if (typeof from !== 'string' || !RFC3339.test(from)) return null;
  const at = new Date(from);
  return Number.isNaN(at.getTime()) ? null : at;
}
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The body of `POST /schedules/preview`: `{ schedule, from?, count? }`. The schedule is checked as
 * `POST /workflows` checks one (issues `schedule.…`); `from` defaults to `now`, `count` to
 * PREVIEW_DEFAULT_COUNT.
 */
export function validatePreviewInput(body: unknown, now: Date): Validated<PreviewRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  }
  const input = body as Record<string, unknown>;
  const issues: FieldIssue[] = Object.keys(input)
    .filter((k) => k !== 'schedule' && k !== 'from' && k !== 'count')
    .map((k) => ({ path: k, message: 'is not a known field' }));
  const schedule = validateScheduleInput(input.schedule, now);
  if (!schedule.ok) issues.push(...schedule.issues);
  const from = input.from === undefined || input.from === null ? now : parsePreviewFrom(input.from);
  if (from === null) issues.push({ path: 'from', message: 'must be an RFC 3339 date-time with an offset' });
  const count = input.count === undefined || input.count === null ? PREVIEW_DEFAULT_COUNT : input.count;
  const countProblem = checkPreviewCount(count);
  if (countProblem !== null) issues.push({ path: 'count', message: countProblem });
  if (issues.length > 0 || !schedule.ok || from === null) return { ok: false, issues };
  return { ok: true, value: { schedule: schedule.value, from, count: count as number } };
}

/**
 * The first `count` fire times strictly after `from`. `anchor` is an interval schedule's phase
 * (its first run is one interval after it; default `from`, as at creation).
 */
export function previewFireTimes(
  schedule: Schedule,
  from: Date,
  count: number,
  anchor: Date = from,
): FireTime[] {
  const runs = upcomingRuns(schedule, from, count, anchor);
  if (schedule.type !== 'cron') return runs.map((at) => ({ at, nominalAt: at }));
  const zone = new ZoneClock(schedule.timezone);
  const pattern = new Cron(schedule.cron, { paused: true, timezone: 'UTC' });
  const dst = schedule.policy?.dst ?? DEFAULT_DST_POLICY;
  return runs.map((at, i) => {
    const fire = explain(schedule, dst, zone, pattern, at);
    if (dst.gap !== 'SKIP') return fire;
    const skipped = skippedGaps(schedule, pattern, (i === 0 ? from : runs[i - 1]!).getTime(), at.getTime());
    if (skipped === null) return fire;
    return { ...fire, reason: fire.reason === undefined ? skipped : `${skipped}; ${fire.reason}` };
  });
}

/**
 * Under policy SKIP, the gap times skipped in (fromMs, toMs]: the reason the fire time at `toMs`
 * carries ("02:30 does not exist on 2027-03-28 in Europe/Berlin: skipped by policy SKIP"), or null.
 */
function skippedGaps(
  schedule: Extract<Schedule, { type: 'cron' }>,
  pattern: Cron,
  fromMs: number,
  toMs: number,
): string | null {
  const rules = zoneRules(schedule.timezone);
  const notes: string[] = [];
  for (let t = rules.firstIn(fromMs, toMs); t !== null; t = rules.firstIn(t.at, toMs)) {
    if (t.after <= t.before) continue;
    const skipped = matchesBetween(pattern, t.at + t.before, t.at + t.after);
    if (skipped.length === 0) continue;
    const verb = skipped.length === 1 ? 'does not exist' : 'do not exist';
    notes.push(
      `${listOf(skipped.map(hhmm))} ${verb} on ${day(skipped[0]!)} in ${schedule.timezone}: skipped by policy SKIP`,
    );
  }
  return notes.length === 0 ? null : notes.join('; ');
}

/**
 * The fire times as a workflow's runs start them: each `at` delayed by the workflow's jitter
 * (schedule-policy.ts), computed from the same workflow id and fire time as the scheduler does, so
 * the preview shows the instants the runs get. `nominal_at` stays the schedule's own time.
 */
export function withJitter(
  fireTimes: readonly FireTime[],
  workflowId: string,
  jitterSeconds: number,
): FireTime[] {
  if (jitterSeconds <= 0) return [...fireTimes];
  return fireTimes.map((f) => ({
    ...f,
    at: new Date(f.at.getTime() + jitterMs(workflowId, f.at, jitterSeconds)),
  }));
}

function explain(
  schedule: Extract<Schedule, { type: 'cron' }>,
  dst: DstPolicy,
  zone: ZoneClock,
  pattern: Cron,
  at: Date,
): FireTime {
  const wall = zone.wallMs(at.getTime());
  const offset = wall - at.getTime();
  const offsetBefore = zone.wallMs(at.getTime() - 1) - (at.getTime() - 1);

  // On a spring-forward transition: the cron times of the gap fire here (RUN_AFTER_GAP).
  if (offsetBefore < offset && dst.gap === 'RUN_AFTER_GAP') {
    const gapStart = at.getTime() + offsetBefore; // the wall clock the gap starts at (02:00)
    const skipped = matchesBetween(pattern, gapStart, wall);
    if (skipped.length > 0) {
      const names = listOf(skipped.map(hhmm));
      const verb = skipped.length === 1 ? 'does not exist' : 'do not exist';
      const own = matches(pattern, wall) ? `, with its own ${hhmm(wall)} run` : '';
      return {
        at,
        // Read with the offset before the gap, as RFC 5545 does: 02:30 → 03:30 after the change.
        nominalAt: new Date(skipped[0]! - offsetBefore),
        reason: `${names} ${verb} on ${day(wall)} in ${schedule.timezone}: ${skipped.length === 1 ? 'runs' : 'run once'} at ${hhmm(wall)} (first instant after the gap) by policy RUN_AFTER_GAP${own}`,
      };
    }
  }

  // A wall-clock time that occurs twice (autumn).
  const other = zone.otherInstant(at.getTime(), wall);
  if (other !== null) {
    const firesBoth = overlapFor(schedule.cron, dst.overlap) === 'BOTH';
    const which = at.getTime() < other ? 'first' : 'second';
    const policy = `by policy ${firesBoth ? 'BOTH' : 'FIRST'}${dst.overlap === null ? ' (the default for this expression)' : ''}`;
    const reason = firesBoth
      ? `${hhmm(wall)} occurs twice on ${day(wall)} in ${schedule.timezone}: runs at both ${policy}; this is the ${which} (${utcOffset(offset)})`
      : `${hhmm(wall)} occurs twice on ${day(wall)} in ${schedule.timezone}: runs once, at the first occurrence, ${policy} (${utcOffset(offset)})`;
    return { at, nominalAt: at, reason };
  }
  return { at, nominalAt: at };
}

/** Whether a wall-clock time (as UTC milliseconds) matches the cron pattern. */
function matches(pattern: Cron, wallMs: number): boolean {
  return pattern.nextRun(new Date(wallMs - 1_000))?.getTime() === wallMs;
}

/** Wall-clock times in [fromMs, toMs) matching the pattern (at most MAX_GAP_MATCHES). */
function matchesBetween(pattern: Cron, fromMs: number, toMs: number): number[] {
  const found: number[] = [];
  let next = pattern.nextRun(new Date(fromMs - 1_000));
  while (next !== null && next.getTime() < toMs && found.length < MAX_GAP_MATCHES) {
    found.push(next.getTime());
    next = pattern.nextRun(next);
  }
  return found;
}

/** Local time in one IANA zone, as "wall-clock milliseconds" (the local date and time read as UTC). */
class ZoneClock {
  readonly #format: Intl.DateTimeFormat;

  constructor(timezone: string) {
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  wallMs(instantMs: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.#format.formatToParts(new Date(instantMs))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const ms = ((instantMs % 1_000) + 1_000) % 1_000;
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!, ms);
  }

  /** The other instant whose wall clock is `wall` (autumn overlap), or null when there is none. */
  otherInstant(instantMs: number, wall: number): number | null {
    for (const probe of [instantMs - OVERLAP_PROBE_MS, instantMs + OVERLAP_PROBE_MS]) {
      const offset = this.wallMs(probe) - probe;
      const candidate = wall - offset;
      if (candidate !== instantMs && this.wallMs(candidate) === wall) return candidate;
    }
    return null;
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function hhmm(wallMs: number): string {
  const d = new Date(wallMs);
  const s = d.getUTCSeconds();
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${s === 0 ? '' : `:${pad(s)}`}`;
}

function day(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 10);
}

function utcOffset(offsetMs: number): string {
  const minutes = Math.round(offsetMs / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function listOf(items: string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length > 4) return `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

// ─── the tick ledger's daylight-saving entries ───────────────────────────────────────────────

/** A ledger entry for the times of a spring-forward gap that policy SKIP dropped (DST_SKIPPED). */
export interface DstSkippedTick {
  /** The first dropped time read with the offset before the gap, as the preview reads it (02:30 → 03:30 CEST). */
  nominalAt: Date;
  reason: string;
}

/**
 * The gaps of a cron schedule with `dst.gap: SKIP` whose dropped times are due in (fromMs, toMs]:
 * one entry per gap (however many of its times the expression has), at the first dropped time read
 * with the offset in force before the gap — the instant the preview gives as its `nominal_at` —
 * with the preview's reason. The ledger has one row per instant: when the schedule fires at that
 * instant anyway (`*∕30 * * * *` at 03:00), its own row stands and the gap gets none (the policy
 * then changed nothing: RUN_AFTER_GAP would merge them into that very run). Empty for any other
 * schedule or policy, so callers may pass every schedule.
 */
export function dstSkippedTicks(schedule: Schedule, fromMs: number, toMs: number): DstSkippedTick[] {
  if (schedule.type !== 'cron' || schedule.policy?.dst.gap !== 'SKIP' || toMs <= fromMs) return [];
  const rules = zoneRules(schedule.timezone);
  const pattern = new Cron(schedule.cron, { paused: true, timezone: 'UTC' });
  const out: DstSkippedTick[] = [];
  // A gap's times read with the earlier offset land at most a gap's length after it.
  for (let t = rules.firstIn(fromMs - OVERLAP_PROBE_MS, toMs); t !== null; t = rules.firstIn(t.at, toMs)) {
    if (t.after <= t.before) continue;
    const skipped = matchesBetween(pattern, t.at + t.before, t.at + t.after);
    if (skipped.length === 0) continue;
    const nominal = skipped[0]! - t.before;
    if (nominal <= fromMs || nominal > toMs) continue;
    const fires = new CronFireTimes(schedule.cron, schedule.timezone, schedule.policy.dst);
    if (fires.next(new Date(nominal - 1))?.getTime() === nominal) continue;
    const verb = skipped.length === 1 ? 'does not exist' : 'do not exist';
    out.push({
      nominalAt: new Date(nominal),
      reason: `${listOf(skipped.map(hhmm))} ${verb} on ${day(skipped[0]!)} in ${schedule.timezone}: skipped by policy SKIP`,
    });
  }
  return out;
}

/**
 * Why a fire time is the second occurrence of a wall-clock time that occurs twice and runs at both
 * (policy BOTH, or the expression's default by Vixie cron's rule) — the ledger records its run as
 * DST_DOUBLED — or null for any other fire time. The zone check is a lookup in cached transitions,
 * so the scheduler can ask for every fire time it runs.
 */
export function dstDoubledReason(schedule: Schedule, at: Date): string | null {
  if (schedule.type !== 'cron' || !zoneRules(schedule.timezone).isRepeat(at.getTime())) return null;
  const dst = schedule.policy?.dst ?? DEFAULT_DST_POLICY;
  if (overlapFor(schedule.cron, dst.overlap) !== 'BOTH') return null;
  const pattern = new Cron(schedule.cron, { paused: true, timezone: 'UTC' });
  return explain(schedule, dst, new ZoneClock(schedule.timezone), pattern, at).reason ?? null;
}

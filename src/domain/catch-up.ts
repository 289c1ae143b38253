/**
 * Catch-up: which runs a schedule gets for the fire times that are due when the scheduler looks,
 * by the workflow's catch-up policy (src/domain/schedule-policy.ts). Usually exactly one fire time
 * is due; more are after an outage of the scheduler, a build that outlived several fire times or a
 * failover. Pure: the caller passes the due tick and the current time.
 *
 * - LATEST (the default, Chronoverse's behaviour before policies): ONE run stands for all the due
 *   fire times. It carries the first of them as its `scheduled_at`, so the lag is visible, and
 *   `skipped` counts the others (jobs.skipped_ticks): no storm of back-to-back runs after an outage.
 * - NONE: only the most recent fire time runs, and only if it is at most `window_seconds` late.
 * - ALL: every due fire time runs, the most recent `max_runs` of them.
 * `window_seconds` (all modes) drops fire times older than the window. The next tick is the first
 * fire time strictly after now in every mode.
 *
 * Cron fire times come from the schedule's DST policy (dst.ts, through `cronFireTimes`), the same
 * sequence the preview shows: a gap time skipped by policy SKIP is no due fire time here either.
 */
import { DEFAULT_SCHEDULE_POLICY, type CatchUpMode, type CatchUpPolicy } from './schedule-policy.ts';
import { cronFireTimes, type Schedule } from './schedule.ts';

/** Counting missed cron ticks stops here: beyond it, the exact number is not worth the CPU. */
export const MAX_COUNTED_SKIPS = 10_000;

export interface TickPlan {
  /** The fire times that get a run, earliest first (none when the policy drops every one). */
  fires: Date[];
  /** Due fire times (up to now) that get no run, counted up to MAX_COUNTED_SKIPS. */
  skipped: number;
  /** The first fire time strictly after `now`, or null when the schedule has no more (once). */
  nextRunAt: Date | null;
}

/** The fire times of a schedule that a catch-up needs, by form: arithmetic for intervals, croner for cron. */
interface DueTicks {
  /** Due fire times from `dueAt` up to now, counted up to 1 + MAX_COUNTED_SKIPS. */
  count: number;
  /** The count stopped at its cap (cron): there may be more. */
  capped: boolean;
  /** The first due fire time at or after `instant` (null: none up to now). */
  firstFrom(instant: Date): Date | null;
  /** The last `n` due fire times at or after `notBefore`, earliest first. */
  last(n: number, notBefore: Date): Date[];
  /** The fire time just before `instant` (null: none known). */
  previous(instant: Date): Date | null;
  next: Date | null;
}

function dueTicks(schedule: Schedule, dueAt: Date, now: Date): DueTicks {
  const due = dueAt.getTime();
  const end = Math.max(now.getTime(), due);
  switch (schedule.type) {
    case 'once':
      return {
        count: 1,
        capped: false,
        firstFrom: (instant) => (instant.getTime() <= due ? dueAt : null),
        last: (n, notBefore) => (n > 0 && notBefore.getTime() <= due ? [dueAt] : []),
        previous: () => null,
        next: null,
      };
    case 'interval': {
      const step = schedule.intervalMinutes * 60_000;
      const lastIndex = Math.floor((end - due) / step);
      const at = (i: number) => new Date(due + i * step);
      return {
        count: lastIndex + 1,
        capped: false,
        firstFrom: (instant) => {
          const i = Math.max(0, Math.ceil((instant.getTime() - due) / step));
          return i <= lastIndex ? at(i) : null;
        },
        last: (n, notBefore) => {
          const from = Math.max(lastIndex - n + 1, Math.ceil((notBefore.getTime() - due) / step), 0);
          return Array.from({ length: Math.max(0, lastIndex - from + 1) }, (_, k) => at(from + k));
        },
        previous: (instant) => new Date(instant.getTime() - step),
        next: at(lastIndex + 1),
      };
    }
    case 'cron': {
      // One fire-time sequence (one croner instance) for the count, the window and the next tick:
      // building one costs about as much as a step, and a burst of due cron workflows plans each
      // one (an on-time hourly plan, measured on this machine: 135–175 µs, as before policies;
      // 340–360 µs with the three instances this first had). The DST sequence matches on wall
      // clock with croner at a fixed UTC offset, no Intl per step: 14–24 µs against 70–88 µs with
      // croner's own zone handling (`node bench/plan-tick.ts`, old and new side by side, Dec 2026).
      const cron = cronFireTimes(schedule);
      let others = 0;
      let cursor = cron.next(dueAt);
      while (cursor !== null && cursor.getTime() <= end) {
        others += 1;
        if (others >= MAX_COUNTED_SKIPS) break;
        cursor = cron.next(cursor);
      }
      // The walk stopped at the first fire time after now, unless the count was capped first.
      const next = cursor === null || cursor.getTime() > end ? cursor : cron.next(new Date(end));
      return {
        count: others + 1,
        capped: others >= MAX_COUNTED_SKIPS,
        firstFrom: (instant) => {
          if (instant.getTime() <= due) return dueAt;
          const first = cron.next(new Date(instant.getTime() - 1));
          return first !== null && first.getTime() <= end ? first : null;
        },
        last: (n, notBefore) => {
          const floor = Math.max(due, notBefore.getTime());
          // previous is strictly before its reference; walk back from just after now, latest first.
          const found: Date[] = [];
          for (
            let at = cron.previous(new Date(end + 1));
            at !== null && found.length < n;
            at = cron.previous(at)
          ) {
            if (at.getTime() < floor) break;
            found.push(at);
          }
          // The due tick itself is always a fire time, even if the expression changed since.
          if (found.length < n && floor === due && !found.some((d) => d.getTime() === due)) found.push(dueAt);
          return found.reverse();
        },
        previous: (instant) => cron.previous(instant),
        next,
      };
    }
  }
}

export function planTick(
  schedule: Schedule,
  dueAt: Date,
  now: Date,
  catchUp: CatchUpPolicy = DEFAULT_SCHEDULE_POLICY.catchUp,
): TickPlan {
  const ticks = dueTicks(schedule, dueAt, now);
  // The oldest fire time the window lets run (no window: any).
  const notBefore = new Date(
    catchUp.windowSeconds === null ? -8.64e15 : now.getTime() - catchUp.windowSeconds * 1000,
  );
  let fires: Date[];
  switch (catchUp.mode) {
    case 'LATEST': {
      const first = ticks.firstFrom(notBefore);
      fires = first === null ? [] : [first];
      break;
    }
    case 'NONE':
      fires = ticks.last(1, notBefore);
      break;
    case 'ALL':
      fires = ticks.last(catchUp.maxRuns, notBefore);
      break;
  }
  return { fires, skipped: Math.max(0, ticks.count - fires.length), nextRunAt: ticks.next };
}

// ─── the tick ledger ─────────────────────────────────────────────────────────────────────────

/**
 * Most fire times one tick records one by one for a workflow (migration 0022, the tick ledger).
 * A minutely schedule whose scheduler was down for a month has 43,200 due fire times: the tick
 * records the most recent MAX_LEDGER_TICKS (and the run's own fire time under LATEST) and one
 * summary row for the older ones, so a tick's write stays bounded. Equal to CATCH_UP_MAX_RUNS_LIMIT,
 * so every run created by catch-up ALL has its own row.
 */
export const MAX_LEDGER_TICKS = 1_000;

/** What catch-up did with a due fire time; FIRE ones get a run unless the overlap policy says no. */
export type CatchUpOutcome = 'FIRE' | 'CAUGHT_UP' | 'SKIPPED_CATCH_UP' | HeldOutcome;

/** Why a workflow's due fire times are held back, not run: paused, or its build failed. */
export type HeldOutcome = 'PAUSED' | 'NOT_BUILT';

export interface LedgerTick {
  nominalAt: Date;
  outcome: CatchUpOutcome;
  /** Why it did not run on its own (null for FIRE). */
  reason: string | null;
}

export interface TickLedger {
  /** The fire times recorded one by one, earliest first. */
  ticks: LedgerTick[];
  /**
   * The older due fire times beyond MAX_LEDGER_TICKS, recorded as one row at the first of them
   * (`nominalAt`), or null. `count` is a lower bound when `atLeast` (a cron count stops at
   * MAX_COUNTED_SKIPS).
   */
  summary: (LedgerTick & { last: Date | null; count: number; atLeast: boolean }) | null;
}

const EARLIEST = new Date(-8.64e15);
const iso = (d: Date) => d.toISOString();

/**
 * The ledger of one tick: every fire time due from `dueAt` up to `now`, with what the catch-up
 * policy did with it, given the plan `planTick` made for the same arguments:
 * - FIRE: one of `plan.fires` (the scheduler then applies the overlap policy);
 * - CAUGHT_UP: LATEST folded it into the run of the first fire time (it runs as part of that one);
 * - SKIPPED_CATCH_UP: dropped, older than the window, by NONE (only the latest runs) or by ALL's
 *   `max_runs`.
 * Kept apart from planTick so that a scheduler without the ledger pays nothing for it, and an
 * on-time tick (one due fire time, the common case) builds nothing but its one entry.
 */
export function tickLedger(
  schedule: Schedule,
  dueAt: Date,
  now: Date,
  catchUp: CatchUpPolicy,
  plan: TickPlan,
): TickLedger {
  if (plan.skipped === 0) {
    return {
      ticks: plan.fires.map((nominalAt) => ({ nominalAt, outcome: 'FIRE', reason: null })),
      summary: null,
    };
  }
  const notBefore =
    catchUp.windowSeconds === null ? EARLIEST : new Date(now.getTime() - catchUp.windowSeconds * 1000);
  const fires = new Set(plan.fires.map((f) => f.getTime()));
  const latestFire = catchUp.mode === 'LATEST' ? (plan.fires[0] ?? null) : null;
  const classify = (t: Date): LedgerTick => {
    if (fires.has(t.getTime())) return { nominalAt: t, outcome: 'FIRE', reason: null };
    if (latestFire !== null && t.getTime() > latestFire.getTime()) {
      return {
        nominalAt: t,
        outcome: 'CAUGHT_UP',
        reason: `missed; catch-up LATEST folded it into the run for ${iso(latestFire)}`,
      };
    }
    let reason: string;
    if (t.getTime() < notBefore.getTime()) {
      reason = `missed by more than the catch-up window (${catchUp.windowSeconds} s)`;
    } else if (catchUp.mode === 'NONE') {
      reason = 'missed; catch-up NONE runs only the latest fire time';
    } else {
      reason = `missed; catch-up ALL runs the most recent ${catchUp.maxRuns} (max_runs)`;
    }
    return { nominalAt: t, outcome: 'SKIPPED_CATCH_UP', reason };
  };
  return bounded(dueTicks(schedule, dueAt, now), dueAt, plan.fires, classify, catchUp.mode);
}

/**
 * The ledger of the fire times of a paused workflow due from `dueAt` up to `now` (all PAUSED),
 * and the fire time after now: the scheduler records them and advances the workflow past them
 * (src/domain/pause.ts: nothing of a pause runs, not even as a catch-up run).
 */
export function pausedLedger(
  schedule: Schedule,
  dueAt: Date,
  now: Date,
  note: string | null,
): TickLedger & { nextRunAt: Date | null } {
  const reason = note === null ? 'the workflow was paused' : `the workflow was paused: ${note}`;
  return heldLedger(schedule, dueAt, now, 'PAUSED', reason);
}

/**
 * The ledger of the fire times of a workflow whose build failed (NOT_BUILT, with the build's
 * error), and the fire time after now. Held like a pause: a failed build needs an edit or a
 * rebuild, and the fire times that fell before it are not run afterwards as a catch-up run (a
 * fix in the afternoon does not start the morning's run; backfill does that on purpose).
 */
export function notBuiltLedger(
  schedule: Schedule,
  dueAt: Date,
  now: Date,
  buildError: string | null,
): TickLedger & { nextRunAt: Date | null } {
  const reason = `the workflow's build failed${buildError ? `: ${buildError}` : ''}`;
  return heldLedger(schedule, dueAt, now, 'NOT_BUILT', reason);
}

function heldLedger(
  schedule: Schedule,
  dueAt: Date,
  now: Date,
  outcome: HeldOutcome,
  reason: string,
): TickLedger & { nextRunAt: Date | null } {
  // A once schedule's instant in the future is not due yet.
  if (dueAt.getTime() > now.getTime()) return { ticks: [], summary: null, nextRunAt: dueAt };
  const ticks = dueTicks(schedule, dueAt, now);
  const ledger = bounded(ticks, dueAt, [], (t) => ({ nominalAt: t, outcome, reason }), outcome);
  return { ...ledger, nextRunAt: ticks.next };
}

/**
 * The most recent MAX_LEDGER_TICKS due fire times (plus `keep`, the LATEST run's own, which may
 * be older), classified, and one summary for the older ones.
 */
function bounded(
  ticks: DueTicks,
  dueAt: Date,
  keep: readonly Date[],
  classify: (t: Date) => LedgerTick,
  mode: CatchUpMode | HeldOutcome,
): TickLedger {
  let tail = ticks.last(MAX_LEDGER_TICKS, EARLIEST);
  const tailTimes = new Set(tail.map((t) => t.getTime()));
  const extra = keep.filter((k) => !tailTimes.has(k.getTime()));
  tail = tail.slice(extra.length);
  const kept = [...extra, ...tail].sort((a, b) => a.getTime() - b.getTime());
  const capped = ticks.capped;
  const omitted = ticks.count - kept.length;
  let summary: TickLedger['summary'] = null;
  if (omitted > 0 && tail.length > 0) {
    const keptTimes = new Set(kept.map((t) => t.getTime()));
    const first = keptTimes.has(dueAt.getTime()) ? ticks.firstFrom(new Date(dueAt.getTime() + 1)) : dueAt;
    const last = ticks.previous(tail[0]!);
    if (first !== null && !keptTimes.has(first.getTime())) {
      const entry = classify(first);
      const what =
        mode === 'PAUSED'
          ? 'the workflow was paused'
          : mode === 'NOT_BUILT'
            ? "the workflow's build had failed"
            : mode === 'LATEST'
              ? 'missed; folded into the catch-up run or older than the catch-up window'
              : 'missed; not run by the catch-up policy';
      summary = {
        ...entry,
        reason: `${omitted.toLocaleString('en-US')}${capped ? ' or more' : ''} fire times from ${iso(first)}${
          last ? ` to ${iso(last)}` : ''
        } (the ledger lists at most ${MAX_LEDGER_TICKS.toLocaleString('en-US')} per tick one by one): ${what}`,
        last,
        count: omitted,
        atLeast: capped,
      };
    }
  }
  return { ticks: kept.map(classify), summary };
}

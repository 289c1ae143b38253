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
import { DEFAULT_SCHEDULE_POLICY, type CatchUpPolicy } from './schedule-policy.ts';
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
  /** The first due fire time at or after `instant` (null: none up to now). */
  firstFrom(instant: Date): Date | null;
  /** The last `n` due fire times at or after `notBefore`, earliest first. */
  last(n: number, notBefore: Date): Date[];
  next: Date | null;
}

function dueTicks(schedule: Schedule, dueAt: Date, now: Date): DueTicks {
  const due = dueAt.getTime();
  const end = Math.max(now.getTime(), due);
  switch (schedule.type) {
    case 'once':
      return {
        count: 1,
        firstFrom: (instant) => (instant.getTime() <= due ? dueAt : null),
        last: (n, notBefore) => (n > 0 && notBefore.getTime() <= due ? [dueAt] : []),
        next: null,
      };
    case 'interval': {
      const step = schedule.intervalMinutes * 60_000;
      const lastIndex = Math.floor((end - due) / step);
      const at = (i: number) => new Date(due + i * step);
      return {
        count: lastIndex + 1,
        firstFrom: (instant) => {
          const i = Math.max(0, Math.ceil((instant.getTime() - due) / step));
          return i <= lastIndex ? at(i) : null;
        },
        last: (n, notBefore) => {
          const from = Math.max(lastIndex - n + 1, Math.ceil((notBefore.getTime() - due) / step), 0);
          return Array.from({ length: Math.max(0, lastIndex - from + 1) }, (_, k) => at(from + k));
        },
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

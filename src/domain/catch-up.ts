/**
 * Catch-up after downtime: however many ticks of a workflow were missed, it gets ONE run (for the
 * oldest missed tick, so the lag is visible), the other missed ticks are counted as skipped, and
 * the next tick is the first one after now. No storm of back-to-back runs after an outage.
 */
import { nextRunAfter, type Schedule } from './schedule.ts';

/** Counting missed cron ticks stops here: beyond it, the exact number is not worth the CPU. */
export const MAX_COUNTED_SKIPS = 10_000;

export interface TickPlan {
  /** The tick this run is for (the workflow's due `next_run_at`). */
  scheduledAt: Date;
  /** Due ticks after `scheduledAt` and up to `now` that are folded into this run. */
  skipped: number;
  /** The first tick strictly after `now`, or null when the schedule has no more (once). */
  nextRunAt: Date | null;
}

export function planTick(schedule: Schedule, dueAt: Date, now: Date): TickPlan {
  switch (schedule.type) {
    case 'once':
      return { scheduledAt: dueAt, skipped: 0, nextRunAt: null };
    case 'interval': {
      const step = schedule.intervalMinutes * 60_000;
      const behind = Math.max(0, now.getTime() - dueAt.getTime());
      const skipped = Math.floor(behind / step);
      return { scheduledAt: dueAt, skipped, nextRunAt: new Date(dueAt.getTime() + (skipped + 1) * step) };
    }
    case 'cron': {
      let skipped = 0;
      let cursor = dueAt;
      for (;;) {
        const next = nextRunAfter(schedule, cursor);
        if (next === null) return { scheduledAt: dueAt, skipped, nextRunAt: null };
        if (next.getTime() > now.getTime()) return { scheduledAt: dueAt, skipped, nextRunAt: next };
        skipped += 1;
        cursor = next;
        if (skipped >= MAX_COUNTED_SKIPS) {
          return { scheduledAt: dueAt, skipped, nextRunAt: nextRunAfter(schedule, now) };
        }
      }
    }
  }
}

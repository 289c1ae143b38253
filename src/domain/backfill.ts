/**
 * Backfill (issue 13): a workflow's fire times of a past range, run on request as jobs with
 * trigger BACKFILL. Pure: the request's rules and the fire times; the service stores them and the
 * feeder (src/services/backfills/feed.ts) turns them into jobs, `max_parallel` at a time.
 *
 * The fire times are the preview's (schedule-preview.ts: the same chain of `nextRunAfter` the
 * scheduler follows, the DST policy applied, the workflow's jitter added), restricted to
 * [from, to). So a backfill of a range runs exactly what the schedule would have run there.
 *
 * Choices (documented in docs/scheduling.md "Backfill"):
 * - `to` may not be in the future: times to come are the schedule's to run, and a backfill that
 *   ran them too would double them.
 * - A fire time that already ran (a scheduled run exists) is run again: a backfill is an explicit
 *   request, and a second run marked BACKFILL is what Temporal does; it never re-runs within
 *   itself (one job per backfill and fire time, jobs_backfill_fire_uq).
 * - `overlap` is the backfill's own: ALLOW_ALL (default) runs its runs beside the workflow's
 *   scheduled runs, which it never delays; BUFFER_ALL queues them with the scheduled runs, one
 *   run of the workflow at a time, in fire-time order (so they run before later scheduled ones).
 */
import type { FieldIssue } from './errors.ts';
import { nextRunAfter, cronFireTimes, type Schedule } from './schedule.ts';
import { parsePreviewFrom, previewFireTimes, withJitter, type FireTime } from './schedule-preview.ts';

/** Most fire times one backfill runs (a larger range is a 400 on `to`). */
export const BACKFILL_MAX_FIRE_TIMES = 10_000;
export const BACKFILL_MAX_PARALLEL = 100;
export const BACKFILL_DEFAULT_MAX_PARALLEL = 1;
export const BACKFILL_OVERLAPS = ['ALLOW_ALL', 'BUFFER_ALL'] as const;
export type BackfillOverlap = (typeof BACKFILL_OVERLAPS)[number];
export const BACKFILL_STATUSES = ['RUNNING', 'COMPLETED', 'CANCELED'] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

export interface BackfillRequest {
  from: Date;
  to: Date;
  overlap: BackfillOverlap;
  maxParallel: number;
  dryRun: boolean;
}

const FIELDS = new Set(['from', 'to', 'overlap', 'max_parallel', 'dry_run']);

/** The body of `POST /workflows/{id}/backfill`, every problem named by its field. */
export function validateBackfillInput(
  body: unknown,
  now: Date,
): { ok: true; value: BackfillRequest } | { ok: false; issues: FieldIssue[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  }
  const input = body as Record<string, unknown>;
  const issues: FieldIssue[] = Object.keys(input)
    .filter((k) => !FIELDS.has(k))
    .map((k) => ({ path: k, message: 'is not a known field' }));
  const from = parsePreviewFrom(input.from);
  if (from === null) issues.push({ path: 'from', message: 'must be an RFC 3339 date-time with an offset' });
  const to = parsePreviewFrom(input.to);
  if (to === null) issues.push({ path: 'to', message: 'must be an RFC 3339 date-time with an offset' });
  else if (from !== null && to.getTime() <= from.getTime()) {
    issues.push({ path: 'to', message: 'must be after from' });
  } else if (to.getTime() > now.getTime()) {
    issues.push({
      path: 'to',
      message: `must not be in the future (now is ${now.toISOString()}): the schedule runs the times to come`,
    });
  }
  const overlap = input.overlap ?? 'ALLOW_ALL';
  if (!(BACKFILL_OVERLAPS as readonly unknown[]).includes(overlap)) {
    issues.push({ path: 'overlap', message: `must be one of ${BACKFILL_OVERLAPS.join(', ')}` });
  }
  const maxParallel = input.max_parallel ?? BACKFILL_DEFAULT_MAX_PARALLEL;
  if (
    typeof maxParallel !== 'number' ||
    !Number.isInteger(maxParallel) ||
    maxParallel < 1 ||
    maxParallel > BACKFILL_MAX_PARALLEL
  ) {
    issues.push({ path: 'max_parallel', message: `must be an integer from 1 to ${BACKFILL_MAX_PARALLEL}` });
  }
  const dryRun = input.dry_run ?? false;
  if (typeof dryRun !== 'boolean') issues.push({ path: 'dry_run', message: 'must be a boolean' });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      from: from!,
      to: to!,
      overlap: overlap as BackfillOverlap,
      maxParallel: maxParallel as number,
      dryRun: dryRun as boolean,
    },
  };
}

/**
 * The schedule's fire times in [from, to), with the jitter of the workflow (`at` is the jittered
 * instant the run gets, `nominalAt` the schedule's own time, `reason` the DST explanation), or
 * the issue on `to` when there are more than BACKFILL_MAX_FIRE_TIMES. `phase` is an interval
 * schedule's phase (as the preview takes it: one interval before its `next_run_at`).
 */
export function backfillFireTimes(
  schedule: Schedule,
  range: { from: Date; to: Date },
  phase: Date,
  workflowId: string,
  jitterSeconds: number,
): { ok: true; fireTimes: FireTime[] } | { ok: false; issue: FieldIssue } {
  // Strictly after `after`: the range includes `from` itself.
  const after = new Date(range.from.getTime() - 1);
  let anchor = phase;
  if (schedule.type === 'interval') {
    // An interval's grid runs forward from its anchor: moved back by whole steps to before the range.
    const step = schedule.intervalMinutes * 60_000;
    const behind = anchor.getTime() - after.getTime();
    if (behind >= 0) anchor = new Date(anchor.getTime() - (Math.floor(behind / step) + 1) * step);
  }
  const toMs = range.to.getTime();
  // Counted first along the bare chain (cheap), so that a sparse schedule over a long range does
  // not walk past `to`, and a dense one stops one past the limit.
  const cron = schedule.type === 'cron' ? cronFireTimes(schedule) : null;
  let count = 0;
  for (let cursor: Date | null = after; ;) {
    const next: Date | null = cron !== null ? cron.next(cursor) : nextRunAfter(schedule, cursor, anchor);
    if (next === null || next.getTime() >= toMs) break;
    count++;
    if (count > BACKFILL_MAX_FIRE_TIMES) {
      return {
        ok: false,
        issue: {
          path: 'to',
          message: `the range has more than ${BACKFILL_MAX_FIRE_TIMES.toLocaleString('en-US')} fire times; backfill a shorter range`,
        },
      };
    }
    cursor = next;
  }
  if (count === 0) return { ok: true, fireTimes: [] };
  const fireTimes = previewFireTimes(schedule, after, count, anchor).filter((f) => f.at.getTime() < toMs);
  return { ok: true, fireTimes: withJitter(fireTimes, workflowId, jitterSeconds) };
}

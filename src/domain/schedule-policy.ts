/**
 * Schedule policies (issue 13): what happens when a fire time comes while earlier runs are still
 * going (overlap), what happens to fire times that passed while nothing could run them (catch-up),
 * and how far a run is spread after its nominal time (jitter). Pure: the scheduler applies them
 * with the facts it reads (src/workers/scheduler/scheduler.ts).
 *
 * The defaults are Chronoverse's behaviour before policies existed: overlapping runs queue
 * (BUFFER_ALL), missed fire times fold into one catch-up run (LATEST), no jitter.
 *
 * Names follow Temporal's schedule overlap policies (SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER),
 * the richest set in the field; Kubernetes' Forbid is SKIP, Replace is CANCEL_OTHER and Allow is
 * ALLOW_ALL: runs of one workflow side by side. Its runs are created `concurrent` (migration 0024),
 * which takes them out of the claim's one-at-a-time rule and jobs_one_running_per_workflow; the
 * other policies' runs keep that rule, so the claim costs them nothing more.
 */
import { z } from 'zod';
import { cronFireTimes, type Schedule } from './schedule.ts';
import {
  DEFAULT_DST_POLICY,
  DST_GAP_POLICIES,
  DST_OVERLAP_POLICIES,
  type DstGapPolicy,
  type DstOverlapPolicy,
  type DstPolicy,
} from './dst.ts';

export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'ALLOW_ALL'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const CATCH_UP_MODES = ['NONE', 'LATEST', 'ALL'] as const;
export type CatchUpMode = (typeof CATCH_UP_MODES)[number];

export interface CatchUpPolicy {
  mode: CatchUpMode;
  /**
   * How late a fire time may still run, in seconds; older ones are not run (counted as skipped).
   * null: no limit (LATEST, ALL). NONE always has one: NONE_GRACE_SECONDS unless given.
   */
  windowSeconds: number | null;
  /** ALL: most runs one catch-up creates (the most recent fire times win). */
  maxRuns: number;
}

export interface SchedulePolicy {
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  /** Each run starts up to this many seconds after its fire time (deterministic per workflow and time). */
  jitterSeconds: number;
  /**
   * A run not started this many seconds after its (jittered) time is not started at all: it ends
   * CANCELED with error MISSED_DEADLINE (Kubernetes' startingDeadlineSeconds). null: no deadline.
   */
  startingDeadlineSeconds: number | null;
  /** Cron only (an interval counts elapsed time, it has no wall clock): daylight saving, dst.ts. */
  dst: DstPolicy;
}

/**
 * NONE runs a fire time only while it is "now": up to a minute late, the time a scheduler takes
 * to notice a due schedule after a restart or a failover (leases are 30 s, polls 1 s).
 */
export const NONE_GRACE_SECONDS = 60;
/** ALL: runs created for missed fire times by default, and at most (a day of 15-minute ticks is 96). */
export const CATCH_UP_MAX_RUNS_DEFAULT = 100;
export const CATCH_UP_MAX_RUNS_LIMIT = 1_000;
/** One year, Temporal's default catch-up window and our upper bound. */
export const CATCH_UP_WINDOW_MAX_SECONDS = 31_536_000;
export const JITTER_MAX_SECONDS = 3_600;
export const STARTING_DEADLINE_MAX_SECONDS = 86_400;
/** Fire times of a cron expression sampled to find its shortest gap, for the jitter bound. */
const JITTER_GAP_SAMPLES = 50;

export const DEFAULT_SCHEDULE_POLICY: SchedulePolicy = Object.freeze({
  overlap: 'BUFFER_ALL',
  catchUp: Object.freeze({ mode: 'LATEST', windowSeconds: null, maxRuns: CATCH_UP_MAX_RUNS_DEFAULT }),
  jitterSeconds: 0,
  startingDeadlineSeconds: null,
  dst: DEFAULT_DST_POLICY,
}) as SchedulePolicy;

// ─── API shape ───────────────────────────────────────────────────────────────────────────────

export const SchedulePolicySchema = z
  .object({
    overlap: z
      .enum(OVERLAP_POLICIES)
      .optional()
      .describe(
        'A fire time while runs of the workflow are queued or running: SKIP it; BUFFER_ONE (at most one waiting run); BUFFER_ALL (queue every run; default); CANCEL_OTHER (cancel them, then run).',
      ),
    catch_up: z
      .object({
        mode: z
          .enum(CATCH_UP_MODES)
          .describe(
            'Fire times missed while nothing could run them (scheduler down, workflow building): NONE runs none; LATEST (default) runs one standing for all of them; ALL runs each (up to max_runs).',
          ),
        window_seconds: z
          .number()
          .int()
          .min(1)
          .max(CATCH_UP_WINDOW_MAX_SECONDS)
          .optional()
          .describe(
            `How late a fire time may still run; older ones are skipped. Default: none for LATEST and ALL, ${NONE_GRACE_SECONDS} for NONE.`,
          ),
        max_runs: z
          .number()
          .int()
          .min(1)
          .max(CATCH_UP_MAX_RUNS_LIMIT)
          .optional()
          .describe(
            `ALL only: most runs one catch-up creates, the most recent win (default ${CATCH_UP_MAX_RUNS_DEFAULT}).`,
          ),
      })
      .strict()
      .superRefine((c, ctx) => {
        if (c.max_runs !== undefined && c.mode !== 'ALL') {
          ctx.addIssue({ code: 'custom', path: ['max_runs'], message: 'applies to mode ALL only' });
        }
      })
      .optional(),
    jitter_seconds: z
      .number()
      .int()
      .min(0)
      .max(JITTER_MAX_SECONDS)
      .optional()
      .describe(
        'Each run starts up to this many seconds after its fire time; the same offset for the same workflow and time.',
      ),
    starting_deadline_seconds: z
      .number()
      .int()
      .min(1)
      .max(STARTING_DEADLINE_MAX_SECONDS)
      .optional()
      .describe(
        'A run not started this long after its time is not started: it ends CANCELED with error MISSED_DEADLINE.',
      ),
    dst: z
      .object({
        gap: z
          .enum(DST_GAP_POLICIES)
          .optional()
          .describe(
            'A time that does not exist (spring-forward gap): RUN_AFTER_GAP (default) runs it once at the first instant after the gap; SKIP does not run it.',
          ),
        overlap: z
          .enum(DST_OVERLAP_POLICIES)
          .optional()
          .describe(
            'A time that occurs twice (autumn overlap): FIRST runs the first occurrence only; BOTH runs both. Default: BOTH when the minute or hour field starts with *, else FIRST (Vixie cron).',
          ),
      })
      .strict()
      .optional()
      .describe('Cron schedules only: daylight-saving changes (docs/scheduling.md).'),
  })
  .strict()
  .meta({ id: 'SchedulePolicy' });
export type SchedulePolicyInput = z.output<typeof SchedulePolicySchema>;

/** The policy of an API body (absent fields take the defaults). */
export function schedulePolicyFrom(input: SchedulePolicyInput | undefined): SchedulePolicy {
  if (input === undefined) return DEFAULT_SCHEDULE_POLICY;
  const mode = input.catch_up?.mode ?? DEFAULT_SCHEDULE_POLICY.catchUp.mode;
  return {
    overlap: input.overlap ?? DEFAULT_SCHEDULE_POLICY.overlap,
    catchUp: {
      mode,
      windowSeconds: input.catch_up?.window_seconds ?? (mode === 'NONE' ? NONE_GRACE_SECONDS : null),
      maxRuns: input.catch_up?.max_runs ?? CATCH_UP_MAX_RUNS_DEFAULT,
    },
    jitterSeconds: input.jitter_seconds ?? 0,
    startingDeadlineSeconds: input.starting_deadline_seconds ?? null,
    dst: {
      gap: input.dst?.gap ?? DEFAULT_DST_POLICY.gap,
      overlap: input.dst?.overlap ?? DEFAULT_DST_POLICY.overlap,
    },
  };
}

/** The API's view of a policy, every field filled in. */
export interface SchedulePolicyView {
  overlap: OverlapPolicy;
  catch_up: { mode: CatchUpMode; window_seconds: number | null; max_runs: number | null };
  jitter_seconds: number;
  starting_deadline_seconds: number | null;
  /** `overlap` null: by the expression (dst.ts `overlapFor`). Interval schedules show the defaults. */
  dst: { gap: DstGapPolicy; overlap: DstOverlapPolicy | null };
}

/** A view as stored in workflows.schedule_policy: `dst` only when it is not the default. */
export type StoredSchedulePolicyView = Omit<SchedulePolicyView, 'dst'> &
  Partial<Pick<SchedulePolicyView, 'dst'>>;

export function schedulePolicyView(p: SchedulePolicy): SchedulePolicyView {
  return {
    overlap: p.overlap,
    catch_up: {
      mode: p.catchUp.mode,
      window_seconds: p.catchUp.windowSeconds,
      max_runs: p.catchUp.mode === 'ALL' ? p.catchUp.maxRuns : null,
    },
    jitter_seconds: p.jitterSeconds,
    starting_deadline_seconds: p.startingDeadlineSeconds,
    dst: { gap: p.dst.gap, overlap: p.dst.overlap },
  };
}

/**
 * A stored view back to the policy (the column holds what the API showed). Views stored before
 * the DST policy existed have no `dst`: the defaults, which are what those schedules did.
 */
export function schedulePolicyFromView(v: StoredSchedulePolicyView): SchedulePolicy {
  return {
    overlap: v.overlap,
    catchUp: {
      mode: v.catch_up.mode,
      windowSeconds: v.catch_up.window_seconds,
      maxRuns: v.catch_up.max_runs ?? CATCH_UP_MAX_RUNS_DEFAULT,
    },
    jitterSeconds: v.jitter_seconds,
    startingDeadlineSeconds: v.starting_deadline_seconds ?? null,
    dst: {
      gap: v.dst?.gap ?? DEFAULT_DST_POLICY.gap,
      overlap: v.dst?.overlap ?? DEFAULT_DST_POLICY.overlap,
    },
  };
}

/**
 * The shortest API input that means `v`: the fields that differ from their defaults ({} for the
 * defaults). What definition files say and `export` writes.
 */
export function minimalPolicyInput(v: StoredSchedulePolicyView): SchedulePolicyInput {
  const out: SchedulePolicyInput = {};
  if (v.overlap !== DEFAULT_SCHEDULE_POLICY.overlap) out.overlap = v.overlap;
  const c = v.catch_up;
  const defaultWindow = c.mode === 'NONE' ? NONE_GRACE_SECONDS : null;
  const window =
    c.window_seconds !== defaultWindow && c.window_seconds !== null ? c.window_seconds : undefined;
  const maxRuns =
    c.mode === 'ALL' && c.max_runs !== null && c.max_runs !== CATCH_UP_MAX_RUNS_DEFAULT
      ? c.max_runs
      : undefined;
  if (c.mode !== DEFAULT_SCHEDULE_POLICY.catchUp.mode || window !== undefined || maxRuns !== undefined) {
    out.catch_up = {
      mode: c.mode,
      ...(window !== undefined ? { window_seconds: window } : {}),
      ...(maxRuns !== undefined ? { max_runs: maxRuns } : {}),
    };
  }
  if (v.jitter_seconds !== 0) out.jitter_seconds = v.jitter_seconds;
  if (v.starting_deadline_seconds !== null) out.starting_deadline_seconds = v.starting_deadline_seconds;
  // Views stored before the DST policy have none (the defaults).
  const gap = v.dst?.gap ?? DEFAULT_DST_POLICY.gap;
  const overlap = v.dst?.overlap ?? DEFAULT_DST_POLICY.overlap;
  if (gap !== DEFAULT_DST_POLICY.gap || overlap !== null) {
    out.dst = {
      ...(gap !== DEFAULT_DST_POLICY.gap ? { gap } : {}),
      ...(overlap !== null ? { overlap } : {}),
    };
  }
  return out;
}

export function isDefaultPolicy(p: SchedulePolicy): boolean {
  return (
    JSON.stringify(schedulePolicyView(p)) === JSON.stringify(schedulePolicyView(DEFAULT_SCHEDULE_POLICY))
  );
}

/**
 * Why a jitter cannot be accepted for a schedule, or null. A jitter must stay below the shortest
 * gap between two fire times: a run spread past the next fire time would start after it, out of
 * order. For cron the gap is the shortest among the next fire times after `now`.
 */
export function jitterProblem(schedule: Schedule, jitterSeconds: number, now: Date): string | null {
  if (jitterSeconds === 0) return null;
  const gapMs = shortestGapMs(schedule, now);
  if (gapMs === null || jitterSeconds * 1000 < gapMs) return null;
  return `must be less than the shortest time between two runs (${Math.floor(gapMs / 1000)} seconds)`;
}

function shortestGapMs(schedule: Schedule, now: Date): number | null {
  switch (schedule.type) {
    case 'once':
      return null;
    case 'interval':
      return schedule.intervalMinutes * 60_000;
    case 'cron': {
      let shortest: number | null = null;
      const fires = cronFireTimes(schedule);
      let previous = fires.next(now);
      for (let i = 0; previous !== null && i < JITTER_GAP_SAMPLES; i++) {
        const next = fires.next(previous);
        if (next === null) break;
        const gap = next.getTime() - previous.getTime();
        shortest = shortest === null ? gap : Math.min(shortest, gap);
        previous = next;
      }
      return shortest;
    }
  }
}

// ─── jitter ──────────────────────────────────────────────────────────────────────────────────

/**
 * The delay of one run after its fire time: a hash of the workflow and the nominal time, so that
 * a preview, a retried tick and a second scheduler all agree, and runs of many workflows due at
 * the same instant spread evenly over the window (FNV-1a: tiny, fast, well spread for short keys;
 * nothing here needs to resist an adversary).
 */
export function jitterMs(workflowId: string, nominalAt: Date, jitterSeconds: number): number {
  if (jitterSeconds <= 0) return 0;
  const key = `${workflowId}|${nominalAt.toISOString()}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 0x1_0000_0000) * jitterSeconds * 1000);
}

// ─── overlap ─────────────────────────────────────────────────────────────────────────────────

/** The workflow's unfinished jobs when a fire time comes. */
export interface ActiveRuns {
  running: number;
  /** PENDING or QUEUED: created, not started (retries waiting for their delay included). */
  waiting: number;
}

export interface OverlapDecision {
  /** How many of the fire times (in order, earliest first) get a run. */
  admit: number;
  /** Cancel every unfinished job of the workflow first (CANCEL_OTHER with something to cancel). */
  cancelActive: boolean;
}

/**
 * Which of `fires` new runs (earliest first) the overlap policy lets in, given what is unfinished.
 * Runs created in one tick count against each other: under SKIP the first of several catch-up
 * runs is in progress when the next would start, so only the first gets a run.
 */
export function decideOverlap(policy: OverlapPolicy, fires: number, active: ActiveRuns): OverlapDecision {
  const unfinished = active.running + active.waiting;
  switch (policy) {
    case 'BUFFER_ALL':
    case 'ALLOW_ALL':
      // Every fire time gets a run: queued behind the unfinished ones, or (ALLOW_ALL) beside them.
      return { admit: fires, cancelActive: false };
    case 'SKIP':
      return { admit: unfinished > 0 ? 0 : Math.min(fires, 1), cancelActive: false };
    case 'BUFFER_ONE':
      // One running and one waiting at most; a waiting job starts next, so it holds the buffer.
      return { admit: Math.min(fires, Math.max(0, 2 - unfinished)), cancelActive: false };
    case 'CANCEL_OTHER':
      // Only the last fire time runs: each earlier one would be canceled by the next at once.
      return { admit: Math.min(fires, 1), cancelActive: unfinished > 0 && fires > 0 };
  }
}

/** Under CANCEL_OTHER the run kept of several is the most recent; the others keep the earliest. */
export function keptFires<T>(policy: OverlapPolicy, fires: readonly T[], admit: number): T[] {
  if (admit <= 0) return [];
  return policy === 'CANCEL_OTHER' ? fires.slice(-admit) : fires.slice(0, admit);
}

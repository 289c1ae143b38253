/**
 * The job state machine. Every state change in SQL is a guarded conditional UPDATE whose WHERE
 * clause names the states this table allows for the event; zero rows updated means someone else
 * won (a normal outcome, not an error). CHECK constraints in the schema back the invariants:
 * `completed_at` is set exactly in final states, a lease exists exactly while RUNNING.
 *
 *   PENDING ──dispatch──▶ QUEUED ──claim──▶ RUNNING ──succeed──▶ COMPLETED
 *      ▲  └────────claim──────────────────▲   │ ├──fail──────────▶ FAILED
 *      └──────retry (SYSTEM, attempts left) / lease lost / release ─┘ │
 *   PENDING | QUEUED | RUNNING ──cancel──▶ CANCELED                  │
 */
import { retryDelaySeconds, shouldRetry, type TaskFailure, type TaskRetryPolicy } from './task-retry.ts';

/** SKIPPED: a DAG task whose condition was false; a task row is inserted SKIPPED, never moves to it. */
export const JOB_STATES = [
  'PENDING',
  'QUEUED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'SKIPPED',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The states a run (a job that is not a DAG's task) can be in: never SKIPPED. List filters take these. */
export const RUN_STATES = [
  'PENDING',
  'QUEUED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
] as const satisfies readonly JobState[];

export const FINAL_JOB_STATES = [
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'SKIPPED',
] as const satisfies readonly JobState[];
export type FinalJobState = (typeof FINAL_JOB_STATES)[number];

/** States of a job that has left the queue (PENDING/QUEUED): running or final. A workflow's recent runs. */
export const DEQUEUED_JOB_STATES = ['RUNNING', ...FINAL_JOB_STATES] as const satisfies readonly JobState[];

export const JOB_EVENTS = ['dispatch', 'claim', 'succeed', 'fail', 'retry', 'release', 'cancel'] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

/** BACKFILL: a fire time of a past range run on request (POST /workflows/{id}/backfill). */
export const JOB_TRIGGERS = ['AUTOMATIC', 'MANUAL', 'BACKFILL'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export const ERROR_KINDS = ['USER', 'SYSTEM'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const TRANSITIONS: Record<JobEvent, { from: readonly JobState[]; to: JobState }> = {
  dispatch: { from: ['PENDING'], to: 'QUEUED' },
  claim: { from: ['PENDING', 'QUEUED'], to: 'RUNNING' },
  succeed: { from: ['RUNNING'], to: 'COMPLETED' },
  fail: { from: ['RUNNING'], to: 'FAILED' },
  retry: { from: ['RUNNING'], to: 'PENDING' },
  /** Handed back unstarted by a stopping executor: the attempt does not count. */
  release: { from: ['RUNNING'], to: 'PENDING' },
  cancel: { from: ['PENDING', 'QUEUED', 'RUNNING'], to: 'CANCELED' },
};

/**
 * How far a cancel reaches. 'waiting': only jobs that have not started (PENDING, QUEUED), for a
 * pause, a reschedule or rebuild, a missed starting deadline: nothing runs, nothing to stop.
 * 'unfinished': RUNNING ones too, for a user's cancel, a terminate, CANCEL_OTHER, a backfill's cancel.
 */
export type CancelScope = 'waiting' | 'unfinished';

/**
 * The states a cancel of `scope` takes jobs from: cancel's `from` states, and for 'waiting' only
 * those a claim could still take (not started yet). The guard of every cancel in SQL.
 */
export function cancelFrom(scope: CancelScope): readonly JobState[] {
  const from = TRANSITIONS.cancel.from;
  return scope === 'unfinished' ? from : from.filter((s) => TRANSITIONS.claim.from.includes(s));
}

/**
 * Whether a job canceled from state `was` must be told to stop (`job:cancel-requested` to its
 * executor): only one that was running something. A DAG run runs nothing itself; its running
 * tasks are jobs of their own and are told instead.
 */
export function stopsOnCancel(was: JobState, kind: string): boolean {
  return was === 'RUNNING' && kind !== 'DAG';
}

export class IllegalTransition {
  readonly from: JobState;
  readonly event: JobEvent;
  constructor(from: JobState, event: JobEvent) {
    this.from = from;
    this.event = event;
  }
}

/** The state after `event`, or an IllegalTransition value (not thrown: callers decide). */
export function transition(from: JobState, event: JobEvent): JobState | IllegalTransition {
  const rule = TRANSITIONS[event];
  return rule.from.includes(from) ? rule.to : new IllegalTransition(from, event);
}

export function isFinal(state: JobState): state is FinalJobState {
  return (FINAL_JOB_STATES as readonly JobState[]).includes(state);
}

/** How one attempt ended, as far as the job's next state depends on it. */
export type AttemptResult =
  | { kind: 'succeeded' }
  /** `retryable`: a SYSTEM failure (ours or the infrastructure's); USER failures never are. */
  | { kind: 'failed'; retryable: boolean }
  | { kind: 'canceled' };

/** Exponential backoff of retries: `baseMs`, doubled per attempt, at most `maxMs`. */
export interface RetryBackoff {
  baseMs: number;
  maxMs: number;
}

/** The delay before the attempt after `attempt` (1-based): base × 2^(attempt−1), capped. */
export function retryDelayMs(attempt: number, backoff: RetryBackoff): number {
  return Math.min(backoff.baseMs * 2 ** Math.max(0, attempt - 1), backoff.maxMs);
}

export interface AttemptEnd {
  event: 'succeed' | 'fail' | 'retry' | 'cancel';
  /** The job's state after the event (TRANSITIONS[event].to). */
  to: JobState;
  /** For a retry: how long the job waits before it is runnable again; otherwise null. */
  retryDelayMs: number | null;
}

/**
 * The transition that ends a RUNNING attempt: a retryable failure is retried while attempts
 * remain, every other failure (and a retryable one on the last attempt) fails the job.
 */
export function attemptEnd(
  result: AttemptResult,
  attempt: number,
  maxAttempts: number,
  backoff: RetryBackoff,
): AttemptEnd {
  const end = (event: AttemptEnd['event'], delay: number | null = null): AttemptEnd => ({
    event,
    to: TRANSITIONS[event].to,
    retryDelayMs: delay,
  });
  switch (result.kind) {
    case 'succeeded':
      return end('succeed');
    case 'canceled':
      return end('cancel');
    case 'failed':
      return result.retryable && attempt < maxAttempts
        ? end('retry', retryDelayMs(attempt, backoff))
        : end('fail');
  }
}

/**
 * The end of an attempt of a DAG task: its own retry policy (task-retry.ts) decides, by the class
 * of the failure (`on`) and with its own backoff, instead of the SYSTEM-only rule of a job.
 */
export function taskAttemptEnd(
  result: AttemptResult,
  failure: TaskFailure | null,
  attempt: number,
  policy: TaskRetryPolicy,
): AttemptEnd {
  if (result.kind !== 'failed' || failure === null) {
    return attemptEnd(result, attempt, 1, { baseMs: 0, maxMs: 0 });
  }
  return shouldRetry(policy, failure, attempt)
    ? { event: 'retry', to: TRANSITIONS.retry.to, retryDelayMs: retryDelaySeconds(policy, attempt) * 1000 }
    : { event: 'fail', to: TRANSITIONS.fail.to, retryDelayMs: null };
}

import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, type TaskRetryPolicy } from './task-retry.ts';
import {
  attemptEnd,
  cancelFrom,
  IllegalTransition,
  stopsOnCancel,
  taskAttemptEnd,
  retryDelayMs,
  isFinal,
  JOB_EVENTS,
  JOB_STATES,
  transition,
  type JobEvent,
  type JobState,
} from './job-state.ts';

const EXPECTED: Record<JobState, Partial<Record<JobEvent, JobState>>> = {
  PENDING: { dispatch: 'QUEUED', claim: 'RUNNING', cancel: 'CANCELED' },
  QUEUED: { claim: 'RUNNING', cancel: 'CANCELED' },
  RUNNING: { succeed: 'COMPLETED', fail: 'FAILED', retry: 'PENDING', release: 'PENDING', cancel: 'CANCELED' },
  COMPLETED: {},
  FAILED: {},
  CANCELED: {},
  SKIPPED: {},
};

describe('job state machine', () => {
  const cases = JOB_STATES.flatMap((from) => JOB_EVENTS.map((event) => [from, event] as const));
  it.each(cases)('%s --%s-->', (from, event) => {
    const expected = EXPECTED[from][event];
    const result = transition(from, event);
    if (expected) expect(result).toBe(expected);
    else expect(result).toBeInstanceOf(IllegalTransition);
  });

  it('final states accept no event', () => {
    for (const state of JOB_STATES) {
      expect(isFinal(state)).toBe(Object.keys(EXPECTED[state]).length === 0);
    }
  });
});

describe('cancel', () => {
  it('takes unfinished jobs, and for a waiting-only cancel those not started', () => {
    expect(cancelFrom('unfinished')).toEqual(['PENDING', 'QUEUED', 'RUNNING']);
    expect(cancelFrom('waiting')).toEqual(['PENDING', 'QUEUED']);
    // Every state it takes from can be canceled; no final state is in either.
    for (const scope of ['unfinished', 'waiting'] as const) {
      for (const state of cancelFrom(scope)) expect(transition(state, 'cancel')).toBe('CANCELED');
    }
  });

  it.each([
    // was, kind → told to stop
    ['RUNNING', 'HEARTBEAT', true],
    ['RUNNING', 'CONTAINER', true],
    ['RUNNING', 'DAG', false],
    ['QUEUED', 'CONTAINER', false],
    ['PENDING', 'HEARTBEAT', false],
  ] as const)('a %s %s job canceled is told to stop: %s', (was, kind, stop) => {
    expect(stopsOnCancel(was, kind)).toBe(stop);
  });
});

describe('the end of an attempt', () => {
  const backoff = { baseMs: 10_000, maxMs: 300_000 };

  it('doubles the retry delay per attempt from the base, up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelayMs(a, backoff))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]);
    expect(retryDelayMs(1, { baseMs: 500, maxMs: 400 })).toBe(400);
  });

  it.each([
    // result, attempt, max attempts → event, state, delay
    [{ kind: 'succeeded' }, 1, 3, 'succeed', 'COMPLETED', null],
    [{ kind: 'succeeded' }, 3, 3, 'succeed', 'COMPLETED', null],
    [{ kind: 'canceled' }, 1, 3, 'cancel', 'CANCELED', null],
    [{ kind: 'failed', retryable: false }, 1, 3, 'fail', 'FAILED', null],
    [{ kind: 'failed', retryable: true }, 1, 3, 'retry', 'PENDING', 10_000],
    [{ kind: 'failed', retryable: true }, 2, 3, 'retry', 'PENDING', 20_000],
    [{ kind: 'failed', retryable: true }, 3, 3, 'fail', 'FAILED', null],
    [{ kind: 'failed', retryable: true }, 1, 1, 'fail', 'FAILED', null],
  ] as const)('%o on attempt %d of %d → %s (%s, delay %s)', (result, attempt, max, event, to, delay) => {
    expect(attemptEnd(result, attempt, max, backoff)).toEqual({ event, to, retryDelayMs: delay });
  });
});

describe('the end of an attempt of a DAG task (its own retry policy)', () => {
  const policy: TaskRetryPolicy = { limit: 2, backoff: DEFAULT_BACKOFF, on: ['TIMEOUT', 'HTTP_5XX'] };

  it.each([
    // result, failure, attempt → event, state, delay
    [{ kind: 'succeeded' }, null, 1, 'succeed', 'COMPLETED', null],
    [{ kind: 'canceled' }, null, 1, 'cancel', 'CANCELED', null],
    // A failure of a class the policy names is retried with the policy's backoff, up to its limit.
    [{ kind: 'failed', retryable: false }, { kind: 'TIMEOUT' }, 1, 'retry', 'PENDING', 10_000],
    [{ kind: 'failed', retryable: false }, { kind: 'USER', httpStatus: 503 }, 2, 'retry', 'PENDING', 20_000],
    [{ kind: 'failed', retryable: false }, { kind: 'TIMEOUT' }, 3, 'fail', 'FAILED', null],
    // A class it does not name fails the task, retryable or not by a job's rule.
    [{ kind: 'failed', retryable: true }, { kind: 'SYSTEM' }, 1, 'fail', 'FAILED', null],
    [{ kind: 'failed', retryable: false }, { kind: 'USER', exitCode: 1 }, 1, 'fail', 'FAILED', null],
    // No failure class known: a job's rule with one attempt.
    [{ kind: 'failed', retryable: true }, null, 1, 'fail', 'FAILED', null],
  ] as const)('%o (%o) on attempt %d → %s (%s, delay %s)', (result, failure, attempt, event, to, delay) => {
    expect(taskAttemptEnd(result, failure, attempt, policy)).toEqual({ event, to, retryDelayMs: delay });
  });
});

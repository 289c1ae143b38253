import { describe, expect, it } from 'vitest';
import {
  attemptEnd,
  IllegalTransition,
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

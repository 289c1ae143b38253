import { describe, expect, it } from 'vitest';
import {
  IllegalTransition,
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
  RUNNING: { succeed: 'COMPLETED', fail: 'FAILED', retry: 'PENDING', cancel: 'CANCELED' },
  COMPLETED: {},
  FAILED: {},
  CANCELED: {},
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

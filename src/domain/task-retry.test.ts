import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import {
  DEFAULT_BACKOFF,
  DEFAULT_RETRY_ON,
  failureClasses,
  NO_RETRY,
  retryDelaySeconds,
  retryPolicyOf,
  RetryPolicySchema,
  shouldRetry,
  type TaskFailure,
} from './task-retry.ts';

function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

const policy = (field: unknown) => retryPolicyOf(RetryPolicySchema.parse(field));

describe('retryPolicyOf', () => {
  it('is no retry without a field, and every failure class with only a limit', () => {
    expect(retryPolicyOf(undefined)).toBe(NO_RETRY);
    expect(NO_RETRY.limit).toBe(0);
    expect(policy({ limit: 3 })).toEqual({ limit: 3, backoff: DEFAULT_BACKOFF, on: DEFAULT_RETRY_ON });
  });

  it('fills backoff defaults and folds duplicate and zero-padded classes', () => {
    expect(
      policy({ limit: 1, backoff: { factor: 3 }, on: ['EXIT_CODE:007', 'EXIT_CODE:7', 'USER', 'USER'] }),
    ).toEqual({
      limit: 1,
      backoff: { initialSeconds: 10, factor: 3, maxSeconds: 300 },
      on: ['EXIT_CODE:7', 'USER'],
    });
  });

  it.each([
    [{ limit: 1, on: ['EXIT_CODE:256'] }, ['on', 0]],
    [{ limit: 1, on: ['OOM'] }, ['on', 0]],
    [{ limit: 1, on: [] }, ['on']],
    [{ limit: 101 }, ['limit']],
    [{ limit: 1, backoff: { initial_seconds: 600 } }, ['backoff', 'max_seconds']],
    [{ limit: 1, extra: true }, []],
  ])('refuses %o at %o', (field, path) => {
    const parsed = RetryPolicySchema.safeParse(field);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(path);
  });
});

describe('shouldRetry and failureClasses', () => {
  it.each<[TaskFailure, string[]]>([
    [{ kind: 'SYSTEM' }, ['SYSTEM']],
    [{ kind: 'TIMEOUT' }, ['TIMEOUT']],
    [{ kind: 'USER', httpStatus: 503 }, ['USER', 'HTTP_5XX']],
    [{ kind: 'USER', httpStatus: 404 }, ['USER']],
    [{ kind: 'USER', exitCode: 75 }, ['USER', 'EXIT_CODE:75']],
    [{ kind: 'USER', exitCode: null, httpStatus: null }, ['USER']],
  ])('%o belongs to %o', (failure, classes) => {
    expect(failureClasses(failure)).toEqual(classes);
  });

  it('retries the classes named, while retries remain', () => {
    const p = policy({ limit: 2, on: ['HTTP_5XX', 'EXIT_CODE:75'] });
    expect(shouldRetry(p, { kind: 'USER', httpStatus: 502 }, 1)).toBe(true);
    expect(shouldRetry(p, { kind: 'USER', httpStatus: 502 }, 2)).toBe(true);
    expect(shouldRetry(p, { kind: 'USER', httpStatus: 502 }, 3)).toBe(false);
    expect(shouldRetry(p, { kind: 'USER', httpStatus: 404 }, 1)).toBe(false);
    expect(shouldRetry(p, { kind: 'USER', exitCode: 75 }, 1)).toBe(true);
    expect(shouldRetry(p, { kind: 'USER', exitCode: 1 }, 1)).toBe(false);
    expect(shouldRetry(p, { kind: 'SYSTEM' }, 1)).toBe(false);
    expect(shouldRetry(NO_RETRY, { kind: 'SYSTEM' }, 1)).toBe(false);
    expect(shouldRetry(policy({ limit: 1 }), { kind: 'TIMEOUT' }, 1)).toBe(true);
  });
});

describe('retryDelaySeconds', () => {
  it('grows by the factor from the initial delay, up to the maximum', () => {
    const p = policy({ limit: 9, backoff: { initial_seconds: 2, factor: 3, max_seconds: 100 } });
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelaySeconds(p, a))).toEqual([2, 6, 18, 54, 100, 100]);
  });

  it('never decreases and stays within [initial, max] (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 86_400, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        (initial, factor, extra, attempt) => {
          const p = {
            limit: 100,
            on: DEFAULT_RETRY_ON,
            backoff: { initialSeconds: initial, factor, maxSeconds: initial + extra },
          };
          const delay = retryDelaySeconds(p, attempt);
          expect(delay).toBeGreaterThanOrEqual(initial);
          expect(delay).toBeLessThanOrEqual(initial + extra);
          expect(retryDelaySeconds(p, attempt + 1)).toBeGreaterThanOrEqual(delay);
        },
      ),
      { numRuns: runs(2_000) },
    );
  });
});

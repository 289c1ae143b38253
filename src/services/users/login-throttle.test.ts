import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.ts';

describe('LoginThrottle', () => {
  it('allows up to the limit of failures, then refuses until the oldest leaves the window', () => {
    const t = new LoginThrottle(60_000);
    for (let i = 0; i < 3; i++) {
      expect(t.check('k', 3, 1_000 * i).allowed).toBe(true);
      t.recordFailure('k', 1_000 * i);
    }
    const refused = t.check('k', 3, 5_000);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 55 });
    expect(t.check('k', 3, 60_001).allowed).toBe(true);
  });

  it('keeps keys apart and forgets on clear', () => {
    const t = new LoginThrottle(60_000);
    t.recordFailure('a', 0);
    expect(t.check('a', 1, 1).allowed).toBe(false);
    expect(t.check('b', 1, 1).allowed).toBe(true);
    t.clear('a');
    expect(t.check('a', 1, 1).allowed).toBe(true);
  });

  it('bounds its memory under a spray of distinct keys', () => {
    const t = new LoginThrottle(60_000, 100);
    for (let i = 0; i < 1_000; i++) t.recordFailure(`k${i}`, i);
    // The newest keys are still counted.
    expect(t.check('k999', 1, 1_000).allowed).toBe(false);
  });
});

describe('LoginThrottle.reserve', () => {
  it('counts attempts before they finish, so a parallel burst cannot exceed the limit', () => {
    const t = new LoginThrottle(60_000);
    const limits = [
      { key: 'email:a', limit: 3 },
      { key: 'ip:1', limit: 100 },
    ];
    const verdicts = Array.from({ length: 20 }, () => t.reserve(limits, 0));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
  });

  it('gives back the attempt on release, and refuses when any key is exhausted', () => {
    const t = new LoginThrottle(60_000);
    expect(t.reserve([{ key: 'k', limit: 1 }], 5).allowed).toBe(true);
    expect(t.reserve([{ key: 'k', limit: 1 }], 6).allowed).toBe(false);
    t.release('k', 5);
    expect(t.reserve([{ key: 'k', limit: 1 }], 7).allowed).toBe(true);
    t.recordFailure('blocked', 0);
    expect(
      t.reserve(
        [
          { key: 'free', limit: 5 },
          { key: 'blocked', limit: 1 },
        ],
        1,
      ).allowed,
    ).toBe(false);
    // A refused reservation counts nothing against the other keys.
    expect(t.check('free', 1, 1).allowed).toBe(true);
  });

  it('lets `free` attempts through, then makes each further one wait twice as long, up to the cap', () => {
    const t = new LoginThrottle(900_000);
    const key = { key: 'pair', limit: 100, delay: { free: 3, baseMs: 5_000, maxMs: 20_000 } };
    let now = 0;
    for (let i = 0; i < 3; i++) expect(t.reserve([key], now).allowed).toBe(true);
    // 4th: 5 s after the 3rd.
    expect(t.reserve([key], now + 4_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 5_000;
    expect(t.reserve([key], now).allowed).toBe(true);
    // 5th: 10 s after the 4th; 6th: 20 s; 7th: still 20 s (the cap).
    expect(t.reserve([key], now + 9_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(t.reserve([key], now + 1_000)).toEqual({ allowed: false, retryAfterSeconds: 9 });
    now += 10_000;
    expect(t.reserve([key], now).allowed).toBe(true);
    expect(t.reserve([key], now + 19_000).allowed).toBe(false);
    now += 20_000;
    expect(t.reserve([key], now).allowed).toBe(true);
    expect(t.reserve([key], now + 19_000).allowed).toBe(false);
    now += 20_000;
    expect(t.reserve([key], now).allowed).toBe(true);
    // Cleared (a success): free again at once.
    t.clear('pair');
    expect(t.reserve([key], now + 1).allowed).toBe(true);
  });

  it('keeps each key in its own window', () => {
    const t = new LoginThrottle(60_000);
    const long = { key: 'register:1', limit: 1, windowMs: 3_600_000 };
    expect(t.reserve([long], 0).allowed).toBe(true);
    expect(t.reserve([long], 120_000)).toEqual({ allowed: false, retryAfterSeconds: 3_480 });
    expect(t.reserve([long], 3_600_001).allowed).toBe(true);
  });
});

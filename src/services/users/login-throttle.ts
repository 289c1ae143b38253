/**
 * Attempt throttle for logins, registrations and password checks: counts attempts per key (an
 * (email, address) pair, an address, an account) in a sliding window and refuses an attempt when
 * a key reached its limit, or when the key asks for a progressive delay and the previous attempt
 * is too recent.
 *
 * Why keys are what they are (UsersService.login): nothing is ever counted per email alone, so
 * failures from one address never refuse a correct password from another (no lockout of an
 * account by a stranger); an (email, address) pair gets a few free failures, then waits that
 * double with each failure (5 s, 10 s, 20 s … up to the window); an address gets a hard limit
 * across emails (password spraying).
 *
 * In-process memory: exact for the embedded profile and per process in a multi-process deployment
 * (the distributed profile shares the counters through Redis behind `LoginAttemptThrottle`).
 */
export interface ThrottleVerdict {
  allowed: boolean;
  retryAfterSeconds: number;
}

/** One counter an attempt must pass. */
export interface ThrottleLimit {
  key: string;
  /** At most this many attempts in the window. */
  limit: number;
  /** The sliding window of this key (default: the throttle's). */
  windowMs?: number;
  /**
   * Progressive delay: once the key holds `free` attempts in the window, the next one must come
   * `baseMs · 2^(attempts − free)` (at most `maxMs`) after the latest.
   */
  delay?: { free: number; baseMs: number; maxMs: number };
}

/**
 * What UsersService needs of a throttle: this in-memory class, or the Redis one shared by every
 * users-service replica (src/services/users/redis-login-throttle.ts). Results may be promises.
 */
export interface LoginAttemptThrottle {
  /** See LoginThrottle.reserve: counts the attempt before the password check. */
  reserve(limits: ReadonlyArray<ThrottleLimit>, now: number): ThrottleVerdict | Promise<ThrottleVerdict>;
  /** Gives back one attempt reserved at `at`. */
  release(key: string, at: number): void | Promise<void>;
  /** Forgets every attempt of `key`. */
  clear(key: string): void | Promise<void>;
}

/** The verdict of one key holding `recent` attempts (ascending times) at `now`. */
export function judge(
  recent: readonly number[],
  limit: ThrottleLimit,
  windowMs: number,
  now: number,
): ThrottleVerdict {
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
  const max = Math.max(1, limit.limit);
  if (recent.length >= max) {
    const oldest = recent[recent.length - max]!;
    return { allowed: false, retryAfterSeconds: seconds(oldest + windowMs - now) };
  }
  const d = limit.delay;
  if (d && recent.length > 0 && recent.length >= d.free) {
    const wait = Math.min(d.baseMs * 2 ** (recent.length - d.free), d.maxMs);
    const until = recent[recent.length - 1]! + wait;
    if (now < until) return { allowed: false, retryAfterSeconds: seconds(until - now) };
  }
  return { allowed: true, retryAfterSeconds: 0 };
}

export class LoginThrottle implements LoginAttemptThrottle {
  readonly #attempts = new Map<string, { windowMs: number; times: number[] }>();
  readonly #windowMs: number;
  readonly #maxKeys: number;

  constructor(windowMs: number, maxKeys = 100_000) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  check(key: string, limit: number, now: number): ThrottleVerdict {
    return judge(this.#recent(key, now), { key, limit }, this.#windowOf(key), now);
  }

  recordFailure(key: string, now: number, windowMs = this.#windowMs): void {
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#attempts.set(key, { windowMs, times: recent });
    if (this.#attempts.size > this.#maxKeys) this.#sweep(now);
  }

  /**
   * Checks every key and, when all allow it, counts the attempt up front; the caller gives it back
   * with `release` (or `clear`) if the attempt succeeds. Counting before the (slow) password check
   * is what stops a burst of parallel guesses from all passing the check.
   */
  reserve(limits: ReadonlyArray<ThrottleLimit>, now: number): ThrottleVerdict {
    for (const l of limits) {
      const windowMs = l.windowMs ?? this.#windowMs;
      const verdict = judge(this.#recent(l.key, now, windowMs), l, windowMs, now);
      if (!verdict.allowed) return verdict;
    }
    for (const l of limits) this.recordFailure(l.key, now, l.windowMs ?? this.#windowMs);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Gives back one attempt reserved at `at`. */
  release(key: string, at: number): void {
    const entry = this.#attempts.get(key);
    if (!entry) return;
    const index = entry.times.lastIndexOf(at);
    if (index >= 0) entry.times.splice(index, 1);
    if (entry.times.length === 0) this.#attempts.delete(key);
  }

  clear(key: string): void {
    this.#attempts.delete(key);
  }

  #windowOf(key: string): number {
    return this.#attempts.get(key)?.windowMs ?? this.#windowMs;
  }

  #recent(key: string, now: number, windowMs = this.#windowOf(key)): number[] {
    const entry = this.#attempts.get(key);
    if (!entry) return [];
    const recent = entry.times.filter((t) => t > now - windowMs);
    if (recent.length === 0) this.#attempts.delete(key);
    else if (recent.length !== entry.times.length) this.#attempts.set(key, { windowMs, times: recent });
    return recent;
  }

  #sweep(now: number): void {
    for (const key of [...this.#attempts.keys()]) this.#recent(key, now);
    // Still over: drop the oldest keys rather than grow without bound under a spray attack.
    for (const key of this.#attempts.keys()) {
      if (this.#attempts.size <= this.#maxKeys) break;
      this.#attempts.delete(key);
    }
  }
}

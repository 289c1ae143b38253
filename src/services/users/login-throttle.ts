/**
 * Failed-login throttle: counts failures per key (an email, a client IP) in a sliding window and
 * refuses further attempts once a key reaches its limit, until its oldest failure leaves the window.
 *
 * In-process memory: exact for the embedded profile and per process in a multi-process deployment
 * (the distributed profile shares the counters through Redis behind `LoginAttemptThrottle`).
 */
export interface ThrottleVerdict {
  allowed: boolean;
  retryAfterSeconds: number;
}

/**
 * What UsersService needs of a throttle: this in-memory class, or the Redis one shared by every
 * users-service replica (src/services/users/redis-login-throttle.ts). Results may be promises.
 */
export interface LoginAttemptThrottle {
  /** See LoginThrottle.reserve: counts the attempt before the password check. */
  reserve(
    limits: ReadonlyArray<{ key: string; limit: number }>,
    now: number,
  ): ThrottleVerdict | Promise<ThrottleVerdict>;
  /** Gives back one attempt reserved at `at`. */
  release(key: string, at: number): void | Promise<void>;
  /** Forgets every failure of `key`. */
  clear(key: string): void | Promise<void>;
}

export class LoginThrottle implements LoginAttemptThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly #windowMs: number;
  readonly #maxKeys: number;

  constructor(windowMs: number, maxKeys = 100_000) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  check(key: string, limit: number, now: number): ThrottleVerdict {
    const recent = this.#recent(key, now);
    if (recent.length < limit) return { allowed: true, retryAfterSeconds: 0 };
    const oldest = recent[recent.length - limit]!;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.#windowMs - now) / 1000)),
    };
  }

  recordFailure(key: string, now: number): void {
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#failures.set(key, recent);
    if (this.#failures.size > this.#maxKeys) this.#sweep(now);
  }

  /**
   * Checks every key and, when all allow it, counts the attempt as a failure up front; the
   * caller gives it back with `release` if the attempt succeeds. Counting before the (slow)
   * password check is what stops a burst of parallel guesses from all passing the check.
   */
  reserve(limits: ReadonlyArray<{ key: string; limit: number }>, now: number): ThrottleVerdict {
    for (const { key, limit } of limits) {
      const verdict = this.check(key, limit, now);
      if (!verdict.allowed) return verdict;
    }
    for (const { key } of limits) this.recordFailure(key, now);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Gives back one attempt reserved at `at`. */
  release(key: string, at: number): void {
    const all = this.#failures.get(key);
    if (!all) return;
    const index = all.lastIndexOf(at);
    if (index >= 0) all.splice(index, 1);
    if (all.length === 0) this.#failures.delete(key);
  }

  clear(key: string): void {
    this.#failures.delete(key);
  }

  #recent(key: string, now: number): number[] {
    const all = this.#failures.get(key);
    if (!all) return [];
    const recent = all.filter((t) => t > now - this.#windowMs);
    if (recent.length === 0) this.#failures.delete(key);
    else if (recent.length !== all.length) this.#failures.set(key, recent);
    return recent;
  }

  #sweep(now: number): void {
    for (const key of [...this.#failures.keys()]) this.#recent(key, now);
    // Still over: drop the oldest keys rather than grow without bound under a spray attack.
    for (const key of this.#failures.keys()) {
      if (this.#failures.size <= this.#maxKeys) break;
      this.#failures.delete(key);
    }
  }
}

/**
 * Attempt throttle shared by every users-service replica: the same sliding windows, progressive
 * delays and reserve-before-the-password-check semantics as the in-memory LoginThrottle
 * (./login-throttle.ts, whose design note says why the keys are what they are), with each key's
 * recent attempts in a Redis sorted set (score = time in ms, member unique per attempt).
 *
 * loginThrottleReserve (Lua, atomic across replicas): for every key, drop entries that left its
 * window; refuse if the key already holds `limit` of them (answering when its oldest counting
 * entry leaves the window), or if it asks for a progressive delay and its latest attempt is more
 * recent than `base · 2^(count − free)` (capped); when every key allows it, add the attempt to all
 * of them and let each key expire one window after its last attempt. Checking and counting in one
 * script is what stops parallel guesses on several replicas from all passing the check.
 *
 * When Redis is unreachable (not connected, an error, a timeout) the throttle falls back to this
 * process's in-memory throttle, logged once per outage: limits then hold per replica (never
 * unlimited, never everyone locked out) until Redis answers again. Keys are hashed, so no email
 * or address is stored in Redis.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/logger.ts';
import type { RedisConnection } from '../../platform/redis/connection.ts';
import {
  LoginThrottle,
  type LoginAttemptThrottle,
  type ThrottleLimit,
  type ThrottleVerdict,
} from './login-throttle.ts';

/** ARGV: now, member, then five values per key: limit, window, free (-1: no delay), base, max. */
const RESERVE_LUA = `
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local o = 2 + (i - 1) * 5
  local limit = math.max(tonumber(ARGV[o + 1]), 1)
  local window = tonumber(ARGV[o + 2])
  local free = tonumber(ARGV[o + 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now}
  end
  if free >= 0 and count > 0 and count >= free then
    local wait = math.min(tonumber(ARGV[o + 4]) * 2 ^ (count - free), tonumber(ARGV[o + 5]))
    local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    local ready = tonumber(latest[2]) + wait
    if now < ready then return {0, math.ceil(ready - now)} end
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + (i - 1) * 5 + 2]))
end
return {1, 0}
`;

/** Removes one attempt recorded at exactly ARGV[1] (any of them: they count the same). */
const RELEASE_LUA = `
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if found[1] then redis.call('ZREM', KEYS[1], found[1]) end
return 0
`;

interface ThrottleCommands {
  cvLoginThrottleReserve(...args: (string | number)[]): Promise<[number, number]>;
  cvLoginThrottleRelease(key: string, at: number): Promise<number>;
}

export class RedisLoginThrottle implements LoginAttemptThrottle {
  readonly #redis: RedisConnection;
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #fallback: LoginThrottle;
  #degraded = false;

  /** `windowMs`: the default sliding window (config `auth.loginWindowMs`), as for LoginThrottle. */
  constructor(deps: { redis: RedisConnection; logger: Logger }, windowMs: number) {
    this.#redis = deps.redis;
    this.#logger = deps.logger;
    this.#windowMs = windowMs;
    this.#fallback = new LoginThrottle(windowMs);
    deps.redis.client.defineCommand('cvLoginThrottleReserve', { lua: RESERVE_LUA });
    deps.redis.client.defineCommand('cvLoginThrottleRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
  }

  /** True while the counters live in this process's memory because Redis is unreachable. */
  get degraded(): boolean {
    return this.#degraded;
  }

  async reserve(limits: ReadonlyArray<ThrottleLimit>, now: number): Promise<ThrottleVerdict> {
    if (this.#redis.ready) {
      try {
        const [allowed, retryAfterMs] = await this.#commands.cvLoginThrottleReserve(
          limits.length,
          ...limits.map((l) => this.#redisKey(l.key)),
          now,
          `${now}:${randomUUID()}`,
          ...limits.flatMap((l) => [
            l.limit,
            l.windowMs ?? this.#windowMs,
            l.delay?.free ?? -1,
            l.delay?.baseMs ?? 0,
            l.delay?.maxMs ?? 0,
          ]),
        );
        this.#recovered();
        return allowed === 1
          ? { allowed: true, retryAfterSeconds: 0 }
          : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(retryAfterMs) / 1000)) };
      } catch (err) {
        this.#degrade((err as Error).message);
      }
    } else {
      this.#degrade('not connected');
    }
    return this.#fallback.reserve(limits, now);
  }

  async release(key: string, at: number): Promise<void> {
    // Wherever the attempt was counted (Redis, or memory during an outage): give it back there.
    this.#fallback.release(key, at);
    if (!this.#redis.ready) return;
    await this.#commands.cvLoginThrottleRelease(this.#redisKey(key), at).catch(() => {});
  }

  async clear(key: string): Promise<void> {
    this.#fallback.clear(key);
    if (!this.#redis.ready) return;
    await this.#redis.client.del(this.#redisKey(key)).catch(() => {});
  }

  get #commands(): ThrottleCommands {
    return this.#redis.client as unknown as ThrottleCommands;
  }

  /** `login:<sha-256 of the throttle key>` (the connection adds the configured prefix). */
  #redisKey(key: string): string {
    return `login:${createHash('sha256').update(key).digest('hex')}`;
  }

  #degrade(reason: string): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#logger.warn(
      { reason },
      'login throttle: redis unreachable, counting failed logins in this process only until it is back',
    );
  }

  #recovered(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#logger.info('login throttle: redis reachable again, counters shared again');
  }
}

/**
 * RedisLoginThrottle behind two UsersService instances (two users-service replicas) on one
 * database and one real redis-server: failures of an (email, address) pair count across replicas
 * (also in parallel) and slow that pair down, never the email from other addresses; the per-address
 * limit holds across replicas, a success gives its attempt back; with Redis stopped each replica
 * falls back to its own memory (still limited, correct passwords still work), and neither FLUSHALL
 * nor a restart logs anyone out (PostgreSQL is the source of truth for sessions).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InvalidCredentialsError, RateLimitedError } from '../../src/domain/errors.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection } from '../../src/platform/redis/connection.ts';
import { RedisLoginThrottle } from '../../src/services/users/redis-login-throttle.ts';
import { UsersService, type UsersServiceConfig } from '../../src/services/users/service.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, LogCapture, PASSWORD, TestClock, uniqueEmail } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const CONFIG: UsersServiceConfig = {
  sessionTtlMs: 3_600_000,
  patDefaultDays: 30,
  loginFreeFailures: 3,
  loginDelayMs: 5_000,
  loginMaxFailuresPerIp: 8,
  loginWindowMs: 60_000,
  registerMaxPerIp: 100,
  registerWindowMs: 60_000,
};
const FREE = CONFIG.loginFreeFailures;

let ipCounter = 0;
const uniqueIp = () => `10.1.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

/** The outcome of one login: 'ok', 'invalid' or 'limited'. */
async function attempt(users: UsersService, email: string, password: string, ip: string): Promise<string> {
  try {
    await users.login({ email, password, ip });
    return 'ok';
  } catch (err) {
    if (err instanceof InvalidCredentialsError) return 'invalid';
    if (err instanceof RateLimitedError) return 'limited';
    throw err;
  }
}

describe('RedisLoginThrottle', () => {
  let database: Database;
  let server: RedisServer;
  const clock = new TestClock();
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const replicas: { redis: RedisConnection; throttle: RedisLoginThrottle; users: UsersService }[] = [];
  let shared: RedisConnection;

  async function replica(url: string, prefix: string) {
    const redis = new RedisConnection({ url, keyPrefix: prefix, name: 'users', logger, maxBackoffMs: 200 });
    expect(await redis.waitReady()).toBe(true);
    const throttle = new RedisLoginThrottle({ redis, logger }, CONFIG.loginWindowMs);
    const users = new UsersService(database.db, clock, CONFIG, { throttle });
    const r = { redis, throttle, users };
    replicas.push(r);
    return r;
  }

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const r of replicas) await r.redis.close();
    await database?.close();
    await server?.destroy();
  });

  describe('on the shared redis-server', () => {
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    let a: Awaited<ReturnType<typeof replica>>;
    let b: Awaited<ReturnType<typeof replica>>;

    beforeAll(async () => {
      a = await replica(inject('redisUrl'), prefix);
      b = await replica(inject('redisUrl'), prefix);
      shared = a.redis;
    });

    it('slows an (email, address) pair after N failures spread over two replicas, never the email elsewhere', async () => {
      const email = uniqueEmail();
      await a.users.createUser({ email, password: PASSWORD });
      const ip = uniqueIp();
      const outcomes = [];
      for (let i = 0; i < FREE; i++) {
        outcomes.push(await attempt(i % 2 ? a.users : b.users, email, 'wrong password', ip));
      }
      expect(outcomes).toEqual(['invalid', 'invalid', 'invalid']);
      // Slowed down on both replicas from that address, even with the right password.
      expect(await attempt(a.users, email, PASSWORD, ip)).toBe('limited');
      expect(await attempt(b.users, email, 'wrong password', ip)).toBe('limited');
      try {
        await b.users.login({ email, password: PASSWORD, ip });
      } catch (err) {
        expect((err as RateLimitedError).retryAfterSeconds).toBe(5);
      }
      // Another address is never refused because this one failed.
      expect(await attempt(b.users, email, PASSWORD, uniqueIp())).toBe('ok');
      // Counters live under the prefix, hashed (no email or address in Redis).
      const keys = await shared.client.keys(`${prefix}login:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.join(' ')).not.toContain(email);
      expect(keys.join(' ')).not.toContain(ip);

      clock.advance(CONFIG.loginDelayMs);
      expect(await attempt(a.users, email, PASSWORD, ip)).toBe('ok');
    });

    it('counts parallel guesses of one address atomically across replicas: exactly N are checked', async () => {
      const email = uniqueEmail();
      await a.users.createUser({ email, password: PASSWORD });
      const ip = uniqueIp();
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) => attempt(i % 2 ? a.users : b.users, email, 'wrong', ip)),
      );
      expect(outcomes.filter((o) => o === 'invalid')).toHaveLength(FREE);
      expect(outcomes.filter((o) => o === 'limited')).toHaveLength(12 - FREE);
    });

    it('limits per IP across replicas, and a success gives its IP attempt back', async () => {
      const ip = uniqueIp();
      const email = uniqueEmail();
      await a.users.createUser({ email, password: PASSWORD });
      // Successes do not use up the IP's allowance.
      for (let i = 0; i < CONFIG.loginMaxFailuresPerIp + 2; i++) {
        expect(await attempt(i % 2 ? a.users : b.users, email, PASSWORD, ip)).toBe('ok');
      }
      const outcomes = [];
      for (let i = 0; i < CONFIG.loginMaxFailuresPerIp + 1; i++) {
        outcomes.push(await attempt(i % 2 ? a.users : b.users, uniqueEmail('nobody'), 'x', ip));
      }
      expect(outcomes.slice(0, -1).every((o) => o === 'invalid')).toBe(true);
      expect(outcomes.at(-1)).toBe('limited');
    });

    it('a success clears the pair counter on every replica', async () => {
      const email = uniqueEmail();
      await a.users.createUser({ email, password: PASSWORD });
      const ip = uniqueIp();
      for (let i = 0; i < FREE - 1; i++) {
        expect(await attempt(a.users, email, 'wrong', ip)).toBe('invalid');
      }
      expect(await attempt(b.users, email, PASSWORD, ip)).toBe('ok');
      for (let i = 0; i < FREE; i++) {
        expect(await attempt(i % 2 ? a.users : b.users, email, 'wrong', ip)).toBe('invalid');
      }
      expect(await attempt(a.users, email, 'wrong', ip)).toBe('limited');
    });
  });

  describe('when Redis goes away', () => {
    it('falls back to per-process counters (still limited), logs it, and sessions survive FLUSHALL and restarts', async () => {
      const a = await replica(server.url, 'cv:');
      const b = await replica(server.url, 'cv:');
      const email = uniqueEmail();
      await a.users.createUser({ email, password: PASSWORD });
      const session = await a.users.login({ email, password: PASSWORD, ip: uniqueIp() });

      await a.redis.client.flushall();
      expect((await b.users.authenticate(session.token))?.user.email).toBe(email);

      await server.stop();
      await waitFor(async () => !a.redis.ready && !b.redis.ready, 5_000);
      // Never locked out: the right password works on both replicas.
      expect(await attempt(a.users, email, PASSWORD, uniqueIp())).toBe('ok');
      expect(await attempt(b.users, email, PASSWORD, uniqueIp())).toBe('ok');
      expect(a.throttle.degraded).toBe(true);
      expect(logs.text).toContain('login throttle: redis unreachable');
      // Never unlimited: each replica still slows a pair down after N failures of its own.
      const ip = uniqueIp();
      for (const r of [a, b]) {
        for (let i = 0; i < FREE; i++) {
          expect(await attempt(r.users, email, 'wrong', ip)).toBe('invalid');
        }
        expect(await attempt(r.users, email, 'wrong', ip)).toBe('limited');
      }
      // Sessions do not depend on Redis.
      expect((await a.users.authenticate(session.token))?.user.email).toBe(email);

      await server.start();
      await waitFor(async () => a.redis.ready && b.redis.ready, 10_000);
      expect((await b.users.authenticate(session.token))?.user.email).toBe(email);
      // Shared again (Redis restarted empty): N failures over both replicas block.
      clock.advance(CONFIG.loginWindowMs + 1);
      const other = uniqueEmail();
      const otherIp = uniqueIp();
      for (let i = 0; i < FREE; i++) {
        expect(await attempt(i % 2 ? a.users : b.users, other, 'wrong', otherIp)).toBe('invalid');
      }
      expect(await attempt(a.users, other, 'wrong', otherIp)).toBe('limited');
      expect(a.throttle.degraded).toBe(false);
      expect(logs.text).toContain('login throttle: redis reachable again');
    });
  });
});

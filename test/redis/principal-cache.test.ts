/**
 * The principal cache on a real redis-server, with two users-service replicas on one database and
 * a gateway reading the cache: logout, PAT revoke, password and preference changes made on one
 * replica take effect at once for the gateway; negative results are not cached; a fill that read
 * the database before a revocation cannot resurrect the token; entries never outlive their token;
 * FLUSHALL and a Redis restart (or outage) never log anyone out.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection } from '../../src/platform/redis/connection.ts';
import { hashToken } from '../../src/platform/tokens.ts';
import { PrincipalCache, withPrincipalCache } from '../../src/services/users/principal-cache.ts';
import { UsersService, type UsersServiceConfig } from '../../src/services/users/service.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, PASSWORD, uniqueEmail } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const CONFIG: UsersServiceConfig = {
  sessionTtlMs: 3_600_000,
  patDefaultDays: 30,
  loginFreeFailures: 10,
  loginDelayMs: 1_000,
  loginMaxFailuresPerIp: 100,
  loginWindowMs: 60_000,
  registerMaxPerIp: 100,
  registerWindowMs: 60_000,
};
const logger = createLogger('silent');
const clock = { now: () => new Date() };

describe('PrincipalCache', () => {
  let database: Database;
  const connections: RedisConnection[] = [];

  async function deployment(url: string, prefix: string) {
    const connect = async (name: string) => {
      const c = new RedisConnection({ url, keyPrefix: prefix, name, logger, maxBackoffMs: 200 });
      connections.push(c);
      expect(await c.waitReady()).toBe(true);
      return c;
    };
    const replica = async (name: string) => {
      const redis = await connect(name);
      return new UsersService(database.db, clock, CONFIG, {
        principalCache: new PrincipalCache({ redis, logger }),
      });
    };
    const a = await replica('users-a');
    const b = await replica('users-b');
    const gatewayRedis = await connect('gateway');
    const cache = new PrincipalCache({ redis: gatewayRedis, logger });
    // The gateway talks to replica B (as if over RPC) and reads the cache first.
    const gateway = withPrincipalCache(b, cache);
    return { a, b, cache, gateway, redis: gatewayRedis };
  }

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    await database?.close();
  });

  describe('on the shared redis-server', () => {
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    let d: Awaited<ReturnType<typeof deployment>>;
    const key = (token: string) => `principal:${hashToken(token)}`;

    beforeAll(async () => {
      d = await deployment(inject('redisUrl'), prefix);
    });

    it('fills on a successful authenticate, with a TTL of at most 30 s; negative results are not cached', async () => {
      const email = uniqueEmail();
      const { token, user } = await d.a.register({ email, password: PASSWORD });
      expect(await d.cache.get(token)).toBeNull();
      expect((await d.gateway.authenticate(token))?.user.id).toBe(user.id);
      const cached = await d.cache.get(token);
      expect(cached).toMatchObject({ user: { id: user.id, email }, tokenKind: 'session' });
      const ttl = await d.redis.client.pttl(key(token));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30_000);
      // Other methods are the service's own.
      expect((await d.gateway.getUser(user.id)).email).toBe(email);

      const unknown = `cvs_${randomBytes(32).toString('base64url')}`;
      expect(await d.gateway.authenticate(unknown)).toBeNull();
      expect(await d.redis.client.exists(key(unknown))).toBe(0);
      expect(await d.gateway.authenticate('not a token')).toBeNull();
    });

    it('logout on another replica takes effect at once', async () => {
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();
      expect(await d.cache.get(session.token)).not.toBeNull();
      await d.a.revokeToken(session.tokenId);
      expect(await d.cache.get(session.token)).toBeNull();
      expect(await d.gateway.authenticate(session.token)).toBeNull();
    });

    it('a PAT revoked on another replica stops working at once', async () => {
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      const principal = (await d.b.authenticate(session.token))!;
      const pat = await d.b.createPersonalAccessToken(principal, { name: 'ci' });
      expect((await d.gateway.authenticate(pat.token))?.tokenKind).toBe('pat');
      expect(await d.cache.get(pat.token)).not.toBeNull();
      await d.a.revokePersonalAccessToken(session.user.id, pat.id);
      expect(await d.gateway.authenticate(pat.token)).toBeNull();
    });

    it('revoking a token on another replica stops the tokens it minted at once too', async () => {
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      const principal = (await d.b.authenticate(session.token))!;
      const parent = await d.b.createPersonalAccessToken(principal, {
        name: 'parent',
        scopes: ['read', 'tokens'],
      });
      const parentPrincipal = (await d.gateway.authenticate(parent.token))!;
      const child = await d.b.createPersonalAccessToken(parentPrincipal, { name: 'child', scopes: ['read'] });
      expect((await d.gateway.authenticate(child.token))?.scopes).toEqual(['read']);
      expect(await d.cache.get(child.token)).not.toBeNull();
      await d.a.revokePersonalAccessToken(session.user.id, parent.id);
      expect(await d.cache.get(child.token)).toBeNull();
      expect(await d.gateway.authenticate(child.token)).toBeNull();
    });

    it('a password change revokes the other sessions at once; preference changes show at once', async () => {
      const email = uniqueEmail();
      const first = await d.a.register({ email, password: PASSWORD });
      const second = await d.b.login({ email, password: PASSWORD, ip: '10.9.0.1' });
      const mine = (await d.gateway.authenticate(first.token))!;
      expect(await d.gateway.authenticate(second.token)).not.toBeNull();

      const changed = mine.user.notification_preference === 'NONE' ? 'ALL' : 'NONE';
      await d.a.updateUser(mine, { notification_preference: changed });
      expect((await d.gateway.authenticate(first.token))?.user.notification_preference).toBe(changed);

      await d.a.updateUser(mine, { current_password: PASSWORD, new_password: 'another long password' });
      expect(await d.gateway.authenticate(second.token)).toBeNull();
      expect((await d.gateway.authenticate(first.token))?.user.email).toBe(email);
    });

    it('a fill that read the database before a revocation cannot bring the token back', async () => {
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      const readAt = Date.now();
      const principal = (await d.b.authenticate(session.token))!; // the "slow" read
      await d.a.revokeToken(session.tokenId);
      await d.cache.put(hashToken(session.token), principal, null, readAt); // lands after the revoke
      expect(await d.cache.get(session.token)).toBeNull();
      expect(await d.gateway.authenticate(session.token)).toBeNull();
    });

    it('never keeps an entry past its token expiry', async () => {
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      await database.db
        .updateTable('auth_tokens')
        .set({ expires_at: new Date(Date.now() + 5_000) })
        .where('id', '=', session.tokenId)
        .execute();
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();
      const ttl = await d.redis.client.pttl(key(session.token));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
    });
  });

  describe('when Redis is flushed, restarted or away', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('nobody is logged out: PostgreSQL answers', async () => {
      const d = await deployment(server.url, 'cv:');
      const session = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();
      await d.redis.client.flushall();
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();

      await server.stop();
      await waitFor(async () => !d.redis.ready, 5_000);
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();
      const other = await d.a.register({ email: uniqueEmail(), password: PASSWORD });
      expect(await d.gateway.authenticate(other.token)).not.toBeNull();

      await server.start();
      await waitFor(async () => d.redis.ready && (await d.redis.ping()), 10_000);
      expect(await d.gateway.authenticate(session.token)).not.toBeNull();
      expect(await d.gateway.authenticate(other.token)).not.toBeNull();
      // And revocation still works after the restart.
      await d.a.revokeToken(other.tokenId);
      expect(await d.gateway.authenticate(other.token)).toBeNull();
    });
  });
});

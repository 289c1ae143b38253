/**
 * Principal cache in Redis, in front of `authenticate(token)`: gateways read it and skip the call
 * to the users service (and its database lookup) for a token seen in the last seconds.
 *
 * Revocation stays immediate, across replicas:
 * - Only the users service writes entries (in `authenticate`, after reading PostgreSQL): it knows
 *   the token's expiry, so an entry never outlives the token, and it lives at most `ttlMs` (30 s).
 * - Every change that revokes a token or alters its principal (logout, PAT revoke, password
 *   change, preference change) replaces the entries of the affected token hashes by a tombstone,
 *   after the change committed and before the caller is answered. Entries are written with NX, so
 *   an `authenticate` that read the database before the change cannot put the old principal back
 *   over the tombstone (the tombstone outlives any such read: reads slower than FILL_DEADLINE_MS
 *   are not cached at all). A tombstone reads as a miss: the gateway asks the users service.
 * - Keys are `principal:<SHA-256 of the token>`, the very hash `auth_tokens.token_hash` stores,
 *   so the users service finds the keys of the tokens it revokes without knowing the tokens.
 * - Negative results are never cached (a new token works at once, a wrong one always costs a
 *   lookup); a cache that cannot be read or written is skipped. Evicted keys, FLUSHALL or a Redis
 *   restart only cost lookups: PostgreSQL is the source of truth, no session depends on Redis.
 *
 * When a tombstone cannot be written, the revocation waits up to INVALIDATE_WAIT_MS for this
 * process's connection (after a Redis restart, connections come back at different moments, and a
 * gateway may already read entries filled by another replica). Residual risk, documented: if Redis
 * stays unreachable from this users-service replica while a gateway still reads it (a partition),
 * the tombstone is retried in the background and a revoked token may pass at that gateway for at
 * most `ttlMs`.
 */
import { TOKEN_SCOPES } from '../../domain/user-input.ts';
import { hashToken, looksLikeToken } from '../../platform/tokens.ts';
import type { Logger } from '../../platform/logger.ts';
import type { RedisConnection } from '../../platform/redis/connection.ts';
import type { Principal } from './service.ts';

const TOMBSTONE = '-';
/** How long a revocation waits for Redis before answering (the reconnect backoff cap is 2 s). */
const INVALIDATE_WAIT_MS = 5_000;
/** A principal read from the database longer ago than this is not cached (tombstones outlive it). */
const FILL_DEADLINE_MS = 5_000;

export interface PrincipalCacheConfig {
  /** Lifetime of an entry. @default 30000 (at most 30 s) */
  ttlMs: number;
}

export class PrincipalCache {
  readonly #redis: RedisConnection;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #tombstoneMs: number;

  constructor(deps: { redis: RedisConnection; logger: Logger }, config: Partial<PrincipalCacheConfig> = {}) {
    this.#redis = deps.redis;
    this.#logger = deps.logger;
    this.#ttlMs = Math.min(config.ttlMs ?? 30_000, 30_000);
    this.#tombstoneMs = this.#ttlMs + FILL_DEADLINE_MS + 5_000;
  }

  /** The cached principal of `token`, or null (unknown, tombstoned, Redis unreachable). */
  async get(token: string): Promise<Principal | null> {
    if (!looksLikeToken(token) || !this.#redis.ready) return null;
    let value: string | null;
    try {
      value = await this.#redis.client.get(this.#key(hashToken(token)));
    } catch {
      return null;
    }
    if (value === null || value === TOMBSTONE) return null;
    return parsePrincipal(value);
  }

  /**
   * Caches a principal the users service just read (`readAt`: Date.now() when its database read
   * started) for a token valid `remainingMs` more (null: no expiry); never over a tombstone.
   * Best effort.
   */
  async put(
    tokenHash: string,
    principal: Principal,
    remainingMs: number | null,
    readAt: number,
  ): Promise<void> {
    if (Date.now() - readAt > FILL_DEADLINE_MS || !this.#redis.ready) return;
    const ttl = Math.min(this.#ttlMs, remainingMs ?? this.#ttlMs);
    if (ttl < 1_000) return;
    await this.#redis.client
      .set(this.#key(tokenHash), JSON.stringify(principal), 'PX', ttl, 'NX')
      .catch(() => {});
  }

  /**
   * Makes the cached principals of these token hashes unusable at once, on every gateway. Retried
   * in the background when Redis cannot be reached (see the design note).
   */
  async invalidate(tokenHashes: readonly string[]): Promise<void> {
    if (tokenHashes.length === 0) return;
    if (await this.#tombstone(tokenHashes)) return;
    // Connections come back at different moments after a Redis restart: a gateway may read the
    // cache again before this process can write to it. Wait for our connection a little (longer
    // than the reconnect backoff cap) before answering the revocation.
    const waitUntil = Date.now() + INVALIDATE_WAIT_MS;
    while (Date.now() < waitUntil) {
      await this.#redis.waitReady(Math.max(1, waitUntil - Date.now()));
      if (await this.#tombstone(tokenHashes)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.#logger.warn(
      { tokens: tokenHashes.length },
      'principal cache: could not invalidate revoked tokens in redis; retrying in the background',
    );
    const deadline = Date.now() + this.#ttlMs;
    const retry = (delay: number) => {
      const timer = setTimeout(async () => {
        if (await this.#tombstone(tokenHashes)) return;
        if (Date.now() < deadline) retry(Math.min(delay * 2, 2_000));
      }, delay);
      timer.unref();
    };
    retry(100);
  }

  async #tombstone(tokenHashes: readonly string[]): Promise<boolean> {
    if (!this.#redis.ready) return false;
    try {
      const pipeline = this.#redis.client.pipeline();
      for (const hash of tokenHashes) pipeline.set(this.#key(hash), TOMBSTONE, 'PX', this.#tombstoneMs);
      const results = (await pipeline.exec()) ?? [];
      return results.every(([err]) => !err);
    } catch {
      return false;
    }
  }

  #key(tokenHash: string): string {
    return `principal:${tokenHash}`;
  }
}

/**
 * The users API with cached authentication: `authenticate` answers from the cache when it can,
 * else asks `users` (which fills the cache); every other method is `users`' own.
 */
export function withPrincipalCache<T extends { authenticate(token: string): Promise<Principal | null> }>(
  users: T,
  cache: PrincipalCache,
): T {
  const authenticate = async (token: string) => (await cache.get(token)) ?? users.authenticate(token);
  return new Proxy(users, {
    get(target, property) {
      if (property === 'authenticate') return authenticate;
      const value: unknown = Reflect.get(target, property, target);
      // Methods run on the real object (its #private fields are not reachable through a proxy).
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function parsePrincipal(json: string): Principal | null {
  try {
    const p = JSON.parse(json) as Principal;
    if (
      typeof p?.tokenId === 'string' &&
      (p.tokenKind === 'session' || p.tokenKind === 'pat') &&
      typeof p.user?.id === 'string' &&
      typeof p.user.email === 'string' &&
      typeof p.user.role === 'string' &&
      // Entries written before tokens had scopes are misses: the users service answers instead.
      Array.isArray(p.scopes) &&
      p.scopes.every((s) => (TOKEN_SCOPES as readonly string[]).includes(s))
    ) {
      return p;
    }
  } catch {
    // a miss
  }
  return null;
}

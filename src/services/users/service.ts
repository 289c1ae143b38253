/**
 * Users service: accounts, sessions, personal access tokens. Owns the `users` and `auth_tokens`
 * tables. Errors are catalogue errors (src/domain/errors.ts); the gateway maps them to HTTP.
 */
import { sql, type Kysely } from 'kysely';
import {
  EmailTakenError,
  InvalidCredentialsError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../../domain/errors.ts';
import type { NotificationPreference, UserRole } from '../../domain/user-input.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB, UserRow } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../platform/passwords.ts';
import { generateToken, hashToken, looksLikeToken } from '../../platform/tokens.ts';
import { LoginThrottle, type LoginAttemptThrottle } from './login-throttle.ts';
import type { PrincipalCache } from './principal-cache.ts';
import type { UsersApi } from './api.ts';

export interface User {
  id: string;
  email: string;
  role: UserRole;
  notification_preference: NotificationPreference;
  created_at: string;
  updated_at: string;
}

export interface IssuedSession {
  user: User;
  token: string;
  tokenId: string;
  expiresAt: Date;
}

export interface Principal {
  user: User;
  tokenId: string;
  tokenKind: 'session' | 'pat';
}

export interface PersonalAccessToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface UsersServiceConfig {
  sessionTtlMs: number;
  patDefaultDays: number;
  loginMaxFailuresPerEmail: number;
  loginMaxFailuresPerIp: number;
  loginWindowMs: number;
}

// Serialises "is this the first user?" between concurrent registrations.
const FIRST_USER_LOCK_KEY = 727_450_100_002;
// last_used_at is a hint, not an audit log: write it at most once per minute per token.
const LAST_USED_RESOLUTION_MS = 60_000;

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    notification_preference: row.notification_preference,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export class UsersService implements UsersApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: UsersServiceConfig;
  readonly #throttle: LoginAttemptThrottle;
  readonly #principalCache: PrincipalCache | null;

  /**
   * `options.throttle`: failed-login counters; this process's memory by default, the Redis
   * throttle (RedisLoginThrottle) when several replicas must share them.
   * `options.principalCache`: filled by `authenticate`, invalidated by every revocation or user
   * change (gateways read it: ./principal-cache.ts); none by default.
   */
  constructor(
    db: Kysely<DB>,
    clock: Clock,
    config: UsersServiceConfig,
    options: { throttle?: LoginAttemptThrottle; principalCache?: PrincipalCache } = {},
  ) {
    this.#db = db;
    this.#clock = clock;
    this.#config = config;
    this.#throttle = options.throttle ?? new LoginThrottle(config.loginWindowMs);
    this.#principalCache = options.principalCache ?? null;
  }

  /** Creates an account; the first account of an installation is an admin. */
  async createUser(params: { email: string; password: string; role?: UserRole }): Promise<User> {
    const passwordHash = await hashPassword(params.password);
    const now = this.#clock.now();
    try {
      return await this.#db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${FIRST_USER_LOCK_KEY})`.execute(trx);
        const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
        const role = params.role ?? (existing ? 'user' : 'admin');
        const row = await trx
          .insertInto('users')
          .values({
            id: newId(),
            email: params.email,
            password_hash: passwordHash,
            role,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toUser(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError();
      throw err;
    }
  }

  async register(params: { email: string; password: string }): Promise<IssuedSession> {
    const user = await this.createUser(params);
    return this.#issueSession(user);
  }

  async login(params: { email: string; password: string; ip: string }): Promise<IssuedSession> {
    const now = this.#clock.now().getTime();
    const emailKey = `email:${params.email}`;
    const ipKey = `ip:${params.ip}`;
    const verdict = await this.#throttle.reserve(
      [
        { key: emailKey, limit: this.#config.loginMaxFailuresPerEmail },
        { key: ipKey, limit: this.#config.loginMaxFailuresPerIp },
      ],
      now,
    );
    if (!verdict.allowed) {
      throw new RateLimitedError(verdict.retryAfterSeconds, 'Too many failed logins; try again later.');
    }
    const row = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', params.email)
      .executeTakeFirst();
    const ok = await verifyPassword(row?.password_hash ?? (await dummyPasswordHash()), params.password);
    if (!row || !ok) throw new InvalidCredentialsError();
    await this.#throttle.clear(emailKey);
    await this.#throttle.release(ipKey, now);
    return this.#issueSession(toUser(row));
  }

  async #issueSession(user: User): Promise<IssuedSession> {
    const { token, hash } = generateToken('session');
    const now = this.#clock.now();
    const expiresAt = new Date(now.getTime() + this.#config.sessionTtlMs);
    const id = newId();
    await this.#db
      .insertInto('auth_tokens')
      .values({
        id,
        user_id: user.id,
        kind: 'session',
        token_hash: hash,
        created_at: now,
        expires_at: expiresAt,
      })
      .execute();
    return { user, token, tokenId: id, expiresAt };
  }

  /** The principal behind a bearer token, or null when it is unknown, expired or revoked. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!looksLikeToken(token)) return null;
    const now = this.#clock.now();
    const readAt = Date.now();
    const tokenHash = hashToken(token);
    const row = await this.#db
      .selectFrom('auth_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select([
        't.id as token_id',
        't.kind as token_kind',
        't.expires_at as token_expires_at',
        't.revoked_at as token_revoked_at',
        't.last_used_at as token_last_used_at',
        'u.id',
        'u.email',
        'u.password_hash',
        'u.role',
        'u.notification_preference',
        'u.created_at',
        'u.updated_at',
      ])
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row || row.token_revoked_at !== null) return null;
    if (row.token_expires_at !== null && row.token_expires_at.getTime() <= now.getTime()) return null;
    if (
      row.token_kind === 'pat' &&
      (row.token_last_used_at === null ||
        now.getTime() - row.token_last_used_at.getTime() > LAST_USED_RESOLUTION_MS)
    ) {
      await this.#db
        .updateTable('auth_tokens')
        .set({ last_used_at: now })
        .where('id', '=', row.token_id)
        .execute();
    }
    const principal: Principal = { user: toUser(row), tokenId: row.token_id, tokenKind: row.token_kind };
    if (this.#principalCache) {
      const remainingMs = row.token_expires_at ? row.token_expires_at.getTime() - now.getTime() : null;
      await this.#principalCache.put(tokenHash, principal, remainingMs, readAt);
    }
    return principal;
  }

  /** Revokes one token at once (logout). */
  async revokeToken(tokenId: string): Promise<void> {
    const rows = await this.#db
      .updateTable('auth_tokens')
      .set({ revoked_at: this.#clock.now() })
      .where('id', '=', tokenId)
      .where('revoked_at', 'is', null)
      .returning('token_hash')
      .execute();
    await this.#principalCache?.invalidate(rows.map((r) => r.token_hash));
  }

  async getUser(userId: string): Promise<User> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!row) throw new NotFoundError('User');
    return toUser(row);
  }

  /**
   * Updates the preference and/or the password. A password change needs the current password and
   * revokes every other session and token of the user; the caller's own session stays valid. A
   * `current_password`, whenever given, must be right.
   */
  async updateUser(
    principal: Principal,
    changes: {
      notification_preference?: NotificationPreference;
      current_password?: string;
      new_password?: string;
    },
  ): Promise<User> {
    const userId = principal.user.id;
    const now = this.#clock.now();
    let passwordHash: string | undefined;
    if (changes.current_password !== undefined) {
      // A stolen session must not become a password oracle: wrong guesses are throttled like logins.
      const key = `password:${userId}`;
      const at = now.getTime();
      const verdict = await this.#throttle.reserve(
        [{ key, limit: this.#config.loginMaxFailuresPerEmail }],
        at,
      );
      if (!verdict.allowed) {
        throw new RateLimitedError(verdict.retryAfterSeconds, 'Too many wrong passwords; try again later.');
      }
      const row = await this.#db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!row) throw new NotFoundError('User');
      if (!(await verifyPassword(row.password_hash, changes.current_password))) {
        throw ValidationError.single('current_password', 'is incorrect');
      }
      await this.#throttle.clear(key);
      if (changes.new_password !== undefined) passwordHash = await hashPassword(changes.new_password);
    }
    const user = await this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('users')
        .set({
          updated_at: now,
          ...(changes.notification_preference
            ? { notification_preference: changes.notification_preference }
            : {}),
          ...(passwordHash ? { password_hash: passwordHash } : {}),
        })
        .where('id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new NotFoundError('User');
      if (passwordHash) {
        await trx
          .updateTable('auth_tokens')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('id', '<>', principal.tokenId)
          .where('revoked_at', 'is', null)
          .execute();
      }
      return toUser(row);
    });
    if (this.#principalCache) {
      // Cached principals of this user carry the old user (and, after a password change, revoked
      // tokens): drop them all.
      const tokens = await this.#db
        .selectFrom('auth_tokens')
        .select('token_hash')
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .execute();
      await this.#principalCache.invalidate(tokens.map((t) => t.token_hash));
    }
    return user;
  }

  async createPersonalAccessToken(
    userId: string,
    params: { name: string; expires_in_days?: number },
  ): Promise<PersonalAccessToken & { token: string }> {
    const { token, hash } = generateToken('pat');
    const now = this.#clock.now();
    const days = params.expires_in_days ?? this.#config.patDefaultDays;
    const row = await this.#db
      .insertInto('auth_tokens')
      .values({
        id: newId(),
        user_id: userId,
        kind: 'pat',
        name: params.name,
        token_hash: hash,
        created_at: now,
        expires_at: new Date(now.getTime() + days * 86_400_000),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toPat(row), token };
  }

  /** Active (not revoked, not expired) personal access tokens, newest first. */
  async listPersonalAccessTokens(userId: string): Promise<PersonalAccessToken[]> {
    const rows = await this.#db
      .selectFrom('auth_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', 'pat')
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.#clock.now())]))
      .orderBy('id', 'desc')
      .limit(1000)
      .execute();
    return rows.map(toPat);
  }

  async revokePersonalAccessToken(userId: string, tokenId: string): Promise<void> {
    const rows = await this.#db
      .updateTable('auth_tokens')
      .set({ revoked_at: this.#clock.now() })
      .where('id', '=', tokenId)
      .where('user_id', '=', userId)
      .where('kind', '=', 'pat')
      .where('revoked_at', 'is', null)
      .returning('token_hash')
      .execute();
    if (rows.length === 0) throw new NotFoundError('Token');
    await this.#principalCache?.invalidate(rows.map((r) => r.token_hash));
  }

  /** All accounts, newest first, keyset-paginated (admin only; the gateway checks the role). */
  async listUsers(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ users: User[]; nextAfterId: string | null }> {
    let q = this.#db
      .selectFrom('users')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(params.limit + 1);
    if (params.afterId) q = q.where('id', '<', params.afterId);
    const rows = await q.execute();
    const page = rows.slice(0, params.limit);
    return { users: page.map(toUser), nextAfterId: rows.length > params.limit ? page.at(-1)!.id : null };
  }
}

function toPat(row: {
  id: string;
  name: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}): PersonalAccessToken {
  return {
    id: row.id,
    name: row.name ?? '',
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
  };
}

export function isUniqueViolation(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === '23505'
  );
}

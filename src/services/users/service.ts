/**
 * Users service: accounts, sessions, personal access tokens (with scopes, and the tokens they
 * mint), sign-up mode and invitations, the audit log. Owns the `users`, `auth_tokens`,
 * `settings`, `invites` and `audit_events` tables. Errors are catalogue errors
 * (src/domain/errors.ts); the gateway maps them to HTTP.
 *
 * Throttling (./login-throttle.ts): a login is checked against its (email, address) pair, with a
 * few free failures then doubling delays, and against its address, with a hard limit across
 * emails; never against the email alone, so no stranger can lock an account out. Registrations
 * are limited per address; wrong current passwords per account.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { renderPasswordResetEmail } from '../../domain/email-content.ts';
import {
  EmailTakenError,
  ForbiddenError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InviteRequiredError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  SignupClosedError,
  ValidationError,
} from '../../domain/errors.ts';
import { passwordWeakness } from '../../domain/password-strength.ts';
import {
  canonicalScopes,
  DEFAULT_TOKEN_SCOPES,
  INVITE_DEFAULT_DAYS,
  PAT_MAX_DAYS,
  scopesOfRole,
  type NotificationPreference,
  type SignupMode,
  type TokenScope,
  type UserRole,
} from '../../domain/user-input.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB, UserRow } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../platform/passwords.ts';
import { generateInviteSecret, generateToken, hashToken, looksLikeToken } from '../../platform/tokens.ts';
import type { UsersApi } from './api.ts';
import { insertAudit, listAudit, type AuditEvent, type AuditEventInput, type AuditQuery } from './audit.ts';
import { LoginThrottle, type LoginAttemptThrottle, type ThrottleLimit } from './login-throttle.ts';
import type { PrincipalCache } from './principal-cache.ts';

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
  /** What this credential may do: a session, everything its role allows; a token, its own scopes within that. */
  scopes: TokenScope[];
}

export interface PersonalAccessToken {
  id: string;
  name: string;
  scopes: TokenScope[];
  /** The personal access token that minted this one (revoking it revokes this); null when a session did. */
  parent_id: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export const INVITE_STATUSES = ['pending', 'used', 'expired', 'revoked'] as const;
export type InviteStatus = (typeof INVITE_STATUSES)[number];

export interface Invite {
  id: string;
  email: string | null;
  status: InviteStatus;
  created_at: string;
  expires_at: string;
  created_by: string | null;
  used_at: string | null;
  used_by: string | null;
}

export interface SignupSettings {
  /** The administrators' setting; null: the configured mode applies. */
  override: SignupMode | null;
  /** CHRONOVERSE_SIGNUP as this users service resolved it. */
  configured: SignupMode;
  /** What the next registration meets (open while the installation has no account). */
  effective: SignupMode;
}

/** Who changes something administrative, and from which client address (the audit log). */
export interface AdminContext {
  principal: Principal;
  address?: string;
}

export interface UsersServiceConfig {
  sessionTtlMs: number;
  patDefaultDays: number;
  loginFreeFailures: number;
  loginDelayMs: number;
  loginMaxFailuresPerIp: number;
  loginWindowMs: number;
  registerMaxPerIp: number;
  registerWindowMs: number;
  /** CHRONOVERSE_SIGNUP with `auto` decided (resolveSignupMode); open when absent. */
  signupMode?: SignupMode;
  /** Password reset by email; absent or `emailEnabled: false`: refused (412). */
  passwordReset?: PasswordResetConfig;
}

export interface PasswordResetConfig {
  /** Whether an SMTP server sends the email outbox (CHRONOVERSE_SMTP_URL is set). */
  emailEnabled: boolean;
  /** The dashboard's address: the link is `<publicUrl>/reset-password?token=…`. */
  publicUrl: string;
  /** How long a link works. @default 30 minutes */
  ttlMs: number;
  /** Requests per client address per window (429 beyond). */
  maxPerIp: number;
  /** Emails per account per window (beyond: the same answer, no email). */
  maxPerEmail: number;
  windowMs: number;
}

export const PASSWORD_RESET_DEFAULTS: Omit<PasswordResetConfig, 'emailEnabled' | 'publicUrl'> = {
  ttlMs: 30 * 60_000,
  maxPerIp: 10,
  maxPerEmail: 3,
  windowMs: 3_600_000,
};

/** The answer to a reset request, whatever the address (an account's existence is not revealed). */
export const PASSWORD_RESET_ACCEPTED =
  'If an account has this address, an email with a link to choose a new password is on its way.';

// Serialises "is this the first user?" (and "is this the last admin?") between concurrent changes.
const FIRST_USER_LOCK_KEY = 727_450_100_002;
// last_used_at is a hint, not an audit log: write it at most once per minute per token.
const LAST_USED_RESOLUTION_MS = 60_000;
const DAY_MS = 86_400_000;

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

/** A text[] parameter, spelled out so PostgreSQL and PGlite receive the same thing. */
function textArray(values: readonly string[]) {
  return sql<TokenScope[]>`string_to_array(${values.join(',')}, ',')`;
}

export class UsersService implements UsersApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: UsersServiceConfig;
  readonly #throttle: LoginAttemptThrottle;
  readonly #principalCache: PrincipalCache | null;

  /**
   * `options.throttle`: attempt counters; this process's memory by default, the Redis throttle
   * (RedisLoginThrottle) when several replicas must share them.
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

  /**
   * Creates an account whatever the sign-up mode (the CLI, administrators); the first account of
   * an installation is an admin.
   */
  async createUser(params: { email: string; password: string; role?: UserRole }): Promise<User> {
    const passwordHash = await this.#newPasswordHash(params.password, params.email, 'password');
    return this.#inUserTransaction(async (trx, existing) => {
      const row = await this.#insertUser(
        trx,
        params.email,
        passwordHash,
        params.role ?? (existing ? 'user' : 'admin'),
      );
      return toUser(row);
    });
  }

  /**
   * Self-service registration: allowed by the sign-up mode (the administrators' setting, else the
   * configured one), or with a valid invitation, or always for the first account. Limited per
   * client address (`ip`; internal callers without one are not limited).
   */
  async register(params: {
    email: string;
    password: string;
    ip?: string;
    invite?: string;
  }): Promise<IssuedSession> {
    if (params.ip !== undefined) {
      const verdict = await this.#throttle.reserve(
        [
          {
            key: `register:${params.ip}`,
            limit: this.#config.registerMaxPerIp,
            windowMs: this.#config.registerWindowMs,
          },
        ],
        this.#clock.now().getTime(),
      );
      if (!verdict.allowed) {
        throw new RateLimitedError(
          verdict.retryAfterSeconds,
          'Too many registrations from this address; try again later.',
        );
      }
    }
    const passwordHash = await this.#newPasswordHash(params.password, params.email, 'password');
    const now = this.#clock.now();
    const user = await this.#inUserTransaction(async (trx, existing) => {
      // The first account of an empty installation can always register (and becomes admin).
      const mode = existing ? ((await this.#signupOverride(trx)) ?? this.#configuredMode) : 'open';
      if (mode === 'closed') throw new SignupClosedError();
      if (mode === 'invite' && params.invite === undefined) throw new InviteRequiredError();
      const row = await this.#insertUser(trx, params.email, passwordHash, existing ? 'user' : 'admin');
      let inviteId: string | null = null;
      if (existing && params.invite !== undefined) {
        // consumeInvite: a guarded UPDATE, so one invitation makes one account even when two
        // registrations race with it. In open mode an unusable invitation is simply not needed.
        const used = await trx
          .updateTable('invites')
          .set({ used_at: now, used_by: row.id })
          .where('token_hash', '=', hashToken(params.invite))
          .where('used_at', 'is', null)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          .where((eb) => eb.or([eb('email', 'is', null), eb('email', '=', params.email)]))
          .returning('id')
          .executeTakeFirst();
        if (!used && mode === 'invite') {
          throw ValidationError.single(
            'invite',
            'is unknown, already used, expired, revoked or for another email',
          );
        }
        inviteId = used?.id ?? null;
      }
      await insertAudit(trx, now, {
        action: 'user.registered',
        actor_id: row.id,
        subject_id: row.id,
        address: params.ip ?? null,
        target_type: 'user',
        target_id: row.id,
        details: { email: row.email, role: row.role, ...(inviteId ? { invite_id: inviteId } : {}) },
      });
      return toUser(row);
    });
    return this.#issueSession(user);
  }

  async login(params: { email: string; password: string; ip: string }): Promise<IssuedSession> {
    const now = this.#clock.now();
    const at = now.getTime();
    // Never a key of the email alone: failures elsewhere must not refuse this address.
    const pairKey = `login:${params.email}|${params.ip}`;
    const ipKey = `ip:${params.ip}`;
    const verdict = await this.#throttle.reserve(
      [this.#delayed(pairKey), { key: ipKey, limit: this.#config.loginMaxFailuresPerIp }],
      at,
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
    if (!row || !ok) {
      await insertAudit(this.#db, now, {
        action: 'auth.login.failed',
        actor_id: null,
        subject_id: row?.id ?? null,
        address: params.ip,
        target_type: null,
        target_id: null,
        details: { email: params.email },
      });
      throw new InvalidCredentialsError();
    }
    await this.#throttle.clear(pairKey);
    await this.#throttle.release(ipKey, at);
    const session = await this.#issueSession(toUser(row));
    await insertAudit(this.#db, now, {
      action: 'auth.login.succeeded',
      actor_id: row.id,
      subject_id: row.id,
      address: params.ip,
      target_type: 'session',
      target_id: session.tokenId,
      details: { email: row.email },
    });
    return session;
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
        't.scopes as token_scopes',
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
    // A token keeps only what its user's role still allows (an admin token of a demoted admin
    // loses `admin` at once).
    const allowed = scopesOfRole(row.role);
    const scopes =
      row.token_kind === 'session'
        ? allowed
        : canonicalScopes((row.token_scopes ?? []).filter((s) => allowed.includes(s)));
    const principal: Principal = {
      user: toUser(row),
      tokenId: row.token_id,
      tokenKind: row.token_kind,
      scopes,
    };
    if (this.#principalCache) {
      const remainingMs = row.token_expires_at ? row.token_expires_at.getTime() - now.getTime() : null;
      await this.#principalCache.put(tokenHash, principal, remainingMs, readAt);
    }
    return principal;
  }

  /** Revokes one credential at once (logout), and every token it minted. */
  async revokeToken(tokenId: string): Promise<void> {
    const now = this.#clock.now();
    const revoked = await this.#db.transaction().execute(async (trx) => {
      const revoked = await this.#revokeTree(trx, tokenId, null, now);
      const root = revoked.find((r) => r.id === tokenId);
      if (root && root.kind === 'pat') {
        await insertAudit(trx, now, {
          action: 'token.revoked',
          actor_id: root.user_id,
          subject_id: root.user_id,
          address: null,
          target_type: 'token',
          target_id: tokenId,
          details: { via: 'logout', cascade: revoked.filter((r) => r.id !== tokenId).map((r) => r.id) },
        });
      }
      return revoked;
    });
    await this.#principalCache?.invalidate(revoked.map((r) => r.token_hash));
  }

  /**
   * revokeTokenTree: revokes the token and, recursively, every token it minted, in one statement
   * (index auth_tokens_parent_idx). `userId`: when given, the root must be that user's personal
   * access token. The root is returned only when it was live.
   */
  async #revokeTree(
    db: Kysely<DB>,
    tokenId: string,
    userId: string | null,
    now: Date,
  ): Promise<Array<{ id: string; token_hash: string; kind: 'session' | 'pat'; user_id: string }>> {
    const owner = userId === null ? sql`` : sql`AND user_id = ${userId} AND kind = 'pat'`;
    const { rows } = await sql<{ id: string; token_hash: string; kind: 'session' | 'pat'; user_id: string }>`
      WITH RECURSIVE tree(id) AS (
        SELECT id FROM auth_tokens WHERE id = ${tokenId} AND revoked_at IS NULL ${owner}
        UNION
        SELECT t.id FROM auth_tokens t JOIN tree ON t.parent_id = tree.id
      )
      UPDATE auth_tokens SET revoked_at = ${now}
      WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
      RETURNING id, token_hash, kind, user_id`.execute(db);
    return rows;
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
      const verdict = await this.#throttle.reserve([this.#delayed(key)], now.getTime());
      if (!verdict.allowed) {
        throw new RateLimitedError(verdict.retryAfterSeconds, 'Too many wrong passwords; try again later.');
      }
      const row = await this.#db
        .selectFrom('users')
        .select(['password_hash', 'email'])
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!row) throw new NotFoundError('User');
      if (!(await verifyPassword(row.password_hash, changes.current_password))) {
        throw ValidationError.single('current_password', 'is incorrect');
      }
      await this.#throttle.clear(key);
      if (changes.new_password !== undefined) {
        passwordHash = await this.#newPasswordHash(changes.new_password, row.email, 'new_password');
      }
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
        await insertAudit(trx, now, {
          action: 'user.password_changed',
          actor_id: userId,
          subject_id: userId,
          address: null,
          target_type: 'user',
          target_id: userId,
          details: {},
        });
      }
      return toUser(row);
    });
    await this.#invalidateUser(userId, now);
    return user;
  }

  /**
   * A personal access token for the principal's user. Its scopes (default read + write) must be
   * among the principal's; minted by a personal access token, it is that token's child: revoked
   * with it, and expiring no later.
   */
  async createPersonalAccessToken(
    principal: Principal,
    params: {
      name: string;
      scopes?: readonly TokenScope[];
      expires_at?: string;
      expires_in_days?: number;
      address?: string;
    },
  ): Promise<PersonalAccessToken & { token: string }> {
    const scopes = canonicalScopes(params.scopes ?? DEFAULT_TOKEN_SCOPES);
    const missing = scopes.find((s) => !principal.scopes.includes(s));
    if (missing !== undefined) {
      throw new InsufficientScopeError(
        missing,
        `A token cannot grant the "${missing}" scope: this credential does not hold it.`,
      );
    }
    const now = this.#clock.now();
    let expiresAt: Date;
    if (params.expires_at !== undefined) {
      expiresAt = new Date(params.expires_at);
      if (!(expiresAt.getTime() > now.getTime())) {
        throw ValidationError.single('expires_at', 'must be in the future');
      }
      if (expiresAt.getTime() > now.getTime() + PAT_MAX_DAYS * DAY_MS) {
        throw ValidationError.single('expires_at', `must be at most ${PAT_MAX_DAYS} days ahead`);
      }
    } else {
      expiresAt = new Date(now.getTime() + (params.expires_in_days ?? this.#config.patDefaultDays) * DAY_MS);
    }
    const parentId = principal.tokenKind === 'pat' ? principal.tokenId : null;
    const { token, hash } = generateToken('pat');
    const row = await this.#db.transaction().execute(async (trx) => {
      if (parentId !== null) {
        const parent = await trx
          .selectFrom('auth_tokens')
          .select(['expires_at', 'revoked_at'])
          .where('id', '=', parentId)
          .executeTakeFirst();
        if (!parent || parent.revoked_at !== null) throw new NotFoundError('Token');
        if (parent.expires_at !== null && parent.expires_at.getTime() < expiresAt.getTime()) {
          expiresAt = parent.expires_at;
        }
      }
      const created = await trx
        .insertInto('auth_tokens')
        .values({
          id: newId(),
          user_id: principal.user.id,
          kind: 'pat',
          name: params.name,
          token_hash: hash,
          scopes: textArray(scopes),
          parent_id: parentId,
          created_at: now,
          expires_at: expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertAudit(trx, now, {
        action: 'token.created',
        actor_id: principal.user.id,
        subject_id: principal.user.id,
        address: params.address ?? null,
        target_type: 'token',
        target_id: created.id,
        details: { name: params.name, scopes, parent_id: parentId, expires_at: expiresAt.toISOString() },
      });
      return created;
    });
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

  /** Revokes the user's token and every token it minted (recursively). */
  async revokePersonalAccessToken(userId: string, tokenId: string, address?: string): Promise<void> {
    const now = this.#clock.now();
    const revoked = await this.#db.transaction().execute(async (trx) => {
      const rows = await this.#revokeTree(trx, tokenId, userId, now);
      if (!rows.some((r) => r.id === tokenId)) throw new NotFoundError('Token');
      await insertAudit(trx, now, {
        action: 'token.revoked',
        actor_id: userId,
        subject_id: userId,
        address: address ?? null,
        target_type: 'token',
        target_id: tokenId,
        details: { cascade: rows.filter((r) => r.id !== tokenId).map((r) => r.id) },
      });
      return rows;
    });
    await this.#principalCache?.invalidate(revoked.map((r) => r.token_hash));
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

  // ── administration ───────────────────────────────────────────────────────────────────────

  async getSignupSettings(): Promise<SignupSettings> {
    const [override, anyone] = await Promise.all([
      this.#signupOverride(this.#db),
      this.#db.selectFrom('users').select('id').limit(1).executeTakeFirst(),
    ]);
    const configured = this.#configuredMode;
    return { override, configured, effective: anyone ? (override ?? configured) : 'open' };
  }

  /** Sets (or with null, removes) the administrators' sign-up mode. */
  async setSignupMode(ctx: AdminContext, mode: SignupMode | null): Promise<SignupSettings> {
    const actor = this.#admin(ctx);
    const now = this.#clock.now();
    await this.#db.transaction().execute(async (trx) => {
      const before = await this.#signupOverride(trx);
      if (mode === null) {
        await trx.deleteFrom('settings').where('name', '=', 'signup_mode').execute();
      } else {
        await trx
          .insertInto('settings')
          .values({ name: 'signup_mode', value: mode, updated_at: now, updated_by: actor })
          .onConflict((oc) =>
            oc.column('name').doUpdateSet({ value: mode, updated_at: now, updated_by: actor }),
          )
          .execute();
      }
      await insertAudit(trx, now, {
        action: 'settings.signup_mode_changed',
        actor_id: actor,
        subject_id: null,
        address: ctx.address ?? null,
        target_type: 'setting',
        target_id: 'signup_mode',
        details: { from: before, to: mode, configured: this.#configuredMode },
      });
    });
    return this.getSignupSettings();
  }

  /** A one-time invitation; the secret (`cvi_…`) is returned once. */
  async createInvite(
    ctx: AdminContext,
    params: { email?: string; expires_in_days?: number },
  ): Promise<Invite & { token: string }> {
    const actor = this.#admin(ctx);
    const now = this.#clock.now();
    const { token, hash } = generateInviteSecret();
    const row = await this.#db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('invites')
        .values({
          id: newId(),
          token_hash: hash,
          email: params.email ?? null,
          created_by: actor,
          created_at: now,
          expires_at: new Date(now.getTime() + (params.expires_in_days ?? INVITE_DEFAULT_DAYS) * DAY_MS),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertAudit(trx, now, {
        action: 'invite.created',
        actor_id: actor,
        subject_id: null,
        address: ctx.address ?? null,
        target_type: 'invite',
        target_id: created.id,
        details: { email: created.email, expires_at: created.expires_at.toISOString() },
      });
      return created;
    });
    return { ...this.#toInvite(row, now), token };
  }

  /** Every invitation, newest first, with its status. */
  async listInvites(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ invites: Invite[]; nextAfterId: string | null }> {
    let q = this.#db
      .selectFrom('invites')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(params.limit + 1);
    if (params.afterId) q = q.where('id', '<', params.afterId);
    const rows = await q.execute();
    const page = rows.slice(0, params.limit);
    const now = this.#clock.now();
    return {
      invites: page.map((r) => this.#toInvite(r, now)),
      nextAfterId: rows.length > params.limit ? page.at(-1)!.id : null,
    };
  }

  /** Revokes an invitation that was not used yet (404 otherwise). */
  async revokeInvite(ctx: AdminContext, inviteId: string): Promise<void> {
    const actor = this.#admin(ctx);
    const now = this.#clock.now();
    await this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('invites')
        .set({ revoked_at: now })
        .where('id', '=', inviteId)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!row) throw new NotFoundError('Invite');
      await insertAudit(trx, now, {
        action: 'invite.revoked',
        actor_id: actor,
        subject_id: null,
        address: ctx.address ?? null,
        target_type: 'invite',
        target_id: inviteId,
        details: {},
      });
    });
  }

  /** An account made by an administrator (the way in when sign-up is closed). */
  async adminCreateUser(
    ctx: AdminContext,
    params: { email: string; password: string; role?: UserRole },
  ): Promise<User> {
    const actor = this.#admin(ctx);
    const passwordHash = await this.#newPasswordHash(params.password, params.email, 'password');
    const now = this.#clock.now();
    return this.#inUserTransaction(async (trx) => {
      const row = await this.#insertUser(trx, params.email, passwordHash, params.role ?? 'user');
      await insertAudit(trx, now, {
        action: 'user.created',
        actor_id: actor,
        subject_id: row.id,
        address: ctx.address ?? null,
        target_type: 'user',
        target_id: row.id,
        details: { email: row.email, role: row.role },
      });
      return toUser(row);
    });
  }

  /** Changes a user's role; the last administrator cannot be demoted (412). */
  async setUserRole(ctx: AdminContext, userId: string, role: UserRole): Promise<User> {
    const actor = this.#admin(ctx);
    const now = this.#clock.now();
    const user = await this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${FIRST_USER_LOCK_KEY})`.execute(trx);
      const current = await trx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
      if (!current) throw new NotFoundError('User');
      if (current.role === role) return toUser(current);
      if (current.role === 'admin') {
        const admins = await trx
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('role', '=', 'admin')
          .executeTakeFirstOrThrow();
        if (Number(admins.n) <= 1) {
          throw new PreconditionFailedError(
            'The last administrator cannot be demoted; promote another first.',
          );
        }
      }
      const row = await trx
        .updateTable('users')
        .set({ role, updated_at: now })
        .where('id', '=', userId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertAudit(trx, now, {
        action: 'user.role_changed',
        actor_id: actor,
        subject_id: userId,
        address: ctx.address ?? null,
        target_type: 'user',
        target_id: userId,
        details: { from: current.role, to: role },
      });
      return toUser(row);
    });
    // Cached principals carry the old role (and scopes).
    await this.#invalidateUser(userId, now);
    return user;
  }

  /** Records an action another service performed (the gateway calls it once the action succeeded). */
  async recordAudit(event: AuditEventInput): Promise<void> {
    await insertAudit(this.#db, this.#clock.now(), event);
  }

  async listAudit(query: AuditQuery): Promise<{ events: AuditEvent[]; nextAfterId: string | null }> {
    return listAudit(this.#db, query);
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  get #configuredMode(): SignupMode {
    return this.#config.signupMode ?? 'open';
  }

  /** The progressive-delay counter of a key (an (email, address) pair, an account's password checks). */
  #delayed(key: string): ThrottleLimit {
    return {
      key,
      limit: Math.max(this.#config.loginMaxFailuresPerIp, this.#config.loginFreeFailures + 1),
      delay: {
        free: this.#config.loginFreeFailures,
        baseMs: this.#config.loginDelayMs,
        maxMs: this.#config.loginWindowMs,
      },
    };
  }

  /** The hash of a new password, once the length rules (gateway) and the estimator (with the email as context) accept it. */
  async #newPasswordHash(password: string, email: string, field: string): Promise<string> {
    const weakness = passwordWeakness(password, [email]);
    if (weakness) throw ValidationError.single(field, weakness);
    return hashPassword(password);
  }

  /** Runs `fn` holding the "first user" lock; `existing`: whether any account exists. */
  async #inUserTransaction<T>(fn: (trx: Kysely<DB>, existing: boolean) => Promise<T>): Promise<T> {
    try {
      return await this.#db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${FIRST_USER_LOCK_KEY})`.execute(trx);
        const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
        return fn(trx, existing !== undefined);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError();
      throw err;
    }
  }

  #insertUser(trx: Kysely<DB>, email: string, passwordHash: string, role: UserRole) {
    const now = this.#clock.now();
    return trx
      .insertInto('users')
      .values({ id: newId(), email, password_hash: passwordHash, role, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async #signupOverride(db: Kysely<DB>): Promise<SignupMode | null> {
    const row = await db
      .selectFrom('settings')
      .select('value')
      .where('name', '=', 'signup_mode')
      .executeTakeFirst();
    return (row?.value as SignupMode | undefined) ?? null;
  }

  /** The acting administrator's id; the gateway checks the same before calling. */
  #admin(ctx: AdminContext): string {
    if (ctx.principal.user.role !== 'admin' || !ctx.principal.scopes.includes('admin')) {
      throw new ForbiddenError('This endpoint is for administrators.');
    }
    return ctx.principal.user.id;
  }

  // ── password reset by email ─────────────────────────────────────────────────────────────

  /**
   * Emails a one-time link to the account with this address, if there is one: the same answer
   * either way (and no timing difference worth measuring: the work after the lookup is two
   * INSERTs). Limited per client address (429) and per account (beyond: silently no email, so a
   * mailbox cannot be flooded). The link's token is kept only as its SHA-256; the email is queued
   * in the email outbox (src/workers/email sends it) marked sensitive: never shown in the email
   * history, blanked once sent.
   */
  async requestPasswordReset(params: { email: string; ip?: string }): Promise<{ message: string }> {
    const reset = this.#config.passwordReset;
    if (!reset?.emailEnabled) {
      throw new PreconditionFailedError(
        'Password reset by email is off on this installation (no SMTP server); an administrator can set a new password.',
      );
    }
    const now = this.#clock.now();
    if (params.ip !== undefined) {
      const verdict = await this.#throttle.reserve(
        [{ key: `reset:${params.ip}`, limit: reset.maxPerIp, windowMs: reset.windowMs }],
        now.getTime(),
      );
      if (!verdict.allowed) {
        throw new RateLimitedError(
          verdict.retryAfterSeconds,
          'Too many reset requests from this address; try again later.',
        );
      }
    }
    const email = params.email.trim().toLowerCase();
    const user = await this.#db
      .selectFrom('users')
      .select(['id', 'email'])
      .where('email', '=', email)
      .executeTakeFirst();
    if (!user) return { message: PASSWORD_RESET_ACCEPTED };
    const perAccount = await this.#throttle.reserve(
      [{ key: `reset-account:${user.id}`, limit: reset.maxPerEmail, windowMs: reset.windowMs }],
      now.getTime(),
    );
    if (!perAccount.allowed) return { message: PASSWORD_RESET_ACCEPTED };
    const token = `cvr_${randomBytes(32).toString('base64url')}`;
    const tokenId = newId();
    const link = `${reset.publicUrl.replace(/\/+$/, '')}/reset-password?token=${encodeURIComponent(token)}`;
    const message = renderPasswordResetEmail({ link, validMinutes: Math.round(reset.ttlMs / 60_000) });
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('password_reset_tokens')
        .values({
          id: tokenId,
          user_id: user.id,
          token_hash: hashToken(token),
          created_at: now,
          expires_at: new Date(now.getTime() + reset.ttlMs),
          address: params.ip ?? null,
        })
        .execute();
      await trx
        .insertInto('email_deliveries')
        .values({
          id: newId(),
          user_id: user.id,
          workflow_id: null,
          event_type: 'auth.password_reset',
          dedupe_key: `PASSWORD_RESET:${tokenId}`,
          to_address: user.email,
          subject: message.subject,
          text_body: message.text,
          html_body: message.html,
          sensitive: true,
          status: 'PENDING',
          next_attempt_at: now,
          created_at: now,
        })
        .execute();
    });
    return { message: PASSWORD_RESET_ACCEPTED };
  }

  /**
   * Sets a new password with an emailed token: one guarded UPDATE takes the token (unused,
   * unexpired), so two confirmations of one link cannot both succeed; then the password changes,
   * every session and token of the account is revoked, the account's other open links are spent,
   * and the audit log records it. Wrong tokens are throttled per address like failed logins.
   */
  async confirmPasswordReset(params: { token: string; password: string; ip?: string }): Promise<void> {
    const now = this.#clock.now();
    const key = `reset-confirm:${params.ip ?? 'unknown'}`;
    const verdict = await this.#throttle.reserve([this.#delayed(key)], now.getTime());
    if (!verdict.allowed) {
      throw new RateLimitedError(verdict.retryAfterSeconds, 'Too many wrong reset links; try again later.');
    }
    const unusable = () =>
      ValidationError.single('token', 'is unknown, already used or expired; ask for a new link');
    const hash = hashToken(params.token);
    const found = await this.#db
      .selectFrom('password_reset_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.user_id', 'u.email'])
      .where('t.token_hash', '=', hash)
      .where('t.used_at', 'is', null)
      .where('t.expires_at', '>', now)
      .executeTakeFirst();
    if (!found) throw unusable();
    const passwordHash = await this.#newPasswordHash(params.password, found.email, 'password');
    await this.#db.transaction().execute(async (trx) => {
      const taken = await trx
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('id', '=', found.id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('id')
        .executeTakeFirst();
      if (!taken) throw unusable();
      await trx
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('user_id', '=', found.user_id)
        .where('used_at', 'is', null)
        .execute();
      await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', found.user_id)
        .execute();
      await trx
        .updateTable('auth_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', found.user_id)
        .where('revoked_at', 'is', null)
        .execute();
      await insertAudit(trx, now, {
        action: 'user.password_reset',
        actor_id: found.user_id,
        subject_id: found.user_id,
        address: params.ip ?? null,
        target_type: 'user',
        target_id: found.user_id,
        details: {},
      });
    });
    await this.#throttle.clear(key);
    await this.#invalidateUser(found.user_id, now);
  }

  /** Cached principals of this user carry the old user: drop them all. */
  async #invalidateUser(userId: string, now: Date): Promise<void> {
    if (!this.#principalCache) return;
    const tokens = await this.#db
      .selectFrom('auth_tokens')
      .select('token_hash')
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
    await this.#principalCache.invalidate(tokens.map((t) => t.token_hash));
  }

  #toInvite(
    row: {
      id: string;
      email: string | null;
      created_at: Date;
      expires_at: Date;
      created_by: string | null;
      used_at: Date | null;
      used_by: string | null;
      revoked_at: Date | null;
    },
    now: Date,
  ): Invite {
    const status: InviteStatus =
      row.revoked_at !== null
        ? 'revoked'
        : row.used_at !== null
          ? 'used'
          : row.expires_at.getTime() <= now.getTime()
            ? 'expired'
            : 'pending';
    return {
      id: row.id,
      email: row.email,
      status,
      created_at: row.created_at.toISOString(),
      expires_at: row.expires_at.toISOString(),
      created_by: row.created_by,
      used_at: row.used_at?.toISOString() ?? null,
      used_by: row.used_by,
    };
  }
}

function toPat(row: {
  id: string;
  name: string | null;
  scopes: TokenScope[] | null;
  parent_id: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}): PersonalAccessToken {
  return {
    id: row.id,
    name: row.name ?? '',
    scopes: canonicalScopes(row.scopes ?? DEFAULT_TOKEN_SCOPES),
    parent_id: row.parent_id,
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

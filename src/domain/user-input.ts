/** Validation of account input: registration, login, profile updates, access tokens and admin changes. */
import { z } from 'zod';
import { parseIpv4, parseIpv6 } from './ip-ranges.ts';
import { passwordWeakness } from './password-strength.ts';

export const NOTIFICATION_PREFERENCES = ['ALL', 'ALERTS', 'NONE'] as const;
export type NotificationPreference = (typeof NOTIFICATION_PREFERENCES)[number];
export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

/**
 * What a personal access token may do (docs/api.md "Token scopes"): `read` the GET routes, `write`
 * the other routes, `tokens` the /auth/tokens routes, `admin` the /admin routes (with the admin
 * role). A session has every scope its user's role allows.
 */
export const TOKEN_SCOPES = ['read', 'write', 'tokens', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
/** A token created without `scopes`: it cannot mint tokens or administer. */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = ['read', 'write'];

export function scopesOfRole(role: UserRole): TokenScope[] {
  return role === 'admin' ? [...TOKEN_SCOPES] : ['read', 'write', 'tokens'];
}

/** `scopes` without duplicates, in catalogue order. */
export function canonicalScopes(scopes: readonly TokenScope[]): TokenScope[] {
  return TOKEN_SCOPES.filter((s) => scopes.includes(s));
}

/**
 * Who may create an account (CHRONOVERSE_SIGNUP, or the administrators' setting): anyone, holders
 * of an invitation, or nobody (administrators create accounts). The first account of an empty
 * installation can always register.
 */
export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];

/**
 * The configured mode (CHRONOVERSE_SIGNUP) with `auto` decided: `open` only when this process
 * serves the API itself on a loopback HOST (a laptop: only its own user can reach it), `invite`
 * otherwise, including a users service that serves a gateway elsewhere.
 */
export function resolveSignupMode(
  setting: SignupMode | 'auto',
  host: string,
  servesApi: boolean,
): SignupMode {
  if (setting !== 'auto') return setting;
  return servesApi && isLoopbackHost(host) ? 'open' : 'invite';
}

/** localhost (and *.localhost), 127.0.0.0/8, ::1 and their IPv6-mapped forms. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = parseIpv4(h);
  if (v4 !== null) return v4 >>> 24 === 127;
  const v6 = h.includes(':') ? parseIpv6(h) : null;
  if (v6 === null || v6.slice(0, 5).some((g) => g !== 0)) return false;
  // ::ffff:127.x.y.z (IPv4-mapped) or ::1.
  if (v6[5] === 0xffff) return v6[6]! >>> 8 === 127;
  return v6[5] === 0 && v6[6] === 0 && v6[7] === 1;
}

/** Trimmed and lower-cased before the format check, so " Ann@Example.COM " is ann@example.com. */
export const EmailSchema = z.string().trim().toLowerCase().max(254).email('must be a valid email address');
/** A new password: 10–128 characters and strong enough (./password-strength.ts). */
export const PasswordSchema = z
  .string()
  .min(PASSWORD_MIN)
  .max(PASSWORD_MAX)
  .superRefine((password, ctx) => {
    // Length issues are reported by min/max; the estimator judges only the lengths we accept.
    if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) return;
    const weakness = passwordWeakness(password);
    if (weakness) ctx.addIssue({ code: 'custom', message: weakness });
  });

export const CredentialsSchema = z
  .object({ email: EmailSchema, password: PasswordSchema })
  .strict()
  .meta({ id: 'Credentials' });

export const RegisterSchema = z
  .object({
    email: EmailSchema,
    password: PasswordSchema,
    invite: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .meta({ id: 'Registration' });

/** Login accepts any string password: length rules are for new passwords only. */
export const LoginSchema = z
  .object({ email: EmailSchema, password: z.string().min(1).max(1024) })
  .strict()
  .meta({ id: 'Login' });

export const UserUpdateSchema = z
  .object({
    notification_preference: z.enum(NOTIFICATION_PREFERENCES).optional(),
    current_password: z.string().min(1).max(1024).optional(),
    new_password: PasswordSchema.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.new_password !== undefined && body.current_password === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['current_password'],
        message: 'is required to change the password',
      });
    }
  })
  .meta({ id: 'UserUpdate' });

export const PAT_MAX_DAYS = 365;

export const TokenCreateSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
    scopes: z
      .array(z.enum(TOKEN_SCOPES))
      .min(1)
      .max(TOKEN_SCOPES.length * 2)
      .optional(),
    /** RFC 3339 with a zone; in the future, at most 365 days ahead (checked by the service). */
    expires_at: z.iso.datetime({ offset: true }).optional(),
    expires_in_days: z.number().int().min(1).max(PAT_MAX_DAYS).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.expires_at !== undefined && body.expires_in_days !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires_at'],
        message: 'give expires_at or expires_in_days, not both',
      });
    }
  })
  .meta({ id: 'TokenCreate' });

export const INVITE_MAX_DAYS = 30;
export const INVITE_DEFAULT_DAYS = 7;

export const InviteCreateSchema = z
  .object({
    /** Only this address may register with the invitation. */
    email: EmailSchema.optional(),
    expires_in_days: z.number().int().min(1).max(INVITE_MAX_DAYS).optional(),
  })
  .strict()
  .meta({ id: 'InviteCreate' });

export const AdminUserCreateSchema = z
  .object({ email: EmailSchema, password: PasswordSchema, role: z.enum(USER_ROLES).optional() })
  .strict()
  .meta({ id: 'AdminUserCreate' });

export const AdminUserUpdateSchema = z
  .object({ role: z.enum(USER_ROLES) })
  .strict()
  .meta({ id: 'AdminUserUpdate' });

export const SettingsUpdateSchema = z
  .object({
    /** null: back to the configured mode (CHRONOVERSE_SIGNUP). */
    signup_mode: z.enum(SIGNUP_MODES).nullable(),
  })
  .strict()
  .meta({ id: 'SettingsUpdate' });

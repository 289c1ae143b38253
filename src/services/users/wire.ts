/** Users objects ↔ chronoverse.users.v1 messages, both directions (the principal travels both ways). */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  NOTIFICATION_PREFERENCES,
  SIGNUP_MODES,
  TOKEN_SCOPES,
  USER_ROLES,
  type SignupMode,
  type TokenScope,
} from '../../domain/user-input.ts';
import {
  AdminContextSchema,
  NotificationPreferenceSchema,
  PrincipalSchema,
  SignupModeSchema,
  TokenKindSchema,
  TokenScopeSchema,
  UserRoleSchema,
  type AdminContext as AdminContextMessage,
  type AuditEvent as AuditEventMessage,
  type AuditEventSchema,
  type GetSignupSettingsResponse,
  type GetSignupSettingsResponseSchema,
  type Invite as InviteMessage,
  type InviteSchema,
  type PersonalAccessToken as PatMessage,
  type PersonalAccessTokenSchema,
  type Principal as PrincipalMessage,
  type Session,
  type SessionSchema,
  type User as UserMessage,
  type UserSchema,
} from '../../gen/chronoverse/users/v1/users_pb.js';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import type { AuditEvent, AuditEventInput } from './audit.ts';
import {
  INVITE_STATUSES,
  type AdminContext,
  type Invite,
  type IssuedSession,
  type PersonalAccessToken,
  type Principal,
  type SignupSettings,
  type User,
} from './service.ts';

const TOKEN_KINDS = ['session', 'pat'] as const;

export function userToWire(u: User): MessageInitShape<typeof UserSchema> {
  return {
    id: u.id,
    email: u.email,
    role: toEnum(UserRoleSchema, u.role),
    notificationPreference: toEnum(NotificationPreferenceSchema, u.notification_preference),
    createdAt: toTimestamp(u.created_at),
    updatedAt: toTimestamp(u.updated_at),
  };
}

export function userFromWire(m: UserMessage | undefined): User {
  const u = required(m, 'user');
  return {
    id: u.id,
    email: u.email,
    role: fromEnum(UserRoleSchema, u.role, USER_ROLES),
    notification_preference: fromEnum(
      NotificationPreferenceSchema,
      u.notificationPreference,
      NOTIFICATION_PREFERENCES,
    ),
    created_at: fromTimestamp(u.createdAt),
    updated_at: fromTimestamp(u.updatedAt),
  };
}

export function sessionToWire(s: IssuedSession): MessageInitShape<typeof SessionSchema> {
  return {
    user: userToWire(s.user),
    token: s.token,
    tokenId: s.tokenId,
    expiresAt: toTimestamp(s.expiresAt.toISOString()),
  };
}

export function sessionFromWire(m: Session | undefined): IssuedSession {
  const s = required(m, 'session');
  return {
    user: userFromWire(s.user),
    token: s.token,
    tokenId: s.tokenId,
    expiresAt: new Date(fromTimestamp(s.expiresAt)),
  };
}

export function scopesToWire(scopes: readonly TokenScope[]): number[] {
  return scopes.map((s) => toEnum(TokenScopeSchema, s));
}

export function scopesFromWire(scopes: readonly number[]): TokenScope[] {
  return scopes.map((n) => fromEnum(TokenScopeSchema, n, TOKEN_SCOPES));
}

export function signupModeToWire(mode: SignupMode): number {
  return toEnum(SignupModeSchema, mode);
}

export function signupModeFromWire(n: number): SignupMode {
  return fromEnum(SignupModeSchema, n, SIGNUP_MODES);
}

export function principalToWire(p: Principal): PrincipalMessage {
  return create(PrincipalSchema, {
    user: userToWire(p.user),
    tokenId: p.tokenId,
    tokenKind: toEnum(TokenKindSchema, p.tokenKind),
    scopes: scopesToWire(p.scopes),
  });
}

export function principalFromWire(m: PrincipalMessage | undefined): Principal {
  const p = required(m, 'principal');
  return {
    user: userFromWire(p.user),
    tokenId: p.tokenId,
    tokenKind: fromEnum(TokenKindSchema, p.tokenKind, TOKEN_KINDS),
    scopes: scopesFromWire(p.scopes),
  };
}

export function adminContextToWire(ctx: AdminContext): AdminContextMessage {
  return create(AdminContextSchema, {
    principal: principalToWire(ctx.principal),
    ...(ctx.address !== undefined ? { address: ctx.address } : {}),
  });
}

export function adminContextFromWire(m: AdminContextMessage | undefined): AdminContext {
  const c = required(m, 'context');
  return {
    principal: principalFromWire(c.principal),
    ...(c.address !== undefined ? { address: c.address } : {}),
  };
}

export function patToWire(t: PersonalAccessToken): MessageInitShape<typeof PersonalAccessTokenSchema> {
  return {
    id: t.id,
    name: t.name,
    scopes: scopesToWire(t.scopes),
    ...(t.parent_id !== null ? { parentId: t.parent_id } : {}),
    createdAt: toTimestamp(t.created_at),
    expiresAt: toOptionalTimestamp(t.expires_at),
    lastUsedAt: toOptionalTimestamp(t.last_used_at),
  };
}

export function patFromWire(m: PatMessage | undefined): PersonalAccessToken {
  const t = required(m, 'token');
  return {
    id: t.id,
    name: t.name,
    scopes: scopesFromWire(t.scopes),
    parent_id: t.parentId ?? null,
    created_at: fromTimestamp(t.createdAt),
    expires_at: fromOptionalTimestamp(t.expiresAt),
    last_used_at: fromOptionalTimestamp(t.lastUsedAt),
  };
}

export function signupSettingsToWire(
  s: SignupSettings,
): MessageInitShape<typeof GetSignupSettingsResponseSchema> {
  return {
    ...(s.override !== null ? { override: signupModeToWire(s.override) } : {}),
    configured: signupModeToWire(s.configured),
    effective: signupModeToWire(s.effective),
  };
}

export function signupSettingsFromWire(m: GetSignupSettingsResponse | undefined): SignupSettings {
  const s = required(m, 'settings');
  return {
    override: s.override !== undefined ? signupModeFromWire(s.override) : null,
    configured: signupModeFromWire(s.configured),
    effective: signupModeFromWire(s.effective),
  };
}

export function inviteToWire(i: Invite): MessageInitShape<typeof InviteSchema> {
  return {
    id: i.id,
    ...(i.email !== null ? { email: i.email } : {}),
    status: i.status,
    createdAt: toTimestamp(i.created_at),
    expiresAt: toTimestamp(i.expires_at),
    ...(i.created_by !== null ? { createdBy: i.created_by } : {}),
    usedAt: toOptionalTimestamp(i.used_at),
    ...(i.used_by !== null ? { usedBy: i.used_by } : {}),
  };
}

export function inviteFromWire(m: InviteMessage | undefined): Invite {
  const i = required(m, 'invite');
  const status = INVITE_STATUSES.find((s) => s === i.status);
  if (status === undefined) throw new Error(`unknown invite status "${i.status}"`);
  return {
    id: i.id,
    email: i.email ?? null,
    status,
    created_at: fromTimestamp(i.createdAt),
    expires_at: fromTimestamp(i.expiresAt),
    created_by: i.createdBy ?? null,
    used_at: fromOptionalTimestamp(i.usedAt),
    used_by: i.usedBy ?? null,
  };
}

/** An entry to record travels as an AuditEvent without id and time (the service assigns them). */
export function auditInputToWire(e: AuditEventInput): MessageInitShape<typeof AuditEventSchema> {
  return {
    action: e.action,
    ...(e.actor_id !== null ? { actorId: e.actor_id } : {}),
    ...(e.subject_id !== null ? { subjectId: e.subject_id } : {}),
    ...(e.address !== null ? { address: e.address } : {}),
    ...(e.target_type !== null ? { targetType: e.target_type } : {}),
    ...(e.target_id !== null ? { targetId: e.target_id } : {}),
    detailsJson: JSON.stringify(e.details ?? {}),
  };
}

export function auditInputFromWire(m: AuditEventMessage | undefined): AuditEventInput {
  const e = required(m, 'event');
  return {
    action: e.action,
    actor_id: e.actorId ?? null,
    subject_id: e.subjectId ?? null,
    address: e.address ?? null,
    target_type: e.targetType ?? null,
    target_id: e.targetId ?? null,
    details: parseDetails(e.detailsJson),
  };
}

export function auditToWire(e: AuditEvent): MessageInitShape<typeof AuditEventSchema> {
  return { ...auditInputToWire(e), id: e.id, at: toTimestamp(e.at) };
}

export function auditFromWire(m: AuditEventMessage): AuditEvent {
  const input = auditInputFromWire(m);
  return {
    id: m.id,
    at: fromTimestamp(m.at),
    action: input.action,
    actor_id: input.actor_id,
    subject_id: input.subject_id,
    address: input.address,
    target_type: input.target_type,
    target_id: input.target_id,
    details: input.details ?? {},
  };
}

function parseDetails(json: string): Record<string, unknown> {
  if (json === '') return {};
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

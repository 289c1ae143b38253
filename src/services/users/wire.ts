/** Users objects ↔ chronoverse.users.v1 messages, both directions (the principal travels both ways). */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { NOTIFICATION_PREFERENCES, USER_ROLES } from '../../domain/user-input.ts';
import {
  NotificationPreferenceSchema,
  PrincipalSchema,
  TokenKindSchema,
  UserRoleSchema,
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
import type { IssuedSession, PersonalAccessToken, Principal, User } from './service.ts';

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

export function principalToWire(p: Principal): PrincipalMessage {
  return create(PrincipalSchema, {
    user: userToWire(p.user),
    tokenId: p.tokenId,
    tokenKind: toEnum(TokenKindSchema, p.tokenKind),
  });
}

export function principalFromWire(m: PrincipalMessage | undefined): Principal {
  const p = required(m, 'principal');
  return {
    user: userFromWire(p.user),
    tokenId: p.tokenId,
    tokenKind: fromEnum(TokenKindSchema, p.tokenKind, TOKEN_KINDS),
  };
}

export function patToWire(t: PersonalAccessToken): MessageInitShape<typeof PersonalAccessTokenSchema> {
  return {
    id: t.id,
    name: t.name,
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
    created_at: fromTimestamp(t.createdAt),
    expires_at: fromOptionalTimestamp(t.expiresAt),
    last_used_at: fromOptionalTimestamp(t.lastUsedAt),
  };
}

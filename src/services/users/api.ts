/**
 * What the gateway needs of the users service. `UsersService` implements it in process;
 * the generic adapter over its .proto (src/platform/rpc/service-adapter.ts) over RPC, returning
 * the very same objects.
 */
import type { NotificationPreference, SignupMode, TokenScope, UserRole } from '../../domain/user-input.ts';
import type { AuditEvent, AuditEventInput, AuditQuery } from './audit.ts';
import type {
  AdminContext,
  Invite,
  IssuedSession,
  PersonalAccessToken,
  Principal,
  SignupSettings,
  User,
} from './service.ts';

export interface UsersApi {
  /** `ip`: the client address (registrations are limited per address); `invite`: a cvi_ secret. */
  register(params: { email: string; password: string; ip?: string; invite?: string }): Promise<IssuedSession>;
  /** Emails a one-time reset link if an account has this address; the same answer either way. */
  requestPasswordReset(params: { email: string; ip?: string }): Promise<{ message: string }>;
  /** Sets a new password with an emailed token; revokes every session and token of the account. */
  confirmPasswordReset(params: { token: string; password: string; ip?: string }): Promise<void>;
  login(params: { email: string; password: string; ip: string }): Promise<IssuedSession>;
  /** The principal behind a bearer token, or null when it is unknown, expired or revoked. */
  authenticate(token: string): Promise<Principal | null>;
  /** Revokes the credential and every token it minted. */
  revokeToken(tokenId: string): Promise<void>;
  getUser(userId: string): Promise<User>;
  updateUser(
    principal: Principal,
    changes: {
      notification_preference?: NotificationPreference;
      current_password?: string;
      new_password?: string;
    },
  ): Promise<User>;
  createPersonalAccessToken(
    principal: Principal,
    params: {
      name: string;
      scopes?: readonly TokenScope[];
      expires_at?: string;
      expires_in_days?: number;
      address?: string;
    },
  ): Promise<PersonalAccessToken & { token: string }>;
  listPersonalAccessTokens(userId: string): Promise<PersonalAccessToken[]>;
  revokePersonalAccessToken(userId: string, tokenId: string, address?: string): Promise<void>;
  listUsers(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ users: User[]; nextAfterId: string | null }>;
  getSignupSettings(): Promise<SignupSettings>;
  setSignupMode(ctx: AdminContext, mode: SignupMode | null): Promise<SignupSettings>;
  createInvite(
    ctx: AdminContext,
    params: { email?: string; expires_in_days?: number },
  ): Promise<Invite & { token: string }>;
  listInvites(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ invites: Invite[]; nextAfterId: string | null }>;
  revokeInvite(ctx: AdminContext, inviteId: string): Promise<void>;
  adminCreateUser(
    ctx: AdminContext,
    params: { email: string; password: string; role?: UserRole },
  ): Promise<User>;
  setUserRole(ctx: AdminContext, userId: string, role: UserRole): Promise<User>;
  recordAudit(event: AuditEventInput): Promise<void>;
  listAudit(query: AuditQuery): Promise<{ events: AuditEvent[]; nextAfterId: string | null }>;
}

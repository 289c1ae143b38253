/** UsersApi over RPC: the same objects UsersService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import {
  NotificationPreferenceSchema,
  UserRoleSchema,
  UsersService,
} from '../../gen/chronoverse/users/v1/users_pb.js';
import type { SignupMode, UserRole } from '../../domain/user-input.ts';
import { toEnum, toTimestamp } from '../../platform/rpc/codec.ts';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { UsersApi } from './api.ts';
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
import {
  adminContextToWire,
  auditFromWire,
  auditInputToWire,
  inviteFromWire,
  patFromWire,
  principalFromWire,
  principalToWire,
  scopesToWire,
  sessionFromWire,
  signupModeToWire,
  signupSettingsFromWire,
  userFromWire,
} from './wire.ts';

export class UsersClient implements UsersApi {
  readonly #rpc: Client<typeof UsersService>;
  readonly #call = rpcCall('users');

  constructor(transport: Transport) {
    this.#rpc = createClient(UsersService, transport);
  }

  register(params: Parameters<UsersApi['register']>[0]): Promise<IssuedSession> {
    return this.#call(async () => sessionFromWire((await this.#rpc.register(params)).session));
  }

  requestPasswordReset(params: { email: string; ip?: string }): Promise<{ message: string }> {
    return this.#call(async () => ({ message: (await this.#rpc.requestPasswordReset(params)).message }));
  }

  confirmPasswordReset(params: { token: string; password: string; ip?: string }): Promise<void> {
    return this.#call(async () => void (await this.#rpc.confirmPasswordReset(params)));
  }

  login(params: { email: string; password: string; ip: string }): Promise<IssuedSession> {
    return this.#call(async () => sessionFromWire((await this.#rpc.login(params)).session));
  }

  authenticate(token: string): Promise<Principal | null> {
    return this.#call(async () => {
      const { principal } = await this.#rpc.authenticate({ token });
      return principal ? principalFromWire(principal) : null;
    });
  }

  revokeToken(tokenId: string): Promise<void> {
    return this.#call(async () => void (await this.#rpc.revokeToken({ tokenId })));
  }

  getUser(userId: string): Promise<User> {
    return this.#call(async () => userFromWire((await this.#rpc.getUser({ userId })).user));
  }

  updateUser(principal: Principal, changes: Parameters<UsersApi['updateUser']>[1]): Promise<User> {
    return this.#call(async () => {
      const res = await this.#rpc.updateUser({
        principal: principalToWire(principal),
        ...(changes.notification_preference !== undefined
          ? { notificationPreference: toEnum(NotificationPreferenceSchema, changes.notification_preference) }
          : {}),
        ...(changes.current_password !== undefined ? { currentPassword: changes.current_password } : {}),
        ...(changes.new_password !== undefined ? { newPassword: changes.new_password } : {}),
      });
      return userFromWire(res.user);
    });
  }

  createPersonalAccessToken(
    principal: Principal,
    params: Parameters<UsersApi['createPersonalAccessToken']>[1],
  ): Promise<PersonalAccessToken & { token: string }> {
    return this.#call(async () => {
      const res = await this.#rpc.createPersonalAccessToken({
        principal: principalToWire(principal),
        name: params.name,
        ...(params.scopes !== undefined ? { scopes: scopesToWire(params.scopes) } : {}),
        ...(params.expires_at !== undefined ? { expiresAt: toTimestamp(params.expires_at) } : {}),
        ...(params.expires_in_days !== undefined ? { expiresInDays: params.expires_in_days } : {}),
        ...(params.address !== undefined ? { address: params.address } : {}),
      });
      return { ...patFromWire(res.token), token: res.secret };
    });
  }

  listPersonalAccessTokens(userId: string): Promise<PersonalAccessToken[]> {
    return this.#call(async () =>
      (await this.#rpc.listPersonalAccessTokens({ userId })).tokens.map(patFromWire),
    );
  }

  revokePersonalAccessToken(userId: string, tokenId: string, address?: string): Promise<void> {
    return this.#call(
      async () =>
        void (await this.#rpc.revokePersonalAccessToken({
          userId,
          tokenId,
          ...(address !== undefined ? { address } : {}),
        })),
    );
  }

  listUsers(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ users: User[]; nextAfterId: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listUsers(params);
      return { users: res.users.map(userFromWire), nextAfterId: res.nextAfterId ?? null };
    });
  }

  getSignupSettings(): Promise<SignupSettings> {
    return this.#call(async () => signupSettingsFromWire(await this.#rpc.getSignupSettings({})));
  }

  setSignupMode(ctx: AdminContext, mode: SignupMode | null): Promise<SignupSettings> {
    return this.#call(async () => {
      const res = await this.#rpc.setSignupMode({
        context: adminContextToWire(ctx),
        ...(mode !== null ? { mode: signupModeToWire(mode) } : {}),
      });
      return signupSettingsFromWire(res.settings);
    });
  }

  createInvite(
    ctx: AdminContext,
    params: { email?: string; expires_in_days?: number },
  ): Promise<Invite & { token: string }> {
    return this.#call(async () => {
      const res = await this.#rpc.createInvite({
        context: adminContextToWire(ctx),
        ...(params.email !== undefined ? { email: params.email } : {}),
        ...(params.expires_in_days !== undefined ? { expiresInDays: params.expires_in_days } : {}),
      });
      return { ...inviteFromWire(res.invite), token: res.secret };
    });
  }

  listInvites(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ invites: Invite[]; nextAfterId: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listInvites(params);
      return { invites: res.invites.map(inviteFromWire), nextAfterId: res.nextAfterId ?? null };
    });
  }

  revokeInvite(ctx: AdminContext, inviteId: string): Promise<void> {
    return this.#call(
      async () => void (await this.#rpc.revokeInvite({ context: adminContextToWire(ctx), inviteId })),
    );
  }

  adminCreateUser(
    ctx: AdminContext,
    params: { email: string; password: string; role?: UserRole },
  ): Promise<User> {
    return this.#call(async () => {
      const res = await this.#rpc.adminCreateUser({
        context: adminContextToWire(ctx),
        email: params.email,
        password: params.password,
        ...(params.role !== undefined ? { role: toEnum(UserRoleSchema, params.role) } : {}),
      });
      return userFromWire(res.user);
    });
  }

  setUserRole(ctx: AdminContext, userId: string, role: UserRole): Promise<User> {
    return this.#call(async () => {
      const res = await this.#rpc.setUserRole({
        context: adminContextToWire(ctx),
        userId,
        role: toEnum(UserRoleSchema, role),
      });
      return userFromWire(res.user);
    });
  }

  recordAudit(event: AuditEventInput): Promise<void> {
    return this.#call(async () => void (await this.#rpc.recordAudit({ event: auditInputToWire(event) })));
  }

  listAudit(query: AuditQuery): Promise<{ events: AuditEvent[]; nextAfterId: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listAudit({
        limit: query.limit,
        ...(query.afterId !== undefined ? { afterId: query.afterId } : {}),
        ...(query.action !== undefined ? { action: query.action } : {}),
        ...(query.userId !== undefined ? { userId: query.userId } : {}),
        ...(query.since !== undefined ? { since: toTimestamp(query.since) } : {}),
        ...(query.until !== undefined ? { until: toTimestamp(query.until) } : {}),
      });
      return { events: res.events.map(auditFromWire), nextAfterId: res.nextAfterId ?? null };
    });
  }
}

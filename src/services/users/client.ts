/** UsersApi over RPC: the same objects UsersService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { NotificationPreferenceSchema, UsersService } from '../../gen/chronoverse/users/v1/users_pb.js';
import { toEnum } from '../../platform/rpc/codec.ts';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { UsersApi } from './api.ts';
import type { IssuedSession, PersonalAccessToken, Principal, User } from './service.ts';
import { patFromWire, principalFromWire, principalToWire, sessionFromWire, userFromWire } from './wire.ts';

export class UsersClient implements UsersApi {
  readonly #rpc: Client<typeof UsersService>;
  readonly #call = rpcCall('users');

  constructor(transport: Transport) {
    this.#rpc = createClient(UsersService, transport);
  }

  register(params: { email: string; password: string }): Promise<IssuedSession> {
    return this.#call(async () => sessionFromWire((await this.#rpc.register(params)).session));
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
    userId: string,
    params: { name: string; expires_in_days?: number },
  ): Promise<PersonalAccessToken & { token: string }> {
    return this.#call(async () => {
      const res = await this.#rpc.createPersonalAccessToken({
        userId,
        name: params.name,
        ...(params.expires_in_days !== undefined ? { expiresInDays: params.expires_in_days } : {}),
      });
      return { ...patFromWire(res.token), token: res.secret };
    });
  }

  listPersonalAccessTokens(userId: string): Promise<PersonalAccessToken[]> {
    return this.#call(async () =>
      (await this.#rpc.listPersonalAccessTokens({ userId })).tokens.map(patFromWire),
    );
  }

  revokePersonalAccessToken(userId: string, tokenId: string): Promise<void> {
    return this.#call(async () => void (await this.#rpc.revokePersonalAccessToken({ userId, tokenId })));
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
}

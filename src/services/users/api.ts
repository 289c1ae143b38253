/**
 * What the gateway needs of the users service. `UsersService` implements it in process;
 * `UsersClient` (./client.ts) implements it over RPC, returning the very same objects.
 */
import type { NotificationPreference } from '../../domain/user-input.ts';
import type { IssuedSession, PersonalAccessToken, Principal, User } from './service.ts';

export interface UsersApi {
  register(params: { email: string; password: string }): Promise<IssuedSession>;
  login(params: { email: string; password: string; ip: string }): Promise<IssuedSession>;
  /** The principal behind a bearer token, or null when it is unknown, expired or revoked. */
  authenticate(token: string): Promise<Principal | null>;
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
    userId: string,
    params: { name: string; expires_in_days?: number },
  ): Promise<PersonalAccessToken & { token: string }>;
  listPersonalAccessTokens(userId: string): Promise<PersonalAccessToken[]>;
  revokePersonalAccessToken(userId: string, tokenId: string): Promise<void>;
  listUsers(params: {
    afterId?: string;
    limit: number;
  }): Promise<{ users: User[]; nextAfterId: string | null }>;
}

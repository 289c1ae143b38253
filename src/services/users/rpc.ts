/** chronoverse.users.v1.UsersService served by a UsersApi (the in-process UsersService). */
import { NOTIFICATION_PREFERENCES } from '../../domain/user-input.ts';
import { NotificationPreferenceSchema, UsersService } from '../../gen/chronoverse/users/v1/users_pb.js';
import { fromEnum } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { UsersApi } from './api.ts';
import { patToWire, principalFromWire, principalToWire, sessionToWire, userToWire } from './wire.ts';

export function usersRpc(users: UsersApi): ServiceRegistration {
  return {
    typeName: UsersService.typeName,
    register: (router) =>
      router.service(UsersService, {
        register: async (req) => ({
          session: sessionToWire(await users.register({ email: req.email, password: req.password })),
        }),
        login: async (req) => ({
          session: sessionToWire(await users.login({ email: req.email, password: req.password, ip: req.ip })),
        }),
        authenticate: async (req) => {
          const principal = await users.authenticate(req.token);
          return principal ? { principal: principalToWire(principal) } : {};
        },
        revokeToken: async (req) => {
          await users.revokeToken(req.tokenId);
          return {};
        },
        getUser: async (req) => ({ user: userToWire(await users.getUser(req.userId)) }),
        updateUser: async (req) => ({
          user: userToWire(
            await users.updateUser(principalFromWire(req.principal), {
              ...(req.notificationPreference !== undefined
                ? {
                    notification_preference: fromEnum(
                      NotificationPreferenceSchema,
                      req.notificationPreference,
                      NOTIFICATION_PREFERENCES,
                    ),
                  }
                : {}),
              ...(req.currentPassword !== undefined ? { current_password: req.currentPassword } : {}),
              ...(req.newPassword !== undefined ? { new_password: req.newPassword } : {}),
            }),
          ),
        }),
        createPersonalAccessToken: async (req) => {
          const { token, ...pat } = await users.createPersonalAccessToken(req.userId, {
            name: req.name,
            ...(req.expiresInDays !== undefined ? { expires_in_days: req.expiresInDays } : {}),
          });
          return { token: patToWire(pat), secret: token };
        },
        listPersonalAccessTokens: async (req) => ({
          tokens: (await users.listPersonalAccessTokens(req.userId)).map(patToWire),
        }),
        revokePersonalAccessToken: async (req) => {
          await users.revokePersonalAccessToken(req.userId, req.tokenId);
          return {};
        },
        listUsers: async (req) => {
          const page = await users.listUsers({
            limit: req.limit,
            ...(req.afterId !== undefined ? { afterId: req.afterId } : {}),
          });
          return {
            users: page.users.map(userToWire),
            ...(page.nextAfterId !== null ? { nextAfterId: page.nextAfterId } : {}),
          };
        },
      }),
  };
}

/** chronoverse.users.v1.UsersService served by a UsersApi (the in-process UsersService). */
import { NOTIFICATION_PREFERENCES, USER_ROLES } from '../../domain/user-input.ts';
import {
  NotificationPreferenceSchema,
  UserRoleSchema,
  UsersService,
} from '../../gen/chronoverse/users/v1/users_pb.js';
import { fromEnum, fromTimestamp } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { UsersApi } from './api.ts';
import {
  adminContextFromWire,
  auditInputFromWire,
  auditToWire,
  inviteToWire,
  patToWire,
  principalFromWire,
  principalToWire,
  scopesFromWire,
  sessionToWire,
  signupModeFromWire,
  signupSettingsToWire,
  userToWire,
} from './wire.ts';

export function usersRpc(users: UsersApi): ServiceRegistration {
  return {
    typeName: UsersService.typeName,
    register: (router) =>
      router.service(UsersService, {
        register: async (req) => ({
          session: sessionToWire(
            await users.register({
              email: req.email,
              password: req.password,
              ...(req.ip !== undefined ? { ip: req.ip } : {}),
              ...(req.invite !== undefined ? { invite: req.invite } : {}),
            }),
          ),
        }),
        requestPasswordReset: async (req) =>
          users.requestPasswordReset({ email: req.email, ...(req.ip !== undefined ? { ip: req.ip } : {}) }),
        confirmPasswordReset: async (req) => {
          await users.confirmPasswordReset({
            token: req.token,
            password: req.password,
            ...(req.ip !== undefined ? { ip: req.ip } : {}),
          });
          return {};
        },
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
          const { token, ...pat } = await users.createPersonalAccessToken(principalFromWire(req.principal), {
            name: req.name,
            ...(req.scopes.length > 0 ? { scopes: scopesFromWire(req.scopes) } : {}),
            ...(req.expiresAt !== undefined ? { expires_at: fromTimestamp(req.expiresAt) } : {}),
            ...(req.expiresInDays !== undefined ? { expires_in_days: req.expiresInDays } : {}),
            ...(req.address !== undefined ? { address: req.address } : {}),
          });
          return { token: patToWire(pat), secret: token };
        },
        listPersonalAccessTokens: async (req) => ({
          tokens: (await users.listPersonalAccessTokens(req.userId)).map(patToWire),
        }),
        revokePersonalAccessToken: async (req) => {
          await users.revokePersonalAccessToken(req.userId, req.tokenId, req.address);
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
        getSignupSettings: async () => signupSettingsToWire(await users.getSignupSettings()),
        setSignupMode: async (req) => ({
          settings: signupSettingsToWire(
            await users.setSignupMode(
              adminContextFromWire(req.context),
              req.mode !== undefined ? signupModeFromWire(req.mode) : null,
            ),
          ),
        }),
        createInvite: async (req) => {
          const { token, ...invite } = await users.createInvite(adminContextFromWire(req.context), {
            ...(req.email !== undefined ? { email: req.email } : {}),
            ...(req.expiresInDays !== undefined ? { expires_in_days: req.expiresInDays } : {}),
          });
          return { invite: inviteToWire(invite), secret: token };
        },
        listInvites: async (req) => {
          const page = await users.listInvites({
            limit: req.limit,
            ...(req.afterId !== undefined ? { afterId: req.afterId } : {}),
          });
          return {
            invites: page.invites.map(inviteToWire),
            ...(page.nextAfterId !== null ? { nextAfterId: page.nextAfterId } : {}),
          };
        },
        revokeInvite: async (req) => {
          await users.revokeInvite(adminContextFromWire(req.context), req.inviteId);
          return {};
        },
        adminCreateUser: async (req) => ({
          user: userToWire(
            await users.adminCreateUser(adminContextFromWire(req.context), {
              email: req.email,
              password: req.password,
              // UNSPECIFIED (0): the service's default role.
              ...(req.role !== 0 ? { role: fromEnum(UserRoleSchema, req.role, USER_ROLES) } : {}),
            }),
          ),
        }),
        setUserRole: async (req) => ({
          user: userToWire(
            await users.setUserRole(
              adminContextFromWire(req.context),
              req.userId,
              fromEnum(UserRoleSchema, req.role, USER_ROLES),
            ),
          ),
        }),
        recordAudit: async (req) => {
          await users.recordAudit(auditInputFromWire(req.event));
          return {};
        },
        listAudit: async (req) => {
          const page = await users.listAudit({
            limit: req.limit,
            ...(req.afterId !== undefined ? { afterId: req.afterId } : {}),
            ...(req.action !== undefined ? { action: req.action } : {}),
            ...(req.userId !== undefined ? { userId: req.userId } : {}),
            ...(req.since !== undefined ? { since: fromTimestamp(req.since) } : {}),
            ...(req.until !== undefined ? { until: fromTimestamp(req.until) } : {}),
          });
          return {
            events: page.events.map(auditToWire),
            ...(page.nextAfterId !== null ? { nextAfterId: page.nextAfterId } : {}),
          };
        },
      }),
  };
}

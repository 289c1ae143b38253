/** chronoverse.notifications.v1.NotificationsService served by a NotificationsApi (the in-process class). */
import { NotificationsService } from '../../gen/chronoverse/notifications/v1/notifications_pb.js';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { NotificationsApi } from './api.ts';
import type { NotificationListOptions } from './service.ts';
import { notificationToWire } from './wire.ts';

export function notificationsRpc(notifications: NotificationsApi): ServiceRegistration {
  return {
    typeName: NotificationsService.typeName,
    register: (router) =>
      router.service(NotificationsService, {
        listNotifications: async (req) => {
          const options: NotificationListOptions = { unread: req.unread, limit: req.limit };
          if (req.cursor !== undefined) options.cursor = req.cursor;
          const page = await notifications.list(req.userId, options);
          return {
            notifications: page.notifications.map(notificationToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
            unreadCount: BigInt(page.unread_count),
          };
        },
        markNotificationsRead: async (req) => {
          const { updated } = await notifications.markRead(
            req.userId,
            req.all ? { all: true } : { ids: req.ids },
          );
          return { updated: BigInt(updated) };
        },
        listNotificationsAfter: async (req) => ({
          notifications: (await notifications.after(req.userId, req.afterId ?? null, req.limit)).map(
            notificationToWire,
          ),
        }),
        getLatestNotificationId: async (req) => {
          const id = await notifications.latestId(req.userId);
          return id !== null ? { id } : {};
        },
      }),
  };
}

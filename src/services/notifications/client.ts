/** NotificationsApi over RPC: the same objects NotificationsService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { NotificationsService } from '../../gen/chronoverse/notifications/v1/notifications_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { NotificationsApi } from './api.ts';
import type {
  MarkReadRequest,
  NotificationListOptions,
  NotificationPage,
  NotificationView,
} from './service.ts';
import { notificationFromWire } from './wire.ts';

export class NotificationsClient implements NotificationsApi {
  readonly #rpc: Client<typeof NotificationsService>;
  readonly #call = rpcCall('notifications');

  constructor(transport: Transport) {
    this.#rpc = createClient(NotificationsService, transport);
  }

  list(userId: string, options: NotificationListOptions): Promise<NotificationPage> {
    return this.#call(async () => {
      const res = await this.#rpc.listNotifications({
        userId,
        unread: options.unread,
        cursor: options.cursor,
        limit: options.limit,
      });
      return {
        notifications: res.notifications.map(notificationFromWire),
        cursor: res.cursor ?? null,
        unread_count: Number(res.unreadCount),
      };
    });
  }

  markRead(userId: string, request: MarkReadRequest): Promise<{ updated: number }> {
    return this.#call(async () => {
      const all = 'all' in request && request.all === true;
      const res = await this.#rpc.markNotificationsRead({
        userId,
        all,
        ids: all ? [] : (request as { ids: string[] }).ids,
      });
      return { updated: Number(res.updated) };
    });
  }

  after(userId: string, afterId: string | null, limit: number): Promise<NotificationView[]> {
    return this.#call(async () =>
      (
        await this.#rpc.listNotificationsAfter({ userId, afterId: afterId ?? undefined, limit })
      ).notifications.map(notificationFromWire),
    );
  }

  latestId(userId: string): Promise<string | null> {
    return this.#call(async () => (await this.#rpc.getLatestNotificationId({ userId })).id ?? null);
  }
}

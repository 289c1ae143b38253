/**
 * What the gateway needs of the notifications service. `NotificationsService` implements it in
 * process; the generic adapter over its .proto (src/platform/rpc/service-adapter.ts)
 * over RPC, returning the same objects.
 */
import type {
  MarkReadRequest,
  NotificationListOptions,
  NotificationPage,
  NotificationView,
} from './service.ts';

export interface NotificationsApi {
  /** The user's notifications, newest first; unread only unless `unread` is false. */
  list(userId: string, options: NotificationListOptions): Promise<NotificationPage>;
  /** Marks the user's notifications read (others' ids are ignored); how many changed. */
  markRead(userId: string, request: MarkReadRequest): Promise<{ updated: number }>;
  /** For the SSE stream: up to `limit` of the user's notifications after `afterId`, oldest first. */
  after(userId: string, afterId: string | null, limit: number): Promise<NotificationView[]>;
  /** For the SSE stream: the id of the user's newest notification, or null. */
  latestId(userId: string): Promise<string | null>;
}

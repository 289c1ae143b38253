/**
 * Notifications: the cached lists (unread, and the whole history), marking read, and the live
 * stream. The stream (features/notifications/stream.ts) writes into the same query cache, so the
 * bell, the drawer and any other reader stay in step without polling; the list queries only poll
 * as a slow fallback while the stream is down.
 */
import { useInfiniteQuery, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from './client.ts';
import type { ResponseOf, Schemas } from './types.ts';
import { markReadInCache, type NotificationPages } from '../features/notifications/cache.ts';

export type Notification = Schemas['Notification'];
export type NotificationKind = Notification['kind'];
export const NOTIFICATION_KINDS = [
  'INFO',
  'SUCCESS',
  'WARN',
  'ERROR',
  'ALERT',
] as const satisfies readonly NotificationKind[];

export type NotificationPage = ResponseOf<'/api/v1/notifications', 'get'>;

export type NotificationList = 'unread' | 'all';

export const NOTIFICATION_LISTS: readonly NotificationList[] = ['unread', 'all'];

export const notificationKeys = {
  root: ['notifications'] as const,
  list: (list: NotificationList) => ['notifications', list] as const,
};

/** The fallback refresh while the live stream is down; never faster than 30 s. */
export const NOTIFICATIONS_FALLBACK_POLL_MS = 60_000;
const PAGE_SIZE = 20;

export function fetchNotifications(
  list: NotificationList,
  cursor: string | null,
  signal?: AbortSignal,
): Promise<NotificationPage> {
  return api.get<NotificationPage>('/notifications', {
    query: { unread: list === 'unread', cursor, limit: PAGE_SIZE },
    signal,
  });
}

export function useNotifications(
  list: NotificationList,
  options: { enabled?: boolean; live?: boolean } = {},
) {
  return useInfiniteQuery({
    queryKey: notificationKeys.list(list),
    queryFn: ({ pageParam, signal }) => fetchNotifications(list, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.cursor,
    enabled: options.enabled ?? true,
    refetchInterval: options.live ? false : NOTIFICATIONS_FALLBACK_POLL_MS,
  });
}

export type MarkReadTarget = { ids: string[] } | { all: true };

function applyMarkRead(client: QueryClient, target: MarkReadTarget): void {
  const ids = 'all' in target ? 'all' : target.ids;
  const readAt = new Date().toISOString();
  for (const list of NOTIFICATION_LISTS) {
    client.setQueryData<NotificationPages>(notificationKeys.list(list), (data) =>
      markReadInCache(data, ids, readAt, list),
    );
  }
}

/** Marks read optimistically; the lists are re-read afterwards either way (the server is the truth). */
export function useMarkNotificationsRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (target: MarkReadTarget) => api.put<{ updated: number }>('/notifications', target),
    onMutate: async (target) => {
      await client.cancelQueries({ queryKey: notificationKeys.root });
      const previous = NOTIFICATION_LISTS.map(
        (list) => [list, client.getQueryData<NotificationPages>(notificationKeys.list(list))] as const,
      );
      applyMarkRead(client, target);
      return { previous };
    },
    onError: (_error, _target, context) => {
      for (const [list, data] of context?.previous ?? []) {
        client.setQueryData(notificationKeys.list(list), data);
      }
    },
    onSettled: () => client.invalidateQueries({ queryKey: notificationKeys.root }),
  });
}

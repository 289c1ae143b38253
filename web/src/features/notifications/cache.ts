/**
 * Pure updates of the cached notification lists, shared by the SSE stream (a new notification) and
 * the mark-read mutation (optimistic). Two lists are cached: `unread` (the default tab and the source
 * of the bell's count) and `all` (history). The server's `unread_count` lives on every page; the
 * first page's value is the one shown, so each update keeps that one right.
 *
 * An SSE event may repeat a notification already fetched (the stream reconnects with Last-Event-ID,
 * and a refetch can race the stream), so merging is idempotent by id.
 */
import type { InfiniteData } from '@tanstack/react-query';
import type { Notification, NotificationPage } from '../../api/notifications.ts';

export type NotificationPages = InfiniteData<NotificationPage, string | null>;

export function unreadCountOf(data: { pages: readonly NotificationPage[] } | undefined): number {
  return data?.pages[0]?.unread_count ?? 0;
}

function contains(data: NotificationPages, id: string): boolean {
  return data.pages.some((p) => p.notifications.some((n) => n.id === id));
}

/** Adds a newly arrived notification at the top (newest first); a repeat replaces the cached copy. */
export function mergeIncoming(
  data: NotificationPages | undefined,
  incoming: Notification,
  list: 'unread' | 'all',
): NotificationPages | undefined {
  if (!data || data.pages.length === 0) return data;
  if (contains(data, incoming.id)) {
    return {
      ...data,
      pages: data.pages.map((p) => ({
        ...p,
        notifications: p.notifications.map((n) => (n.id === incoming.id ? incoming : n)),
      })),
    };
  }
  if (list === 'unread' && incoming.read_at !== null) return data;
  const bump = incoming.read_at === null ? 1 : 0;
  const [first, ...rest] = data.pages;
  return {
    ...data,
    pages: [{ ...first!, notifications: [incoming, ...first!.notifications] }, ...rest].map((p) => ({
      ...p,
      unread_count: p.unread_count + bump,
    })),
  };
}

/**
 * Marks the given ids (or everything, `'all'`) read at `readAt`. The unread list drops them; the
 * history keeps them with `read_at` set. Only rows that were unread lower the count.
 */
export function markReadInCache(
  data: NotificationPages | undefined,
  ids: readonly string[] | 'all',
  readAt: string,
  list: 'unread' | 'all',
): NotificationPages | undefined {
  if (!data) return data;
  const hit = (n: Notification) => n.read_at === null && (ids === 'all' || ids.includes(n.id));
  let newlyRead = 0;
  for (const p of data.pages) for (const n of p.notifications) if (hit(n)) newlyRead++;
  const count = (c: number) => (ids === 'all' ? 0 : Math.max(0, c - newlyRead));
  return {
    ...data,
    pages: data.pages.map((p) => ({
      ...p,
      unread_count: count(p.unread_count),
      notifications:
        list === 'unread'
          ? p.notifications.filter((n) => !hit(n))
          : p.notifications.map((n) => (hit(n) ? { ...n, read_at: readAt } : n)),
    })),
  };
}

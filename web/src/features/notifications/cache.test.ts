import { describe, expect, it } from 'vitest';
import type { Notification, NotificationPage } from '../../api/notifications.ts';
import { markReadInCache, mergeIncoming, unreadCountOf, type NotificationPages } from './cache.ts';

const n = (id: string, read_at: string | null = null): Notification => ({
  id,
  kind: 'ERROR',
  title: `Job ${id} failed`,
  message: 'exit code 1',
  entity_type: 'JOB',
  entity_id: id,
  action_url: `/workflows/w/jobs/${id}`,
  read_at,
  created_at: '2024-03-05T10:00:00Z',
});

const pages = (...lists: Array<{ items: Notification[]; unread: number }>): NotificationPages => ({
  pages: lists.map((l, i): NotificationPage => ({
    notifications: l.items,
    unread_count: l.unread,
    cursor: i < lists.length - 1 ? `c${i}` : null,
  })),
  pageParams: lists.map((_, i) => (i === 0 ? null : `c${i - 1}`)),
});

describe('mergeIncoming', () => {
  it('puts a new unread notification first and raises the count', () => {
    const data = pages({ items: [n('b'), n('a')], unread: 2 });
    const next = mergeIncoming(data, n('c'), 'unread')!;
    expect(next.pages[0]!.notifications.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(unreadCountOf(next)).toBe(3);
  });

  it('is idempotent by id: a replayed event replaces the cached copy', () => {
    const data = pages({ items: [n('b')], unread: 1 }, { items: [n('a')], unread: 1 });
    const once = mergeIncoming(data, n('a'), 'unread')!;
    const twice = mergeIncoming(once, { ...n('a'), title: 'newer' }, 'unread')!;
    expect(twice.pages.flatMap((p) => p.notifications.map((x) => x.id))).toEqual(['b', 'a']);
    expect(twice.pages[1]!.notifications[0]!.title).toBe('newer');
    expect(unreadCountOf(twice)).toBe(1);
  });

  it('leaves a list that was never fetched alone, and keeps read ones out of the unread list', () => {
    expect(mergeIncoming(undefined, n('a'), 'all')).toBeUndefined();
    const data = pages({ items: [], unread: 0 });
    expect(mergeIncoming(data, n('x', '2024-03-05T11:00:00Z'), 'unread')).toBe(data);
    expect(unreadCountOf(mergeIncoming(data, n('x', '2024-03-05T11:00:00Z'), 'all'))).toBe(0);
  });
});

describe('markReadInCache', () => {
  const at = '2024-03-05T12:00:00Z';

  it('drops the marked rows from the unread list and lowers the count by the rows that were unread', () => {
    const data = pages({ items: [n('c'), n('b'), n('a')], unread: 5 });
    const next = markReadInCache(data, ['a', 'c', 'zz'], at, 'unread')!;
    expect(next.pages[0]!.notifications.map((x) => x.id)).toEqual(['b']);
    expect(unreadCountOf(next)).toBe(3);
  });

  it('keeps rows in the history with read_at set; already read rows do not count twice', () => {
    const data = pages({ items: [n('b'), n('a', '2024-03-01T00:00:00Z')], unread: 1 });
    const next = markReadInCache(data, ['a', 'b'], at, 'all')!;
    expect(next.pages[0]!.notifications.map((x) => x.read_at)).toEqual([at, '2024-03-01T00:00:00Z']);
    expect(unreadCountOf(next)).toBe(0);
  });

  it('marks everything read with "all", including rows not loaded yet (count to zero)', () => {
    const data = pages({ items: [n('b')], unread: 40 });
    const next = markReadInCache(data, 'all', at, 'unread')!;
    expect(next.pages[0]!.notifications).toEqual([]);
    expect(unreadCountOf(next)).toBe(0);
  });
});

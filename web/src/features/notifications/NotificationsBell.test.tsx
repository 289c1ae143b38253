import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Notification } from '../../api/notifications.ts';
import NotificationsBell from './NotificationsBell.tsx';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import { FakeEventSource } from './testing/fake-event-source.ts';

/** The drawer is a lazy chunk: its first import in a run compiles it, so allow more than 1 s. */
const DRAWER_LOAD = { timeout: 10_000 };

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

function notification(id: string, over: Partial<Notification> = {}): Notification {
  return {
    id,
    kind: 'ERROR',
    title: `Job ${id} failed`,
    message: 'exit code 1',
    entity_type: 'JOB',
    entity_id: id,
    action_url: `/workflows/w1/jobs/${id}`,
    read_at: null,
    created_at: at(5),
    ...over,
  };
}

/** A small in-memory notifications endpoint, like the gateway's. */
function fakeServer(initial: Notification[]) {
  const rows = [...initial];
  const requests = stubFetch({
    'GET /api/v1/notifications': ({ url }) => {
      const unreadOnly = url.searchParams.get('unread') !== 'false';
      const unread = rows.filter((r) => r.read_at === null);
      return json(200, {
        notifications: unreadOnly ? unread : rows,
        cursor: null,
        unread_count: unread.length,
      });
    },
    'PUT /api/v1/notifications': ({ body }) => {
      const target = body as { ids?: string[]; all?: boolean };
      let updated = 0;
      for (const r of rows) {
        if (r.read_at === null && (target.all || target.ids?.includes(r.id))) {
          r.read_at = new Date().toISOString();
          updated++;
        }
      }
      return json(200, { updated });
    },
  });
  return { rows, requests };
}

const render = () => renderAt('/', <NotificationsBell />);

beforeEach(() => {
  FakeEventSource.install();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('NotificationsBell', () => {
  it('names the unread count and marks one, then all, read', async () => {
    const server = fakeServer([notification('a'), notification('b'), notification('c', { kind: 'ALERT' })]);
    const user = userEvent.setup();
    render();

    const bell = await screen.findByRole('button', { name: 'Notifications, 3 unread' });
    await user.click(bell);
    const drawer = await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    const list = await within(drawer).findByRole('list', { name: 'Unread notifications' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(3);
    expect(within(list).getByText('Job c failed').closest('li')).toHaveProperty(
      'className',
      expect.stringContaining('notification-danger'),
    );
    expect(within(list).getAllByText('5 minutes ago')).toHaveLength(3);

    await user.click(within(drawer).getByRole('button', { name: 'Mark “Job b failed” as read' }));
    await waitFor(() => expect(within(list).queryByText('Job b failed')).toBeNull());
    const put = server.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual({ ids: ['b'] });
    expect(put?.headers.get('content-type')).toBe('application/json');
    // The drawer is modal: the rest of the page, the bell included, is hidden from assistive tech.
    expect(screen.getByRole('button', { name: 'Notifications, 2 unread', hidden: true })).toBeTruthy();

    await user.click(within(drawer).getByRole('button', { name: 'Mark all as read' }));
    await within(drawer).findByText('You are all caught up.');
    expect(server.requests.filter((r) => r.method === 'PUT').at(-1)?.body).toEqual({ all: true });
    expect(server.rows.every((r) => r.read_at !== null)).toBe(true);
    expect(screen.getByRole('button', { name: 'Notifications, none unread', hidden: true })).toBeTruthy();
  });

  it('puts the previous state back when marking read fails', async () => {
    stubFetch({
      'GET /api/v1/notifications': () =>
        json(200, { notifications: [notification('a')], cursor: null, unread_count: 1 }),
      'PUT /api/v1/notifications': () =>
        json(503, { title: 'Service unavailable', status: 503, code: 'CV_UNAVAILABLE' }),
    });
    const user = userEvent.setup();
    render();
    await user.click(await screen.findByRole('button', { name: 'Notifications, 1 unread' }));
    const drawer = await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    await user.click(await within(drawer).findByRole('button', { name: 'Mark “Job a failed” as read' }));
    expect(await within(drawer).findByRole('alert')).toHaveProperty(
      'textContent',
      expect.stringContaining('Could not mark as read'),
    );
    expect(within(drawer).getByText('Job a failed')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Notifications, 1 unread', hidden: true })).toBeTruthy();
  });

  it('merges notifications arriving over SSE into the list and the count, once each', async () => {
    const server = fakeServer([notification('a')]);
    const user = userEvent.setup();
    render();
    await user.click(await screen.findByRole('button', { name: 'Notifications, 1 unread' }));
    const drawer = await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    const list = await within(drawer).findByRole('list', { name: 'Unread notifications' });
    const gets = server.requests.length;

    const es = FakeEventSource.latest();
    expect(es.url).toBe('/api/v1/notifications/events');
    act(() => es.open());
    expect(within(drawer).getByText('Live')).toBeTruthy();
    const fresh = notification('z', { kind: 'SUCCESS', title: 'Build completed', created_at: at(0) });
    act(() => es.emit('notification', fresh, 'z'));
    act(() => es.emit('notification', fresh, 'z')); // a replay after a reconnect
    act(() => es.emit('notification', '{not json')); // ignored

    const titles = () =>
      within(list)
        .getAllByRole('listitem')
        .map((li) => li.querySelector('.notification-title a')?.textContent);
    await waitFor(() => expect(titles()).toEqual(['Build completed', 'Job a failed']));
    expect(within(drawer).getByRole('tab', { name: 'Unread (2)' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Notifications, 2 unread', hidden: true })).toBeTruthy();
    expect(within(list).getByText('now')).toBeTruthy();
    expect(server.requests.length).toBe(gets); // merged from the stream, not re-fetched
  });

  it('follows a deep link with the router, marks it read and closes; unsafe links stay text', async () => {
    const server = fakeServer([
      notification('a'),
      notification('x', { title: 'Suspicious', action_url: 'javascript:alert(1)' }),
    ]);
    const user = userEvent.setup();
    render();
    await user.click(await screen.findByRole('button', { name: 'Notifications, 2 unread' }));
    const drawer = await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    await within(drawer).findByText('Suspicious');
    expect(within(drawer).queryByRole('link', { name: 'Suspicious' })).toBeNull();

    await user.click(within(drawer).getByRole('link', { name: 'Job a failed' }));
    expect(screen.getByTestId('location').textContent).toBe('/workflows/w1/jobs/a');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await waitFor(() => expect(server.rows.find((r) => r.id === 'a')?.read_at).not.toBeNull());
  });

  it('closes on Escape and gives focus back to the bell', async () => {
    fakeServer([]);
    const user = userEvent.setup();
    render();
    const bell = await screen.findByRole('button', { name: 'Notifications, none unread' });
    await user.click(bell);
    await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(bell));
  });

  it('shows the history tab with read notifications', async () => {
    fakeServer([notification('a', { read_at: at(1), title: 'Old news', kind: 'INFO' })]);
    const user = userEvent.setup();
    render();
    await user.click(await screen.findByRole('button', { name: 'Notifications, none unread' }));
    const drawer = await screen.findByRole('dialog', { name: 'Notifications' }, DRAWER_LOAD);
    await user.click(within(drawer).getByRole('tab', { name: 'All' }));
    const list = await within(drawer).findByRole('list', { name: 'All notifications' });
    expect(within(list).getByText('Old news')).toBeTruthy();
    expect(within(list).queryByRole('button', { name: /as read/ })).toBeNull();
  });
});

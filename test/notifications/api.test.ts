/**
 * Notifications API (api.md "Notifications") through the real gateway, on PGlite and PostgreSQL,
 * with the service reached over RPC (in-memory transport) and notifications made by the real
 * consumer: list (unread by default, history, cursor pages, unread_count), mark read (ids, all,
 * another user's ids untouched), validation (400 naming every field), auth, and the SSE stream
 * over a real socket (push within a second of creation, start from now, Last-Event-ID replay, and
 * never another user's notifications).
 */
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';
import { sseEvents, type SseEvent } from '../helpers/sse.ts';
import {
  createNotificationsGateway,
  insertWorkflow,
  jobFinished,
  workflowFact,
  type NotificationsGateway,
} from './fixtures.ts';

const API = '/api/v1/notifications';

interface Notification {
  id: string;
  kind: string;
  title: string;
  message: string;
  entity_type: string;
  entity_id: string;
  action_url: string | null;
  read_at: string | null;
  created_at: string;
}
interface Page {
  notifications: Notification[];
  cursor: string | null;
  unread_count: number;
}
type User = Awaited<ReturnType<typeof registerUser>>;

const FIELDS = [
  'id',
  'kind',
  'title',
  'message',
  'entity_type',
  'entity_id',
  'action_url',
  'read_at',
  'created_at',
];
const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function expectProblem(res: LightMyRequestResponse, status: number, paths?: string[]) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<{ status: number; errors?: { path: string }[] }>();
  expect(body.status).toBe(status);
  if (paths) expect((body.errors ?? []).map((e) => e.path).sort()).toEqual([...paths].sort());
}

/** Registers a user through the API (default preference ALERTS) and sets the preference. */
async function newUser(gw: NotificationsGateway, preference: 'ALL' | 'ALERTS' = 'ALL'): Promise<User> {
  const user = await registerUser(gw as unknown as TestGateway);
  const res = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/users',
    headers: user.headers,
    payload: { notification_preference: preference },
  });
  expect(res.statusCode, res.body).toBe(200);
  return user;
}

/** `n` job notifications for the user through the consumer; returns their ids, oldest first. */
async function notify(gw: NotificationsGateway, user: User, n: number, status = 'COMPLETED' as const) {
  const wf = await insertWorkflow(gw.database, user.user.id, 'nightly');
  await gw.consumer.handle(
    Array.from({ length: n }, () => jobFinished({ workflow_id: wf, user_id: user.user.id, status })),
  );
  const rows = await gw.database.db
    .selectFrom('notifications')
    .select('id')
    .where('user_id', '=', user.user.id)
    .orderBy('id')
    .execute();
  return { wf, ids: rows.map((r) => r.id) };
}

async function list(gw: NotificationsGateway, user: User, query = ''): Promise<Page> {
  const res = await gw.app.inject({ method: 'GET', url: `${API}${query}`, headers: user.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>();
}

describe.each(ENGINES)('notifications API (%s)', (engine) => {
  let gw: NotificationsGateway;

  beforeAll(async () => {
    gw = await createNotificationsGateway(engine);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('lists unread notifications newest first, with every field present', async () => {
    const user = await newUser(gw);
    const { wf, ids } = await notify(gw, user, 3);
    const page = await list(gw, user);
    expect(page.unread_count).toBe(3);
    expect(page.cursor).toBeNull();
    expect(page.notifications.map((n) => n.id)).toEqual([...ids].reverse());
    for (const n of page.notifications) {
      expect(Object.keys(n).sort()).toEqual([...FIELDS].sort());
      expect(n).toMatchObject({
        kind: 'SUCCESS',
        title: 'Job completed',
        entity_type: 'JOB',
        read_at: null,
        message: 'A job of "nightly" completed (HTTP 200).',
      });
      expect(n.action_url).toBe(`/workflows/${wf}/jobs/${n.entity_id}`);
      expect(n.created_at).toMatch(RFC3339_MS_UTC);
    }
  });

  it('pages with a cursor, unread only by default and everything with unread=false', async () => {
    const user = await newUser(gw);
    const { ids } = await notify(gw, user, 5);
    const newest = [...ids].reverse();
    const first = await list(gw, user, '?limit=2');
    expect(first.notifications.map((n) => n.id)).toEqual(newest.slice(0, 2));
    const second = await list(gw, user, `?limit=2&cursor=${first.cursor}`);
    expect(second.notifications.map((n) => n.id)).toEqual(newest.slice(2, 4));
    const third = await list(gw, user, `?limit=2&cursor=${second.cursor}`);
    expect(third.notifications.map((n) => n.id)).toEqual(newest.slice(4));
    expect(third.cursor).toBeNull();

    const mark = await gw.app.inject({
      method: 'PUT',
      url: API,
      headers: user.headers,
      payload: { ids: [ids[0], ids[1]] },
    });
    expect(mark.json()).toEqual({ updated: 2 });
    const unread = await list(gw, user);
    expect(unread.notifications.map((n) => n.id)).toEqual(newest.slice(0, 3));
    expect(unread.unread_count).toBe(3);
    const history = await list(gw, user, '?unread=false');
    expect(history.notifications.map((n) => n.id)).toEqual(newest);
    expect(history.unread_count).toBe(3);
    const read = history.notifications.filter((n) => n.read_at !== null).map((n) => n.id);
    expect(read.sort()).toEqual([ids[0], ids[1]].sort());
    expect(history.notifications.find((n) => n.id === ids[0])!.read_at).toMatch(RFC3339_MS_UTC);
  });

  it('marks read idempotently, all at once, and never touches another user', async () => {
    const alice = await newUser(gw);
    const bob = await newUser(gw);
    const a = await notify(gw, alice, 3);
    const b = await notify(gw, bob, 2);
    // Bob names Alice's ids (and one of his own): only his changes, hers are not revealed.
    const cross = await gw.app.inject({
      method: 'PUT',
      url: API,
      headers: bob.headers,
      payload: { ids: [...a.ids, b.ids[0]] },
    });
    expect(cross.statusCode).toBe(200);
    expect(cross.json()).toEqual({ updated: 1 });
    expect((await list(gw, alice)).unread_count).toBe(3);
    const again = await gw.app.inject({
      method: 'PUT',
      url: API,
      headers: bob.headers,
      payload: { ids: [b.ids[0]] },
    });
    expect(again.json()).toEqual({ updated: 0 });
    const unknown = await gw.app.inject({
      method: 'PUT',
      url: API,
      headers: bob.headers,
      payload: { ids: [newId()] },
    });
    expect(unknown.json()).toEqual({ updated: 0 });

    const all = await gw.app.inject({
      method: 'PUT',
      url: API,
      headers: alice.headers,
      payload: { all: true },
    });
    expect(all.json()).toEqual({ updated: 3 });
    expect(await list(gw, alice)).toEqual({ notifications: [], cursor: null, unread_count: 0 });
    expect((await list(gw, bob)).unread_count).toBe(1);
  });

  it('answers 400 naming every offending field', async () => {
    const user = await newUser(gw);
    const put = (payload: unknown) =>
      gw.app.inject({ method: 'PUT', url: API, headers: user.headers, payload: payload as object });
    expectProblem(await put({ ids: ['nope', newId(), 'x'] }), 400, ['ids.0', 'ids.2']);
    expectProblem(await put({ ids: [] }), 400, ['ids']);
    expectProblem(await put({ ids: Array.from({ length: 101 }, () => newId()) }), 400, ['ids']);
    expectProblem(await put({ ids: 'x', all: false, extra: 1 }), 400, ['ids', 'all', 'extra']);
    expectProblem(await put({}), 400, ['']);
    expectProblem(await put({ ids: [newId()], all: true }), 400, ['']);
    const get = (q: string) => gw.app.inject({ method: 'GET', url: `${API}${q}`, headers: user.headers });
    expectProblem(await get('?unread=maybe&limit=0&cursor=garbage'), 400, ['unread', 'limit']);
    expectProblem(await get('?cursor=garbage'), 400, ['cursor']);
    expectProblem(
      await gw.app.inject({
        method: 'GET',
        url: `${API}/events`,
        headers: { ...user.headers, 'last-event-id': 'not-an-id' },
      }),
      400,
      ['last-event-id'],
    );
  });

  it('needs credentials; a cookie session needs the CSRF header to mark read', async () => {
    expectProblem(await gw.app.inject({ method: 'GET', url: API }), 401);
    expectProblem(await gw.app.inject({ method: 'GET', url: `${API}/events` }), 401);
    const user = await newUser(gw);
    const cookies = user.cookies;
    const viaCookie = await gw.app.inject({ method: 'GET', url: API, cookies });
    expect(viaCookie.statusCode).toBe(200);
    expectProblem(await gw.app.inject({ method: 'PUT', url: API, cookies, payload: { all: true } }), 403);
    const ok = await gw.app.inject({
      method: 'PUT',
      url: API,
      cookies,
      headers: { 'x-csrf-token': cookies.cv_csrf! },
      payload: { all: true },
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    }>();
    expect(Object.keys(doc.paths[API]!).sort()).toEqual(['get', 'put']);
    expect(doc.paths[`${API}/events`]!.get).toBeDefined();
    expect(doc.components.schemas.Notification).toBeDefined();
  });

  describe('Server-Sent Events', () => {
    let base: string;
    beforeAll(async () => {
      await gw.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
    });

    async function open(user: User, headers: Record<string, string> = {}) {
      const abort = new AbortController();
      const res = await fetch(`${base}${API}/events`, {
        headers: { ...user.headers, ...headers },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const it = sseEvents(res.body!)[Symbol.asyncIterator]();
      return {
        /** The next `notification` event (comments skipped). */
        async next(): Promise<SseEvent> {
          for (;;) {
            const { value, done } = await it.next();
            if (done) throw new Error('stream ended');
            if (value.event !== 'comment') return value;
          }
        },
        close: () => abort.abort(),
      };
    }

    it('starts from now, pushes new notifications in order, never another user’s', async () => {
      const alice = await newUser(gw);
      const bob = await newUser(gw);
      await notify(gw, alice, 2); // before connecting: not sent
      const stream = await open(alice);
      try {
        const wf = await insertWorkflow(gw.database, alice.user.id, 'live one');
        const bobWf = await insertWorkflow(gw.database, bob.user.id, 'bob');
        await gw.consumer.handle([
          workflowFact('BUILD_COMPLETED', { workflow_id: bobWf, user_id: bob.user.id }),
        ]);
        await gw.consumer.handle([
          workflowFact('BUILD_FAILED', { workflow_id: wf, user_id: alice.user.id, name: 'live one' }),
        ]);
        const first = await stream.next();
        // Pushed by the wake-up: the safety poll of this gateway is an hour.
        expect(first.event).toBe('notification');
        const body = JSON.parse(first.data) as Notification;
        expect(first.id).toBe(body.id);
        expect(body).toMatchObject({ kind: 'ERROR', title: 'Build failed', entity_id: wf });
        expect(Object.keys(body).sort()).toEqual([...FIELDS].sort());
        await gw.consumer.handle([
          jobFinished({ workflow_id: wf, user_id: alice.user.id, status: 'FAILED' }),
          workflowFact('WORKFLOW_TERMINATED', { workflow_id: wf, user_id: alice.user.id }),
        ]);
        const more = [await stream.next(), await stream.next()];
        expect(more.map((e) => (JSON.parse(e.data) as Notification).kind).sort()).toEqual(['ALERT', 'ERROR']);
        expect(more[0]!.id! < more[1]!.id!).toBe(true);
        expect(first.id! < more[0]!.id!).toBe(true);
        // Nothing of Bob's came through: the next event is Alice's again.
        await gw.consumer.handle([
          workflowFact('BUILD_STARTED', { workflow_id: bobWf, user_id: bob.user.id }),
        ]);
        await gw.consumer.handle([
          workflowFact('BUILD_STARTED', { workflow_id: wf, user_id: alice.user.id }),
        ]);
        const last = JSON.parse((await stream.next()).data) as Notification;
        expect(last).toMatchObject({ kind: 'INFO', entity_id: wf });
      } finally {
        stream.close();
      }
    });

    it('replays what came after Last-Event-ID (header or query), then follows', async () => {
      const user = await newUser(gw);
      const { ids } = await notify(gw, user, 4);
      const stream = await open(user, { 'last-event-id': ids[1]! });
      try {
        expect([(await stream.next()).id, (await stream.next()).id]).toEqual([ids[2], ids[3]]);
        const { ids: after } = await notify(gw, user, 1);
        expect((await stream.next()).id).toBe(after.at(-1));
      } finally {
        stream.close();
      }
      const abort = new AbortController();
      const res = await fetch(`${base}${API}/events?last_event_id=${ids[2]}`, {
        headers: user.headers,
        signal: abort.signal,
      });
      const it = sseEvents(res.body!)[Symbol.asyncIterator]();
      try {
        const ev = (await it.next()).value as SseEvent;
        expect(ev.id).toBe(ids[3]);
      } finally {
        abort.abort();
      }
    });

    it('a notification committed late with a smaller id is still sent (reorder window)', async () => {
      const user = await newUser(gw);
      const wf = await insertWorkflow(gw.database, user.user.id, 'late');
      const stream = await open(user);
      try {
        // Made first, committed last: as when another consumer's transaction commits later.
        const early = newId();
        const { ids } = await notify(gw, user, 1);
        expect((await stream.next()).id).toBe(ids[0]);
        await gw.database.db
          .insertInto('notifications')
          .values({
            id: early,
            user_id: user.user.id,
            kind: 'INFO',
            title: 't',
            message: 'm',
            entity_type: 'WORKFLOW',
            entity_id: wf,
            action_url: `/workflows/${wf}`,
            dedupe_key: `late:${early}`,
          })
          .execute();
        gw.events.emit('notification:created', { userId: user.user.id });
        expect((await stream.next()).id).toBe(early);
        expect(early < ids[0]!).toBe(true);
      } finally {
        stream.close();
      }
    });
  });

  it('the safety poll delivers a notification whose wake-up was lost', async () => {
    const polling = await createNotificationsGateway(engine, { pollMs: 100 });
    try {
      await polling.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(polling.app.server.address() as AddressInfo).port}${API}/events`;
      const user = await registerUser(polling as unknown as TestGateway);
      const abort = new AbortController();
      const res = await fetch(url, { headers: user.headers, signal: abort.signal });
      const it = sseEvents(res.body!)[Symbol.asyncIterator]();
      try {
        const wf = await insertWorkflow(polling.database, user.user.id, 'quiet');
        // Straight into the table: no notification:created event at all.
        const id = newId();
        await polling.database.db
          .insertInto('notifications')
          .values({
            id,
            user_id: user.user.id,
            kind: 'ERROR',
            title: 'Job failed',
            message: 'm',
            entity_type: 'WORKFLOW',
            entity_id: wf,
            action_url: `/workflows/${wf}`,
            dedupe_key: `quiet:${id}`,
          })
          .execute();
        let ev: SseEvent;
        do ev = (await it.next()).value as SseEvent;
        while (ev.event === 'comment');
        expect(ev.id).toBe(id);
      } finally {
        abort.abort();
      }
    } finally {
      await polling.close();
    }
  });
});

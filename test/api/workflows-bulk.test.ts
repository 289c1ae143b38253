/**
 * POST /api/v1/workflows/bulk through the real gateway on PGlite and on PostgreSQL: every problem
 * of every bad item named by index and field and nothing created; all good items created in one
 * go, in the order of the request, with the rows and BUILD events a single create writes;
 * Idempotency-Key replays; the 10,000-item limit; the count quota for the whole batch; the
 * policies and the schedule quota per item; another user sees none of them.
 */
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1';
type User = Awaited<ReturnType<typeof registerUser>>;

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string; index?: number; field?: string }[];
  quota?: { name: string; limit: number; usage: number };
}
interface View {
  id: string;
  name: string;
  kind: string;
  schedule: { type: string; run_at?: string };
  build_status: string;
  next_run_at: string | null;
  labels: Record<string, string>;
}

const FUTURE = '2099-01-01T00:00:00.000Z';
const heartbeat = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://api.example.com/health' },
  schedule: { type: 'once', run_at: FUTURE },
  ...extra,
});

function expectProblem(res: LightMyRequestResponse, status: number, code: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem.code).toBe(code);
  return problem;
}

describe.each(ENGINES)('bulk create of workflows (%s)', (engine) => {
  let gw: TestGateway;
  let admin: User;
  let user: User;

  beforeAll(async () => {
    gw = await createTestGateway(engine, { env: { CHRONOVERSE_QUOTA_MAX_WORKFLOWS: '20' } });
    admin = await registerUser(gw); // the first account: an administrator, no quotas
    user = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const bulk = (u: User, body: unknown, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method: 'POST',
      url: `${API}/workflows/bulk`,
      headers: { ...u.headers, ...headers },
      payload: body as object,
    });
  const countOf = async (u: User) => {
    const { rows } = await sql<{ workflows: number; builds: number }>`
      select (select count(*)::int from workflows where user_id = ${u.user.id}) as workflows,
             (select count(*)::int from outbox where topic = 'workflows' and event_type = 'BUILD'
                and payload->>'user_id' = ${u.user.id}) as builds`.execute(gw.database.db);
    return rows[0]!;
  };

  it('names every problem of every bad item by index and field, and creates nothing', async () => {
    const before = await countOf(admin);
    const res = await bulk(admin, {
      workflows: [
        heartbeat('good 0'),
        heartbeat('', { payload: { endpoint: 'ftp://x' } }),
        heartbeat('good 2'),
        { name: 'no kind', payload: {}, interval: 5 },
        heartbeat('past', { schedule: { type: 'once', run_at: '2001-01-01T00:00:00Z' } }),
        'not an object',
        heartbeat('extra', { colour: 'red' }),
      ],
    });
    const problem = expectProblem(res, 400, 'CV_VALIDATION');
    expect(problem.detail).toMatch(/5 of 7 workflows are invalid; nothing was created/);
    const byItem = (index: number) =>
      problem.errors!.filter((e) => e.index === index).map((e) => [e.field, e.path]);
    expect(byItem(0)).toEqual([]);
    expect(byItem(2)).toEqual([]);
    expect(byItem(1)).toEqual(
      expect.arrayContaining([
        ['name', 'workflows.1.name'],
        ['payload.endpoint', 'workflows.1.payload.endpoint'],
      ]),
    );
    expect(byItem(3).map(([field]) => field)).toContain('kind');
    expect(byItem(4)).toEqual([['schedule.run_at', 'workflows.4.schedule.run_at']]);
    expect(byItem(5)).toEqual([['', 'workflows.5']]);
    expect(byItem(6)).toEqual([['colour', 'workflows.6.colour']]);
    for (const e of problem.errors!) expect(e.message.length).toBeGreaterThan(0);
    expect(await countOf(admin)).toEqual(before);
  });

  it('creates all of them in the order of the request, as a single create would', async () => {
    const before = await countOf(admin);
    const items = Array.from({ length: 250 }, (_, i) =>
      i % 3 === 0
        ? heartbeat(`bulk ${i}`, { labels: { batch: 'a' } })
        : i % 3 === 1
          ? heartbeat(`bulk ${i}`, { schedule: undefined, interval: 5 })
          : {
              name: `bulk ${i}`,
              kind: 'CONTAINER',
              payload: { image: 'alpine:3.20', cmd: ['echo', String(i)] },
              schedule: { type: 'cron', cron: '0 9 * * 1-5', timezone: 'Europe/Paris' },
            },
    );
    const res = await bulk(admin, { workflows: items });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json<{ workflows: View[] }>().workflows;
    expect(created.map((w) => w.name)).toEqual(items.map((i) => i.name));
    expect(new Set(created.map((w) => w.id)).size).toBe(250);
    expect(created.every((w) => w.build_status === 'QUEUED')).toBe(true);
    expect(created[0]!.labels).toEqual({ batch: 'a' });
    expect(await countOf(admin)).toEqual({
      workflows: before.workflows + 250,
      builds: before.builds + 250,
    });

    // The same three items created one at a time: the same columns, the same BUILD event.
    const single: View[] = [];
    for (const item of items.slice(0, 3)) {
      const one = await gw.app.inject({
        method: 'POST',
        url: `${API}/workflows`,
        headers: admin.headers,
        payload: item,
      });
      expect(one.statusCode, one.body).toBe(201);
      single.push(one.json<View>());
    }
    const rowsOf = async (ids: string[]) => {
      const rows = await gw.database.db.selectFrom('workflows').selectAll().where('id', 'in', ids).execute();
      const events = await gw.database.db
        .selectFrom('outbox')
        .select(['key', 'topic', 'event_type', 'payload'])
        .where('key', 'in', ids)
        .execute();
      return ids.map((id) => {
        const {
          id: _id,
          name: _name,
          created_at,
          updated_at,
          next_run_at,
          ...rest
        } = rows.find((r) => r.id === id)!;
        const event = events.find((e) => e.key === id)!;
        return {
          ...rest,
          // Provisional next run: the same rule, from a slightly different "now".
          next_run_at: rest.schedule_type === 'interval' ? 'set' : next_run_at,
          stamps: created_at.getTime() === updated_at.getTime(),
          event: { ...event, key: 'id', payload: { ...(event.payload as object), workflow_id: 'id' } },
        };
      });
    };
    expect(await rowsOf(created.slice(0, 3).map((w) => w.id))).toEqual(await rowsOf(single.map((w) => w.id)));
  });

  it('replays an Idempotency-Key, and refuses it with another body', async () => {
    const body = { workflows: [heartbeat('idem 1'), heartbeat('idem 2')] };
    const headers = { 'idempotency-key': 'bulk-key-1' };
    const first = await bulk(admin, body, headers);
    expect(first.statusCode, first.body).toBe(201);
    const after = await countOf(admin);
    const again = await bulk(admin, body, headers);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await countOf(admin)).toEqual(after);
    expectProblem(
      await bulk(admin, { workflows: [heartbeat('idem 3')] }, headers),
      409,
      'CV_IDEMPOTENCY_MISMATCH',
    );
    expect(await countOf(admin)).toEqual(after);
  });

  it('refuses more than 10,000 items, or none, naming the field', async () => {
    const before = await countOf(admin);
    const over = expectProblem(
      await bulk(admin, { workflows: Array.from({ length: 10_001 }, (_, i) => heartbeat(`w${i}`)) }),
      400,
      'CV_VALIDATION',
    );
    expect(over.errors).toEqual([{ path: 'workflows', message: expect.stringMatching(/at most 10000/) }]);
    const none = expectProblem(await bulk(admin, { workflows: [] }), 400, 'CV_VALIDATION');
    expect(none.errors!.map((e) => e.path)).toEqual(['workflows']);
    const missing = expectProblem(await bulk(admin, { items: [] }), 400, 'CV_VALIDATION');
    expect(missing.errors!.map((e) => e.path).sort()).toEqual(['items', 'workflows']);
    expect(await countOf(admin)).toEqual(before);
  });

  it('accepts 10,000 items in one request', async () => {
    const res = await bulk(admin, {
      workflows: Array.from({ length: 10_000 }, (_, i) => heartbeat(`many ${i}`)),
    });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(201);
    expect(res.json<{ workflows: View[] }>().workflows).toHaveLength(10_000);
  }, 60_000);

  it('holds the whole batch to max_workflows, and each item to the policies and the schedule quota', async () => {
    const quota = expectProblem(
      await bulk(user, { workflows: Array.from({ length: 21 }, (_, i) => heartbeat(`q${i}`)) }),
      409,
      'CV_QUOTA_EXCEEDED',
    );
    expect(quota.quota).toEqual({ name: 'max_workflows', limit: 20, usage: 0 });
    expect(quota.detail).toMatch(/21 more would exceed your quota max_workflows \(20\)/);
    expect(await countOf(user)).toEqual({ workflows: 0, builds: 0 });

    const policy = expectProblem(
      await bulk(user, {
        workflows: [
          heartbeat('fine'),
          heartbeat('loopback', { payload: { endpoint: 'http://127.0.0.1:9/x' } }),
          heartbeat('every second', {
            schedule: { type: 'cron', cron: '* * * * * *', timezone: 'UTC' },
          }),
          {
            name: 'registry',
            kind: 'CONTAINER',
            payload: { image: 'evil.example.com/x:1' },
            interval: 5,
          },
        ],
      }),
      400,
      'CV_VALIDATION',
    );
    expect(policy.errors!.map((e) => [e.index, e.field])).toEqual([
      [1, 'payload.endpoint'],
      [2, 'schedule.cron'],
      [3, 'payload.image'],
    ]);
    expect(policy.errors![1]!.message).toMatch(/min_schedule_seconds/);
    expect(await countOf(user)).toEqual({ workflows: 0, builds: 0 });

    const twenty = await bulk(user, { workflows: Array.from({ length: 20 }, (_, i) => heartbeat(`q${i}`)) });
    expect(twenty.statusCode, twenty.body).toBe(201);
    expectProblem(await bulk(user, { workflows: [heartbeat('one more')] }), 409, 'CV_QUOTA_EXCEEDED');
  });

  it("another user's list and reads see none of them", async () => {
    const other = await registerUser(gw);
    const res = await bulk(admin, { workflows: [heartbeat('private 1'), heartbeat('private 2')] });
    expect(res.statusCode, res.body).toBe(201);
    const ids = res.json<{ workflows: View[] }>().workflows.map((w) => w.id);
    const list = await gw.app.inject({ method: 'GET', url: `${API}/workflows`, headers: other.headers });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ workflows: View[] }>().workflows).toEqual([]);
    for (const id of ids) {
      const one = await gw.app.inject({
        method: 'GET',
        url: `${API}/workflows/${id}`,
        headers: other.headers,
      });
      expectProblem(one, 404, 'CV_NOT_FOUND');
    }
    const mine = await gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${ids[0]}`,
      headers: admin.headers,
    });
    expect(mine.statusCode).toBe(200);
  });
});

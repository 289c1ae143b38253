/**
 * POST /workflows/{id}/backfill and /backfills (docs/api.md "Backfill") through the real gateway
 * and the workflows service over RPC, on PGlite and on PostgreSQL: 400 naming the field, the dry
 * run (the preview's fire times, DST reasons included, nothing started), creation with the first
 * runs, list/get/cancel, 404 for another user's, 412 for a terminated workflow. The runs
 * themselves (max_parallel under real executors) are in test/workers/backfill.test.ts.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1';
const NOW = Date.parse('2027-04-01T00:00:00.000Z');

function expectProblemOn(res: LightMyRequestResponse, field: string) {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<{ errors?: { path: string; message: string }[] }>();
  expect(problem.errors?.map((e) => e.path)).toContain(field);
}

interface Backfill {
  id: string;
  status: string;
  fire_times: number;
  max_parallel: number;
  overlap: string;
  progress: Record<string, number>;
}

describe.each(ENGINES)('backfill API (%s)', (engine) => {
  let gw: TestGateway;
  let u: Awaited<ReturnType<typeof registerUser>>;
  let other: Awaited<ReturnType<typeof registerUser>>;
  let berlin: string;
  let minutely: string;

  async function create(schedule: Record<string, unknown>) {
    const res = await gw.app.inject({
      method: 'POST',
      url: `${API}/workflows`,
      headers: u.headers,
      payload: { name: 'b', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' }, schedule },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    // Built (no workflow worker runs here).
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', id)
      .execute();
    return id;
  }

  beforeAll(async () => {
    gw = await createTestGateway(engine, { clock: new TestClock(NOW) });
    u = await registerUser(gw);
    other = await registerUser(gw);
    berlin = await create({ type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    minutely = await create({ type: 'interval', interval_minutes: 1 });
  });
  afterAll(() => gw.close());

  const backfill = (user: { headers: Record<string, string> }, wf: string, payload?: unknown) =>
    gw.app.inject({
      method: 'POST',
      url: `${API}/workflows/${wf}/backfill`,
      headers: user.headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it.each([
    [{ to: '2027-03-30T00:00:00Z' }, 'from'],
    [{ from: 'yesterday', to: '2027-03-30T00:00:00Z' }, 'from'],
    [{ from: '2027-03-30T00:00:00Z' }, 'to'],
    [{ from: '2027-03-30T00:00:00Z', to: '2027-03-30T00:00:00Z' }, 'to'],
    [{ from: '2027-03-30T00:00:00Z', to: '2027-04-02T00:00:00Z' }, 'to'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', overlap: 'SKIP' }, 'overlap'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', max_parallel: 0 }, 'max_parallel'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', max_parallel: 101 }, 'max_parallel'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', max_parallel: 1.5 }, 'max_parallel'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', dry_run: 'yes' }, 'dry_run'],
    [{ from: '2027-03-01T00:00:00Z', to: '2027-03-30T00:00:00Z', extra: 1 }, 'extra'],
    // No fire time of a daily 02:30 between 03:00 and 04:00.
    [{ from: '2027-03-20T03:00:00+01:00', to: '2027-03-20T04:00:00+01:00' }, 'from'],
  ])('400 for %j naming %s', async (body, field) => {
    expectProblemOn(await backfill(u, berlin, body), field);
  });

  it('400 on the body when there is none', async () => {
    expectProblemOn(await backfill(u, berlin), '');
  });

  it('400 on `to` beyond 10,000 fire times (a minutely schedule over 7 days)', async () => {
    const res = await backfill(u, minutely, { from: '2027-03-24T00:00:00Z', to: '2027-03-31T00:00:00Z' });
    expectProblemOn(res, 'to');
    expect(res.body).toContain('10,000');
  });

  it("a dry run answers the preview's fire times in [from, to), the DST gap explained, and starts nothing", async () => {
    const res = await backfill(u, berlin, {
      from: '2027-03-27T01:30:00Z',
      to: '2027-03-29T00:30:00Z',
      dry_run: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { fire_times } = res.json<{
      fire_times: { at: string; nominal_at: string; reason: string | null }[];
    }>();
    // `from` included, `to` excluded (02:30 CEST on the 29th); 02:30 on the 28th does not exist and runs at 03:00 CEST.
    expect(fire_times.map((f) => f.at)).toEqual(['2027-03-27T01:30:00.000Z', '2027-03-28T01:00:00.000Z']);
    expect(fire_times[1]!.reason).toMatch(/02:30 does not exist on 2027-03-28 in Europe\/Berlin/);
    const list = await gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${berlin}/backfills`,
      headers: u.headers,
    });
    expect(list.json()).toEqual({ backfills: [], cursor: null });
    const jobs = await gw.database.db
      .selectFrom('jobs')
      .select('id')
      .where('workflow_id', '=', berlin)
      .execute();
    expect(jobs).toEqual([]);
  });

  it('creates a backfill with its first runs, lists, reads and cancels it', async () => {
    const res = await backfill(u, minutely, {
      from: '2027-03-31T23:00:00Z',
      to: '2027-04-01T00:00:00Z',
      max_parallel: 3,
      overlap: 'BUFFER_ALL',
    });
    expect(res.statusCode, res.body).toBe(201);
    const b = res.json<Backfill>();
    expect(b).toMatchObject({ status: 'RUNNING', fire_times: 60, max_parallel: 3, overlap: 'BUFFER_ALL' });
    expect(b.progress).toEqual({
      not_created: 57,
      waiting: 3,
      running: 0,
      completed: 0,
      failed: 0,
      canceled: 0,
    });
    const jobs = await gw.database.db
      .selectFrom('jobs')
      .select(['trigger', 'scheduled_at', 'concurrent', 'backfill_id'])
      .where('workflow_id', '=', minutely)
      .orderBy('scheduled_at')
      .execute();
    // The first three fire times of the range; BUFFER_ALL: in the workflow's queue, not concurrent.
    expect(jobs.map((j) => [j.trigger, j.scheduled_at.toISOString(), j.concurrent, j.backfill_id])).toEqual([
      ['BACKFILL', '2027-03-31T23:00:00.000Z', false, b.id],
      ['BACKFILL', '2027-03-31T23:01:00.000Z', false, b.id],
      ['BACKFILL', '2027-03-31T23:02:00.000Z', false, b.id],
    ]);
    // Listed by the jobs API with their trigger, and by its filter.
    const listed = await gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${minutely}/jobs?trigger=BACKFILL`,
      headers: u.headers,
    });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json<{ jobs: unknown[] }>().jobs).toHaveLength(3);

    const list = await gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${minutely}/backfills`,
      headers: u.headers,
    });
    expect(list.json<{ backfills: Backfill[] }>().backfills.map((x) => x.id)).toEqual([b.id]);
    const one = await gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${minutely}/backfills/${b.id}`,
      headers: u.headers,
    });
    expect(one.json()).toEqual(b);

    // Another user's: not found, whatever the route.
    expect(
      (await backfill(other, minutely, { from: '2027-03-31T23:00:00Z', to: '2027-04-01T00:00:00Z' }))
        .statusCode,
    ).toBe(404);
    for (const [method, url] of [
      ['GET', `${API}/workflows/${minutely}/backfills`],
      ['GET', `${API}/workflows/${minutely}/backfills/${b.id}`],
      ['POST', `${API}/workflows/${minutely}/backfills/${b.id}/cancel`],
    ] as const) {
      expect((await gw.app.inject({ method, url, headers: other.headers })).statusCode, url).toBe(404);
    }
    expectProblemOn(
      await gw.app.inject({
        method: 'GET',
        url: `${API}/workflows/${minutely}/backfills/nope`,
        headers: u.headers,
      }),
      'bid',
    );

    const canceled = await gw.app.inject({
      method: 'POST',
      url: `${API}/workflows/${minutely}/backfills/${b.id}/cancel`,
      headers: u.headers,
    });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json<Backfill>()).toMatchObject({
      status: 'CANCELED',
      progress: { not_created: 57, waiting: 0, running: 0, completed: 0, failed: 0, canceled: 3 },
    });
  });

  it('412 for a terminated workflow (a dry run still answers)', async () => {
    const id = await create({ type: 'interval', interval_minutes: 5 });
    const t = await gw.app.inject({ method: 'PATCH', url: `${API}/workflows/${id}`, headers: u.headers });
    expect(t.statusCode, t.body).toBe(200);
    const range = { from: '2027-03-31T23:00:00Z', to: '2027-04-01T00:00:00Z' };
    expect((await backfill(u, id, range)).statusCode).toBe(412);
    const dry = await backfill(u, id, { ...range, dry_run: true });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json<{ fire_times: unknown[] }>().fire_times).toHaveLength(12);
  });
});

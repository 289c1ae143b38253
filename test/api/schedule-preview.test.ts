/**
 * Schedule previews (docs/api.md "Schedule preview") end to end through the real gateway and the
 * workflows service over RPC, on PGlite and on PostgreSQL: GET /workflows/{id}/preview (count,
 * from, an interval on its grid, ownership) and POST /schedules/preview for a draft (the create
 * path's schedule validation, the DST reasons, a read-only token).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1';
const MINUTE = 60_000;
const START = Date.parse('2027-03-20T10:00:00.000Z');

type User = Awaited<ReturnType<typeof registerUser>>;
interface FireTime {
  at: string;
  nominal_at: string;
  reason: string | null;
}
interface Problem {
  code: string;
  errors?: { path: string; message: string }[];
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem.code).toBe(code);
  return problem;
}

describe.each(ENGINES)('schedule preview (%s)', (engine) => {
  let gw: TestGateway;
  let u: User;
  const clock = new TestClock(START);

  beforeAll(async () => {
    gw = await createTestGateway(engine, { clock });
    u = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const preview = (user: { headers: Record<string, string> }, id: string, query = '') =>
    gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${id}/preview${query ? `?${query}` : ''}`,
      headers: user.headers,
    });
  const draft = (user: { headers: Record<string, string> }, body: unknown) =>
    gw.app.inject({
      method: 'POST',
      url: `${API}/schedules/preview`,
      headers: user.headers,
      payload: body as object,
    });

  async function create(schedule: Record<string, unknown>): Promise<string> {
    const res = await gw.app.inject({
      method: 'POST',
      url: `${API}/workflows`,
      headers: u.headers,
      payload: { name: 'p', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' }, ...schedule },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  it("a cron workflow's preview: 20 by default, the spring gap explained, from and count honoured", async () => {
    const id = await create({ schedule: { type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' } });
    const res = await preview(u, id);
    expect(res.statusCode, res.body).toBe(200);
    const fires = res.json<{ fire_times: FireTime[] }>().fire_times;
    expect(fires).toHaveLength(20);
    // From 2027-03-20 10:00Z: the 21st … the 28th is the eighth, in the gap.
    expect(fires[0]).toEqual({
      at: '2027-03-21T01:30:00.000Z',
      nominal_at: '2027-03-21T01:30:00.000Z',
      reason: null,
    });
    expect(fires[7]).toEqual({
      at: '2027-03-28T01:00:00.000Z',
      nominal_at: '2027-03-28T01:30:00.000Z',
      reason:
        '02:30 does not exist on 2027-03-28 in Europe/Berlin: runs at 03:00 (first instant after the gap) by policy RUN_AFTER_GAP',
    });
    expect(fires[8]!.at).toBe('2027-03-29T00:30:00.000Z');
    expect(fires.filter((f) => f.reason !== null)).toHaveLength(1);

    const autumn = await preview(u, id, 'count=2&from=2027-10-30T12:00:00%2B02:00');
    expect(autumn.statusCode, autumn.body).toBe(200);
    expect(autumn.json()).toEqual({
      fire_times: [
        {
          at: '2027-10-31T00:30:00.000Z',
          nominal_at: '2027-10-31T00:30:00.000Z',
          reason:
            '02:30 occurs twice on 2027-10-31 in Europe/Berlin: runs once, at the first occurrence, by policy FIRST (the default for this expression) (UTC+02:00)',
        },
        { at: '2027-11-01T01:30:00.000Z', nominal_at: '2027-11-01T01:30:00.000Z', reason: null },
      ],
    });
    const hundred = await preview(u, id, 'count=100');
    expect(hundred.json<{ fire_times: FireTime[] }>().fire_times).toHaveLength(100);
  });

  it("an interval workflow's preview stays on the grid of its next run", async () => {
    const id = await create({ interval: 30 });
    // The build completed at 10:07: the grid is 10:37, 11:07, …
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE', next_run_at: new Date(START + 37 * MINUTE) })
      .where('id', '=', id)
      .execute();
    const res = await preview(u, id, 'count=3&from=2027-03-20T11:00:00Z');
    expect(res.json<{ fire_times: FireTime[] }>().fire_times.map((f) => f.at)).toEqual([
      '2027-03-20T11:07:00.000Z',
      '2027-03-20T11:37:00.000Z',
      '2027-03-20T12:07:00.000Z',
    ]);
  });

  it('400 naming count (0, 101, 2.5, text) and from (not RFC 3339 with an offset)', async () => {
    const id = await create({ interval: 5 });
    for (const count of ['0', '101', '2.5', 'many']) {
      const problem = expectProblem(await preview(u, id, `count=${count}`), 400, 'CV_VALIDATION');
      expect(problem.errors?.map((e) => e.path)).toEqual(['count']);
    }
    for (const from of ['yesterday', '2027-03-20', '2027-03-20T10:00:00']) {
      const problem = expectProblem(await preview(u, id, `from=${from}`), 400, 'CV_VALIDATION');
      expect(problem.errors?.map((e) => e.path)).toEqual(['from']);
    }
  });

  it("404 for another user's workflow and an unknown one; 400 for a non-UUID id", async () => {
    const id = await create({ interval: 5 });
    const other = await registerUser(gw);
    expectProblem(await preview(other, id), 404, 'CV_NOT_FOUND');
    expectProblem(await preview(u, newId()), 404, 'CV_NOT_FOUND');
    expect(expectProblem(await preview(u, 'nope'), 400, 'CV_VALIDATION').errors?.map((e) => e.path)).toEqual([
      'id',
    ]);
  });

  it('a draft schedule: the DST reasons, from and count; an interval starts at from', async () => {
    const res = await draft(u, {
      schedule: { type: 'cron', cron: '15 2 * * *', timezone: 'Australia/Lord_Howe' },
      from: '2027-10-01T16:00:00Z',
      count: 2,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      fire_times: [
        {
          at: '2027-10-02T15:30:00.000Z',
          nominal_at: '2027-10-02T15:45:00.000Z',
          reason:
            '02:15 does not exist on 2027-10-03 in Australia/Lord_Howe: runs at 02:30 (first instant after the gap) by policy RUN_AFTER_GAP',
        },
        { at: '2027-10-03T15:15:00.000Z', nominal_at: '2027-10-03T15:15:00.000Z', reason: null },
      ],
    });
    const interval = await draft(u, { schedule: { type: 'interval', interval_minutes: 15 }, count: 2 });
    expect(interval.json<{ fire_times: FireTime[] }>().fire_times.map((f) => f.at)).toEqual([
      new Date(clock.now().getTime() + 15 * MINUTE).toISOString(),
      new Date(clock.now().getTime() + 30 * MINUTE).toISOString(),
    ]);
    const defaults = await draft(u, { schedule: { type: 'cron', cron: '0 * * * *' } });
    expect(defaults.json<{ fire_times: FireTime[] }>().fire_times).toHaveLength(20);
  });

  it('a draft is checked as a create checks its schedule: 400 naming schedule.cron, schedule.timezone, schedule.run_at, count, from', async () => {
    const paths = async (body: unknown) =>
      expectProblem(await draft(u, body), 400, 'CV_VALIDATION').errors?.map((e) => e.path);
    expect(await paths({ schedule: { type: 'cron', cron: '61 * * * *' } })).toEqual(['schedule.cron']);
    expect(await paths({ schedule: { type: 'cron', cron: '0 * * * *', timezone: 'Nowhere/City' } })).toEqual([
      'schedule.timezone',
    ]);
    expect(await paths({ schedule: { type: 'once', run_at: '2020-01-01T00:00:00Z' } })).toEqual([
      'schedule.run_at',
    ]);
    expect(await paths({ schedule: { type: 'interval', interval_minutes: 0 } })).toEqual([
      'schedule.interval_minutes',
    ]);
    expect(await paths({})).toEqual(['schedule']);
    expect(await paths({ schedule: { type: 'cron', cron: '0 * * * *' }, count: 101 })).toEqual(['count']);
    expect(await paths({ schedule: { type: 'cron', cron: '0 * * * *' }, from: 'soon' })).toEqual(['from']);
  });

  it('a read-only token may preview a draft (it changes nothing); no credentials is 401', async () => {
    const minted = await gw.app.inject({
      method: 'POST',
      url: `${API}/auth/tokens`,
      headers: u.headers,
      payload: { name: 'reader', scopes: ['read'] },
    });
    expect(minted.statusCode, minted.body).toBe(201);
    const reader = { headers: { authorization: `Bearer ${minted.json<{ token: string }>().token}` } };
    const res = await draft(reader, { schedule: { type: 'interval', interval_minutes: 5 }, count: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const anonymous = await gw.app.inject({
      method: 'POST',
      url: `${API}/schedules/preview`,
      payload: { schedule: { type: 'interval', interval_minutes: 5 } },
    });
    expect(anonymous.statusCode).toBe(401);
  });
});

/**
 * GET /workflows/{id}/ticks (docs/api.md "Tick ledger") through the real gateway and the workflows
 * service over RPC, on PGlite and on PostgreSQL: pages in nominal order, `from`/`to` inclusive,
 * 400 naming the bad field, 404 for another user's workflow. The scheduler's writes are tested in
 * test/workers/tick-ledger.test.ts; here the rows are written directly.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { insertTicks } from '../../src/services/ticks/ledger.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1';
const MINUTE = 60_000;
const START = Date.parse('2027-03-20T10:00:00.000Z');

interface Tick {
  nominal_at: string;
  scheduled_at: string;
  outcome: string;
  job_id: string | null;
  reason: string | null;
}

function expectProblemOn(res: LightMyRequestResponse, field: string) {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<{ errors?: { path: string }[] }>();
  expect(problem.errors?.map((e) => e.path)).toContain(field);
}

describe.each(ENGINES)('tick ledger API (%s)', (engine) => {
  let gw: TestGateway;
  let u: Awaited<ReturnType<typeof registerUser>>;
  let other: Awaited<ReturnType<typeof registerUser>>;
  let id: string;
  const jobId = newId();

  beforeAll(async () => {
    gw = await createTestGateway(engine, { clock: new TestClock(START) });
    u = await registerUser(gw);
    other = await registerUser(gw);
    const res = await gw.app.inject({
      method: 'POST',
      url: `${API}/workflows`,
      headers: u.headers,
      payload: { name: 't', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' }, interval: 1 },
    });
    expect(res.statusCode, res.body).toBe(201);
    id = res.json<{ id: string }>().id;
    // Ten fire times, 10:00 … 10:09; the first ran, the others were paused.
    await insertTicks(
      gw.database.db,
      Array.from({ length: 10 }, (_, i) => ({
        workflowId: id,
        nominalAt: new Date(START + i * MINUTE),
        scheduledAt: new Date(START + i * MINUTE + 1_500),
        outcome: i === 0 ? ('STARTED' as const) : ('PAUSED' as const),
        jobId: i === 0 ? jobId : null,
        reason: i === 0 ? null : 'the workflow was paused: deploy',
      })),
      new Date(START + 10 * MINUTE),
    );
  });
  afterAll(() => gw.close());

  const ticks = (user: { headers: Record<string, string> }, wf: string, query = '') =>
    gw.app.inject({
      method: 'GET',
      url: `${API}/workflows/${wf}/ticks${query ? `?${query}` : ''}`,
      headers: user.headers,
    });

  it('answers the ledger in nominal order, every field, one page by default', async () => {
    const res = await ticks(u, id);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ ticks: Tick[]; cursor: string | null }>();
    expect(body.cursor).toBeNull();
    expect(body.ticks).toHaveLength(10);
    expect(body.ticks[0]).toEqual({
      nominal_at: '2027-03-20T10:00:00.000Z',
      scheduled_at: '2027-03-20T10:00:01.500Z',
      outcome: 'STARTED',
      job_id: jobId,
      reason: null,
    });
    expect(body.ticks[1]).toMatchObject({
      outcome: 'PAUSED',
      job_id: null,
      reason: 'the workflow was paused: deploy',
    });
    expect(body.ticks.map((t) => t.nominal_at)).toEqual(
      Array.from({ length: 10 }, (_, i) => new Date(START + i * MINUTE).toISOString()),
    );
  });

  it('pages with the cursor and bounds by from and to, inclusive', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `from=2027-03-20T11:02:00%2B01:00&to=2027-03-20T10:08:00Z&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ticks(u, id, q);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<{ ticks: Tick[]; cursor: string | null }>();
      seen.push(...body.ticks.map((t) => t.nominal_at.slice(11, 16)));
      cursor = body.cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(['10:02', '10:03', '10:04', '10:05', '10:06', '10:07', '10:08']);
    expect(pages).toBe(3);
  });

  it('400 naming from, to, cursor or limit', async () => {
    expectProblemOn(await ticks(u, id, 'from=yesterday'), 'from');
    expectProblemOn(await ticks(u, id, 'to=2027-03-20T10:00:00'), 'to');
    expectProblemOn(await ticks(u, id, 'from=2027-03-20T10:05:00Z&to=2027-03-20T10:00:00Z'), 'to');
    expectProblemOn(await ticks(u, id, 'cursor=not-ours'), 'cursor');
    expectProblemOn(await ticks(u, id, 'limit=0'), 'limit');
    expectProblemOn(await ticks(u, id, 'limit=501'), 'limit');
  });

  it("404 for another user's workflow and for one that does not exist", async () => {
    const res = await ticks(other, id);
    expect(res.statusCode, res.body).toBe(404);
    expect((await ticks(u, newId())).statusCode).toBe(404);
  });
});

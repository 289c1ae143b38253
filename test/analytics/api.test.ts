/**
 * /api/v1/analytics over HTTP (both engines): figures after known job facts, in-flight jobs
 * counted live, ownership (404), validation (400 listing every field), zero-filled series with
 * defaults, figures that outlive a deleted workflow, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinishedPayload } from '../../src/domain/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { newId } from '../../src/platform/ids.ts';
import { AnalyticsProcessor } from '../../src/workers/analytics-processor/processor.ts';
import { ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';
import { markBuilt } from '../rpc/fixtures.ts';
import { createAnalyticsGateway, type AnalyticsGateway } from './gateway.ts';
import { asMessages, BASE, knownSequence } from './sequence.ts';

type Headers = Record<string, string>;

describe.each(ENGINES)('analytics API (%s)', (engine) => {
  let gw: AnalyticsGateway;
  let alice: Headers;
  let bob: Headers;
  let workflowId: string;
  let facts: JobFinishedPayload[];
  // 11:30 on the day of the known sequence: the default series ends with the 11:00 bucket.
  const clock = new TestClock(BASE + 90 * 60_000);

  const get = (url: string, headers: Headers) => gw.app.inject({ method: 'GET', url, headers });
  const paths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path).sort();

  beforeAll(async () => {
    gw = await createAnalyticsGateway(engine, { clock });
    const asGateway = gw as unknown as TestGateway;
    alice = (await registerUser(asGateway)).headers;
    bob = (await registerUser(asGateway)).headers;
    const created = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/workflows',
      headers: alice,
      payload: {
        name: 'site up',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'http://127.0.0.1:9/' },
        interval: 5,
      },
    });
    expect(created.statusCode).toBe(201);
    workflowId = created.json().id;
    const userId = (await get('/api/v1/users', alice)).json().id as string;
    facts = knownSequence(userId, workflowId);
    const processor = new AnalyticsProcessor({ db: gw.database.db, logger: createLogger('silent') });
    await processor.handle(asMessages(facts));
  });
  afterAll(() => gw.close());

  it("answers the user's figures", async () => {
    const res = await get('/api/v1/analytics', alice);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      total_workflows: 1,
      total_jobs: 103,
      total_joblogs: 5050,
      total_job_execution_duration: 50.5,
      jobs_by_status: { PENDING: 0, QUEUED: 0, RUNNING: 0, COMPLETED: 85, FAILED: 10, CANCELED: 8 },
      success_rate: 85 / 95,
      duration_ms: { p50: 500, p95: 950, p99: 990 },
      fire_lag_ms: { p50: 50, p95: 95, p99: 99 },
      percentiles_since: new Date(clock.now().getTime() - 30 * 86_400_000).toISOString(),
    });
    const empty = (await get('/api/v1/analytics', bob)).json();
    expect(empty).toMatchObject({ total_jobs: 0, success_rate: null, duration_ms: { p50: null } });
    expect((await get('/api/v1/analytics', {})).statusCode).toBe(401);
  });

  it("counts a workflow's jobs in flight live, beside the finished ones", async () => {
    await markBuilt(gw.database as never, workflowId);
    const run = await gw.app.inject({
      method: 'POST',
      url: `/api/v1/workflows/${workflowId}/jobs/schedule`,
      headers: alice,
    });
    expect(run.statusCode).toBe(201);
    const res = await get(`/api/v1/analytics/${workflowId}`, alice);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      workflow_id: workflowId,
      total_workflows: 1,
      total_jobs: 104,
      jobs_by_status: { PENDING: 1, QUEUED: 0, RUNNING: 0, COMPLETED: 85, FAILED: 10, CANCELED: 8 },
    });
  });

  it("is 404 for another user's workflow and an unknown one, 400 for a malformed id", async () => {
    for (const url of [`/api/v1/analytics/${workflowId}`, `/api/v1/analytics/${workflowId}/timeseries`]) {
      const res = await get(url, bob);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await get(`/api/v1/analytics/${newId()}`, alice)).statusCode).toBe(404);
    const bad = await get('/api/v1/analytics/not-a-uuid', alice);
    expect(bad.statusCode).toBe(400);
    expect(paths(bad.json())).toEqual(['workflow_id']);
  });

  it('rejects bad series parameters with 400 listing every field', async () => {
    for (const prefix of ['/api/v1/analytics', `/api/v1/analytics/${workflowId}`]) {
      const all = await get(`${prefix}/timeseries?from=yesterday&to=2021-13-01T00:00:00Z&bucket=week`, alice);
      expect(all.statusCode).toBe(400);
      expect(all.headers['content-type']).toContain('application/problem+json');
      expect(paths(all.json())).toEqual(['bucket', 'from', 'to']);
      const backwards = await get(
        `${prefix}/timeseries?from=2021-01-02T00:00:00Z&to=2021-01-01T00:00:00Z`,
        alice,
      );
      expect(backwards.statusCode).toBe(400);
      expect(paths(backwards.json())).toEqual(['to']);
      const tooMany = await get(
        `${prefix}/timeseries?from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z`,
        alice,
      );
      expect(tooMany.statusCode).toBe(400);
      expect(paths(tooMany.json())).toEqual(['from']);
      // The same year in days fits.
      const daily = await get(
        `${prefix}/timeseries?from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z&bucket=day`,
        alice,
      );
      expect(daily.statusCode).toBe(200);
      expect(daily.json()).toHaveLength(366);
    }
  });

  it('zero-fills the series and defaults to the last 24 hours, hourly', async () => {
    const res = await get(
      `/api/v1/analytics/${workflowId}/timeseries?from=2021-01-01T09:00:00%2B01:00&to=2021-01-01T12:00:00Z`,
      alice,
    );
    expect(res.statusCode).toBe(200);
    const points = res.json() as { ts: string; completed: number; avg_duration_ms: number | null }[];
    // 09:00+01:00 is 08:00 UTC.
    expect(points.map((p) => p.ts)).toEqual([
      '2021-01-01T08:00:00.000Z',
      '2021-01-01T09:00:00.000Z',
      '2021-01-01T10:00:00.000Z',
      '2021-01-01T11:00:00.000Z',
    ]);
    expect(points[0]).toEqual({
      ts: '2021-01-01T08:00:00.000Z',
      completed: 0,
      failed: 0,
      canceled: 0,
      avg_duration_ms: null,
      avg_fire_lag_ms: null,
    });
    expect(points[2]!.completed).toBeGreaterThan(0);

    const byDefault = (await get('/api/v1/analytics/timeseries', alice)).json() as { ts: string }[];
    expect(byDefault).toHaveLength(24);
    expect(byDefault[0]!.ts).toBe('2020-12-31T12:00:00.000Z');
    expect(byDefault.at(-1)!.ts).toBe('2021-01-01T11:00:00.000Z');
    const bobs = (await get('/api/v1/analytics/timeseries?bucket=day', bob)).json() as {
      completed: number;
    }[];
    expect(bobs).toHaveLength(30);
    expect(bobs.every((p) => p.completed === 0)).toBe(true);
  });

  it('keeps the figures of a deleted workflow for its owner only', async () => {
    // Finish the manual run first (a workflow with a job in flight cannot be deleted).
    await gw.database.db
      .updateTable('jobs')
      .set({ status: 'CANCELED', completed_at: new Date() })
      .where('workflow_id', '=', workflowId)
      .where('status', '=', 'PENDING')
      .execute();
    expect(
      (await gw.app.inject({ method: 'PATCH', url: `/api/v1/workflows/${workflowId}`, headers: alice }))
        .statusCode,
    ).toBe(200);
    const del = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v1/workflows/${workflowId}`,
      headers: alice,
    });
    expect(del.statusCode).toBe(204);
    expect((await get(`/api/v1/workflows/${workflowId}`, alice)).statusCode).toBe(404);
    const res = await get(`/api/v1/analytics/${workflowId}`, alice);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total_jobs: 103, jobs_by_status: { COMPLETED: 85 } });
    expect((await get('/api/v1/analytics', alice)).json().total_workflows).toBe(1);
    expect((await get(`/api/v1/analytics/${workflowId}`, bob)).statusCode).toBe(404);
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const doc = (await get('/api/v1/openapi.json', {})).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/analytics',
        '/api/v1/analytics/timeseries',
        '/api/v1/analytics/{workflow_id}',
        '/api/v1/analytics/{workflow_id}/timeseries',
      ]),
    );
  });
});

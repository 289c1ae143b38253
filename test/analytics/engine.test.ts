/**
 * Real jobs through the engine (relay, in-process bus, workflow worker, executor running
 * heartbeats against a local server) with the analytics processor subscribed to the same bus: the
 * analytics endpoints show the runs, agreeing with the jobs table, and count each once when the
 * relay publishes the facts again (a crash between publish and the PUBLISHED mark). DAG runs give
 * figures per task from their TASK_FINISHED facts, counted once too.
 */
import { sql, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { AnalyticsProcessor } from '../../src/workers/analytics-processor/processor.ts';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';
import { createAnalyticsGateway, type AnalyticsGateway } from './gateway.ts';
import { nearestRank } from './sequence.ts';

describe.each(ENGINES)('analytics of real jobs (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let engine: Engine;
  let gw: AnalyticsGateway;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    engine = createEngine(database);
    new AnalyticsProcessor({ db: database.db, logger: createLogger('silent'), bus: engine.bus }).start();
    engine.start();
    gw = await createAnalyticsGateway(engineName, { database, events: engine.events });
  });
  afterAll(async () => {
    await engine.stop();
    await gw.close();
    await target.close();
    await database.close();
  });

  /**
   * Marks the analytics facts `where` selects unpublished, as a crash between publishing them and
   * marking them published leaves them, and waits until the relay published them again; returns
   * how many. (Raw SQL: the row's relay columns are the relay's own, not in the typed schema.)
   */
  async function republish(where: RawBuilder<unknown>): Promise<number> {
    const { rows: facts } = await sql<{ id: number }>`
      UPDATE outbox SET status = 'PENDING', published_at = NULL, next_attempt_at = now()
      WHERE topic = 'analytics' AND ${where}
      RETURNING id`.execute(database.db);
    engine.events.emit('outbox:written', { count: facts.length });
    await waitFor(async () => {
      const left = await database.db
        .selectFrom('outbox')
        .select('id')
        .where(
          'id',
          'in',
          facts.map((f) => f.id),
        )
        .where('status', '=', 'PENDING')
        .execute();
      return left.length === 0;
    });
    return facts.length;
  }

  it('shows completed and failed runs with their durations and fire lag', async () => {
    const { headers } = await registerUser(gw as unknown as TestGateway);
    const create = async (path: string) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/workflows',
        headers,
        payload: {
          name: path,
          kind: 'HEARTBEAT',
          payload: { endpoint: `${target.url}${path}`, timeout: '5s' },
          interval: 60,
          max_consecutive_job_failures_allowed: 10,
        },
      });
      expect(res.statusCode).toBe(201);
      const id = res.json().id as string;
      await waitFor(async () => {
        const wf = (await gw.app.inject({ method: 'GET', url: `/api/v1/workflows/${id}`, headers })).json();
        return wf.build_status === 'COMPLETED';
      });
      return id;
    };
    const ok = await create('/slow/30');
    const failing = await create('/status/500');
    const run = async (id: string) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: `/api/v1/workflows/${id}/jobs/schedule`,
        headers,
      });
      expect(res.statusCode).toBe(201);
      const jobId = res.json().id as string;
      // One at a time: a workflow's manual runs do not overlap here.
      return waitFor(async () => {
        const job = (
          await gw.app.inject({ method: 'GET', url: `/api/v1/workflows/${id}/jobs/${jobId}`, headers })
        ).json();
        return ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status) ? job : null;
      });
    };
    for (let i = 0; i < 3; i++) expect((await run(ok)).status).toBe('COMPLETED');
    for (let i = 0; i < 2; i++) expect((await run(failing)).status).toBe('FAILED');

    const summary = await waitFor(async () => {
      const body = (await gw.app.inject({ method: 'GET', url: '/api/v1/analytics', headers })).json();
      return body.jobs_by_status.COMPLETED + body.jobs_by_status.FAILED === 5 ? body : null;
    });
    expect(summary).toMatchObject({
      total_workflows: 2,
      total_jobs: 5,
      jobs_by_status: { PENDING: 0, QUEUED: 0, RUNNING: 0, COMPLETED: 3, FAILED: 2, CANCELED: 0 },
      success_rate: 3 / 5,
    });

    // The same figures from the jobs table (ms precision: each duration may round by 1 ms).
    const jobs = await database.db
      .selectFrom('jobs')
      .select(['workflow_id', 'status', 'scheduled_at', 'started_at', 'completed_at'])
      .where('workflow_id', 'in', [ok, failing])
      .execute();
    const durations = jobs.map((j) => j.completed_at!.getTime() - j.started_at!.getTime());
    const lags = jobs.map((j) => j.started_at!.getTime() - j.scheduled_at.getTime());
    const total = durations.reduce((a, b) => a + b, 0);
    expect(Math.abs(summary.total_job_execution_duration * 1000 - total)).toBeLessThanOrEqual(jobs.length);
    expect(Math.abs(summary.duration_ms.p50 - nearestRank(durations, 0.5)!)).toBeLessThanOrEqual(1);
    expect(Math.abs(summary.fire_lag_ms.p99 - nearestRank(lags, 0.99)!)).toBeLessThanOrEqual(1);
    // The slow endpoint answers after 30 ms: every successful run took at least that.
    const okStats = (await gw.app.inject({ method: 'GET', url: `/api/v1/analytics/${ok}`, headers })).json();
    expect(okStats.duration_ms.p50).toBeGreaterThanOrEqual(30);
    expect(okStats.jobs_by_status).toMatchObject({ COMPLETED: 3, FAILED: 0 });

    // The series of the current hour holds all five (the runs took seconds; allow an hour turn).
    const series = (
      await gw.app.inject({ method: 'GET', url: '/api/v1/analytics/timeseries', headers })
    ).json() as { completed: number; failed: number }[];
    const sum = series.reduce(
      (a, p) => ({ completed: a.completed + p.completed, failed: a.failed + p.failed }),
      {
        completed: 0,
        failed: 0,
      },
    );
    expect(sum).toEqual({ completed: 3, failed: 2 });

    // A crash between publishing the completions' facts and marking them published: on restart
    // the relay publishes them again. Counted once all the same.
    expect(await republish(sql`key IN (${ok}, ${failing})`)).toBe(5);
    const again = (await gw.app.inject({ method: 'GET', url: '/api/v1/analytics', headers })).json();
    expect(again).toMatchObject({
      total_jobs: 5,
      jobs_by_status: { COMPLETED: 3, FAILED: 2 },
      total_job_execution_duration: summary.total_job_execution_duration,
    });
  });

  it("shows a DAG workflow's figures per task: runs, fan-out instances, retries, durations", async () => {
    const owner = await registerUser(gw as unknown as TestGateway);
    const { headers } = owner;
    const other = await registerUser(gw as unknown as TestGateway);
    // Heartbeats to this test's own 127.0.0.1 server: an administrator's may (the outbound policy).
    await database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', owner.user.id).execute();
    const created = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/workflows',
      headers,
      payload: {
        name: 'pipeline',
        kind: 'DAG',
        interval: 60,
        max_consecutive_job_failures_allowed: 10,
        payload: {
          tasks: [
            { name: 'build', kind: 'HEARTBEAT', payload: { endpoint: `${target.url}/slow/30` } },
            {
              name: 'test',
              kind: 'HEARTBEAT',
              depends_on: ['build'],
              for_each: ['a', 'b', 'c'],
              payload: { endpoint: `${target.url}/status/200?suite={{item}}` },
            },
            {
              name: 'deploy',
              kind: 'HEARTBEAT',
              depends_on: ['test'],
              retry: {
                limit: 1,
                backoff: { initial_seconds: 1, factor: 1, max_seconds: 1 },
                on: ['HTTP_5XX'],
              },
              payload: { endpoint: `${target.url}/status/500` },
            },
            // Never runs (deploy fails): SKIPPED, with a fact that the per-task figures leave out.
            {
              name: 'announce',
              kind: 'HEARTBEAT',
              depends_on: ['deploy'],
              payload: { endpoint: target.url },
            },
          ],
        },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    await waitFor(async () => {
      const wf = (await gw.app.inject({ method: 'GET', url: `/api/v1/workflows/${id}`, headers })).json();
      return wf.build_status === 'COMPLETED';
    });
    for (let i = 0; i < 2; i++) {
      const res = await gw.app.inject({
        method: 'POST',
        url: `/api/v1/workflows/${id}/jobs/schedule`,
        headers,
      });
      expect(res.statusCode).toBe(201);
      const runId = res.json().id as string;
      const run = await waitFor(async () => {
        const job = (
          await gw.app.inject({ method: 'GET', url: `/api/v1/workflows/${id}/jobs/${runId}`, headers })
        ).json();
        return ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status) ? job : null;
      }, 30_000);
      expect(run.status).toBe('FAILED');
    }

    const url = `/api/v1/analytics/${id}/tasks`;
    type Figures = { tasks: Record<string, unknown>[]; workflow_id: string; since: string };
    const figures = await waitFor(async () => {
      const body = (await gw.app.inject({ method: 'GET', url, headers })).json() as Figures;
      const instances = body.tasks.reduce((n, t) => n + (t.instances as number), 0);
      return instances === 10 ? body : null;
    });
    expect(figures.workflow_id).toBe(id);
    expect(figures.tasks.map((t) => t.name)).toEqual(['build', 'deploy', 'test']);
    type TaskFigures = Record<string, unknown> & { duration_ms: { p50: number; p99: number } };
    const [build, deploy, test] = figures.tasks as TaskFigures[];
    expect(build).toMatchObject({
      runs: 2,
      instances: 2,
      completed: 2,
      failed: 0,
      attempts: 2,
      success_rate: 1,
    });
    expect(test).toMatchObject({
      runs: 2,
      instances: 6,
      completed: 6,
      failed: 0,
      attempts: 6,
      success_rate: 1,
    });
    // Two attempts each (one retry on the 500): attempts − instances = retries.
    expect(deploy).toMatchObject({
      runs: 2,
      instances: 2,
      completed: 0,
      failed: 2,
      attempts: 4,
      success_rate: 0,
    });
    // The slow endpoint answers after 30 ms; a retried deploy waited 1 s between its attempts.
    expect(build!.duration_ms.p50).toBeGreaterThanOrEqual(30);
    expect(deploy!.duration_ms.p50).toBeGreaterThanOrEqual(1000);
    // The same durations as the task rows say.
    const rows = await database.db
      .selectFrom('jobs')
      .select(['task_name', 'started_at', 'completed_at'])
      .where('workflow_id', '=', id)
      .where('task_name', '=', 'build')
      .execute();
    const durations = rows.map((r) => r.completed_at!.getTime() - r.started_at!.getTime());
    expect(Math.abs(build!.duration_ms.p99 - Math.max(...durations))).toBeLessThanOrEqual(1);

    // Redelivered task facts change nothing (10 counted, and announce's 2 skips).
    expect(await republish(sql`key = ${id} AND event_type = 'TASK_FINISHED'`)).toBe(12);
    expect(((await gw.app.inject({ method: 'GET', url, headers })).json() as Figures).tasks).toEqual(
      figures.tasks,
    );

    // Not yours: 404, as every analytics route.
    expect((await gw.app.inject({ method: 'GET', url, headers: other.headers })).statusCode).toBe(404);
  }, 60_000);
});

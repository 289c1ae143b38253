/**
 * 1,000 `once` HEARTBEAT workflows due at one instant, created by one POST /workflows/bulk, on
 * PostgreSQL with two engines on the database (each its own relay, workflow worker, scheduler and
 * executor, as two processes would have): every one is built, scheduled and started exactly once
 * (one job per workflow, one request per workflow at the target), and none runs again. And, on
 * both engines, a once workflow whose run_at passed while it was building runs once, late.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { insertUser, insertWorkflows, jobsOf, waitFor } from '../helpers/fixtures.ts';
import {
  createTestDatabase,
  createTestGateway,
  ENGINES,
  registerUser,
  type TestGateway,
} from '../helpers/harness.ts';

const N = 1000;

describe('1,000 once workflows from one bulk create, two schedulers and two executors (postgres)', () => {
  let gw: TestGateway;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const engines: Engine[] = [];

  beforeAll(async () => {
    // The heartbeats target a local server: private networks allowed, as the engine tests do.
    gw = await createTestGateway('postgres', {
      env: { CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    target = await startTarget();
    for (let i = 0; i < 2; i++) engines.push(createEngine(gw.database));
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.stop()));
    await target.close();
    await gw.close();
  });

  it('starts every one exactly once', async () => {
    const user = await registerUser(gw);
    const runAt = new Date(Date.now() + 4_000).toISOString();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/workflows/bulk',
      headers: user.headers,
      payload: {
        workflows: Array.from({ length: N }, (_, i) => ({
          name: `once ${i}`,
          kind: 'HEARTBEAT',
          payload: { endpoint: `${target.url}/w/${i}`, timeout: '5s' },
          schedule: { type: 'once', run_at: runAt },
        })),
      },
    });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(201);
    const ids = res.json<{ workflows: { id: string }[] }>().workflows.map((w) => w.id);
    expect(ids).toHaveLength(N);
    for (const engine of engines) engine.start();

    const finished = async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from jobs
        where workflow_id = any(${ids}::uuid[]) and status in ('COMPLETED', 'FAILED', 'CANCELED')`.execute(
        gw.database.db,
      );
      return rows[0]!.n;
    };
    await waitFor(async () => (await finished()) >= N, 90_000).catch(async (err: unknown) => {
      const { rows } = await sql`
        select 'workflow' as what, build_status as status, (next_run_at is null) as done, count(*)::int as n
        from workflows where id = any(${ids}::uuid[]) group by 1, 2, 3
        union all select 'job', status, null::boolean, count(*)::int from jobs group by 1, 2, 3
        union all select 'outbox ' || topic || ' ' || event_type, status, null::boolean, count(*)::int from outbox group by 1, 2, 3`.execute(
        gw.database.db,
      );
      throw new Error(`${(err as Error).message}: ${JSON.stringify(rows)}, hits ${target.hits.size}`);
    });
    // Both engines keep running past the instant: nothing more may appear.
    await new Promise((r) => setTimeout(r, 1_500));

    const { rows: perWorkflow } = await sql<{ workflow_id: string; n: number; completed: number }>`
      select workflow_id, count(*)::int as n, count(*) filter (where status = 'COMPLETED')::int as completed
      from jobs where workflow_id = any(${ids}::uuid[]) group by workflow_id`.execute(gw.database.db);
    expect(perWorkflow).toHaveLength(N);
    expect(perWorkflow.filter((r) => r.n !== 1 || r.completed !== 1)).toEqual([]);
    const hits = ids.map((_, i) => target.hits.get(`/w/${i}`) ?? 0);
    expect(hits.filter((h) => h !== 1)).toEqual([]);
    const { rows: left } = await sql<{ n: number }>`
      select count(*)::int as n from workflows
      where id = any(${ids}::uuid[]) and (next_run_at is not null or build_status <> 'COMPLETED')`.execute(
      gw.database.db,
    );
    expect(left[0]!.n).toBe(0);
  }, 120_000);
});

describe.each(ENGINES)('a once workflow whose run_at passed while it was building (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let engine: Engine;
  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
  });
  afterAll(async () => {
    await engine?.stop();
    await target.close();
    await database.close();
  });

  it('runs once, late, when its build completes', async () => {
    const userId = await insertUser(database.db);
    const runAt = new Date(Date.now() - 1_000);
    const [id] = await insertWorkflows(database.db, [
      {
        userId,
        runAt,
        nextRunAt: runAt,
        buildStatus: 'QUEUED',
        payload: {
          endpoint: `${target.url}/late`,
          method: 'GET',
          headers: {},
          body: null,
          expected_status_code: 200,
          timeout: '5s',
        },
      },
    ]);
    await database.db
      .insertInto('outbox')
      .values({
        topic: 'workflows',
        key: id!,
        event_type: 'BUILD',
        payload: JSON.stringify({ workflow_id: id, user_id: userId, generation: 1 }),
      })
      .execute();
    engine = createEngine(database);
    engine.start();
    await waitFor(async () => (await jobsOf(database.db, id!)).some((j) => j.completed_at !== null)).catch(
      async (err: unknown) => {
        const row = await database.db.selectFrom('workflows').selectAll().where('id', '=', id!).execute();
        throw new Error(`${(err as Error).message}: ${JSON.stringify(row)}`);
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    const jobs = await jobsOf(database.db, id!);
    expect(jobs.map((j) => [j.status, j.scheduled_at.getTime()])).toEqual([['COMPLETED', runAt.getTime()]]);
    expect(target.hits.get('/late')).toBe(1);
  });
});

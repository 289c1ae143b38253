/**
 * Workflow versions (docs/api.md "Versions") end to end through the real gateway and the services
 * over RPC, on PGlite and on PostgreSQL: versions made by creates and edits (not by no-op edits,
 * renames or relabels), the list and its cursor, one version, `changes`, restore, the version a
 * run records (run now, retry, the scheduler's tick), running an older version (its spec, and the
 * engine executing it), a queued run keeping its version across an edit, ownership (404) and bad
 * input (400 naming the field).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.ts';
import { Events } from '../../src/platform/events.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { finalJob } from '../helpers/fixtures.ts';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
const MINUTE = 60_000;

type User = Awaited<ReturnType<typeof registerUser>>;

interface Workflow {
  id: string;
  name: string;
  version: number;
  payload: Record<string, unknown>;
}

interface Version {
  workflow_id: string;
  version: number;
  created_at: string;
  created_by: string | null;
  current: boolean;
  changes: string[];
  definition: {
    kind: string;
    payload: Record<string, unknown>;
    schedule: Record<string, unknown>;
    max_consecutive_job_failures_allowed: number;
    pause_on_failure: boolean;
    log_retention: boolean;
  };
}

interface Job {
  id: string;
  status: string;
  workflow_version: number | null;
}

interface Problem {
  status: number;
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

function heartbeat(url: string) {
  return { endpoint: url, method: 'GET', headers: {}, body: null, expected_status_code: 200, timeout: '2s' };
}

describe.each(ENGINES)('workflow versions (%s)', (engineName) => {
  let gw: TestGateway;
  let u: User;
  let other: User;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let engine: Engine | undefined;
  // Now, not a pinned time: the engine of the last test claims with the system clock.
  const clock = new TestClock();

  beforeAll(async () => {
    // The heartbeat target listens on 127.0.0.1: private networks allowed, as in the engine tests.
    gw = await createTestGateway(engineName, {
      clock,
      env: { CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    u = await registerUser(gw);
    other = await registerUser(gw);
    target = await startTarget();
  });
  afterAll(async () => {
    await target.close();
    await gw.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  const request = (
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    payload?: unknown,
    user: User = u,
  ): Promise<LightMyRequestResponse> =>
    gw.app.inject({
      method,
      url: `${API}${path}`,
      headers: user.headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  /** A built hourly HEARTBEAT workflow (a heartbeat has nothing to build: the worker marks it COMPLETED). */
  async function created(path = '/v1', extra: object = {}): Promise<Workflow> {
    const res = await request('POST', '', {
      name: 'versioned',
      kind: 'HEARTBEAT',
      payload: heartbeat(`${target.url}${path}`),
      interval: 60,
      ...extra,
    });
    expect(res.statusCode, res.body).toBe(201);
    const wf = res.json<Workflow>();
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', wf.id)
      .execute();
    return wf;
  }

  const edit = async (id: string, body: object): Promise<Workflow> => {
    const res = await request('PUT', `/${id}`, body);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Workflow>();
  };
  const versions = async (
    id: string,
    query = '',
  ): Promise<{ versions: Version[]; cursor: string | null }> => {
    const res = await request('GET', `/${id}/versions${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const runNow = (id: string, body?: unknown, user: User = u) =>
    request('POST', `/${id}/jobs/schedule`, body, user);

  it('makes version 1 on create, a new version per changing edit, none for a no-op edit, a rename or a relabel', async () => {
    const wf = await created('/v1');
    expect(wf.version).toBe(1);

    const v2 = await edit(wf.id, { payload: heartbeat(`${target.url}/v2`) });
    expect(v2.version).toBe(2);
    // The same definition again (apply's idempotent re-run), a rename and a relabel: no version.
    expect((await edit(wf.id, { payload: heartbeat(`${target.url}/v2`) })).version).toBe(2);
    expect((await edit(wf.id, { name: 'renamed', labels: { team: 'data' } })).version).toBe(2);
    expect((await edit(wf.id, { interval: 60 })).version).toBe(2);

    const v3 = await edit(wf.id, { interval: 30, max_consecutive_job_failures_allowed: 5 });
    expect(v3.version).toBe(3);
    expect((await request('GET', `/${wf.id}`)).json<Workflow>().version).toBe(3);

    const page = await versions(wf.id);
    expect(page.cursor).toBeNull();
    expect(page.versions.map((v) => [v.version, v.current])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    const [third, second, first] = page.versions;
    expect(first!.changes).toEqual([]);
    expect(second!.changes).toEqual(['payload.endpoint']);
    expect(third!.changes).toEqual(['max_consecutive_job_failures_allowed', 'schedule.interval_minutes']);
    expect(first!.definition).toMatchObject({
      kind: 'HEARTBEAT',
      payload: { endpoint: `${target.url}/v1` },
      schedule: { type: 'interval', interval_minutes: 60 },
      log_retention: false,
      pause_on_failure: false,
    });
    expect(third!.definition).toMatchObject({
      schedule: { type: 'interval', interval_minutes: 30 },
      max_consecutive_job_failures_allowed: 5,
    });
    expect(third!.created_by).toBe(u.user.id);

    const one = await request('GET', `/${wf.id}/versions/1`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual(first);
  });

  it('makes version 1 of every workflow of a bulk create', async () => {
    const item = (name: string) => ({
      name,
      kind: 'HEARTBEAT',
      payload: heartbeat(`${target.url}/${name}`),
      interval: 60,
    });
    const res = await request('POST', '/bulk', { workflows: [item('bulk-a'), item('bulk-b')] });
    expect(res.statusCode, res.body).toBe(201);
    for (const wf of res.json<{ workflows: Workflow[] }>().workflows) {
      expect(wf.version).toBe(1);
      const page = await versions(wf.id);
      expect(page.versions).toHaveLength(1);
      expect(page.versions[0]).toMatchObject({
        version: 1,
        current: true,
        changes: [],
        definition: { payload: { endpoint: `${target.url}/${wf.name}` } },
      });
    }
  });

  it('pages the list newest first with an opaque cursor; a foreign cursor is a 400 naming cursor', async () => {
    const wf = await created('/p0');
    for (let i = 1; i <= 4; i++) await edit(wf.id, { payload: heartbeat(`${target.url}/p${i}`) });
    const first = await versions(wf.id, '?limit=2');
    expect(first.versions.map((v) => v.version)).toEqual([5, 4]);
    expect(first.versions[1]!.changes).toEqual(['payload.endpoint']);
    const second = await versions(wf.id, `?limit=2&cursor=${first.cursor}`);
    expect(second.versions.map((v) => v.version)).toEqual([3, 2]);
    const third = await versions(wf.id, `?limit=2&cursor=${second.cursor}`);
    expect(third.versions.map((v) => v.version)).toEqual([1]);
    expect(third.cursor).toBeNull();

    // Not ours, and one that decodes to a version beyond PostgreSQL's int: a 400, never a 500.
    const huge = Buffer.from(JSON.stringify({ version: 1e12 })).toString('base64url');
    for (const cursor of ['nope', huge]) {
      const bad = expectProblem(
        await request('GET', `/${wf.id}/versions?cursor=${cursor}`),
        400,
        'CV_VALIDATION',
      );
      expect(bad.errors?.map((e) => e.path)).toEqual(['cursor']);
    }
  });

  it("answers 404 for an unknown version and for another user's workflow, 400 for a bad number", async () => {
    const wf = await created();
    expectProblem(await request('GET', `/${wf.id}/versions/2`), 404, 'CV_NOT_FOUND');
    expectProblem(await request('GET', `/${wf.id}/versions`, undefined, other), 404, 'CV_NOT_FOUND');
    expectProblem(await request('GET', `/${wf.id}/versions/1`, undefined, other), 404, 'CV_NOT_FOUND');
    expectProblem(
      await request('POST', `/${wf.id}/versions/1/restore`, undefined, other),
      404,
      'CV_NOT_FOUND',
    );
    expectProblem(await runNow(wf.id, { version: 1 }, other), 404, 'CV_NOT_FOUND');
    for (const n of ['0', 'x', '1.5', '99999999999']) {
      const bad = expectProblem(await request('GET', `/${wf.id}/versions/${n}`), 400, 'CV_VALIDATION');
      expect(bad.errors?.map((e) => e.path)).toEqual(['n']);
    }
  });

  it('restores a version as an edit that makes a new version', async () => {
    const wf = await created('/r1');
    await edit(wf.id, { payload: heartbeat(`${target.url}/r2`), interval: 15 });
    const res = await request('POST', `/${wf.id}/versions/1/restore`);
    expect(res.statusCode, res.body).toBe(200);
    const restored = res.json<Workflow>();
    expect(restored.version).toBe(3);
    expect(restored.payload).toMatchObject({ endpoint: `${target.url}/r1` });
    const latest = (await versions(wf.id)).versions[0]!;
    expect(latest.changes).toEqual(['payload.endpoint', 'schedule.interval_minutes']);
    // Restoring the definition it already has changes nothing.
    expect((await request('POST', `/${wf.id}/versions/3/restore`)).json<Workflow>().version).toBe(3);
    expectProblem(await request('POST', `/${wf.id}/versions/9/restore`), 404, 'CV_NOT_FOUND');
  });

  it('records the version of a run: run now, a run of an older version, a retry; bad versions name `version`', async () => {
    const wf = await created('/j1');
    await edit(wf.id, { payload: heartbeat(`${target.url}/j2`) });

    const current = await runNow(wf.id);
    expect(current.statusCode, current.body).toBe(201);
    expect(current.json<Job>().workflow_version).toBe(2);

    const old = await runNow(wf.id, { version: 1 });
    expect(old.statusCode, old.body).toBe(201);
    const oldJob = old.json<Job>();
    expect(oldJob.workflow_version).toBe(1);
    const row = await gw.database.db
      .selectFrom('jobs')
      .select(['spec', 'kind', 'workflow_version'])
      .where('id', '=', oldJob.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ kind: 'HEARTBEAT', workflow_version: 1 });
    expect(row.spec).toMatchObject({ endpoint: `${target.url}/j1` });
    expect((await request('GET', `/${wf.id}/jobs/${oldJob.id}`)).json<Job>().workflow_version).toBe(1);

    // A retry runs the workflow as it is now (as before versions), and says which version that is.
    await request('POST', `/${wf.id}/jobs/${oldJob.id}/cancel`);
    const retry = await request('POST', `/${wf.id}/jobs/${oldJob.id}/retry`);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.json<Job>().workflow_version).toBe(2);

    for (const version of [3, 0, -1, 1.5, '1', true]) {
      const problem = expectProblem(await runNow(wf.id, { version }), 400, 'CV_VALIDATION');
      expect(
        problem.errors?.map((e) => e.path),
        String(version),
      ).toEqual(['version']);
    }
    const unknownField = expectProblem(await runNow(wf.id, { versoin: 1 }), 400, 'CV_VALIDATION');
    expect(unknownField.errors?.map((e) => e.path)).toEqual(['versoin']);
    expect((await runNow(wf.id, {})).json<Job>().workflow_version).toBe(2);
    expect((await runNow(wf.id, { version: null })).json<Job>().workflow_version).toBe(2);
  });

  it("the scheduler's tick records the workflow's current version", async () => {
    const wf = await created('/tick1');
    await edit(wf.id, { payload: heartbeat(`${target.url}/tick2`) });
    await gw.database.db
      .updateTable('workflows')
      .set({ next_run_at: new Date(clock.now().getTime() - MINUTE) })
      .where('id', '=', wf.id)
      .execute();
    const scheduler = new Scheduler(
      { db: gw.database.db, clock, events: new Events(), logger: createLogger('silent') },
      {},
    );
    await scheduler.runOnce();
    const jobs = await gw.database.db
      .selectFrom('jobs')
      .select(['workflow_version', 'spec', 'trigger'])
      .where('workflow_id', '=', wf.id)
      .execute();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ trigger: 'AUTOMATIC', workflow_version: 2 });
    expect(jobs[0]!.spec).toMatchObject({ endpoint: `${target.url}/tick2` });
  });

  it('executes an older version, and a queued run keeps its version across an edit', async () => {
    const wf = await created('/exec-v1');
    await edit(wf.id, { payload: heartbeat(`${target.url}/exec-v2`) });
    const old = (await runNow(wf.id, { version: 1 })).json<Job>();
    const queued = (await runNow(wf.id)).json<Job>();
    expect(queued.workflow_version).toBe(2);
    await edit(wf.id, { payload: heartbeat(`${target.url}/exec-v3`) });
    expect((await request('GET', `/${wf.id}/jobs/${queued.id}`)).json<Job>().workflow_version).toBe(2);

    engine = createEngine(gw.database);
    engine.start();
    engine.events.emit('jobs:runnable', { count: 2 });
    expect((await finalJob(gw.database, old.id)).status).toBe('COMPLETED');
    expect((await finalJob(gw.database, queued.id)).status).toBe('COMPLETED');
    expect(target.hits.get('/exec-v1')).toBe(1);
    expect(target.hits.get('/exec-v2')).toBe(1);
    expect(target.hits.get('/exec-v3')).toBeUndefined();
  });
});

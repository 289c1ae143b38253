/**
 * Jobs API (api.md "Jobs") end to end through the real gateway, on PGlite and on PostgreSQL: manual
 * runs (preconditions, outbox, wake-up events, Idempotency-Key), list (filters, keyset pagination),
 * get, cancel (pending, running, finished), retry, and ownership. No scheduler or executor runs in
 * the test gateway: builds are completed and jobs put in given states directly in the database.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/platform/db/schema.ts';
import type { ChronoverseEventMap, EventName } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';
import { snapshotOf } from '../helpers/fixtures.ts';

const API = '/api/v1/workflows';
const MINUTE = 60_000;

type User = Awaited<ReturnType<typeof registerUser>>;

interface Job {
  id: string;
  workflow_id: string;
  status: JobStatus;
  trigger: 'AUTOMATIC' | 'MANUAL';
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  attempts: number;
  max_attempts: number;
  exit_code: number | null;
  http_status_code: number | null;
  latency_ms: number | null;
  skipped_ticks: number;
  retry_of: string | null;
  error: null | { kind: string; code: string; message: string };
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** Every field of the job object, all of which must be present (never omitted). */
const JOB_FIELDS = [
  'id',
  'workflow_id',
  'status',
  'trigger',
  'scheduled_at',
  'started_at',
  'completed_at',
  'created_at',
  'updated_at',
  'attempts',
  'max_attempts',
  'exit_code',
  'http_status_code',
  'latency_ms',
  'skipped_ticks',
  'retry_of',
  'workflow_version',
  'error',
  'kind',
].sort();

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function expectProblem(res: LightMyRequestResponse, status: number, code?: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  if (code) expect(problem.code).toBe(code);
  return problem;
}

function expectFieldError(res: LightMyRequestResponse, path: string): Problem {
  const problem = expectProblem(res, 400, 'CV_VALIDATION');
  expect(problem.errors?.map((e) => e.path)).toContain(path);
  return problem;
}

describe.each(ENGINES)('jobs API (%s)', (engine) => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  const jobsUrl = (wfId: string) => `${API}/${wfId}/jobs`;

  const api = {
    run: (u: User, wfId: string, headers: Record<string, string> = {}, payload?: unknown) =>
      gw.app.inject({
        method: 'POST',
        url: `${jobsUrl(wfId)}/schedule`,
        headers: { ...u.headers, ...headers },
        ...(payload !== undefined ? { payload: payload as object } : {}),
      }),
    list: (u: User, wfId: string, query = '') =>
      gw.app.inject({
        method: 'GET',
        url: `${jobsUrl(wfId)}${query ? `?${query}` : ''}`,
        headers: u.headers,
      }),
    get: (u: User, wfId: string, jobId: string) =>
      gw.app.inject({ method: 'GET', url: `${jobsUrl(wfId)}/${jobId}`, headers: u.headers }),
    cancel: (u: User, wfId: string, jobId: string) =>
      gw.app.inject({ method: 'POST', url: `${jobsUrl(wfId)}/${jobId}/cancel`, headers: u.headers }),
    retry: (u: User, wfId: string, jobId: string, headers: Record<string, string> = {}) =>
      gw.app.inject({
        method: 'POST',
        url: `${jobsUrl(wfId)}/${jobId}/retry`,
        headers: { ...u.headers, ...headers },
      }),
  };

  /** A HEARTBEAT workflow created through the API; its build is COMPLETED unless told otherwise. */
  async function workflow(u: User, build: 'COMPLETED' | 'QUEUED' = 'COMPLETED'): Promise<string> {
    const res = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: {
        name: 'ping api',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://api.example.com/health' },
        interval: 5,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    if (build === 'COMPLETED') {
      await gw.database.db
        .updateTable('workflows')
        .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
        .where('id', '=', id)
        .execute();
    }
    return id;
  }

  async function terminate(u: User, wfId: string): Promise<void> {
    const res = await gw.app.inject({ method: 'PATCH', url: `${API}/${wfId}`, headers: u.headers });
    expect(res.statusCode, res.body).toBe(200);
  }

  let tick = 0;
  /** Inserts a job in `status`, respecting the schema's CHECK constraints. */
  async function insertJob(
    u: User,
    wfId: string,
    status: JobStatus,
    extra: { trigger?: 'AUTOMATIC' | 'MANUAL' } = {},
  ): Promise<string> {
    const id = newId();
    const now = new Date();
    tick += 1;
    const final = status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELED';
    await gw.database.db
      .insertInto('jobs')
      .values({
        id,
        workflow_id: wfId,
        user_id: u.user.id,
        workflow_generation: 1,
        ...snapshotOf(wfId),
        status,
        trigger: extra.trigger ?? 'AUTOMATIC',
        // Distinct ticks: AUTOMATIC jobs are unique per (workflow, scheduled_at).
        scheduled_at: new Date(now.getTime() - tick * MINUTE),
        started_at: status === 'PENDING' || status === 'QUEUED' ? null : now,
        completed_at: final ? now : null,
        attempts: status === 'PENDING' || status === 'QUEUED' ? 0 : 1,
        lease_owner: status === 'RUNNING' ? 'executor-test' : null,
        lease_expires_at: status === 'RUNNING' ? new Date(now.getTime() + MINUTE) : null,
        ...(status === 'FAILED'
          ? {
              error_kind: 'USER' as const,
              error_code: 'EXIT_CODE',
              error_message: 'exited with 2',
              exit_code: 2,
            }
          : {}),
      })
      .execute();
    return id;
  }

  const jobRow = (id: string) =>
    gw.database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  const jobRowsOf = (wfId: string) =>
    gw.database.db.selectFrom('jobs').selectAll().where('workflow_id', '=', wfId).orderBy('id').execute();

  const outboxOf = (wfId: string, topic: 'jobs' | 'workflows') =>
    gw.database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', wfId)
      .where('topic', '=', topic)
      .orderBy('id')
      .execute();

  /** Records every occurrence of the named events until `stop()`. */
  function record<K extends EventName>(...names: K[]) {
    const seen: Array<{ name: K; payload: ChronoverseEventMap[K] }> = [];
    const offs = names.map((name) => gw.events.on(name, (payload) => seen.push({ name, payload })));
    return {
      seen,
      stop: () => offs.forEach((off) => off()),
    };
  }

  async function runOk(u: User, wfId: string, headers: Record<string, string> = {}): Promise<Job> {
    const res = await api.run(u, wfId, headers);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Job>();
  }

  async function listIds(u: User, wfId: string, query = ''): Promise<string[]> {
    const res = await api.list(u, wfId, query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ jobs: Job[] }>().jobs.map((j) => j.id);
  }

  // ─── manual run ──────────────────────────────────────────────────────────────────────
  describe('POST /workflows/:id/jobs/schedule', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('creates a PENDING MANUAL job (201) with every field present, a DISPATCH outbox row and wake-ups', async () => {
      const wfId = await workflow(u);
      const events = record('outbox:written', 'jobs:runnable', 'job:cancel-requested');
      const before = Date.now();
      const res = await api.run(u, wfId);
      events.stop();
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      const job = res.json<Job>();
      expect(Object.keys(job).sort()).toEqual(JOB_FIELDS);
      expect(job.id).toMatch(UUID_V7);
      for (const ts of [job.scheduled_at, job.created_at, job.updated_at]) {
        expect(ts).toMatch(RFC3339_MS_UTC);
        expect(Date.parse(ts)).toBeGreaterThanOrEqual(before - 1000);
      }
      expect(job).toEqual({
        id: job.id,
        workflow_id: wfId,
        status: 'PENDING',
        trigger: 'MANUAL',
        scheduled_at: job.created_at,
        started_at: null,
        completed_at: null,
        created_at: job.created_at,
        updated_at: job.created_at,
        attempts: 0,
        max_attempts: 3,
        exit_code: null,
        http_status_code: null,
        latency_ms: null,
        skipped_ticks: 0,
        retry_of: null,
        workflow_version: 1,
        kind: 'HEARTBEAT',
        error: null,
      });
      // Zero values and nulls are present in the raw JSON.
      for (const raw of ['"attempts":0', '"skipped_ticks":0', '"error":null', '"retry_of":null']) {
        expect(res.body).toContain(raw);
      }

      const row = await jobRow(job.id);
      expect(row).toMatchObject({ user_id: u.user.id, workflow_generation: 1, lease_owner: null });

      const outbox = await outboxOf(wfId, 'jobs');
      expect(outbox).toHaveLength(1);
      expect(outbox[0]).toMatchObject({
        topic: 'jobs',
        key: wfId,
        event_type: 'DISPATCH',
        status: 'PENDING',
        payload: { job_ids: [job.id] },
      });

      expect(events.seen).toEqual([
        { name: 'outbox:written', payload: { count: 1 } },
        { name: 'jobs:runnable', payload: { count: 1 } },
      ]);
      // The GET answer is the POST answer.
      expect((await api.get(u, wfId, job.id)).json()).toEqual(job);
    });

    it('takes the workflow generation current at the time of the run', async () => {
      const wfId = await workflow(u);
      await gw.database.db.updateTable('workflows').set({ generation: 4 }).where('id', '=', wfId).execute();
      const job = await runOk(u, wfId);
      expect((await jobRow(job.id)).workflow_generation).toBe(4);
    });

    it('accepts an empty JSON object or an empty JSON body; any other body is 400 naming the field', async () => {
      const wfId = await workflow(u);
      expect((await api.run(u, wfId, {}, {})).statusCode).toBe(201);
      const empty = await api.run(u, wfId, { 'content-type': 'application/json' }, '');
      expect(empty.statusCode, empty.body).toBe(201);
      expectFieldError(await api.run(u, wfId, {}, { when: 'now' }), 'when');
      expectFieldError(await api.run(u, wfId, {}, [1, 2]), '');
      expect(await jobRowsOf(wfId)).toHaveLength(2);
    });

    it('is 412 for a terminated workflow and creates nothing', async () => {
      const wfId = await workflow(u);
      await terminate(u, wfId);
      const events = record('outbox:written', 'jobs:runnable');
      const problem = expectProblem(await api.run(u, wfId), 412, 'CV_PRECONDITION_FAILED');
      events.stop();
      expect(problem.detail).toMatch(/terminated/i);
      expect(await jobRowsOf(wfId)).toEqual([]);
      expect(await outboxOf(wfId, 'jobs')).toEqual([]);
      expect(events.seen).toEqual([]);
    });

    it('is 412 while the build is not COMPLETED (QUEUED, FAILED)', async () => {
      const wfId = await workflow(u, 'QUEUED');
      const problem = expectProblem(await api.run(u, wfId), 412, 'CV_PRECONDITION_FAILED');
      expect(problem.detail).toMatch(/QUEUED/);
      await gw.database.db
        .updateTable('workflows')
        .set({ build_status: 'FAILED', state: 'BUILD_FAILED' })
        .where('id', '=', wfId)
        .execute();
      expect(expectProblem(await api.run(u, wfId), 412).detail).toMatch(/FAILED/);
      expect(await jobRowsOf(wfId)).toEqual([]);
    });

    it("is 404 for another user's workflow and for an unknown id; 400 naming id for a non-UUID", async () => {
      const other = await registerUser(gw);
      const theirs = await workflow(other);
      const a = expectProblem(await api.run(u, theirs), 404, 'CV_NOT_FOUND');
      const b = expectProblem(await api.run(u, newId()), 404, 'CV_NOT_FOUND');
      expect(a).toEqual(b);
      expect(await jobRowsOf(theirs)).toEqual([]);
      expectFieldError(await api.run(u, 'not-a-uuid'), 'id');
    });

    it('needs authentication', async () => {
      const wfId = await workflow(u);
      const res = await gw.app.inject({ method: 'POST', url: `${jobsUrl(wfId)}/schedule` });
      expectProblem(res, 401, 'CV_UNAUTHENTICATED');
    });
  });

  // ─── Idempotency-Key ─────────────────────────────────────────────────────────────────
  describe('Idempotency-Key on manual runs', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('a repeated key replays the first job (same id, idempotent-replayed), one job only', async () => {
      const wfId = await workflow(u);
      const first = await api.run(u, wfId, { 'idempotency-key': 'run-1' });
      expect(first.statusCode, first.body).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const events = record('outbox:written', 'jobs:runnable');
      const again = await api.run(u, wfId, { 'idempotency-key': 'run-1' }, {});
      events.stop();
      expect(again.statusCode, again.body).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect(events.seen).toEqual([]);
      expect(await jobRowsOf(wfId)).toHaveLength(1);
      expect(await outboxOf(wfId, 'jobs')).toHaveLength(1);

      const fresh = await runOk(u, wfId, { 'idempotency-key': 'run-2' });
      expect(fresh.id).not.toBe(first.json<Job>().id);
      expect(await jobRowsOf(wfId)).toHaveLength(2);
    });

    it('five concurrent requests with one key make one job', async () => {
      const wfId = await workflow(u);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => api.run(u, wfId, { 'idempotency-key': 'race' })),
      );
      for (const r of results) expect(r.statusCode, r.body).toBe(201);
      expect(new Set(results.map((r) => r.json<Job>().id)).size).toBe(1);
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
      expect(await jobRowsOf(wfId)).toHaveLength(1);
      expect(await outboxOf(wfId, 'jobs')).toHaveLength(1);
    });

    it('the same key on two workflows makes two jobs', async () => {
      const w1 = await workflow(u);
      const w2 = await workflow(u);
      const j1 = await runOk(u, w1, { 'idempotency-key': 'shared' });
      const j2 = await runOk(u, w2, { 'idempotency-key': 'shared' });
      expect(j1.workflow_id).toBe(w1);
      expect(j2.workflow_id).toBe(w2);
    });

    it('a failed run (412) is not stored: the same key works once the workflow can run', async () => {
      const wfId = await workflow(u, 'QUEUED');
      expectProblem(await api.run(u, wfId, { 'idempotency-key': 'later' }), 412);
      await gw.database.db
        .updateTable('workflows')
        .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
        .where('id', '=', wfId)
        .execute();
      const ok = await api.run(u, wfId, { 'idempotency-key': 'later' });
      expect(ok.statusCode, ok.body).toBe(201);
      expect(ok.headers['idempotent-replayed']).toBeUndefined();
    });

    it('a malformed key is 400 naming Idempotency-Key', async () => {
      const wfId = await workflow(u);
      expectFieldError(await api.run(u, wfId, { 'idempotency-key': 'a b' }), 'Idempotency-Key');
      expect(await jobRowsOf(wfId)).toEqual([]);
    });
  });

  // ─── list ────────────────────────────────────────────────────────────────────────────
  describe('GET /workflows/:id/jobs', () => {
    let u: User;
    let wfId: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      u = await registerUser(gw);
      wfId = await workflow(u);
      ids.completed = await insertJob(u, wfId, 'COMPLETED');
      ids.failed = await insertJob(u, wfId, 'FAILED');
      ids.canceled = await insertJob(u, wfId, 'CANCELED', { trigger: 'MANUAL' });
      ids.running = await insertJob(u, wfId, 'RUNNING');
      ids.manual = (await runOk(u, wfId)).id;
      ids.queued = await insertJob(u, wfId, 'QUEUED');
      ids.manual2 = (await runOk(u, wfId)).id;
    });

    const all = () => [
      ids.manual2!,
      ids.queued!,
      ids.manual!,
      ids.running!,
      ids.canceled!,
      ids.failed!,
      ids.completed!,
    ];

    it('lists the workflow’s jobs newest first, every field present', async () => {
      const res = await api.list(u, wfId);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<{ jobs: Job[]; cursor: string | null }>();
      expect(body.cursor).toBeNull();
      expect(body.jobs.map((j) => j.id)).toEqual(all());
      for (const j of body.jobs) expect(Object.keys(j).sort()).toEqual(JOB_FIELDS);
      const failed = body.jobs.find((j) => j.id === ids.failed)!;
      expect(failed).toMatchObject({
        status: 'FAILED',
        attempts: 1,
        exit_code: 2,
        error: { kind: 'USER', code: 'EXIT_CODE', message: 'exited with 2' },
      });
      expect(failed.completed_at).toMatch(RFC3339_MS_UTC);
      expect(failed.started_at).toMatch(RFC3339_MS_UTC);
    });

    it('filters by status and by trigger, alone and together', async () => {
      expect(await listIds(u, wfId, 'status=FAILED')).toEqual([ids.failed]);
      expect(await listIds(u, wfId, 'status=PENDING')).toEqual([ids.manual2, ids.manual]);
      expect(await listIds(u, wfId, 'trigger=MANUAL')).toEqual([ids.manual2, ids.manual, ids.canceled]);
      expect(await listIds(u, wfId, 'trigger=AUTOMATIC')).toEqual([
        ids.queued,
        ids.running,
        ids.failed,
        ids.completed,
      ]);
      expect(await listIds(u, wfId, 'status=CANCELED&trigger=MANUAL')).toEqual([ids.canceled]);
      expect(await listIds(u, wfId, 'status=CANCELED&trigger=AUTOMATIC')).toEqual([]);
    });

    it('rejects bad filters with 400 naming the field', async () => {
      expectFieldError(await api.list(u, wfId, 'status=DONE'), 'status');
      expectFieldError(await api.list(u, wfId, 'status=pending'), 'status');
      expectFieldError(await api.list(u, wfId, 'trigger=CRON'), 'trigger');
      expectFieldError(await api.list(u, wfId, 'limit=0'), 'limit');
      expectFieldError(await api.list(u, wfId, 'limit=101'), 'limit');
      expectFieldError(await api.list(u, wfId, 'limit=two'), 'limit');
      expectFieldError(await api.list(u, wfId, 'cursor=garbage'), 'cursor');
      expectFieldError(await api.list(u, 'nope', ''), 'id');
    });

    it('paginates with limit, without repeats or gaps, also with a filter', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await api.list(u, wfId, `limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ jobs: Job[]; cursor: string | null }>();
        expect(body.jobs.length).toBeLessThanOrEqual(2);
        seen.push(...body.jobs.map((j) => j.id));
        cursor = body.cursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toEqual(all());

      const first = (await api.list(u, wfId, 'trigger=AUTOMATIC&limit=3')).json<{
        jobs: Job[];
        cursor: string;
      }>();
      expect(first.jobs.map((j) => j.id)).toEqual([ids.queued, ids.running, ids.failed]);
      const second = await listIds(u, wfId, `trigger=AUTOMATIC&limit=3&cursor=${first.cursor}`);
      expect(second).toEqual([ids.completed]);
    });

    it('defaults to 20 per page', async () => {
      const w = await workflow(u);
      for (let i = 0; i < 21; i++) await insertJob(u, w, 'COMPLETED');
      const body = (await api.list(u, w)).json<{ jobs: Job[]; cursor: string | null }>();
      expect(body.jobs).toHaveLength(20);
      expect(body.cursor).not.toBeNull();
    });

    it('an empty workflow lists nothing; an unknown or foreign workflow is 404', async () => {
      const empty = await workflow(u);
      expect((await api.list(u, empty)).json()).toEqual({ jobs: [], cursor: null });
      expectProblem(await api.list(u, newId()), 404, 'CV_NOT_FOUND');
      const other = await registerUser(gw);
      expectProblem(await api.list(other, wfId), 404, 'CV_NOT_FOUND');
    });
  });

  // ─── get ─────────────────────────────────────────────────────────────────────────────
  describe('GET /workflows/:id/jobs/:job_id', () => {
    it("is 404 for another user's job, for a job of another workflow, and for an unknown id", async () => {
      const u = await registerUser(gw);
      const other = await registerUser(gw);
      const w1 = await workflow(u);
      const w2 = await workflow(u);
      const job = await runOk(u, w1);
      expect((await api.get(u, w1, job.id)).json()).toEqual(job);

      expectProblem(await api.get(other, w1, job.id), 404, 'CV_NOT_FOUND');
      expectProblem(await api.get(u, w2, job.id), 404, 'CV_NOT_FOUND');
      expectProblem(await api.get(u, w1, newId()), 404, 'CV_NOT_FOUND');
      expectProblem(await api.get(u, newId(), job.id), 404, 'CV_NOT_FOUND');
    });

    it('validates both ids as UUIDs (400 naming id / job_id); "schedule" is not a job id', async () => {
      const u = await registerUser(gw);
      const wfId = await workflow(u);
      expectFieldError(await api.get(u, wfId, 'not-a-uuid'), 'job_id');
      expectFieldError(await api.get(u, wfId, 'schedule'), 'job_id');
      expectFieldError(await api.get(u, 'x', newId()), 'id');
      expectFieldError(await api.cancel(u, wfId, '123'), 'job_id');
      expectFieldError(await api.retry(u, wfId, '123'), 'job_id');
    });
  });

  // ─── cancel ──────────────────────────────────────────────────────────────────────────
  describe('POST /workflows/:id/jobs/:job_id/cancel', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('cancels a PENDING job: 200 CANCELED with completed_at, a JOB_CANCELED outbox row', async () => {
      const wfId = await workflow(u);
      await gw.database.db.updateTable('workflows').set({ generation: 2 }).where('id', '=', wfId).execute();
      const job = await runOk(u, wfId);
      const events = record('outbox:written', 'job:cancel-requested', 'jobs:runnable');
      const res = await api.cancel(u, wfId, job.id);
      events.stop();
      expect(res.statusCode, res.body).toBe(200);
      const canceled = res.json<Job>();
      expect(Object.keys(canceled).sort()).toEqual(JOB_FIELDS);
      expect(canceled).toMatchObject({ id: job.id, status: 'CANCELED', trigger: 'MANUAL', error: null });
      expect(canceled.completed_at).toMatch(RFC3339_MS_UTC);
      expect(canceled.updated_at).toBe(canceled.completed_at);
      expect(Date.parse(canceled.completed_at!)).toBeGreaterThanOrEqual(Date.parse(job.created_at));
      expect((await api.get(u, wfId, job.id)).json()).toEqual(canceled);

      const outbox = await outboxOf(wfId, 'workflows');
      expect(outbox.map((r) => r.event_type)).toEqual(['BUILD', 'JOB_CANCELED']);
      expect(outbox[1]!.payload).toEqual({
        job_id: job.id,
        workflow_id: wfId,
        user_id: u.user.id,
        generation: 2,
      });
      // Not running: no executor needs telling.
      expect(events.seen).toEqual([{ name: 'outbox:written', payload: { count: 1 } }]);
    });

    it('cancels a QUEUED job', async () => {
      const wfId = await workflow(u);
      const id = await insertJob(u, wfId, 'QUEUED');
      const res = await api.cancel(u, wfId, id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<Job>()).toMatchObject({ status: 'CANCELED', trigger: 'AUTOMATIC' });
    });

    it("cancels a RUNNING job: lease cleared, 'job:cancel-requested' emitted", async () => {
      const wfId = await workflow(u);
      const id = await insertJob(u, wfId, 'RUNNING');
      const events = record('outbox:written', 'job:cancel-requested');
      const res = await api.cancel(u, wfId, id);
      events.stop();
      expect(res.statusCode, res.body).toBe(200);
      const job = res.json<Job>();
      expect(job).toMatchObject({ id, status: 'CANCELED', attempts: 1 });
      expect(job.completed_at).toMatch(RFC3339_MS_UTC);
      expect(job.started_at).toMatch(RFC3339_MS_UTC);
      const row = await jobRow(id);
      expect(row).toMatchObject({ status: 'CANCELED', lease_owner: null, lease_expires_at: null });
      expect(row.completed_at).toBeInstanceOf(Date);
      expect(events.seen).toEqual([
        { name: 'outbox:written', payload: { count: 1 } },
        { name: 'job:cancel-requested', payload: { jobId: id } },
      ]);
      // The workflow can run again right away (no RUNNING sibling left).
      expect((await api.run(u, wfId)).statusCode).toBe(201);
    });

    it('is 412 for a finished job (COMPLETED, FAILED, already CANCELED) and changes nothing', async () => {
      const wfId = await workflow(u);
      for (const status of ['COMPLETED', 'FAILED', 'CANCELED'] as const) {
        const id = await insertJob(u, wfId, status);
        const before = await jobRow(id);
        const events = record('outbox:written', 'job:cancel-requested');
        const problem = expectProblem(await api.cancel(u, wfId, id), 412, 'CV_PRECONDITION_FAILED');
        events.stop();
        expect(problem.detail).toBe(`job already finished (${status})`);
        expect(await jobRow(id)).toEqual(before);
        expect(events.seen).toEqual([]);
      }
      expect((await outboxOf(wfId, 'workflows')).map((r) => r.event_type)).toEqual(['BUILD']);
    });

    it('canceling twice: 200 then 412', async () => {
      const wfId = await workflow(u);
      const job = await runOk(u, wfId);
      expect((await api.cancel(u, wfId, job.id)).statusCode).toBe(200);
      const problem = expectProblem(await api.cancel(u, wfId, job.id), 412);
      expect(problem.detail).toBe('job already finished (CANCELED)');
    });

    it('is 404 for an unknown job, a job of another workflow and another user', async () => {
      const wfId = await workflow(u);
      const w2 = await workflow(u);
      const job = await runOk(u, wfId);
      expectProblem(await api.cancel(u, wfId, newId()), 404, 'CV_NOT_FOUND');
      expectProblem(await api.cancel(u, w2, job.id), 404, 'CV_NOT_FOUND');
      const other = await registerUser(gw);
      expectProblem(await api.cancel(other, wfId, job.id), 404, 'CV_NOT_FOUND');
      expect((await jobRow(job.id)).status).toBe('PENDING');
    });

    it('a cancel body other than {} is 400', async () => {
      const wfId = await workflow(u);
      const job = await runOk(u, wfId);
      const res = await gw.app.inject({
        method: 'POST',
        url: `${jobsUrl(wfId)}/${job.id}/cancel`,
        headers: u.headers,
        payload: { force: true },
      });
      expectFieldError(res, 'force');
      expect((await jobRow(job.id)).status).toBe('PENDING');
    });
  });

  // ─── retry ───────────────────────────────────────────────────────────────────────────
  describe('POST /workflows/:id/jobs/:job_id/retry', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('retries a FAILED job: 201 new PENDING MANUAL job with retry_of, DISPATCH row and wake-ups', async () => {
      const wfId = await workflow(u);
      const failed = await insertJob(u, wfId, 'FAILED');
      const events = record('outbox:written', 'jobs:runnable');
      const res = await api.retry(u, wfId, failed);
      events.stop();
      expect(res.statusCode, res.body).toBe(201);
      const job = res.json<Job>();
      expect(Object.keys(job).sort()).toEqual(JOB_FIELDS);
      expect(job.id).not.toBe(failed);
      expect(job).toMatchObject({
        workflow_id: wfId,
        status: 'PENDING',
        trigger: 'MANUAL',
        retry_of: failed,
        attempts: 0,
        error: null,
        exit_code: null,
        completed_at: null,
      });
      expect((await jobRow(failed)).status).toBe('FAILED');
      const outbox = await outboxOf(wfId, 'jobs');
      expect(outbox.map((r) => [r.event_type, r.payload])).toEqual([['DISPATCH', { job_ids: [job.id] }]]);
      expect(events.seen).toEqual([
        { name: 'outbox:written', payload: { count: 1 } },
        { name: 'jobs:runnable', payload: { count: 1 } },
      ]);
      expect(await listIds(u, wfId, 'trigger=MANUAL')).toEqual([job.id]);
    });

    it('retries a CANCELED job', async () => {
      const wfId = await workflow(u);
      const run = await runOk(u, wfId);
      expect((await api.cancel(u, wfId, run.id)).statusCode).toBe(200);
      const res = await api.retry(u, wfId, run.id);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<Job>()).toMatchObject({ retry_of: run.id, status: 'PENDING', trigger: 'MANUAL' });
    });

    it('is 412 for a COMPLETED, PENDING, QUEUED or RUNNING job', async () => {
      const wfId = await workflow(u);
      for (const status of ['COMPLETED', 'PENDING', 'QUEUED', 'RUNNING'] as const) {
        const id = await insertJob(u, wfId, status);
        const problem = expectProblem(await api.retry(u, wfId, id), 412, 'CV_PRECONDITION_FAILED');
        expect(problem.detail).toContain(status);
      }
      expect(await listIds(u, wfId, 'trigger=MANUAL')).toEqual([]);
      expect(await outboxOf(wfId, 'jobs')).toEqual([]);
    });

    it('is 412 on a terminated workflow and while the build is not COMPLETED', async () => {
      const wfId = await workflow(u);
      const failed = await insertJob(u, wfId, 'FAILED');
      await terminate(u, wfId);
      expect(expectProblem(await api.retry(u, wfId, failed), 412).detail).toMatch(/terminated/i);

      const building = await workflow(u, 'QUEUED');
      const failed2 = await insertJob(u, building, 'FAILED');
      expect(expectProblem(await api.retry(u, building, failed2), 412).detail).toMatch(/QUEUED/);
      expect((await jobRowsOf(wfId)).length + (await jobRowsOf(building)).length).toBe(2);
    });

    it('honours Idempotency-Key', async () => {
      const wfId = await workflow(u);
      const failed = await insertJob(u, wfId, 'FAILED');
      const first = await api.retry(u, wfId, failed, { 'idempotency-key': 'retry-1' });
      const again = await api.retry(u, wfId, failed, { 'idempotency-key': 'retry-1' });
      expect(first.statusCode, first.body).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect(await jobRowsOf(wfId)).toHaveLength(2);
    });

    it('is 404 for an unknown job or a job of another workflow', async () => {
      const wfId = await workflow(u);
      const w2 = await workflow(u);
      const failed = await insertJob(u, wfId, 'FAILED');
      expectProblem(await api.retry(u, wfId, newId()), 404, 'CV_NOT_FOUND');
      expectProblem(await api.retry(u, w2, failed), 404, 'CV_NOT_FOUND');
    });
  });

  // ─── ownership ───────────────────────────────────────────────────────────────────────
  describe('cross-user isolation', () => {
    it("every jobs route on user A's workflow is 404 for user B and changes nothing", async () => {
      const a = await registerUser(gw);
      const b = await registerUser(gw);
      const wfId = await workflow(a);
      const pending = (await runOk(a, wfId)).id;
      const failed = await insertJob(a, wfId, 'FAILED');
      const before = await jobRowsOf(wfId);

      expectProblem(await api.list(b, wfId), 404, 'CV_NOT_FOUND');
      expectProblem(await api.get(b, wfId, pending), 404, 'CV_NOT_FOUND');
      expectProblem(await api.run(b, wfId), 404, 'CV_NOT_FOUND');
      expectProblem(await api.run(b, wfId, { 'idempotency-key': 'steal' }), 404, 'CV_NOT_FOUND');
      expectProblem(await api.cancel(b, wfId, pending), 404, 'CV_NOT_FOUND');
      expectProblem(await api.retry(b, wfId, failed), 404, 'CV_NOT_FOUND');

      expect(await jobRowsOf(wfId)).toEqual(before);
      expect(await outboxOf(wfId, 'jobs')).toHaveLength(1);
      expect((await outboxOf(wfId, 'workflows')).map((r) => r.event_type)).toEqual(['BUILD']);
      // A still can.
      expect((await api.cancel(a, wfId, pending)).statusCode).toBe(200);
      expect((await api.retry(a, wfId, failed)).statusCode).toBe(201);
    });
  });

  it('documents the routes and the Job schema in OpenAPI', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/workflows/{id}/jobs',
        '/api/v1/workflows/{id}/jobs/{job_id}',
        '/api/v1/workflows/{id}/jobs/schedule',
        '/api/v1/workflows/{id}/jobs/{job_id}/cancel',
        '/api/v1/workflows/{id}/jobs/{job_id}/retry',
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toContain('Job');
    expect(JSON.stringify(doc.paths['/api/v1/workflows/{id}/jobs/schedule'])).toContain(
      '#/components/schemas/Job',
    );
  });
});

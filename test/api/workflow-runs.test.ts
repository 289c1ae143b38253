/**
 * What a workflow object says about its runs, and the rebuild action, end to end through the real
 * gateway on PGlite and on PostgreSQL (api.md "Workflows"):
 * - `recent_jobs`: up to 10 of the latest jobs that left PENDING/QUEUED, newest first, on every
 *   answer (list, get, create, edit, terminate, rebuild), each workflow its own;
 * - `POST /workflows/{id}/rebuild`: a FAILED build queued again (202), through the same path as an
 *   edit that rebuilds (BUILD outbox row, new generation), which the real workflow worker then
 *   builds; 412 when terminated or not FAILED; 404 for another user's; Idempotency-Key;
 * - cron errors in plain words naming the field, never the library's text.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus, type BusMessage } from '../../src/platform/bus/bus.ts';
import type { BuildStatus } from '../../src/domain/workflow-status.ts';
import type { JobStatus } from '../../src/platform/db/schema.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WorkflowWorker } from '../../src/workers/workflow-worker/workflow-worker.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';
import { snapshotOf, stateOfBuild } from '../helpers/fixtures.ts';

const API = '/api/v1/workflows';
const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

type User = Awaited<ReturnType<typeof registerUser>>;

interface RecentJob {
  id: string;
  status: JobStatus;
  trigger: 'AUTOMATIC' | 'MANUAL';
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
}

interface Workflow {
  id: string;
  build_status: BuildStatus;
  build_error: string | null;
  status: string;
  generation: number;
  terminated_at: string | null;
  next_run_at: string | null;
  updated_at: string;
  recent_jobs: RecentJob[];
}

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

const RECENT_JOB_FIELDS = [
  'id',
  'status',
  'trigger',
  'scheduled_at',
  'started_at',
  'completed_at',
  'duration_ms',
];

function expectProblem(res: LightMyRequestResponse, status: number, code: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem.code).toBe(code);
  return problem;
}

describe.each(ENGINES)('workflow runs (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  const api = {
    create: (u: User, body: object) =>
      gw.app.inject({ method: 'POST', url: API, headers: u.headers, payload: body }),
    list: (u: User, query = '') =>
      gw.app.inject({ method: 'GET', url: `${API}${query ? `?${query}` : ''}`, headers: u.headers }),
    get: (u: User, id: string) => gw.app.inject({ method: 'GET', url: `${API}/${id}`, headers: u.headers }),
    update: (u: User, id: string, body: object) =>
      gw.app.inject({ method: 'PUT', url: `${API}/${id}`, headers: u.headers, payload: body }),
    terminate: (u: User, id: string) =>
      gw.app.inject({ method: 'PATCH', url: `${API}/${id}`, headers: u.headers }),
    job: (u: User, id: string, jobId: string) =>
      gw.app.inject({ method: 'GET', url: `${API}/${id}/jobs/${jobId}`, headers: u.headers }),
    rebuild: (u: User, id: string, headers: Record<string, string> = {}, payload?: unknown) =>
      gw.app.inject({
        method: 'POST',
        url: `${API}/${id}/rebuild`,
        headers: { ...u.headers, ...headers },
        ...(payload !== undefined ? { payload: payload as object } : {}),
      }),
  };

  const HEARTBEAT = {
    name: 'ping',
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://api.example.com/health' },
    interval: 5,
  };

  async function workflow(u: User, build: BuildStatus = 'COMPLETED'): Promise<Workflow> {
    const res = await api.create(u, HEARTBEAT);
    expect(res.statusCode, res.body).toBe(201);
    const wf = res.json<Workflow>();
    await setBuild(wf.id, build);
    return wf;
  }

  async function setBuild(id: string, build: BuildStatus, error: string | null = null): Promise<void> {
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: build, state: stateOfBuild(build), build_error: error })
      .where('id', '=', id)
      .execute();
  }

  let tick = 0;
  /**
   * A job in `status`, scheduled `minute` minutes after T0; a job that ran started then and, when
   * final, took `tookMs`. `started: false` makes a job canceled before it ran.
   */
  async function insertJob(
    u: User,
    wfId: string,
    status: JobStatus,
    minute: number,
    options: { tookMs?: number; started?: boolean; trigger?: 'AUTOMATIC' | 'MANUAL' } = {},
  ): Promise<string> {
    const id = newId();
    tick += 1;
    const scheduled = new Date(T0 + minute * MINUTE + tick);
    const final = status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELED';
    const started = options.started ?? (status !== 'PENDING' && status !== 'QUEUED');
    const startedAt = new Date(scheduled.getTime() + 250);
    await gw.database.db
      .insertInto('jobs')
      .values({
        id,
        workflow_id: wfId,
        user_id: u.user.id,
        workflow_generation: 1,
        ...snapshotOf(wfId),
        status,
        trigger: options.trigger ?? 'AUTOMATIC',
        scheduled_at: scheduled,
        started_at: started ? startedAt : null,
        completed_at: final ? new Date(startedAt.getTime() + (options.tookMs ?? 1000)) : null,
        attempts: started ? 1 : 0,
        lease_owner: status === 'RUNNING' ? 'executor-test' : null,
        lease_expires_at: status === 'RUNNING' ? new Date(T0 + 100 * MINUTE) : null,
      })
      .execute();
    return id;
  }

  const outboxOf = (wfId: string) =>
    gw.database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', wfId)
      .where('topic', '=', 'workflows')
      .orderBy('id')
      .execute();

  // ─── recent_jobs ─────────────────────────────────────────────────────────────────────
  describe('recent_jobs', () => {
    it('holds the runs (jobs that started), newest first, each with its seven fields and duration', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u);
      const completed = await insertJob(u, wf.id, 'COMPLETED', 1, { tookMs: 1234 });
      const failed = await insertJob(u, wf.id, 'FAILED', 2, { tookMs: 60_500 });
      // Canceled before it started: not a run.
      await insertJob(u, wf.id, 'CANCELED', 3, { started: false, trigger: 'MANUAL' });
      const canceledRunning = await insertJob(u, wf.id, 'CANCELED', 3, { trigger: 'MANUAL', tookMs: 500 });
      const running = await insertJob(u, wf.id, 'RUNNING', 4);
      await insertJob(u, wf.id, 'PENDING', 5);
      await insertJob(u, wf.id, 'QUEUED', 6);

      const res = await api.get(u, wf.id);
      expect(res.statusCode, res.body).toBe(200);
      const recent = res.json<Workflow>().recent_jobs;
      expect(recent.map((j) => j.id)).toEqual([running, canceledRunning, failed, completed]);
      for (const j of recent) expect(Object.keys(j)).toEqual(RECENT_JOB_FIELDS);
      const [r, c, f, k] = recent as [RecentJob, RecentJob, RecentJob, RecentJob];
      expect(r).toMatchObject({
        status: 'RUNNING',
        trigger: 'AUTOMATIC',
        completed_at: null,
        duration_ms: null,
      });
      expect(r.started_at).not.toBeNull();
      expect(c).toMatchObject({ status: 'CANCELED', trigger: 'MANUAL', duration_ms: 500 });
      expect(f).toMatchObject({ status: 'FAILED', duration_ms: 60_500 });
      expect(k).toMatchObject({ status: 'COMPLETED', duration_ms: 1234 });
      expect(Date.parse(k.completed_at!) - Date.parse(k.started_at!)).toBe(1234);
      // The same objects as the job itself says.
      const job = (
        await gw.app.inject({ method: 'GET', url: `${API}/${wf.id}/jobs/${completed}`, headers: u.headers })
      ).json<Record<string, unknown>>();
      expect(k).toEqual({
        id: job.id,
        status: job.status,
        trigger: job.trigger,
        scheduled_at: job.scheduled_at,
        started_at: job.started_at,
        completed_at: job.completed_at,
        duration_ms: 1234,
      });
    });

    it('keeps the 10 newest', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++)
        ids.push(await insertJob(u, wf.id, i % 3 === 0 ? 'FAILED' : 'COMPLETED', i));
      const recent = (await api.get(u, wf.id)).json<Workflow>().recent_jobs;
      expect(recent.map((j) => j.id)).toEqual(ids.slice(2).reverse());
    });

    it('gives each workflow of a list page its own jobs (none: [])', async () => {
      const u = await registerUser(gw);
      const a = await workflow(u);
      const b = await workflow(u);
      const empty = await workflow(u);
      const c = await workflow(u);
      const jobs: Record<string, string[]> = { [a.id]: [], [b.id]: [], [c.id]: [], [empty.id]: [] };
      for (let i = 0; i < 30; i++) {
        const wf = [a, b, c][i % 3]!;
        jobs[wf.id]!.push(await insertJob(u, wf.id, 'COMPLETED', i));
      }
      // Another user's job on nobody's page.
      const other = await registerUser(gw);
      await insertJob(other, (await workflow(other)).id, 'COMPLETED', 0);

      const walk: Workflow[] = [];
      let cursor: string | null = null;
      do {
        const res = await api.list(u, `limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<{ workflows: Workflow[]; cursor: string | null }>();
        walk.push(...page.workflows);
        cursor = page.cursor;
      } while (cursor !== null);
      expect(walk.map((w) => w.id)).toEqual([c.id, empty.id, b.id, a.id]);
      for (const w of walk) {
        expect(w.recent_jobs.map((j) => j.id)).toEqual(jobs[w.id]!.slice(-10).reverse());
        // The list's object is the GET answer.
        expect((await api.get(u, w.id)).json()).toEqual(w);
      }
      expect(walk.find((w) => w.id === empty.id)!.recent_jobs).toEqual([]);
    });

    it('is on the create ([]), edit, terminate and rebuild answers too', async () => {
      const u = await registerUser(gw);
      const created = await workflow(u, 'COMPLETED');
      expect(created.recent_jobs).toEqual([]);
      const done = await insertJob(u, created.id, 'COMPLETED', 1);
      const pending = await insertJob(u, created.id, 'PENDING', 2);

      // An edit that reschedules cancels the pending (automatic) job: it never started, so it is
      // not a run and the strip still starts with the completed one.
      const edit = await api.update(u, created.id, { interval: 7 });
      expect(edit.statusCode, edit.body).toBe(200);
      const edited = edit.json<Workflow>();
      expect(edited.recent_jobs.map((j) => [j.id, j.status])).toEqual([[done, 'COMPLETED']]);
      const pendingNow = await api.job(u, created.id, pending);
      expect(pendingNow.json<{ status: string }>().status).toBe('CANCELED');

      const terminated = await api.terminate(u, created.id);
      expect(terminated.json<Workflow>().recent_jobs).toEqual(edited.recent_jobs);

      const again = await workflow(u, 'FAILED');
      const ran = await insertJob(u, again.id, 'FAILED', 3);
      const rebuilt = await api.rebuild(u, again.id);
      expect(rebuilt.statusCode, rebuilt.body).toBe(202);
      expect(rebuilt.json<Workflow>().recent_jobs.map((j) => j.id)).toEqual([ran]);
    });

    it('is in the OpenAPI Workflow schema', async () => {
      const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      }>();
      expect(Object.keys(doc.components.schemas.Workflow!.properties!)).toContain('recent_jobs');
      expect(Object.keys(doc.components.schemas.RecentJob!.properties!)).toEqual(RECENT_JOB_FIELDS);
    });
  });

  // ─── rebuild ─────────────────────────────────────────────────────────────────────────
  describe('POST /workflows/:id/rebuild', () => {
    it('queues a FAILED build again: 202, build QUEUED, new generation, a BUILD outbox row, wake-ups', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      await setBuild(wf.id, 'FAILED', 'no container runtime is configured');
      const seen: string[] = [];
      const offs = [
        gw.events.on('outbox:written', () => seen.push('outbox:written')),
        gw.events.on('schedules:changed', () => seen.push('schedules:changed')),
      ];
      const res = await api.rebuild(u, wf.id);
      offs.forEach((off) => off());
      expect(res.statusCode, res.body).toBe(202);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      const rebuilt = res.json<Workflow>();
      expect(rebuilt).toMatchObject({
        id: wf.id,
        build_status: 'QUEUED',
        build_error: null,
        status: 'BUILDING',
        generation: wf.generation + 1,
        terminated_at: null,
      });
      expect(rebuilt.next_run_at).not.toBeNull();
      expect((await api.get(u, wf.id)).json()).toEqual(rebuilt);

      const outbox = await outboxOf(wf.id);
      expect(outbox.map((r) => r.event_type)).toEqual(['BUILD', 'BUILD']);
      expect(outbox[1]!.payload).toEqual({
        workflow_id: wf.id,
        user_id: u.user.id,
        generation: wf.generation + 1,
      });
      expect(seen).toEqual(['outbox:written', 'schedules:changed']);
    });

    it('the real workflow worker then builds it (the failed generation is ignored)', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      const res = await api.rebuild(u, wf.id);
      expect(res.statusCode, res.body).toBe(202);
      const worker = new WorkflowWorker({
        db: gw.database.db,
        clock: { now: () => new Date() },
        events: new Events(),
        logger: createLogger('silent'),
        bus: new InProcessBus(),
        containers: null,
      });
      const messages: BusMessage[] = (await outboxOf(wf.id)).map((r) => ({
        id: String(r.id),
        topic: r.topic,
        key: r.key,
        type: r.event_type,
        payload: r.payload as Record<string, unknown>,
      }));
      // The create's BUILD (generation 1) first: stale now, it changes nothing.
      await worker.handle([messages[0]!]);
      expect((await api.get(u, wf.id)).json<Workflow>().build_status).toBe('QUEUED');
      await worker.handle([messages[1]!]);
      const built = (await api.get(u, wf.id)).json<Workflow>();
      expect(built).toMatchObject({ build_status: 'COMPLETED', status: 'ACTIVE', generation: 2 });
    });

    it('cancels pending jobs of the failed build, as an edit that rebuilds does', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      const pending = await insertJob(u, wf.id, 'PENDING', 1);
      const res = await api.rebuild(u, wf.id);
      expect(res.statusCode, res.body).toBe(202);
      const row = await gw.database.db
        .selectFrom('jobs')
        .select(['status', 'completed_at'])
        .where('id', '=', pending)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('CANCELED');
      expect(row.completed_at).not.toBeNull();
    });

    it.each(['QUEUED', 'STARTED', 'COMPLETED', 'CANCELED'] as const)(
      'is 412 when the build is %s, and changes nothing',
      async (build) => {
        const u = await registerUser(gw);
        const wf = await workflow(u, build);
        const before = (await api.get(u, wf.id)).json<Workflow>();
        const problem = expectProblem(await api.rebuild(u, wf.id), 412, 'CV_PRECONDITION_FAILED');
        expect(problem.detail).toBe(`Only a FAILED build can be rebuilt; this workflow's build is ${build}.`);
        expect((await api.get(u, wf.id)).json()).toEqual(before);
        expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD']);
      },
    );

    it('is 412 for a terminated workflow, even with a FAILED build (editing re-activates it)', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      expect((await api.terminate(u, wf.id)).statusCode).toBe(200);
      const problem = expectProblem(await api.rebuild(u, wf.id), 412, 'CV_PRECONDITION_FAILED');
      expect(problem.detail).toMatch(/terminated/);
      expect((await api.get(u, wf.id)).json<Workflow>().build_status).toBe('FAILED');
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD', 'TERMINATE']);
    });

    it("is 404 for another user's workflow and an unknown id; 400 for a non-UUID id", async () => {
      const u = await registerUser(gw);
      const other = await registerUser(gw);
      const theirs = await workflow(other, 'FAILED');
      const a = expectProblem(await api.rebuild(u, theirs.id), 404, 'CV_NOT_FOUND');
      const b = expectProblem(await api.rebuild(u, newId()), 404, 'CV_NOT_FOUND');
      expect(a).toEqual(b);
      expect((await api.get(other, theirs.id)).json<Workflow>().build_status).toBe('FAILED');
      const bad = expectProblem(await api.rebuild(u, 'nope'), 400, 'CV_VALIDATION');
      expect(bad.errors?.map((e) => e.path)).toEqual(['id']);
    });

    it('takes no body: absent or {} is fine, a field is a 400 naming it', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      const withField = expectProblem(await api.rebuild(u, wf.id, {}, { force: true }), 400, 'CV_VALIDATION');
      expect(withField.errors?.map((e) => e.path)).toEqual(['force']);
      expect((await api.rebuild(u, wf.id, {}, {})).statusCode).toBe(202);
    });

    it('honours Idempotency-Key: a repeat replays the first answer and queues nothing more', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'FAILED');
      const first = await api.rebuild(u, wf.id, { 'idempotency-key': 'rebuild-1' });
      expect(first.statusCode, first.body).toBe(202);
      const again = await api.rebuild(u, wf.id, { 'idempotency-key': 'rebuild-1' });
      expect(again.statusCode, again.body).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD', 'BUILD']);
      // Without the key, the build (QUEUED now) is not FAILED.
      expectProblem(await api.rebuild(u, wf.id), 412, 'CV_PRECONDITION_FAILED');
    });

    it('a refused rebuild (412) is not stored: the same key works once the build has failed', async () => {
      const u = await registerUser(gw);
      const wf = await workflow(u, 'STARTED');
      expectProblem(
        await api.rebuild(u, wf.id, { 'idempotency-key': 'later' }),
        412,
        'CV_PRECONDITION_FAILED',
      );
      await setBuild(wf.id, 'FAILED', 'image not found');
      const ok = await api.rebuild(u, wf.id, { 'idempotency-key': 'later' });
      expect(ok.statusCode, ok.body).toBe(202);
      expect(ok.headers['idempotent-replayed']).toBeUndefined();
    });

    it('needs authentication and is in the OpenAPI document', async () => {
      expectProblem(
        await gw.app.inject({ method: 'POST', url: `${API}/${newId()}/rebuild` }),
        401,
        'CV_UNAUTHENTICATED',
      );
      const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }>();
      const op = doc.paths['/api/v1/workflows/{id}/rebuild']?.post;
      expect(Object.keys(op!.responses).sort()).toEqual(['202', '400', '401', '404', '409', '412']);
    });
  });

  // ─── cron errors ─────────────────────────────────────────────────────────────────────
  describe('cron errors', () => {
    it.each([
      ['0 9-x * * *', "hour field '9-x' has 'x', which is not a number; use 0–23"],
      ['61 * * * *', "minute field '61' is out of range 0–59"],
      [
        '* * *',
        'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 3',
      ],
      [
        '0 0 30 2 *',
        'never fires: no date matches its day-of-month, month and day-of-week (such as 30 February)',
      ],
    ])('%j is a 400 on schedule.cron in plain words', async (cron, message) => {
      const u = await registerUser(gw);
      const res = await api.create(u, {
        ...HEARTBEAT,
        interval: undefined,
        schedule: { type: 'cron', cron },
      });
      const problem = expectProblem(res, 400, 'CV_VALIDATION');
      expect(problem.errors).toEqual([{ path: 'schedule.cron', message }]);
      expect(res.body).not.toMatch(/CronPattern|NaN/);
      // The same words on an edit.
      const wf = await workflow(u);
      const edit = expectProblem(
        await api.update(u, wf.id, { schedule: { type: 'cron', cron } }),
        400,
        'CV_VALIDATION',
      );
      expect(edit.errors).toEqual([{ path: 'schedule.cron', message }]);
    });
  });
});

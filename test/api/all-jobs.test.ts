/**
 * `GET /api/v1/jobs` (api.md "Jobs"): the caller's jobs across all their workflows, end to end
 * through the real gateway (and the jobs service's RPC client), on PGlite and on PostgreSQL:
 * newest first, the same job object as the per-workflow list plus `workflow_name`, every filter
 * alone and together, keyset pages, bad parameters (each named in one 400) and ownership.
 * Jobs are put in given states (and given creation times) directly in the database.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/platform/db/schema.ts';
import { newId } from '../../src/platform/ids.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';
import { snapshotOf } from '../helpers/fixtures.ts';

const MINUTE = 60_000;
/** Creation times are set explicitly (never "now"): the time filters are checked against them. */
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

type User = Awaited<ReturnType<typeof registerUser>>;

interface Job {
  id: string;
  workflow_id: string;
  status: JobStatus;
  trigger: 'AUTOMATIC' | 'MANUAL';
  created_at: string;
  workflow_name: string;
  [field: string]: unknown;
}

interface Page {
  jobs: Job[];
  cursor: string | null;
}

interface Problem {
  status: number;
  code: string;
  errors?: { path: string; message: string }[];
}

/** The job object of `GET /workflows/{id}/jobs`, in its order, then `workflow_name`. */
const FIELDS = [
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
  'workflow_name',
];

function expectFieldErrors(res: LightMyRequestResponse, paths: string[]): Problem {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem.code).toBe('CV_VALIDATION');
  expect(problem.errors?.map((e) => e.path).sort()).toEqual([...paths].sort());
  return problem;
}

describe.each(ENGINES)('GET /jobs (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  const list = (u: User, query = '') =>
    gw.app.inject({ method: 'GET', url: `/api/v1/jobs${query ? `?${query}` : ''}`, headers: u.headers });

  async function listIds(u: User, query = ''): Promise<string[]> {
    const res = await list(u, query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Page>().jobs.map((j) => j.id);
  }

  async function workflow(u: User, name: string): Promise<string> {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/workflows',
      headers: u.headers,
      payload: {
        name,
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://api.example.com/health' },
        interval: 5,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  let tick = 0;
  /** A job in `status`, created at T0 + `minute` minutes (ids grow with each insert). */
  async function insertJob(
    u: User,
    wfId: string,
    status: JobStatus,
    minute: number,
    trigger: 'AUTOMATIC' | 'MANUAL' = 'AUTOMATIC',
  ): Promise<string> {
    const id = newId();
    tick += 1;
    const created = new Date(T0 + minute * MINUTE);
    const final = status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELED';
    const started = status !== 'PENDING' && status !== 'QUEUED';
    await gw.database.db
      .insertInto('jobs')
      .values({
        id,
        workflow_id: wfId,
        user_id: u.user.id,
        workflow_generation: 1,
        ...snapshotOf(wfId),
        status,
        trigger,
        scheduled_at: new Date(T0 - tick * MINUTE),
        started_at: started ? created : null,
        completed_at: final ? new Date(created.getTime() + 1500) : null,
        attempts: started ? 1 : 0,
        lease_owner: status === 'RUNNING' ? 'executor-test' : null,
        lease_expires_at: status === 'RUNNING' ? new Date(T0 + 10 * MINUTE) : null,
        ...(status === 'FAILED'
          ? {
              error_kind: 'USER' as const,
              error_code: 'NON_ZERO_EXIT',
              error_message: 'exited with 2',
              exit_code: 2,
            }
          : {}),
        created_at: created,
        updated_at: created,
      })
      .execute();
    return id;
  }

  describe('two workflows of one user, and another user', () => {
    let u: User;
    let other: User;
    let alpha: string;
    let beta: string;
    let theirs: string;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      u = await registerUser(gw);
      other = await registerUser(gw);
      alpha = await workflow(u, 'alpha');
      beta = await workflow(u, 'beta');
      theirs = await workflow(other, 'theirs');
      ids.a1 = await insertJob(u, alpha, 'COMPLETED', 0);
      ids.b1 = await insertJob(u, beta, 'FAILED', 10);
      ids.x1 = await insertJob(other, theirs, 'FAILED', 15);
      ids.a2 = await insertJob(u, alpha, 'CANCELED', 20, 'MANUAL');
      ids.b2 = await insertJob(u, beta, 'RUNNING', 30);
      ids.a3 = await insertJob(u, alpha, 'PENDING', 40, 'MANUAL');
      ids.x2 = await insertJob(other, theirs, 'COMPLETED', 45);
      ids.b3 = await insertJob(u, beta, 'QUEUED', 50);
      ids.a4 = await insertJob(u, alpha, 'FAILED', 60);
    });

    const mine = () => [ids.a4, ids.b3, ids.a3, ids.b2, ids.a2, ids.b1, ids.a1];

    it("lists every job of the caller's workflows, newest first, never another user's", async () => {
      const res = await list(u);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<Page>();
      expect(page.cursor).toBeNull();
      expect(page.jobs.map((j) => j.id)).toEqual(mine());
      expect(await listIds(other)).toEqual([ids.x2, ids.x1]);
    });

    it('answers the per-workflow job object plus workflow_name, every field present, in that order', async () => {
      const page = (await list(u)).json<Page>();
      for (const job of page.jobs) {
        expect(Object.keys(job)).toEqual(FIELDS);
        const { workflow_name, ...rest } = job;
        expect(workflow_name).toBe(job.workflow_id === alpha ? 'alpha' : 'beta');
        const one = await gw.app.inject({
          method: 'GET',
          url: `/api/v1/workflows/${job.workflow_id}/jobs/${job.id}`,
          headers: u.headers,
        });
        expect(rest).toEqual(one.json());
      }
      const failed = page.jobs.find((j) => j.id === ids.a4)!;
      expect(failed).toMatchObject({
        status: 'FAILED',
        exit_code: 2,
        error: { kind: 'USER', code: 'NON_ZERO_EXIT', message: 'exited with 2' },
        created_at: new Date(T0 + 60 * MINUTE).toISOString(),
      });
    });

    it('shows a renamed workflow under its new name', async () => {
      const someone = await registerUser(gw);
      const w = await workflow(someone, 'before');
      const job = await insertJob(someone, w, 'COMPLETED', 5);
      const rename = await gw.app.inject({
        method: 'PUT',
        url: `/api/v1/workflows/${w}`,
        headers: someone.headers,
        payload: { name: 'after' },
      });
      expect(rename.statusCode, rename.body).toBe(200);
      const page = (await list(someone)).json<Page>();
      expect(page.jobs.map((j) => [j.id, j.workflow_name])).toEqual([[job, 'after']]);
    });

    it('filters by one status, or several separated by commas', async () => {
      expect(await listIds(u, 'status=FAILED')).toEqual([ids.a4, ids.b1]);
      expect(await listIds(u, 'status=FAILED,CANCELED')).toEqual([ids.a4, ids.a2, ids.b1]);
      expect(await listIds(u, 'status=PENDING,QUEUED,RUNNING')).toEqual([ids.b3, ids.a3, ids.b2]);
      // A repeated status changes nothing.
      expect(await listIds(u, 'status=FAILED,FAILED')).toEqual([ids.a4, ids.b1]);
      expect(await listIds(u, 'status=COMPLETED,FAILED,CANCELED,RUNNING,PENDING,QUEUED')).toEqual(mine());
    });

    it('filters by workflow, trigger and creation time, alone and together', async () => {
      expect(await listIds(u, `workflow_id=${beta}`)).toEqual([ids.b3, ids.b2, ids.b1]);
      expect(await listIds(u, 'trigger=MANUAL')).toEqual([ids.a3, ids.a2]);
      expect(await listIds(u, 'trigger=AUTOMATIC')).toEqual([ids.a4, ids.b3, ids.b2, ids.b1, ids.a1]);
      const at = (minute: number) => encodeURIComponent(new Date(T0 + minute * MINUTE).toISOString());
      // since is inclusive, until exclusive.
      expect(await listIds(u, `since=${at(30)}`)).toEqual([ids.a4, ids.b3, ids.a3, ids.b2]);
      expect(await listIds(u, `until=${at(30)}`)).toEqual([ids.a2, ids.b1, ids.a1]);
      expect(await listIds(u, `since=${at(10)}&until=${at(40)}`)).toEqual([ids.b2, ids.a2, ids.b1]);
      // Any zone: 01:35+01:00 is 00:35Z.
      expect(await listIds(u, `since=${encodeURIComponent('2026-03-01T01:35:00+01:00')}`)).toEqual([
        ids.a4,
        ids.b3,
        ids.a3,
      ]);
      expect(await listIds(u, `workflow_id=${alpha}&status=FAILED,CANCELED&since=${at(10)}`)).toEqual([
        ids.a4,
        ids.a2,
      ]);
      expect(await listIds(u, `workflow_id=${alpha}&trigger=MANUAL&status=PENDING`)).toEqual([ids.a3]);
      expect(await listIds(u, `workflow_id=${beta}&trigger=MANUAL`)).toEqual([]);
    });

    it("gives an empty list for another user's workflow_id (not their jobs), and for an unknown one", async () => {
      expect((await list(u, `workflow_id=${theirs}`)).json()).toEqual({ jobs: [], cursor: null });
      expect((await list(u, `workflow_id=${newId()}`)).json()).toEqual({ jobs: [], cursor: null });
      expect(await listIds(other, `workflow_id=${alpha}&status=FAILED`)).toEqual([]);
    });

    it('pages with limit and cursor, without repeats or gaps, also with filters', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(u, `limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<Page>();
        expect(page.jobs.length).toBeLessThanOrEqual(3);
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(mine());

      const first = (await list(u, 'status=FAILED,CANCELED,COMPLETED&limit=2')).json<Page>();
      expect(first.jobs.map((j) => j.id)).toEqual([ids.a4, ids.a2]);
      expect(await listIds(u, `status=FAILED,CANCELED,COMPLETED&limit=2&cursor=${first.cursor}`)).toEqual([
        ids.b1,
        ids.a1,
      ]);
    });

    it('a job inserted while walking the pages is neither repeated nor makes one skipped', async () => {
      const first = (await list(u, 'limit=4')).json<Page>();
      const late = await insertJob(u, alpha, 'COMPLETED', 70);
      const rest = (await list(u, `limit=10&cursor=${first.cursor}`)).json<Page>();
      expect([...first.jobs, ...rest.jobs].map((j) => j.id)).toEqual(mine());
      expect((await listIds(u, 'limit=1'))[0]).toBe(late);
      await gw.database.db.deleteFrom('jobs').where('id', '=', late).execute();
    });
  });

  it("GET /jobs/{job_id}: one of the caller's jobs by its id alone, as under its workflow; 404 for another user's", async () => {
    const u = await registerUser(gw);
    const other = await registerUser(gw);
    const w = await workflow(u, 'by-id');
    const id = await insertJob(u, w, 'FAILED', 3);
    const byId = await gw.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: u.headers });
    expect(byId.statusCode, byId.body).toBe(200);
    const underWorkflow = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/workflows/${w}/jobs/${id}`,
      headers: u.headers,
    });
    expect(byId.json()).toEqual(underWorkflow.json());
    expect(byId.json()).toMatchObject({ id, workflow_id: w, status: 'FAILED' });

    const theirs = await gw.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: other.headers });
    expect(theirs.statusCode).toBe(404);
    const missing = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${newId()}`,
      headers: u.headers,
    });
    expect(missing.statusCode).toBe(404);
    const bad = await gw.app.inject({ method: 'GET', url: '/api/v1/jobs/not-a-uuid', headers: u.headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Problem>().errors).toEqual([{ path: 'job_id', message: expect.stringMatching(/UUID/) }]);
    const anonymous = await gw.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('defaults to 20 per page, at most 100', async () => {
    const u = await registerUser(gw);
    const w = await workflow(u, 'many');
    for (let i = 0; i < 21; i++) await insertJob(u, w, 'COMPLETED', i);
    const page = (await list(u)).json<Page>();
    expect(page.jobs).toHaveLength(20);
    expect(page.cursor).not.toBeNull();
    expect((await list(u, 'limit=100')).json<Page>().jobs).toHaveLength(21);
  });

  it('an account without workflows lists nothing', async () => {
    const u = await registerUser(gw);
    expect((await list(u)).json()).toEqual({ jobs: [], cursor: null });
  });

  it('rejects bad parameters with one 400 naming every bad field', async () => {
    const u = await registerUser(gw);
    expectFieldErrors(await list(u, 'status=DONE'), ['status']);
    expectFieldErrors(await list(u, 'status=failed'), ['status']);
    expectFieldErrors(await list(u, 'status=FAILED,'), ['status']);
    expectFieldErrors(await list(u, 'status=FAILED,%20CANCELED'), ['status']);
    expectFieldErrors(await list(u, 'status='), ['status']);
    expectFieldErrors(await list(u, 'trigger=CRON'), ['trigger']);
    expectFieldErrors(await list(u, 'workflow_id=abc'), ['workflow_id']);
    expectFieldErrors(await list(u, 'limit=0'), ['limit']);
    expectFieldErrors(await list(u, 'limit=101'), ['limit']);
    expectFieldErrors(await list(u, 'cursor=garbage'), ['cursor']);
    expectFieldErrors(await list(u, 'since=yesterday'), ['since']);
    // No zone, an impossible date, a date without a time.
    expectFieldErrors(await list(u, 'since=2026-03-01T00:00:00'), ['since']);
    expectFieldErrors(await list(u, 'until=2026-02-30T00:00:00Z'), ['until']);
    expectFieldErrors(await list(u, 'until=2026-03-01'), ['until']);
    const all = expectFieldErrors(await list(u, 'status=DONE&since=soon&until=later&limit=0'), [
      'status',
      'since',
      'until',
      'limit',
    ]);
    expect(all.errors!.find((e) => e.path === 'status')!.message).toBe(
      'must be one or more of PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELED, separated by commas',
    );
    expect(all.errors!.find((e) => e.path === 'since')!.message).toBe(
      'must be an RFC 3339 date-time with a time zone',
    );
    // until must be after since (checked by the service: also over RPC).
    const t = encodeURIComponent(new Date(T0).toISOString());
    const range = expectFieldErrors(await list(u, `since=${t}&until=${t}`), ['until']);
    expect(range.errors![0]!.message).toBe('must be after since');
  });

  it('needs authentication', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/jobs' });
    expect(res.statusCode).toBe(401);
    expect(res.json<Problem>().code).toBe('CV_UNAUTHENTICATED');
  });

  it('is in the OpenAPI document with the WorkflowJob schema and its filters', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>();
    const op = doc.paths['/api/v1/jobs']?.get;
    expect(op).toBeDefined();
    expect(op!.parameters!.map((p) => p.name).sort()).toEqual(
      ['cursor', 'limit', 'since', 'status', 'trigger', 'until', 'workflow_id'].sort(),
    );
    expect(JSON.stringify(op)).toContain('#/components/schemas/WorkflowJob');
    // `tasks`: a DAG run's task instances, on GET of one job only (never in lists).
    expect(Object.keys(doc.components.schemas.WorkflowJob!.properties!)).toEqual([
      ...FIELDS.slice(0, -1),
      'tasks',
      'workflow_name',
    ]);
  });
});

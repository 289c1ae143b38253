/**
 * Workflows API (api.md "Workflows" and "General rules") end to end through the real gateway, on
 * PGlite and on PostgreSQL: create (every schedule form, both kinds, defaults, zero values, outbox),
 * read, list (filters, keyset pagination under concurrent inserts), edit, terminate, delete,
 * ownership, Idempotency-Key and body limits.
 */
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { DEFAULT_SCHEDULE_POLICY, schedulePolicyView } from '../../src/domain/schedule-policy.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';
import { snapshotOf, stateOfBuild } from '../helpers/fixtures.ts';
const DEFAULT_POLICY_VIEW = schedulePolicyView(DEFAULT_SCHEDULE_POLICY);

const API = '/api/v1/workflows';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

type User = Awaited<ReturnType<typeof registerUser>>;

interface Workflow {
  id: string;
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  payload: Record<string, unknown>;
  schedule: Record<string, unknown>;
  interval: number | null;
  build_status: string;
  build_error: string | null;
  status: string;
  consecutive_job_failures_count: number;
  max_consecutive_job_failures_allowed: number;
  log_retention: boolean;
  next_run_at: string | null;
  created_at: string;
  updated_at: string;
  terminated_at: string | null;
  generation: number;
  recent_jobs: unknown[];
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** Every field of the workflow object in api.md, all of which must be present (never omitted). */
const WORKFLOW_FIELDS = [
  'id',
  'name',
  'kind',
  'payload',
  'schedule',
  'interval',
  'build_status',
  'build_error',
  'status',
  'consecutive_job_failures_count',
  'max_consecutive_job_failures_allowed',
  'log_retention',
  'next_run_at',
  'created_at',
  'updated_at',
  'terminated_at',
  'paused_at',
  'pause_note',
  'pause_on_failure',
  'generation',
  'version',
  'labels',
  'recent_jobs',
].sort();

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const HEARTBEAT_DEFAULTS = {
  method: 'GET',
  headers: {},
  body: null,
  expected_status_code: 200,
  timeout: '10s',
};
const CONTAINER_DEFAULTS = {
  cmd: null,
  entrypoint: null,
  env: {},
  workdir: null,
  timeout: '30s',
  resources: { cpus: null, memory_mb: null, pids: null },
  network: 'none',
  read_only_root_fs: false,
  user: null,
};

function heartbeat(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'ping api',
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://api.example.com/health' },
    interval: 5,
    ...overrides,
  };
}

/** A PUT body that also carries the workflow's current payload (a full-replacement style edit). */
function withPayload(wf: { payload?: unknown }, changes: Record<string, unknown>): Record<string, unknown> {
  return { payload: wf.payload, ...changes };
}

function container(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'nightly job',
    kind: 'CONTAINER',
    payload: { image: 'alpine:3.20', cmd: ['echo', 'hi'] },
    interval: 60,
    ...overrides,
  };
}

/** The first instant after `after` at which Europe/Paris wall-clock time reads 09:00 (computed with Intl, not croner). */
function nextNineInParis(after: Date): Date {
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  for (let d = 0; d < 3; d++) {
    const midnight = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate() + d);
    for (const hour of [7, 8]) {
      const candidate = new Date(midnight + hour * 3_600_000);
      if (fmt.format(candidate) === '09:00' && candidate.getTime() > after.getTime()) return candidate;
    }
  }
  throw new Error('no 09:00 Paris within three days');
}

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

describe.each(ENGINES)('workflows API (%s)', (engine) => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  const api = {
    create: (u: User, payload: unknown, headers: Record<string, string> = {}) =>
      gw.app.inject({
        method: 'POST',
        url: API,
        headers: { ...u.headers, ...headers },
        payload: payload as object,
      }),
    get: (u: User, id: string) => gw.app.inject({ method: 'GET', url: `${API}/${id}`, headers: u.headers }),
    list: (u: User, query = '') =>
      gw.app.inject({ method: 'GET', url: `${API}${query ? `?${query}` : ''}`, headers: u.headers }),
    update: (u: User, id: string, payload: unknown, headers: Record<string, string> = {}) =>
      gw.app.inject({
        method: 'PUT',
        url: `${API}/${id}`,
        headers: { ...u.headers, ...headers },
        payload: payload as object,
      }),
    terminate: (u: User, id: string) =>
      gw.app.inject({ method: 'PATCH', url: `${API}/${id}`, headers: u.headers }),
    remove: (u: User, id: string) =>
      gw.app.inject({ method: 'DELETE', url: `${API}/${id}`, headers: u.headers }),
  };

  async function createOk(u: User, body: Record<string, unknown>): Promise<Workflow> {
    const res = await api.create(u, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Workflow>();
  }

  async function listAll(u: User, query = ''): Promise<Workflow[]> {
    const res = await api.list(u, query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ workflows: Workflow[] }>().workflows;
  }

  const outboxOf = (workflowId: string) =>
    gw.database.db.selectFrom('outbox').selectAll().where('key', '=', workflowId).orderBy('id').execute();

  const workflowRowsOf = (userId: string) =>
    gw.database.db.selectFrom('workflows').select(['id', 'name']).where('user_id', '=', userId).execute();

  const setBuildStatus = (id: string, status: 'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELED') =>
    gw.database.db
      .updateTable('workflows')
      .set({ build_status: status, state: stateOfBuild(status) })
      .where('id', '=', id)
      .execute();

  // ─── create ──────────────────────────────────────────────────────────────────────────
  describe('create', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('creates a HEARTBEAT from the Chronoverse form (interval + payload as a JSON string) with every field present', async () => {
      const res = await api.create(u, {
        name: 'chronoverse form',
        kind: 'HEARTBEAT',
        payload: JSON.stringify({ endpoint: 'https://api.example.com/health' }),
        interval: 5,
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      const wf = res.json<Workflow>();
      expect(Object.keys(wf).sort()).toEqual(WORKFLOW_FIELDS);
      expect(wf.id).toMatch(UUID_V7);
      for (const ts of [wf.created_at, wf.updated_at, wf.next_run_at]) expect(ts).toMatch(RFC3339_MS_UTC);
      expect(wf).toEqual({
        id: wf.id,
        name: 'chronoverse form',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://api.example.com/health', ...HEARTBEAT_DEFAULTS },
        schedule: { type: 'interval', interval_minutes: 5, policy: DEFAULT_POLICY_VIEW },
        interval: 5,
        build_status: 'QUEUED',
        build_error: null,
        status: 'BUILDING',
        consecutive_job_failures_count: 0,
        max_consecutive_job_failures_allowed: 3,
        log_retention: false,
        next_run_at: new Date(Date.parse(wf.created_at) + 5 * MINUTE).toISOString(),
        created_at: wf.created_at,
        updated_at: wf.created_at,
        terminated_at: null,
        paused_at: null,
        pause_note: null,
        pause_on_failure: false,
        generation: 1,
        version: 1,
        labels: {},
        recent_jobs: [],
      });
      // Zero values are present in the raw JSON, not just undefined after parsing.
      expect(res.body).toContain('"consecutive_job_failures_count":0');
      expect(res.body).toContain('"terminated_at":null');
      expect(res.body).toContain('"paused_at":null');
      expect(res.body).toContain('"pause_note":null');
      expect(res.body).toContain('"build_error":null');
      expect(res.body).toContain('"recent_jobs":[]');
      expect(res.body).toContain('"labels":{}');
      expect(res.body).toContain('"log_retention":false');
    });

    it('writes a BUILD outbox row in the same transaction', async () => {
      const wf = await createOk(u, heartbeat());
      const rows = await outboxOf(wf.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        topic: 'workflows',
        key: wf.id,
        event_type: 'BUILD',
        status: 'PENDING',
      });
      expect(rows[0]!.payload).toEqual({ workflow_id: wf.id, user_id: u.user.id, generation: 1 });
    });

    it('accepts schedule {type: interval}: next_run_at = created_at + interval', async () => {
      const wf = await createOk(
        u,
        heartbeat({ interval: undefined, schedule: { type: 'interval', interval_minutes: 90 } }),
      );
      expect(wf.schedule).toEqual({ type: 'interval', interval_minutes: 90, policy: DEFAULT_POLICY_VIEW });
      expect(wf.interval).toBe(90);
      expect(wf.next_run_at).toBe(new Date(Date.parse(wf.created_at) + 90 * MINUTE).toISOString());
    });

    it('accepts the interval bounds 1 and 10080', async () => {
      for (const minutes of [1, 10_080]) {
        const wf = await createOk(u, heartbeat({ interval: minutes }));
        expect(wf.next_run_at).toBe(new Date(Date.parse(wf.created_at) + minutes * MINUTE).toISOString());
      }
    });

    it('accepts a cron schedule in Europe/Paris: next_run_at is the next 09:00 Paris (07:00Z or 08:00Z)', async () => {
      const wf = await createOk(
        u,
        heartbeat({
          interval: undefined,
          schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
        }),
      );
      expect(wf.schedule).toEqual({
        type: 'cron',
        cron: '0 9 * * *',
        timezone: 'Europe/Paris',
        policy: DEFAULT_POLICY_VIEW,
      });
      expect(wf.interval).toBeNull();
      expect(wf.next_run_at).toBe(nextNineInParis(new Date(wf.created_at)).toISOString());
      expect(['07:00', '08:00']).toContain(wf.next_run_at!.slice(11, 16));
    });

    it('defaults the cron timezone to UTC and trims the expression', async () => {
      const wf = await createOk(
        u,
        heartbeat({ interval: undefined, schedule: { type: 'cron', cron: '  */15 * * * *  ' } }),
      );
      expect(wf.schedule).toEqual({
        type: 'cron',
        cron: '*/15 * * * *',
        timezone: 'UTC',
        policy: DEFAULT_POLICY_VIEW,
      });
      const created = Date.parse(wf.created_at);
      const expected = Math.floor(created / (15 * MINUTE)) * 15 * MINUTE + 15 * MINUTE;
      expect(wf.next_run_at).toBe(new Date(expected).toISOString());
    });

    it('accepts a 6-field cron (leading seconds) and a nickname', async () => {
      const six = await createOk(
        u,
        heartbeat({ interval: undefined, schedule: { type: 'cron', cron: '30 0 12 * * *' } }),
      );
      expect(six.next_run_at).toMatch(/T12:00:30\.000Z$/);
      const daily = await createOk(
        u,
        heartbeat({ interval: undefined, schedule: { type: 'cron', cron: '@daily' } }),
      );
      expect(daily.next_run_at).toMatch(/T00:00:00\.000Z$/);
    });

    it('accepts a once schedule: next_run_at = run_at, normalised to UTC', async () => {
      const runAt = new Date(Date.now() + 2 * DAY);
      runAt.setUTCMilliseconds(0);
      // Same instant written with a +02:00 offset.
      const local = new Date(runAt.getTime() + 2 * 3_600_000).toISOString().replace('.000Z', '+02:00');
      const wf = await createOk(
        u,
        heartbeat({ interval: undefined, schedule: { type: 'once', run_at: local } }),
      );
      expect(wf.schedule).toEqual({ type: 'once', run_at: runAt.toISOString() });
      expect(wf.next_run_at).toBe(runAt.toISOString());
      expect(wf.interval).toBeNull();
    });

    it('creates a CONTAINER with container defaults and log_retention true', async () => {
      const res = await api.create(u, container());
      expect(res.statusCode, res.body).toBe(201);
      const wf = res.json<Workflow>();
      expect(Object.keys(wf).sort()).toEqual(WORKFLOW_FIELDS);
      expect(wf).toMatchObject({
        kind: 'CONTAINER',
        payload: { ...CONTAINER_DEFAULTS, image: 'alpine:3.20', cmd: ['echo', 'hi'] },
        build_status: 'QUEUED',
        status: 'BUILDING',
        generation: 1,
        log_retention: true,
        consecutive_job_failures_count: 0,
        terminated_at: null,
        build_error: null,
        max_consecutive_job_failures_allowed: 3,
        next_run_at: new Date(Date.parse(wf.created_at) + 60 * MINUTE).toISOString(),
      });
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD']);
    });

    it('keeps explicit values: log_retention false on CONTAINER, max failures, full payloads', async () => {
      const c = await createOk(
        u,
        container({
          log_retention: false,
          max_consecutive_job_failures_allowed: 100,
          payload: {
            image: 'ghcr.io/org/app:1.2.3',
            entrypoint: ['/bin/sh', '-c'],
            cmd: ['echo $X'],
            env: { X: '1', _Y: '' },
            workdir: '/srv',
            timeout: '1h',
            resources: { cpus: 0.5, memory_mb: 256, pids: 64 },
            network: 'bridge',
          },
        }),
      );
      expect(c.log_retention).toBe(false);
      expect(c.max_consecutive_job_failures_allowed).toBe(100);
      expect(c.payload).toEqual({
        image: 'ghcr.io/org/app:1.2.3',
        entrypoint: ['/bin/sh', '-c'],
        cmd: ['echo $X'],
        env: { X: '1', _Y: '' },
        workdir: '/srv',
        timeout: '1h',
        resources: { cpus: 0.5, memory_mb: 256, pids: 64 },
        network: 'bridge',
        read_only_root_fs: false,
        user: null,
      });
      const h = await createOk(
        u,
        heartbeat({
          log_retention: false,
          max_consecutive_job_failures_allowed: 1,
          payload: {
            endpoint: 'http://10.0.0.1:8080/hook?x=1',
            method: 'POST',
            headers: { 'X-Token': 'abc', Accept: ['application/json', 'text/plain'] },
            body: '{"ok":true}',
            expected_status_code: 204,
            timeout: '5m',
          },
        }),
      );
      expect(h.payload).toEqual({
        endpoint: 'http://10.0.0.1:8080/hook?x=1',
        method: 'POST',
        headers: { 'X-Token': 'abc', Accept: ['application/json', 'text/plain'] },
        body: '{"ok":true}',
        expected_status_code: 204,
        timeout: '5m',
      });
      expect(h.max_consecutive_job_failures_allowed).toBe(1);
    });

    it('trims the name', async () => {
      const wf = await createOk(u, heartbeat({ name: '  padded  ' }));
      expect(wf.name).toBe('padded');
    });
  });

  describe('create and cron DST on a fixed clock', () => {
    it('cron "0 9 * * *" Europe/Paris fires at 08:00Z in winter and 07:00Z in summer; once run_at honoured', async () => {
      const clock = new TestClock(Date.parse('2025-01-15T12:00:00.000Z'));
      const g = await createTestGateway(engine, { clock });
      try {
        const cronBody = heartbeat({
          interval: undefined,
          schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
        });
        const winterUser = await registerUser(g);
        const winter = await g.app.inject({
          method: 'POST',
          url: API,
          headers: winterUser.headers,
          payload: cronBody,
        });
        expect(winter.statusCode, winter.body).toBe(201);
        expect(winter.json<Workflow>().created_at).toBe('2025-01-15T12:00:00.000Z');
        expect(winter.json<Workflow>().next_run_at).toBe('2025-01-16T08:00:00.000Z');

        const once = await g.app.inject({
          method: 'POST',
          url: API,
          headers: winterUser.headers,
          payload: heartbeat({
            interval: undefined,
            schedule: { type: 'once', run_at: '2025-01-20T10:00:00+02:00' },
          }),
        });
        expect(once.statusCode, once.body).toBe(201);
        expect(once.json<Workflow>().next_run_at).toBe('2025-01-20T08:00:00.000Z');

        clock.advance(181 * DAY); // 2025-07-15T12:00Z; the first session has expired by now
        const summerUser = await registerUser(g);
        const summer = await g.app.inject({
          method: 'POST',
          url: API,
          headers: summerUser.headers,
          payload: cronBody,
        });
        expect(summer.statusCode, summer.body).toBe(201);
        expect(summer.json<Workflow>().next_run_at).toBe('2025-07-16T07:00:00.000Z');

        // The earlier once run_at is now in the past.
        const late = await g.app.inject({
          method: 'POST',
          url: API,
          headers: summerUser.headers,
          payload: heartbeat({
            interval: undefined,
            schedule: { type: 'once', run_at: '2025-01-20T10:00:00+02:00' },
          }),
        });
        expectFieldError(late, 'schedule.run_at');
      } finally {
        await g.close();
      }
    });
  });

  // ─── read ────────────────────────────────────────────────────────────────────────────
  describe('get', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('returns the workflow as created', async () => {
      const created = await createOk(u, container());
      const res = await api.get(u, created.id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(created);
    });

    it('404 CV_NOT_FOUND for an unknown id, 400 on path id for a non-UUID', async () => {
      expectProblem(await api.get(u, newId()), 404, 'CV_NOT_FOUND');
      expectFieldError(await api.get(u, 'not-a-uuid'), 'id');
    });

    it('401 without credentials on every route', async () => {
      const id = newId();
      for (const [method, url] of [
        ['GET', API],
        ['POST', API],
        ['GET', `${API}/${id}`],
        ['PUT', `${API}/${id}`],
        ['PATCH', `${API}/${id}`],
        ['DELETE', `${API}/${id}`],
      ] as const) {
        const res = await gw.app.inject({
          method,
          url,
          payload: method === 'POST' || method === 'PUT' ? heartbeat() : undefined,
        });
        expectProblem(res, 401, 'CV_UNAUTHENTICATED');
      }
    });
  });

  // ─── list and filters ────────────────────────────────────────────────────────────────
  describe('list filters', () => {
    let u: User;
    const w: Record<string, Workflow> = {};
    const ids = (list: Workflow[]) => list.map((x) => x.id);
    /** Expected order: newest first = reverse creation order. */
    const newestFirst = (...names: string[]) =>
      names
        .map((n) => w[n]!)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
        .map((x) => x.id);

    beforeAll(async () => {
      u = await registerUser(gw);
      w.alpha = await createOk(u, heartbeat({ name: 'Alpha 100% uptime', interval: 5 }));
      w.alphaBeta = await createOk(u, heartbeat({ name: 'alpha_beta', interval: 60 }));
      w.gamma = await createOk(
        u,
        container({ name: 'Gamma job', interval: undefined, schedule: { type: 'cron', cron: '0 * * * *' } }),
      );
      w.alphaxbeta = await createOk(u, container({ name: 'ALPHAxbeta', interval: 1440 }));
      w.delta = await createOk(
        u,
        heartbeat({
          name: 'delta',
          interval: undefined,
          schedule: { type: 'once', run_at: new Date(Date.now() + DAY).toISOString() },
        }),
      );
      w.backslash = await createOk(u, heartbeat({ name: 'path\\to', interval: 10 }));
      await setBuildStatus(w.gamma.id, 'COMPLETED');
      const t = await api.terminate(u, w.alphaxbeta.id);
      expect(t.statusCode).toBe(200);
    });

    it('lists newest first with every field, cursor null on the last page', async () => {
      const res = await api.list(u);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ workflows: Workflow[]; cursor: string | null }>();
      expect(Object.keys(body).sort()).toEqual(['cursor', 'workflows']);
      expect(body.cursor).toBeNull();
      expect(ids(body.workflows)).toEqual(
        newestFirst('alpha', 'alphaBeta', 'gamma', 'alphaxbeta', 'delta', 'backslash'),
      );
      expect(ids(body.workflows)[0]).toBe(w.backslash!.id);
      for (const item of body.workflows) expect(Object.keys(item).sort()).toEqual(WORKFLOW_FIELDS);
      expect(body.workflows.find((x) => x.id === w.gamma!.id)).toMatchObject({
        build_status: 'COMPLETED',
        status: 'ACTIVE',
      });
    });

    it.each([
      ['query=alpha', ['alpha', 'alphaBeta', 'alphaxbeta']],
      ['query=ALPHA', ['alpha', 'alphaBeta', 'alphaxbeta']],
      ['query=Beta', ['alphaBeta', 'alphaxbeta']],
      ['query=100%25', ['alpha']],
      ['query=%25', ['alpha']], // "%" is literal, not a wildcard
      ['query=_', ['alphaBeta']], // "_" is literal, not a single-character wildcard
      ['query=a_b', ['alphaBeta']], // unescaped, "a_b" would also match "ALPHAxbeta"
      ['query=%5C', ['backslash']], // "\" is literal too
      ['query=zzz', []],
      ['query=', ['alpha', 'alphaBeta', 'gamma', 'alphaxbeta', 'delta', 'backslash']],
      ['kind=CONTAINER', ['gamma', 'alphaxbeta']],
      ['kind=HEARTBEAT', ['alpha', 'alphaBeta', 'delta', 'backslash']],
      ['build_status=COMPLETED', ['gamma']],
      ['build_status=QUEUED', ['alpha', 'alphaBeta', 'alphaxbeta', 'delta', 'backslash']],
      ['build_status=FAILED', []],
      ['terminated=true', ['alphaxbeta']],
      ['terminated=false', ['alpha', 'alphaBeta', 'gamma', 'delta', 'backslash']],
      ['interval_min=60', ['alphaBeta', 'alphaxbeta']],
      ['interval_max=10', ['alpha', 'backslash']],
      ['interval_min=10&interval_max=60', ['alphaBeta', 'backslash']],
      ['interval_min=60&interval_max=60', ['alphaBeta']],
      ['interval_min=1&interval_max=10080', ['alpha', 'alphaBeta', 'alphaxbeta', 'backslash']],
      ['kind=HEARTBEAT&interval_max=10', ['alpha', 'backslash']],
      ['query=alpha&terminated=false&kind=HEARTBEAT', ['alpha', 'alphaBeta']],
    ])('filter %s', async (query, expected) => {
      expect(ids(await listAll(u, query))).toEqual(newestFirst(...expected));
    });

    it('interval_min greater than interval_max is 400', async () => {
      const res = await api.list(u, 'interval_min=61&interval_max=60');
      const problem = expectProblem(res, 400, 'CV_VALIDATION');
      expect(problem.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(['interval_min']));
    });

    it.each([
      ['kind=heartbeat', 'kind'],
      ['kind=FOO', 'kind'],
      ['build_status=DONE', 'build_status'],
      ['build_status=completed', 'build_status'],
      ['terminated=yes', 'terminated'],
      ['terminated=1', 'terminated'],
      ['terminated=TRUE', 'terminated'],
      ['interval_min=abc', 'interval_min'],
      ['interval_min=0', 'interval_min'],
      ['interval_min=10081', 'interval_min'],
      ['interval_min=1.5', 'interval_min'],
      ['interval_min=', 'interval_min'],
      ['interval_max=abc', 'interval_max'],
      ['interval_max=-5', 'interval_max'],
      ['interval_max=99999999999999999999', 'interval_max'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=2.5', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['kind=HEARTBEAT&kind=CONTAINER', 'kind'],
      [`query=${'q'.repeat(256)}`, 'query'],
      ['cursor=garbage', 'cursor'],
      ['cursor=%7B%7D', 'cursor'],
      [`cursor=${Buffer.from(JSON.stringify({ id: 'not-a-uuid' })).toString('base64url')}`, 'cursor'],
      [`cursor=${Buffer.from(JSON.stringify({ id: 42 })).toString('base64url')}`, 'cursor'],
      [`cursor=${'a'.repeat(600)}`, 'cursor'],
    ])('bad filter %s → 400 naming %s', async (query, path) => {
      expectFieldError(await api.list(u, query), path);
    });

    it('accepts limit 1 and 100', async () => {
      expect((await listAll(u, 'limit=1')).length).toBe(1);
      expect((await listAll(u, 'limit=100')).length).toBe(6);
    });
  });

  // ─── pagination ──────────────────────────────────────────────────────────────────────
  describe('pagination', () => {
    let u: User;
    const created: string[] = [];

    beforeAll(async () => {
      u = await registerUser(gw);
      for (let i = 0; i < 25; i++) created.push((await createOk(u, heartbeat({ name: `page ${i}` }))).id);
    });

    async function page(cursor: string | null, limit = 7, extra = '') {
      const qs = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}${extra}`;
      const res = await api.list(u, qs);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ workflows: Workflow[]; cursor: string | null }>();
    }

    function expectExactWalk(walked: string[], expected: string[]) {
      expect(new Set(walked).size).toBe(walked.length); // no repeats
      for (let i = 1; i < walked.length; i++) expect(walked[i - 1]! > walked[i]!).toBe(true); // strictly descending
      expect([...walked].sort()).toEqual([...expected].sort()); // nothing missed, nothing extra
    }

    it('walks 25 workflows with limit=7: 7+7+7+4, no repeats, nothing missed, strictly descending', async () => {
      const walked: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const p = await page(cursor);
        sizes.push(p.workflows.length);
        walked.push(...p.workflows.map((x) => x.id));
        cursor = p.cursor;
      } while (cursor !== null);
      expect(sizes).toEqual([7, 7, 7, 4]);
      expectExactWalk(walked, created);
      expect(walked).toEqual([...created].reverse()); // newest first = reverse creation order
    });

    it('a page that ends exactly at the last row has a null cursor only when nothing follows', async () => {
      const first = await page(null, 25);
      expect(first.workflows).toHaveLength(25);
      expect(first.cursor).toBeNull();
      const p = await page(null, 24);
      expect(p.cursor).not.toBeNull();
      const rest = await page(p.cursor, 24);
      expect(rest.workflows.map((x) => x.id)).toEqual([created[0]]);
      expect(rest.cursor).toBeNull();
    });

    it('inserts between and concurrently with page fetches never shift the walk', async () => {
      const before = (await listAll(u, 'limit=100')).map((x) => x.id);
      const walked: string[] = [];
      const inserted: string[] = [];
      let first = await page(null);
      walked.push(...first.workflows.map((x) => x.id));
      let cursor = first.cursor;
      let round = 0;
      while (cursor !== null) {
        // Between fetches…
        inserted.push((await createOk(u, heartbeat({ name: `between ${round}` }))).id);
        // …and concurrently with the fetch.
        const [p, ...concurrent] = await Promise.all([
          page(cursor),
          api.create(u, heartbeat({ name: `during ${round} a` })),
          api.create(u, heartbeat({ name: `during ${round} b` })),
          api.create(u, container({ name: `during ${round} c` })),
        ]);
        for (const c of concurrent) {
          expect(c.statusCode, c.body).toBe(201);
          inserted.push(c.json<Workflow>().id);
        }
        walked.push(...p.workflows.map((x) => x.id));
        cursor = p.cursor;
        round += 1;
      }
      expect(round).toBeGreaterThan(0);
      expectExactWalk(walked, before);
      for (const id of inserted) expect(walked).not.toContain(id);
      // The new rows are all there now, newest first, on a fresh walk.
      const after = (await listAll(u, 'limit=100')).map((x) => x.id);
      expect(after).toHaveLength(before.length + inserted.length);
      expect(after.slice(0, inserted.length).sort()).toEqual([...inserted].sort());
      first = await page(null, 100);
      expect(first.workflows.map((x) => x.id)).toEqual(after);
    });

    it('keeps filters across pages', async () => {
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const p = await page(cursor, 3, '&kind=CONTAINER');
        for (const x of p.workflows) expect(x.kind).toBe('CONTAINER');
        walked.push(...p.workflows.map((x) => x.id));
        cursor = p.cursor;
      } while (cursor !== null);
      const all = (await listAll(u, 'limit=100&kind=CONTAINER')).map((x) => x.id);
      expect(walked).toEqual(all);
      expect(walked.length).toBeGreaterThan(0);
    });
  });

  // ─── update ──────────────────────────────────────────────────────────────────────────
  describe('update', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('renames and keeps every other field', async () => {
      const wf = await createOk(u, heartbeat({ max_consecutive_job_failures_allowed: 7 }));
      await setBuildStatus(wf.id, 'COMPLETED');
      const res = await api.update(u, wf.id, withPayload(wf, { name: 'renamed' }));
      expect(res.statusCode, res.body).toBe(200);
      const updated = res.json<Workflow>();
      expect(Object.keys(updated).sort()).toEqual(WORKFLOW_FIELDS);
      expect(updated).toEqual({
        ...wf,
        name: 'renamed',
        build_status: 'COMPLETED',
        status: 'ACTIVE',
        updated_at: updated.updated_at,
      });
      expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(wf.updated_at));
      // A rename of a built workflow neither rebuilds nor reschedules.
      expect(updated.generation).toBe(1);
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD']);
      expect((await api.get(u, wf.id)).json()).toEqual(updated);
    });

    // Regression: `payload` used to be required on PUT.
    it('a partial PUT (absent fields keep their value) is accepted: {name} and {}', async () => {
      const wf = await createOk(u, heartbeat({ max_consecutive_job_failures_allowed: 7 }));
      await setBuildStatus(wf.id, 'COMPLETED');
      const rename = await api.update(u, wf.id, { name: 'renamed' });
      expect(rename.statusCode, rename.body).toBe(200);
      expect(rename.json()).toMatchObject({
        name: 'renamed',
        payload: wf.payload,
        schedule: wf.schedule,
        max_consecutive_job_failures_allowed: 7,
        generation: 1,
      });
      const empty = await api.update(u, wf.id, {});
      expect(empty.statusCode, empty.body).toBe(200);
      expect(empty.json()).toMatchObject({
        name: 'renamed',
        payload: wf.payload,
        schedule: wf.schedule,
        generation: 1,
      });
    });

    it('changes the payload (object or JSON string), with defaults filled in', async () => {
      const wf = await createOk(u, heartbeat());
      const res = await api.update(u, wf.id, {
        payload: { endpoint: 'https://other.example.com/', method: 'POST', body: 'x' },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<Workflow>().payload).toEqual({
        ...HEARTBEAT_DEFAULTS,
        endpoint: 'https://other.example.com/',
        method: 'POST',
        body: 'x',
      });
      const res2 = await api.update(u, wf.id, {
        payload: JSON.stringify({ endpoint: 'https://third.example.com/', timeout: '1m' }),
      });
      expect(res2.statusCode, res2.body).toBe(200);
      expect(res2.json<Workflow>().payload).toEqual({
        ...HEARTBEAT_DEFAULTS,
        endpoint: 'https://third.example.com/',
        timeout: '1m',
      });
    });

    it('validates the payload against the workflow kind', async () => {
      const c = await createOk(u, container());
      const res = await api.update(u, c.id, { payload: { endpoint: 'https://api.example.com/' } });
      const problem = expectFieldError(res, 'payload.endpoint');
      expect(problem.errors?.map((e) => e.path)).toContain('payload.image');
      const h = await createOk(u, heartbeat());
      expectFieldError(await api.update(u, h.id, { payload: { image: 'alpine' } }), 'payload.image');
      // Unchanged.
      expect((await api.get(u, c.id)).json()).toEqual(c);
    });

    it('changing the schedule recomputes next_run_at, bumps the generation and emits RESCHEDULE', async () => {
      const wf = await createOk(u, heartbeat({ interval: 5 }));
      await setBuildStatus(wf.id, 'COMPLETED');
      const res = await api.update(u, wf.id, withPayload(wf, { interval: 30 }));
      expect(res.statusCode, res.body).toBe(200);
      const updated = res.json<Workflow>();
      expect(updated).toMatchObject({
        interval: 30,
        schedule: { type: 'interval', interval_minutes: 30 },
        generation: 2,
      });
      expect(updated.next_run_at).toBe(new Date(Date.parse(updated.updated_at) + 30 * MINUTE).toISOString());
      expect(updated.build_status).toBe('COMPLETED');

      const cron = await api.update(
        u,
        wf.id,
        withPayload(wf, { schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' } }),
      );
      expect(cron.statusCode, cron.body).toBe(200);
      const c = cron.json<Workflow>();
      expect(c).toMatchObject({
        interval: null,
        schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
        generation: 3,
      });
      expect(c.next_run_at).toBe(nextNineInParis(new Date(c.updated_at)).toISOString());

      const runAt = new Date(Date.now() + 3 * DAY).toISOString();
      const once = await api.update(u, wf.id, withPayload(wf, { schedule: { type: 'once', run_at: runAt } }));
      expect(once.statusCode, once.body).toBe(200);
      expect(once.json<Workflow>()).toMatchObject({
        schedule: { type: 'once', run_at: runAt },
        next_run_at: runAt,
        generation: 4,
      });

      const events = (await outboxOf(wf.id)).map((r) => r.event_type);
      expect(events).toEqual(['BUILD', 'RESCHEDULE', 'RESCHEDULE', 'RESCHEDULE']);
      const last = (await outboxOf(wf.id)).at(-1)!;
      expect(last.payload).toMatchObject({ workflow_id: wf.id, generation: 4 });

      // The same schedule again is not a change.
      const same = await api.update(u, wf.id, withPayload(wf, { schedule: { type: 'once', run_at: runAt } }));
      expect(same.json<Workflow>().generation).toBe(4);
    });

    it('an edit of a workflow whose build is not done bumps the generation and re-queues the build', async () => {
      const wf = await createOk(u, heartbeat());
      const res = await api.update(u, wf.id, withPayload(wf, { name: 'still building' }));
      expect(res.json<Workflow>()).toMatchObject({ build_status: 'QUEUED', generation: 2 });
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD', 'BUILD']);
    });

    it('kind cannot change (400 on path kind); the same kind is accepted', async () => {
      const wf = await createOk(u, heartbeat());
      expectFieldError(await api.update(u, wf.id, withPayload(wf, { kind: 'CONTAINER' })), 'kind');
      expectFieldError(await api.update(u, wf.id, withPayload(wf, { kind: 'heartbeat' })), 'kind');
      const same = await api.update(u, wf.id, withPayload(wf, { kind: 'HEARTBEAT', name: 'same kind' }));
      expect(same.statusCode, same.body).toBe(200);
      expect(same.json<Workflow>().kind).toBe('HEARTBEAT');
    });

    it('an image change re-queues the build with a BUILD outbox row; other payload changes do not', async () => {
      const wf = await createOk(u, container());
      await setBuildStatus(wf.id, 'COMPLETED');
      const env = await api.update(u, wf.id, { payload: { image: 'alpine:3.20', env: { A: '1' } } });
      expect(env.statusCode, env.body).toBe(200);
      expect(env.json<Workflow>()).toMatchObject({
        build_status: 'COMPLETED',
        status: 'ACTIVE',
        generation: 1,
      });
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD']);

      const image = await api.update(u, wf.id, { payload: { image: 'alpine:3.21' } });
      expect(image.statusCode, image.body).toBe(200);
      expect(image.json<Workflow>()).toMatchObject({
        build_status: 'QUEUED',
        status: 'BUILDING',
        build_error: null,
        generation: 2,
        payload: { image: 'alpine:3.21', env: {} },
      });
      const rows = await outboxOf(wf.id);
      expect(rows.map((r) => r.event_type)).toEqual(['BUILD', 'BUILD']);
      expect(rows[1]!.payload).toMatchObject({ workflow_id: wf.id, generation: 2 });
    });

    it('cancels pending jobs on a rebuild', async () => {
      const wf = await createOk(u, container());
      await setBuildStatus(wf.id, 'COMPLETED');
      const jobId = newId();
      await gw.database.db
        .insertInto('jobs')
        .values({
          id: jobId,
          workflow_id: wf.id,
          user_id: u.user.id,
          workflow_generation: 1,
          ...snapshotOf(wf.id),
          status: 'PENDING',
          trigger: 'MANUAL',
          scheduled_at: new Date(),
          completed_at: null,
        })
        .execute();
      const res = await api.update(u, wf.id, { payload: { image: 'busybox' } });
      expect(res.statusCode, res.body).toBe(200);
      const job = await gw.database.db
        .selectFrom('jobs')
        .select(['status'])
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      expect(job.status).toBe('CANCELED');
    });

    it('editing a terminated workflow re-activates it and resets the failure counter', async () => {
      const wf = await createOk(u, heartbeat());
      await setBuildStatus(wf.id, 'COMPLETED');
      await gw.database.db
        .updateTable('workflows')
        .set({ consecutive_job_failures_count: 3 })
        .where('id', '=', wf.id)
        .execute();
      const t = await api.terminate(u, wf.id);
      expect(t.json<Workflow>()).toMatchObject({
        status: 'TERMINATED',
        consecutive_job_failures_count: 3,
        next_run_at: null,
      });

      const res = await api.update(u, wf.id, withPayload(wf, { name: 'back again' }));
      expect(res.statusCode, res.body).toBe(200);
      const back = res.json<Workflow>();
      expect(back.terminated_at).toBeNull();
      expect(back.status).not.toBe('TERMINATED');
      expect(back).toMatchObject({
        name: 'back again',
        consecutive_job_failures_count: 0,
        build_status: 'QUEUED',
        status: 'BUILDING',
        generation: 2,
      });
      expect(back.next_run_at).toBe(new Date(Date.parse(back.updated_at) + 5 * MINUTE).toISOString());
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual([
        'BUILD',
        'TERMINATE',
        'WORKFLOW_TERMINATED',
        'BUILD',
      ]);
      expect((await listAll(u, 'terminated=true')).map((x) => x.id)).not.toContain(wf.id);
    });

    it('404 for an unknown id, 400 for a non-UUID id, 400 for a non-object body', async () => {
      expectProblem(
        await api.update(u, newId(), withPayload(heartbeat(), { name: 'x' })),
        404,
        'CV_NOT_FOUND',
      );
      expectFieldError(await api.update(u, 'nope', withPayload(heartbeat(), { name: 'x' })), 'id');
      const wf = await createOk(u, heartbeat());
      expectFieldError(await api.update(u, wf.id, [1, 2]), '');
      const str = await gw.app.inject({
        method: 'PUT',
        url: `${API}/${wf.id}`,
        headers: { ...u.headers, 'content-type': 'application/json' },
        payload: '"a string"',
      });
      expectFieldError(str, '');
    });
  });

  // ─── terminate and delete ────────────────────────────────────────────────────────────
  describe('terminate and delete', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('PATCH terminates (200, terminated_at, TERMINATED), idempotently', async () => {
      const wf = await createOk(u, heartbeat());
      const first = await api.terminate(u, wf.id);
      expect(first.statusCode, first.body).toBe(200);
      const t = first.json<Workflow>();
      expect(Object.keys(t).sort()).toEqual(WORKFLOW_FIELDS);
      expect(t.terminated_at).toMatch(RFC3339_MS_UTC);
      expect(t).toMatchObject({ status: 'TERMINATED', next_run_at: null, generation: 1 });

      const second = await api.terminate(u, wf.id);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual(t);
      // The engine's TERMINATE, and the fact users are told about (once: the second call changed nothing).
      const rows = await outboxOf(wf.id);
      expect(rows.map((r) => [r.topic, r.event_type])).toEqual([
        ['workflows', 'BUILD'],
        ['workflows', 'TERMINATE'],
        ['notifications', 'WORKFLOW_TERMINATED'],
      ]);
      expect(rows[1]!.payload).toMatchObject({ workflow_id: wf.id, reason: 'manual' });
      expect(rows[2]!.payload).toMatchObject({
        workflow_id: wf.id,
        name: t.name,
        reason: 'manual',
        at: t.terminated_at,
      });
    });

    it('PATCH ignores a JSON body and accepts an empty one', async () => {
      const wf = await createOk(u, heartbeat());
      const res = await gw.app.inject({
        method: 'PATCH',
        url: `${API}/${wf.id}`,
        headers: { ...u.headers, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'ignored' }),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<Workflow>()).toMatchObject({ name: wf.name, status: 'TERMINATED' });
      const empty = await gw.app.inject({
        method: 'PATCH',
        url: `${API}/${wf.id}`,
        headers: { ...u.headers, 'content-type': 'application/json' },
        payload: '',
      });
      expect(empty.statusCode, empty.body).toBe(200);
    });

    it('terminate cancels pending jobs', async () => {
      const wf = await createOk(u, heartbeat());
      const jobId = newId();
      await gw.database.db
        .insertInto('jobs')
        .values({
          id: jobId,
          workflow_id: wf.id,
          user_id: u.user.id,
          workflow_generation: 1,
          ...snapshotOf(wf.id),
          status: 'QUEUED',
          trigger: 'AUTOMATIC',
          scheduled_at: new Date(),
          completed_at: null,
        })
        .execute();
      expect((await api.terminate(u, wf.id)).statusCode).toBe(200);
      const job = await gw.database.db
        .selectFrom('jobs')
        .select(['status', 'completed_at'])
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      expect(job.status).toBe('CANCELED');
      expect(job.completed_at).not.toBeNull();
    });

    it('DELETE of an active workflow is 412 and deletes nothing', async () => {
      const wf = await createOk(u, heartbeat());
      expectProblem(await api.remove(u, wf.id), 412, 'CV_PRECONDITION_FAILED');
      expect((await api.get(u, wf.id)).statusCode).toBe(200);
    });

    it('DELETE after terminate is 204, then GET is 404; a DELETE outbox row is written', async () => {
      const wf = await createOk(u, container());
      expect((await api.terminate(u, wf.id)).statusCode).toBe(200);
      const del = await api.remove(u, wf.id);
      expect(del.statusCode, del.body).toBe(204);
      expect(del.body).toBe('');
      expectProblem(await api.get(u, wf.id), 404, 'CV_NOT_FOUND');
      expectProblem(await api.remove(u, wf.id), 404, 'CV_NOT_FOUND');
      expect((await listAll(u, 'limit=100')).map((x) => x.id)).not.toContain(wf.id);
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual([
        'BUILD',
        'TERMINATE',
        'WORKFLOW_TERMINATED',
        'DELETE',
      ]);
    });

    it('a RUNNING job blocks DELETE with 412; once it finishes, DELETE removes the workflow and its jobs', async () => {
      const wf = await createOk(u, container());
      const jobId = newId();
      const now = new Date();
      await sql`
        insert into jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at, started_at, lease_owner, lease_expires_at)
        select ${jobId}, w.id, ${u.user.id}, 1, w.kind, w.payload, 'RUNNING', 'MANUAL', ${now}, ${now}, 'x', ${new Date(now.getTime() + MINUTE)}
        from workflows w where w.id = ${wf.id}
      `.execute(gw.database.db);
      expect((await api.terminate(u, wf.id)).statusCode).toBe(200);
      // Terminate cancels pending jobs only; the running one keeps running.
      const running = await gw.database.db
        .selectFrom('jobs')
        .select('status')
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      expect(running.status).toBe('RUNNING');

      const blocked = expectProblem(await api.remove(u, wf.id), 412, 'CV_PRECONDITION_FAILED');
      expect(blocked.detail).toMatch(/running/i);
      expect((await api.get(u, wf.id)).statusCode).toBe(200);

      await sql`update jobs set status = 'COMPLETED', lease_owner = null, lease_expires_at = null, completed_at = ${new Date()} where id = ${jobId}`.execute(
        gw.database.db,
      );
      expect((await api.remove(u, wf.id)).statusCode).toBe(204);
      const jobs = await gw.database.db
        .selectFrom('jobs')
        .select('id')
        .where('workflow_id', '=', wf.id)
        .execute();
      expect(jobs).toEqual([]);
    });
  });

  // ─── ownership ───────────────────────────────────────────────────────────────────────
  describe('cross-user isolation', () => {
    it("user B can neither see nor touch user A's workflow (404 CV_NOT_FOUND everywhere)", async () => {
      const a = await registerUser(gw);
      const b = await registerUser(gw);
      const wf = await createOk(a, heartbeat({ name: 'private of A' }));
      const mine = await createOk(b, heartbeat({ name: 'private of B' }));

      expectProblem(await api.get(b, wf.id), 404, 'CV_NOT_FOUND');
      expectProblem(await api.update(b, wf.id, withPayload(wf, { name: 'hijacked' })), 404, 'CV_NOT_FOUND');
      expectProblem(await api.update(b, wf.id, { name: 'hijacked' }), 404, 'CV_NOT_FOUND');
      expectProblem(
        await api.update(b, wf.id, withPayload(wf, { name: 'hijacked' }), { 'idempotency-key': 'steal' }),
        404,
        'CV_NOT_FOUND',
      );
      expectProblem(await api.terminate(b, wf.id), 404, 'CV_NOT_FOUND');
      expectProblem(await api.remove(b, wf.id), 404, 'CV_NOT_FOUND');
      // Same answer as for an id that does not exist at all.
      const ghost = await api.get(b, newId());
      expect(ghost.json<Problem>()).toMatchObject({ ...(await api.get(b, wf.id)).json<Problem>() });

      for (const q of ['', 'query=private', 'kind=HEARTBEAT', 'terminated=false', 'limit=100']) {
        const list = (await listAll(b, q)).map((x) => x.id);
        expect(list).not.toContain(wf.id);
      }
      expect((await listAll(b)).map((x) => x.id)).toEqual([mine.id]);
      expect((await listAll(a)).map((x) => x.id)).toEqual([wf.id]);

      // A's workflow is unchanged, and A can still do everything.
      expect((await api.get(a, wf.id)).json()).toEqual(wf);
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD']);
      expect((await api.terminate(a, wf.id)).statusCode).toBe(200);
      // B still cannot delete it once terminated.
      expectProblem(await api.remove(b, wf.id), 404, 'CV_NOT_FOUND');
      expect((await api.remove(a, wf.id)).statusCode).toBe(204);
    });
  });

  // ─── Idempotency-Key ─────────────────────────────────────────────────────────────────
  describe('Idempotency-Key', () => {
    it('create: same key + same body replays the first response (same id), once', async () => {
      const u = await registerUser(gw);
      const body = heartbeat({ name: 'idem create' });
      const first = await api.create(u, body, { 'idempotency-key': 'create-1' });
      expect(first.statusCode, first.body).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      // Key order does not matter: the body is compared canonically.
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const second = await api.create(u, reordered, { 'idempotency-key': 'create-1' });
      expect(second.statusCode).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.json()).toEqual(first.json());
      expect(await workflowRowsOf(u.user.id)).toHaveLength(1);
      expect((await outboxOf(first.json<Workflow>().id)).length).toBe(1);
    });

    it('create: same key + different body is 409 CV_IDEMPOTENCY_MISMATCH', async () => {
      const u = await registerUser(gw);
      expect((await api.create(u, heartbeat(), { 'idempotency-key': 'k' })).statusCode).toBe(201);
      expectProblem(
        await api.create(u, heartbeat({ name: 'other' }), { 'idempotency-key': 'k' }),
        409,
        'CV_IDEMPOTENCY_MISMATCH',
      );
      expect(await workflowRowsOf(u.user.id)).toHaveLength(1);
      // A different key is a different request.
      expect(
        (await api.create(u, heartbeat({ name: 'other' }), { 'idempotency-key': 'k2' })).statusCode,
      ).toBe(201);
      expect(await workflowRowsOf(u.user.id)).toHaveLength(2);
    });

    it('create: the same key for two users is independent', async () => {
      const a = await registerUser(gw);
      const b = await registerUser(gw);
      const ra = await api.create(a, heartbeat(), { 'idempotency-key': 'shared' });
      const rb = await api.create(b, heartbeat({ name: 'b body' }), { 'idempotency-key': 'shared' });
      expect(ra.statusCode).toBe(201);
      expect(rb.statusCode).toBe(201);
      expect(rb.headers['idempotent-replayed']).toBeUndefined();
      expect(rb.json<Workflow>().id).not.toBe(ra.json<Workflow>().id);
      expect(rb.json<Workflow>().name).toBe('b body');
    });

    it('create: 5 concurrent requests with the same key create exactly one workflow', async () => {
      const u = await registerUser(gw);
      const body = container({ name: 'concurrent create' });
      const results = await Promise.all(
        Array.from({ length: 5 }, () => api.create(u, body, { 'idempotency-key': 'race' })),
      );
      for (const r of results) expect(r.statusCode, r.body).toBe(201);
      const ids = new Set(results.map((r) => r.json<Workflow>().id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
      const rows = await workflowRowsOf(u.user.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe([...ids][0]);
      expect(await outboxOf(rows[0]!.id)).toHaveLength(1);
    });

    it('create: concurrent requests with the same key and different bodies: one wins, the others are 409', async () => {
      const u = await registerUser(gw);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          api.create(u, heartbeat({ name: `racer ${i}` }), { 'idempotency-key': 'race-diff' }),
        ),
      );
      expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
      for (const r of results.filter((x) => x.statusCode !== 201))
        expectProblem(r, 409, 'CV_IDEMPOTENCY_MISMATCH');
      expect(await workflowRowsOf(u.user.id)).toHaveLength(1);
    });

    it('update: same key replays, different body is 409, concurrent requests apply once, keys are per workflow', async () => {
      const u = await registerUser(gw);
      const wf = await createOk(u, heartbeat());
      const first = await api.update(u, wf.id, withPayload(wf, { name: 'v2' }), {
        'idempotency-key': 'put-1',
      });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json<Workflow>().generation).toBe(2);
      const again = await api.update(u, wf.id, withPayload(wf, { name: 'v2' }), {
        'idempotency-key': 'put-1',
      });
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect((await api.get(u, wf.id)).json<Workflow>().generation).toBe(2);
      expectProblem(
        await api.update(u, wf.id, withPayload(wf, { name: 'v3' }), { 'idempotency-key': 'put-1' }),
        409,
        'CV_IDEMPOTENCY_MISMATCH',
      );
      expect((await api.get(u, wf.id)).json<Workflow>().name).toBe('v2');

      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          api.update(u, wf.id, withPayload(wf, { name: 'v4' }), { 'idempotency-key': 'put-race' }),
        ),
      );
      for (const r of results) expect(r.statusCode, r.body).toBe(200);
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
      // Replays come from the stored JSON (key order may differ): compare values.
      for (const r of results) expect(r.json()).toEqual(results[0]!.json());
      const now = (await api.get(u, wf.id)).json<Workflow>();
      expect(now).toMatchObject({ name: 'v4', generation: 3 });
      expect((await outboxOf(wf.id)).map((r) => r.event_type)).toEqual(['BUILD', 'BUILD', 'BUILD']);

      // The same key on another workflow, and on create, is a different operation.
      const other = await createOk(u, heartbeat());
      const o = await api.update(u, other.id, withPayload(other, { name: 'v2' }), {
        'idempotency-key': 'put-1',
      });
      expect(o.statusCode).toBe(200);
      expect(o.headers['idempotent-replayed']).toBeUndefined();
      expect(o.json<Workflow>().id).toBe(other.id);
      const c = await api.create(u, heartbeat({ name: 'create with put key' }), {
        'idempotency-key': 'put-1',
      });
      expect(c.statusCode).toBe(201);
      expect(c.headers['idempotent-replayed']).toBeUndefined();
    });

    it('a failed request does not consume its key', async () => {
      const u = await registerUser(gw);
      const wf = await createOk(u, heartbeat());
      expectFieldError(
        await api.update(u, wf.id, withPayload(wf, { name: '' }), { 'idempotency-key': 'retry-me' }),
        'name',
      );
      const ok = await api.update(u, wf.id, withPayload(wf, { name: 'fixed' }), {
        'idempotency-key': 'retry-me',
      });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.headers['idempotent-replayed']).toBeUndefined();
    });

    it('key shape: 255 visible ASCII characters are fine; 300 characters, a space or non-ASCII are 400', async () => {
      const u = await registerUser(gw);
      expect((await api.create(u, heartbeat(), { 'idempotency-key': 'k'.repeat(255) })).statusCode).toBe(201);
      expectFieldError(
        await api.create(u, heartbeat(), { 'idempotency-key': 'k'.repeat(300) }),
        'Idempotency-Key',
      );
      expectFieldError(await api.create(u, heartbeat(), { 'idempotency-key': 'a b' }), 'Idempotency-Key');
      const wf = await createOk(u, heartbeat());
      expectFieldError(
        await api.update(u, wf.id, withPayload(wf, { name: 'x' }), { 'idempotency-key': 'k'.repeat(300) }),
        'Idempotency-Key',
      );
      expect(await workflowRowsOf(u.user.id)).toHaveLength(2);
    });

    describe('TTL (TestClock, CHRONOVERSE_IDEMPOTENCY_TTL=1m)', () => {
      let g: TestGateway;
      let clock: TestClock;
      beforeAll(async () => {
        clock = new TestClock(Date.parse('2025-03-01T10:00:00.000Z'));
        g = await createTestGateway(engine, { clock, env: { CHRONOVERSE_IDEMPOTENCY_TTL: '1m' } });
      });
      afterAll(() => g.close());

      const post = (u: User, body: unknown, key: string) =>
        g.app.inject({
          method: 'POST',
          url: API,
          headers: { ...u.headers, 'idempotency-key': key },
          payload: body as object,
        });

      it('a key can be reused with a different body once it has expired', async () => {
        const u = await registerUser(g);
        const a = await post(u, heartbeat({ name: 'A' }), 'ttl');
        expect(a.statusCode).toBe(201);
        clock.advance(30_000);
        const replay = await post(u, heartbeat({ name: 'A' }), 'ttl');
        expect(replay.headers['idempotent-replayed']).toBe('true');
        expect(replay.json<Workflow>().id).toBe(a.json<Workflow>().id);
        expectProblem(await post(u, heartbeat({ name: 'B' }), 'ttl'), 409, 'CV_IDEMPOTENCY_MISMATCH');

        clock.advance(2 * MINUTE);
        const b = await post(u, heartbeat({ name: 'B' }), 'ttl');
        expect(b.statusCode, b.body).toBe(201);
        expect(b.headers['idempotent-replayed']).toBeUndefined();
        expect(b.json<Workflow>()).toMatchObject({ name: 'B' });
        expect(b.json<Workflow>().id).not.toBe(a.json<Workflow>().id);
        // The new entry is now the one replayed.
        const bReplay = await post(u, heartbeat({ name: 'B' }), 'ttl');
        expect(bReplay.headers['idempotent-replayed']).toBe('true');
        expect(bReplay.json<Workflow>().id).toBe(b.json<Workflow>().id);
      });

      // Regression: create validated against the clock before looking up the key.
      it('replays a once-schedule create even after its run_at has passed (within the TTL)', async () => {
        const u = await registerUser(g);
        const body = heartbeat({
          interval: undefined,
          schedule: { type: 'once', run_at: new Date(clock.now().getTime() + 20_000).toISOString() },
        });
        const first = await post(u, body, 'once-replay');
        expect(first.statusCode).toBe(201);
        clock.advance(30_000);
        const replay = await post(u, body, 'once-replay');
        expect(replay.statusCode, replay.body).toBe(201);
        expect(replay.json<Workflow>().id).toBe(first.json<Workflow>().id);
      });
    });
  });

  // ─── body handling ───────────────────────────────────────────────────────────────────
  describe('request bodies', () => {
    let u: User;
    beforeAll(async () => {
      u = await registerUser(gw);
    });

    it('a body over 1 MiB is 413 problem+json (create and update)', async () => {
      const big = JSON.stringify(heartbeat({ name: 'x'.repeat(1_100_000) }));
      const res = await gw.app.inject({
        method: 'POST',
        url: API,
        headers: { ...u.headers, 'content-type': 'application/json' },
        payload: big,
      });
      expectProblem(res, 413, 'CV_BODY_TOO_LARGE');
      const wf = await createOk(u, heartbeat());
      const put = await gw.app.inject({
        method: 'PUT',
        url: `${API}/${wf.id}`,
        headers: { ...u.headers, 'content-type': 'application/json' },
        payload: big,
      });
      expectProblem(put, 413, 'CV_BODY_TOO_LARGE');
      // Just under the limit is read and validated (the name is then too long: 400, not 413).
      const under = JSON.stringify(heartbeat({ name: 'x'.repeat(1_000_000) }));
      expectFieldError(
        await gw.app.inject({
          method: 'POST',
          url: API,
          headers: { ...u.headers, 'content-type': 'application/json' },
          payload: under,
        }),
        'name',
      );
    });

    it.each([
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
    ])('content type %s is 415', async (contentType) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: API,
        headers: { ...u.headers, 'content-type': contentType },
        payload: 'name=x',
      });
      expectProblem(res, 415, 'CV_UNSUPPORTED_MEDIA_TYPE');
    });

    it('application/json with a charset parameter is accepted', async () => {
      const res = await gw.app.inject({
        method: 'POST',
        url: API,
        headers: { ...u.headers, 'content-type': 'application/json; charset=utf-8' },
        payload: JSON.stringify(heartbeat()),
      });
      expect(res.statusCode, res.body).toBe(201);
    });

    it.each(['{"name": ', '{name: "x"}', "{'a':1}", '[1,', 'nul', '{"a":1}}', '\u0000'])(
      'invalid JSON %j is 400',
      async (text) => {
        const res = await gw.app.inject({
          method: 'POST',
          url: API,
          headers: { ...u.headers, 'content-type': 'application/json' },
          payload: text,
        });
        expectProblem(res, 400, 'CV_MALFORMED_REQUEST');
      },
    );

    it.each(['{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}'])(
      'prototype-poisoning JSON %s is rejected with 400',
      async (text) => {
        const res = await gw.app.inject({
          method: 'POST',
          url: API,
          headers: { ...u.headers, 'content-type': 'application/json' },
          payload: text,
        });
        expectProblem(res, 400);
        expect(({} as Record<string, unknown>).admin).toBeUndefined();
      },
    );

    it('no body / empty body / JSON null / non-object JSON is 400 on the whole body', async () => {
      expectFieldError(await gw.app.inject({ method: 'POST', url: API, headers: u.headers }), '');
      for (const text of ['', 'null', '[]', '42', '"x"', 'true']) {
        const res = await gw.app.inject({
          method: 'POST',
          url: API,
          headers: { ...u.headers, 'content-type': 'application/json' },
          payload: text,
        });
        expectFieldError(res, '');
      }
    });
  });
});

/**
 * Job logs API (api.md "Logs") end to end, on PGlite and on PostgreSQL: the real gateway and the
 * real engine (relay, workflow worker, scheduler, executor) share one database, one event map and
 * one live-log fan-out, as in one process, and CONTAINER jobs run on the test podman. Covers
 * pages in both orders, stream filter, search with highlights, raw downloads in every format,
 * Server-Sent Events (replay, resume, live following of a running job), and the 400/404/412
 * answers. SSE is read over a real socket with fetch (inject cannot stream).
 */
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import type { LiveLogListener } from '../../src/platform/live-logs.ts';
import { createEngine, TEST_CONTAINER_POLICY, type Engine } from '../helpers/engine.ts';
import {
  createTestDatabase,
  createTestGateway,
  ENGINES,
  registerUser,
  type TestGateway,
} from '../helpers/harness.ts';
import { waitFor, snapshotOf } from '../helpers/fixtures.ts';
import { sseEvents, type SseEvent } from '../helpers/sse.ts';

const API = '/api/v1/workflows';
const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type User = Awaited<ReturnType<typeof registerUser>>;

interface LogLine {
  sequence_num: number;
  stream: 'stdout' | 'stderr';
  timestamp: string;
  message: string;
}
interface SearchHit extends LogLine {
  highlights: [number, number][];
}
interface Page<T> {
  logs: T[];
  cursor: string | null;
}
interface Job {
  id: string;
  workflow_id: string;
  status: string;
  attempts: number;
}

/**
 * 300 lines, stdout and stderr interleaved: `out-<i>` (every tenth with "Needle and nEEdle") and
 * `err-<i>` (err-77 with a literal "100%_done", for LIKE escaping).
 */
const SCRIPT_300 = [
  'for i in $(seq 1 150); do',
  '  if [ $((i % 10)) -eq 0 ]; then echo "out-$i Needle and nEEdle"; else echo "out-$i"; fi',
  '  if [ $i -eq 77 ]; then echo "err-77 progress 100%_done" >&2; else echo "err-$i" >&2; fi',
  'done',
].join('\n');

const SCRIPT_RUNNING = 'for i in $(seq 1 50); do echo line-$i; sleep 0.05; done';

function expectedMessages(): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  for (let i = 1; i <= 150; i++) {
    out.push(i % 10 === 0 ? `out-${i} Needle and nEEdle` : `out-${i}`);
    err.push(i === 77 ? 'err-77 progress 100%_done' : `err-${i}`);
  }
  return { out, err };
}

function expectProblem(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<{ status: number; code: string; detail: string; errors?: { path: string }[] }>();
  expect(problem.status).toBe(status);
  if (code) expect(problem.code).toBe(code);
  return problem;
}

function expectFieldError(res: LightMyRequestResponse, path: string) {
  const problem = expectProblem(res, 400, 'CV_VALIDATION');
  expect(problem.errors?.map((e) => e.path)).toContain(path);
}

describe.each(ENGINES)('job logs API (%s)', (engineName) => {
  let database: Database;
  let engine: Engine;
  let gw: TestGateway;
  let runtime: DockerContainerRuntime;
  let baseUrl: string;
  let alice: User;
  let bob: User;
  let wfId: string;
  let jobId: string;
  /** The 300 lines of the finished job, oldest first, as the read API returns them. */
  let all: LogLine[];
  /** Live subscriptions currently open (the gateway's SSE streams). */
  let liveFollowers = 0;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    runtime = new DockerContainerRuntime({ dockerHost: inject('dockerHost'), stopGraceMs: 500 });
    engine = createEngine(database, { containers: runtime });
    const subscribe = engine.live.subscribe.bind(engine.live);
    engine.live.subscribe = (id: string, listener: LiveLogListener) => {
      liveFollowers += 1;
      const unsubscribe = subscribe(id, listener);
      return () => {
        liveFollowers -= 1;
        unsubscribe();
      };
    };
    gw = await createTestGateway(engineName, {
      database,
      events: engine.events,
      live: engine.live,
      // The test image is localhost/…: a registry the administrator must list.
      env: { CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: TEST_CONTAINER_POLICY.allowedRegistries.join(',') },
    });
    engine.start();
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
    alice = await registerUser(gw);
    bob = await registerUser(gw);
    wfId = await containerWorkflow(alice, SCRIPT_300);
    jobId = await runJob(alice, wfId);
    expect((await finalJob(alice, wfId, jobId)).status).toBe('COMPLETED');
    all = await readAll(alice, wfId, jobId, 'asc', 1000);
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await gw?.close();
    await database?.close();
    expect(await runtime.removeContainers()).toBe(0);
  });

  const jobUrl = (w: string, j: string) => `${API}/${w}/jobs/${j}`;
  const get = (u: User | null, url: string, headers: Record<string, string> = {}) =>
    gw.app.inject({ method: 'GET', url, headers: { ...(u?.headers ?? {}), ...headers } });

  async function containerWorkflow(u: User, script: string, extra: Record<string, unknown> = {}) {
    const res = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: {
        name: 'logs job',
        kind: 'CONTAINER',
        payload: { image: inject('testImage'), cmd: ['sh', '-c', script], timeout: '60s' },
        interval: 600,
        ...extra,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    // The engine's workflow worker builds it from the BUILD outbox event (the image is local).
    const built = await waitFor(async () => {
      const wf = (await get(u, `${API}/${id}`)).json<{ build_status: string; build_error: string | null }>();
      return wf.build_status === 'COMPLETED' || wf.build_status === 'FAILED' ? wf : null;
    }, 60_000);
    expect(built).toMatchObject({ build_status: 'COMPLETED' });
    return id;
  }

  async function runJob(u: User, w: string): Promise<string> {
    const res = await gw.app.inject({ method: 'POST', url: `${API}/${w}/jobs/schedule`, headers: u.headers });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Job>().id;
  }

  async function finalJob(u: User, w: string, j: string): Promise<Job> {
    return waitFor(async () => {
      const job = (await get(u, jobUrl(w, j))).json<Job>();
      return ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status) ? job : null;
    }, 60_000);
  }

  async function readAll(
    u: User,
    w: string,
    j: string,
    order: 'asc' | 'desc',
    limit: number,
    extra = '',
  ): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(
        u,
        `${jobUrl(w, j)}/logs?order=${order}&limit=${limit}${extra}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<Page<LogLine>>();
      expect(page.logs.length).toBeLessThanOrEqual(limit);
      if (page.cursor !== null) expect(page.logs.length).toBe(limit);
      lines.push(...page.logs);
      cursor = page.cursor;
      pages += 1;
      expect(pages).toBeLessThan(1000);
    } while (cursor !== null);
    return lines;
  }

  /** Opens an SSE stream and reads it to the server's end (or `stopAfter` returns true). */
  async function follow(
    u: User,
    w: string,
    j: string,
    options: {
      headers?: Record<string, string>;
      query?: string;
      stopAfter?: (e: SseEvent[]) => boolean;
    } = {},
  ): Promise<{ status: number; headers: Headers; events: SseEvent[]; closedByServer: boolean }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 60_000);
    try {
      const res = await fetch(`${baseUrl}${jobUrl(w, j)}/events${options.query ?? ''}`, {
        headers: { ...u.headers, accept: 'text/event-stream', ...options.headers },
        signal: controller.signal,
      });
      const events: SseEvent[] = [];
      if (res.status !== 200 || !res.body) {
        await res.text();
        return { status: res.status, headers: res.headers, events, closedByServer: true };
      }
      let closedByServer = true;
      for await (const event of sseEvents(res.body)) {
        events.push(event);
        if (options.stopAfter?.(events)) {
          closedByServer = false;
          break; // cancels the body: the client goes away
        }
      }
      return { status: res.status, headers: res.headers, events, closedByServer };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Inserts a finished job of `wf` with `n` stored lines, straight into the database. */
  async function syntheticJob(user: User, w: string, n: number): Promise<string> {
    const id = newId();
    const now = new Date();
    await database.db
      .insertInto('jobs')
      .values({
        id,
        workflow_id: w,
        user_id: user.user.id,
        workflow_generation: 1,
        ...snapshotOf(w),
        trigger: 'MANUAL',
        status: 'COMPLETED',
        scheduled_at: now,
        started_at: now,
        completed_at: now,
        attempts: 1,
        log_lines: n,
        next_sequence_num: n,
      })
      .execute();
    await sql`
      INSERT INTO job_logs (job_id, workflow_id, sequence_num, attempt, stream, "timestamp", message)
      SELECT ${id}, ${w}, g, 1, CASE WHEN g % 3 = 0 THEN 'stderr' ELSE 'stdout' END, now(), 'synthetic ' || g
      FROM generate_series(0, ${n - 1}) AS g`.execute(database.db);
    return id;
  }

  describe('read', () => {
    it('returns every line once, oldest first with order=asc: contiguous sequence, per-stream order kept', () => {
      expect(all).toHaveLength(300);
      all.forEach((line, i) => {
        expect(Object.keys(line).sort()).toEqual(['message', 'sequence_num', 'stream', 'timestamp']);
        expect(line.timestamp).toMatch(RFC3339_MS_UTC);
        if (i > 0) expect(line.sequence_num).toBe(all[i - 1]!.sequence_num + 1);
      });
      const { out, err } = expectedMessages();
      expect(all.filter((l) => l.stream === 'stdout').map((l) => l.message)).toEqual(out);
      expect(all.filter((l) => l.stream === 'stderr').map((l) => l.message)).toEqual(err);
    });

    it('pages newest first by default (100 per page), with cursors that neither repeat nor skip', async () => {
      const first = (await get(alice, `${jobUrl(wfId, jobId)}/logs`)).json<Page<LogLine>>();
      expect(first.logs).toHaveLength(100);
      expect(first.logs[0]).toEqual(all.at(-1));
      expect(first.cursor).toEqual(expect.any(String));
      const desc = await readAll(alice, wfId, jobId, 'desc', 100);
      expect(desc).toEqual([...all].reverse());
      const odd = await readAll(alice, wfId, jobId, 'desc', 37);
      expect(odd).toEqual([...all].reverse());
      for (let i = 1; i < odd.length; i++)
        expect(odd[i]!.sequence_num).toBeLessThan(odd[i - 1]!.sequence_num);
      expect(await readAll(alice, wfId, jobId, 'asc', 37)).toEqual(all);
      expect(await readAll(alice, wfId, jobId, 'asc', 300)).toEqual(all);
    });

    it('filters one stream, in both orders', async () => {
      const stderr = await readAll(alice, wfId, jobId, 'asc', 40, '&stream=stderr');
      expect(stderr).toEqual(all.filter((l) => l.stream === 'stderr'));
      expect(stderr).toHaveLength(150);
      const stdout = await readAll(alice, wfId, jobId, 'desc', 33, '&stream=stdout');
      expect(stdout).toEqual(all.filter((l) => l.stream === 'stdout').reverse());
    });

    it('refuses a cursor from the other order, or one it did not make (400 on cursor)', async () => {
      const page = (await get(alice, `${jobUrl(wfId, jobId)}/logs?limit=10`)).json<Page<LogLine>>();
      expectFieldError(
        await get(alice, `${jobUrl(wfId, jobId)}/logs?order=asc&cursor=${page.cursor}`),
        'cursor',
      );
      for (const bad of ['garbage', Buffer.from('{"s":-1,"o":"d"}').toString('base64url'), 'eyJ9']) {
        expectFieldError(await get(alice, `${jobUrl(wfId, jobId)}/logs?cursor=${bad}`), 'cursor');
      }
    });
  });

  describe('search', () => {
    it('finds lines case-insensitively, oldest first, with highlight ranges into the message', async () => {
      const hits: SearchHit[] = [];
      let cursor: string | null = null;
      do {
        const res = await get(
          alice,
          `${jobUrl(wfId, jobId)}/logs/search?q=needle&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<Page<SearchHit>>();
        hits.push(...page.logs);
        cursor = page.cursor;
      } while (cursor);
      const expected = all.filter((l) => l.message.toLowerCase().includes('needle'));
      expect(hits).toHaveLength(15);
      expect(hits.map(({ highlights: _h, ...line }) => line)).toEqual(expected);
      for (const hit of hits) {
        const lower = hit.message.toLowerCase();
        const first = lower.indexOf('needle');
        const second = lower.indexOf('needle', first + 1);
        expect(hit.highlights).toEqual([
          [first, first + 6],
          [second, second + 6],
        ]);
        for (const [start, end] of hit.highlights) {
          expect(hit.message.slice(start, end).toLowerCase()).toBe('needle');
        }
      }
    });

    it('matches % and _ literally, filters by stream, and is case-insensitive both ways', async () => {
      const pct = (await get(alice, `${jobUrl(wfId, jobId)}/logs/search?q=${encodeURIComponent('%_')}`)).json<
        Page<SearchHit>
      >();
      expect(pct.logs.map((l) => l.message)).toEqual(['err-77 progress 100%_done']);
      const at = 'err-77 progress 100%_done'.indexOf('%_');
      expect(pct.logs[0]!.highlights).toEqual([[at, at + 2]]);
      const upper = (await get(alice, `${jobUrl(wfId, jobId)}/logs/search?q=ERR-15`)).json<Page<SearchHit>>();
      expect(upper.logs.map((l) => l.message)).toEqual(['err-15', 'err-150']);
      expect(upper.logs.map((l) => l.highlights)).toEqual([[[0, 6]], [[0, 6]]]);
      const none = (await get(alice, `${jobUrl(wfId, jobId)}/logs/search?q=needle&stream=stderr`)).json<
        Page<SearchHit>
      >();
      expect(none).toEqual({ logs: [], cursor: null });
    });
  });

  describe('raw', () => {
    const raw = (w: string, j: string, query: string) => get(alice, `${jobUrl(w, j)}/logs/raw?${query}`);

    it('downloads txt, jsonl and json, oldest first, as attachments matching the read API', async () => {
      const txt = await raw(wfId, jobId, 'format=txt');
      expect(txt.statusCode).toBe(200);
      expect(txt.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(txt.headers['content-disposition']).toBe(`attachment; filename="${jobId}-logs.txt"`);
      expect(txt.headers['cache-control']).toBe('no-store');
      expect(txt.body).toBe(all.map((l) => `${l.message}\n`).join(''));
      expect((await raw(wfId, jobId, '')).body).toBe(txt.body); // txt is the default

      const jsonl = await raw(wfId, jobId, 'format=jsonl');
      expect(jsonl.statusCode).toBe(200);
      expect(jsonl.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(jsonl.headers['content-disposition']).toBe(`attachment; filename="${jobId}-logs.jsonl"`);
      expect(jsonl.body.endsWith('\n')).toBe(true);
      expect(
        jsonl.body
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ).toEqual(all);

      const json = await raw(wfId, jobId, 'format=json');
      expect(json.statusCode).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(json.headers['content-disposition']).toBe(`attachment; filename="${jobId}-logs.json"`);
      expect(json.json()).toEqual({ job_id: jobId, workflow_id: wfId, logs: all });
    });

    it('applies the stream and q filters', async () => {
      const res = await raw(wfId, jobId, 'format=jsonl&stream=stderr&q=ERR-1');
      const lines = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as LogLine);
      expect(lines).toEqual(all.filter((l) => l.stream === 'stderr' && l.message.startsWith('err-1')));
      expect((await raw(wfId, jobId, 'format=json&q=no-such-text')).json()).toEqual({
        job_id: jobId,
        workflow_id: wfId,
        logs: [],
      });
      expect((await raw(wfId, jobId, 'format=txt&q=no-such-text')).body).toBe('');
    });

    it('streams more than one page (1000 lines) in order', async () => {
      const big = await syntheticJob(alice, wfId, 2500);
      const txt = (await raw(wfId, big, 'format=txt')).body.split('\n');
      expect(txt.pop()).toBe('');
      expect(txt).toEqual(Array.from({ length: 2500 }, (_, i) => `synthetic ${i}`));
      const json = (await raw(wfId, big, 'format=json')).json<{ logs: LogLine[] }>();
      expect(json.logs.map((l) => l.sequence_num)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
      const stderr = (await raw(wfId, big, 'format=jsonl&stream=stderr')).body.trimEnd().split('\n');
      expect(stderr).toHaveLength(834);
    });
  });

  describe('access and validation', () => {
    const paths = (w: string, j: string) => [
      `${jobUrl(w, j)}/logs`,
      `${jobUrl(w, j)}/logs/search?q=x`,
      `${jobUrl(w, j)}/logs/raw?format=json`,
      `${jobUrl(w, j)}/events`,
    ];

    it('answers 412 on every log read when the workflow keeps no logs', async () => {
      const quiet = await containerWorkflow(alice, 'echo hi', { log_retention: false });
      const wf = (await get(alice, `${API}/${quiet}`)).json<{ log_retention: boolean }>();
      expect(wf.log_retention).toBe(false);
      const job = await runJob(alice, quiet);
      for (const path of paths(quiet, job)) {
        const problem = expectProblem(await get(alice, path), 412, 'CV_PRECONDITION_FAILED');
        expect(problem.detail).toBe('log retention is off for this workflow');
      }
      await finalJob(alice, quiet, job);
    });

    it("answers 404 for another user's job, an unknown job, and a job under the wrong workflow", async () => {
      const other = await syntheticJob(alice, wfId, 1);
      const otherWf = await containerWorkflow(alice, 'true');
      for (const path of [
        ...paths(wfId, jobId).map((p) => ({ u: bob, p })),
        ...paths(wfId, newId()).map((p) => ({ u: alice, p })),
        ...paths(otherWf, other).map((p) => ({ u: alice, p })),
      ]) {
        const problem = expectProblem(await get(path.u, path.p), 404, 'CV_NOT_FOUND');
        expect(problem.detail).toBe('Job not found.');
      }
    });

    it('answers 401 without credentials', async () => {
      for (const path of paths(wfId, jobId)) expectProblem(await get(null, path), 401, 'CV_UNAUTHENTICATED');
    });

    it('answers 400 naming the field for bad parameters', async () => {
      const base = jobUrl(wfId, jobId);
      const cases: [string, string][] = [
        [`${base}/logs?limit=0`, 'limit'],
        [`${base}/logs?limit=1001`, 'limit'],
        [`${base}/logs?limit=ten`, 'limit'],
        [`${base}/logs?order=sideways`, 'order'],
        [`${base}/logs?stream=both`, 'stream'],
        [`${base}/logs?cursor=${'x'.repeat(600)}`, 'cursor'],
        [`${base}/logs/search`, 'q'],
        [`${base}/logs/search?q=`, 'q'],
        [`${base}/logs/search?q=${'a'.repeat(201)}`, 'q'],
        [`${base}/logs/search?q=%00`, 'q'],
        [`${base}/logs/search?q=x&limit=5000`, 'limit'],
        [`${base}/logs/search?q=x&cursor=nope`, 'cursor'],
        [`${base}/logs/raw?format=xml`, 'format'],
        [`${base}/logs/raw?q=`, 'q'],
        [`${base}/logs/raw?stream=stdin`, 'stream'],
        [`${base}/events?last_event_id=abc`, 'last_event_id'],
        [`${base}/events?last_event_id=-1`, 'last_event_id'],
        [`${API}/${wfId}/jobs/not-a-uuid/logs`, 'job_id'],
        [`${API}/not-a-uuid/jobs/${jobId}/events`, 'id'],
      ];
      for (const [url, field] of cases) expectFieldError(await get(alice, url), field);
      expectFieldError(await get(alice, `${base}/events`, { 'last-event-id': 'x' }), 'last-event-id');
      // 200 at the bounds.
      expect((await get(alice, `${base}/logs?limit=1000`)).statusCode).toBe(200);
      expect((await get(alice, `${base}/logs/search?q=${'a'.repeat(200)}`)).statusCode).toBe(200);
    });

    it('documents the routes and the LogLine schema in OpenAPI', async () => {
      const doc = (await get(null, '/api/v1/openapi.json')).json<{
        paths: Record<string, unknown>;
        components: { schemas: Record<string, unknown> };
      }>();
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/workflows/{id}/jobs/{job_id}/logs',
          '/api/v1/workflows/{id}/jobs/{job_id}/logs/search',
          '/api/v1/workflows/{id}/jobs/{job_id}/logs/raw',
          '/api/v1/workflows/{id}/jobs/{job_id}/events',
        ]),
      );
      expect(Object.keys(doc.components.schemas)).toEqual(
        expect.arrayContaining(['LogLine', 'LogSearchHit']),
      );
    });
  });

  describe("a DAG run's task instances (?task=)", () => {
    let dagId: string;
    let runId: string;

    beforeAll(async () => {
      const image = inject('testImage');
      const res = await gw.app.inject({
        method: 'POST',
        url: API,
        headers: alice.headers,
        payload: {
          name: 'logs dag',
          kind: 'DAG',
          interval: 600,
          payload: {
            tasks: [
              {
                name: 'build',
                kind: 'CONTAINER',
                payload: { image, cmd: ['sh', '-c', 'echo built; echo twice'] },
              },
              {
                name: 'test',
                kind: 'CONTAINER',
                depends_on: ['build'],
                for_each: ['unit', 'e2e'],
                payload: { image, cmd: ['sh', '-c', 'echo "testing {{item}}" >&2'] },
              },
            ],
          },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      dagId = res.json<{ id: string }>().id;
      await waitFor(async () => {
        const wf = (await get(alice, `${API}/${dagId}`)).json<{ build_status: string }>();
        return wf.build_status === 'COMPLETED' ? wf : null;
      }, 60_000);
      runId = await runJob(alice, dagId);
      expect((await finalJob(alice, dagId, runId)).status).toBe('COMPLETED');
    }, 120_000);

    const messages = (res: LightMyRequestResponse) => res.json<Page<LogLine>>().logs.map((l) => l.message);

    it('reads, searches, downloads and follows one task instance, by name or name[i]', async () => {
      const base = `${jobUrl(dagId, runId)}`;
      expect(messages(await get(alice, `${base}/logs?task=build&order=asc`))).toEqual(['built', 'twice']);
      expect(messages(await get(alice, `${base}/logs?task=${encodeURIComponent('test[1]')}`))).toEqual([
        'testing e2e',
      ]);
      const hits = (await get(alice, `${base}/logs/search?task=build&q=TWI`)).json<Page<SearchHit>>();
      expect(hits.logs.map((l) => [l.message, l.highlights])).toEqual([['twice', [[0, 3]]]]);
      const raw = await get(alice, `${base}/logs/raw?task=${encodeURIComponent('test[0]')}&format=jsonl`);
      expect(raw.statusCode).toBe(200);
      expect(
        raw.body
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as LogLine),
      ).toMatchObject([{ stream: 'stderr', message: 'testing unit' }]);
      const followed = await follow(alice, dagId, runId, { query: '?task=build' });
      expect(followed.status).toBe(200);
      expect(
        followed.events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as LogLine).message),
      ).toEqual(['built', 'twice']);
      const end = followed.events.at(-1)!;
      expect(end.event).toBe('end');
      // The stream is the task instance's own job, not the run's.
      expect((JSON.parse(end.data) as Job).id).not.toBe(runId);
      // The run itself has no lines of its own.
      expect(messages(await get(alice, `${base}/logs`))).toEqual([]);
    });

    it('answers 400 on task for a bad name, a fan-out without its item, or a job that is not a DAG run; 404 for a missing one', async () => {
      const base = `${jobUrl(dagId, runId)}`;
      for (const path of ['logs', 'logs/search?q=x', 'logs/raw', 'events']) {
        const join = path.includes('?') ? '&' : '?';
        expectFieldError(await get(alice, `${base}/${path}${join}task=Build!`), 'task');
        const ambiguous = expectProblem(
          await get(alice, `${base}/${path}${join}task=test`),
          400,
          'CV_VALIDATION',
        );
        expect(JSON.stringify(ambiguous)).toContain('has 2 fan-out items: name one, e.g. test[0]');
        expectFieldError(await get(alice, `${jobUrl(wfId, jobId)}/${path}${join}task=build`), 'task');
        const missing = expectProblem(
          await get(alice, `${base}/${path}${join}task=deploy`),
          404,
          'CV_NOT_FOUND',
        );
        expect(missing.detail).toBe('Task "deploy" of this run not found.');
        const item = `${base}/${path}${join}task=${encodeURIComponent('test[2]')}`;
        expectProblem(await get(alice, item), 404, 'CV_NOT_FOUND');
        // Another user's run is not found, whatever the task.
        const foreign = expectProblem(
          await get(bob, `${base}/${path}${join}task=build`),
          404,
          'CV_NOT_FOUND',
        );
        expect(foreign.detail).toBe('Job not found.');
      }
    });
  });

  describe('Server-Sent Events', () => {
    const logsOf = (events: SseEvent[]) => events.filter((e) => e.event === 'log');

    it('replays every line of a finished job, then end, and closes the stream', async () => {
      const { status, headers, events, closedByServer } = await follow(alice, wfId, jobId);
      expect(status).toBe(200);
      expect(headers.get('content-type')).toBe('text/event-stream');
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('x-accel-buffering')).toBe('no');
      expect(closedByServer).toBe(true);
      expect(events[0]!.event).toBe('status');
      expect(JSON.parse(events[0]!.data)).toMatchObject({ id: jobId, status: 'COMPLETED' });
      const logs = logsOf(events);
      expect(logs.map((e) => JSON.parse(e.data) as unknown)).toEqual(all);
      expect(logs.map((e) => Number(e.id))).toEqual(all.map((l) => l.sequence_num));
      expect(events.at(-1)!.event).toBe('end');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ id: jobId, status: 'COMPLETED' });
      expect(events.map((e) => e.event)).toEqual(['status', ...all.map(() => 'log'), 'end']);
      await waitFor(async () => liveFollowers === 0, 5_000);
    });

    it('resumes after Last-Event-ID (header, else ?last_event_id=) with exactly the remaining lines', async () => {
      const middle = all[149]!.sequence_num;
      const byHeader = await follow(alice, wfId, jobId, { headers: { 'last-event-id': String(middle) } });
      expect(logsOf(byHeader.events).map((e) => JSON.parse(e.data) as unknown)).toEqual(all.slice(150));
      expect(byHeader.events.at(-1)!.event).toBe('end');

      const byQuery = await follow(alice, wfId, jobId, { query: `?last_event_id=${middle}` });
      expect(logsOf(byQuery.events).map((e) => JSON.parse(e.data) as unknown)).toEqual(all.slice(150));

      const both = await follow(alice, wfId, jobId, {
        headers: { 'last-event-id': String(all[250]!.sequence_num) },
        query: '?last_event_id=10',
      });
      expect(logsOf(both.events).map((e) => JSON.parse(e.data) as unknown)).toEqual(all.slice(251));

      const atEnd = await follow(alice, wfId, jobId, {
        headers: { 'last-event-id': String(all.at(-1)!.sequence_num) },
      });
      expect(atEnd.events.map((e) => e.event)).toEqual(['status', 'end']);
    });

    it('replays more than one page (1000 lines) in order', async () => {
      const big = await syntheticJob(alice, wfId, 2500);
      const { events } = await follow(alice, wfId, big);
      expect(logsOf(events).map((e) => Number(e.id))).toEqual(Array.from({ length: 2500 }, (_, i) => i));
      expect(events.at(-1)!.event).toBe('end');
    });

    it('follows a running job joined mid-run: every line exactly once (replay + live), status changes, then end', async () => {
      const running = await containerWorkflow(alice, SCRIPT_RUNNING);
      const job = await runJob(alice, running);
      // Join once the job runs and has stored a few lines, well before it ends (~2.5 s).
      await waitFor(async () => {
        const page = (await get(alice, `${jobUrl(running, job)}/logs?limit=1`)).json<Page<LogLine>>();
        return (page.logs[0]?.sequence_num ?? -1) >= 4;
      }, 30_000);
      const { events, closedByServer } = await follow(alice, running, job);
      expect(closedByServer).toBe(true);
      const statuses = events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as Job);
      expect(statuses[0]!.status).toBe('RUNNING');
      expect(statuses.at(-1)!.status).toBe('COMPLETED');
      const lines = logsOf(events).map((e) => JSON.parse(e.data) as LogLine);
      expect(lines.map((l) => l.message)).toEqual(Array.from({ length: 50 }, (_, i) => `line-${i + 1}`));
      expect(lines.map((l) => l.sequence_num)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(logsOf(events).map((e) => Number(e.id))).toEqual(lines.map((l) => l.sequence_num));
      expect(events[0]!.event).toBe('status');
      expect(events.at(-1)!.event).toBe('end');
      expect(events.at(-2)!.event).toBe('status');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ id: job, status: 'COMPLETED' });
      // The stream matches what was stored.
      expect(lines).toEqual(await readAll(alice, running, job, 'asc', 1000));
      await waitFor(async () => liveFollowers === 0, 5_000);
    });

    it('a job canceled while followed: lines printed while it stops still arrive before end', async () => {
      // On SIGTERM the container prints a last line: stored after the CANCELED status commits.
      const script =
        'trap "echo stopping; exit 0" TERM; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done';
      const wf = await containerWorkflow(alice, script);
      const job = await runJob(alice, wf);
      await waitFor(async () => {
        const page = (await get(alice, `${jobUrl(wf, job)}/logs?limit=1`)).json<Page<LogLine>>();
        return (page.logs[0]?.sequence_num ?? -1) >= 2;
      }, 30_000);
      const following = follow(alice, wf, job);
      await waitFor(async () => liveFollowers > 0, 5_000);
      const cancel = await gw.app.inject({
        method: 'POST',
        url: `${jobUrl(wf, job)}/cancel`,
        headers: alice.headers,
      });
      expect(cancel.statusCode).toBe(200);
      const { events, closedByServer } = await following;
      expect(closedByServer).toBe(true);
      const messages = logsOf(events).map((e) => (JSON.parse(e.data) as LogLine).message);
      expect(messages.at(-1)).toBe('stopping');
      expect(events.at(-1)!.event).toBe('end');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ id: job, status: 'CANCELED' });
      expect(logsOf(events).map((e) => (JSON.parse(e.data) as LogLine).message)).toEqual(
        (await readAll(alice, wf, job, 'asc', 1000)).map((l) => l.message),
      );
    });

    it('stops following (no live subscription left) when the client goes away', async () => {
      const running = await containerWorkflow(alice, SCRIPT_RUNNING);
      const job = await runJob(alice, running);
      const { events, closedByServer } = await follow(alice, running, job, {
        stopAfter: (seen) => seen.some((e) => e.event === 'log'),
      });
      expect(closedByServer).toBe(false);
      expect(events[0]!.event).toBe('status');
      await waitFor(async () => liveFollowers === 0, 5_000);
      expect((await finalJob(alice, running, job)).status).toBe('COMPLETED');
    });

    it('closing the gateway ends open streams instead of waiting for their jobs', async () => {
      const second = await createTestGateway(engineName, {
        database,
        events: engine.events,
        live: engine.live,
      });
      await second.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(second.app.server.address() as AddressInfo).port}`;
      const running = await containerWorkflow(alice, 'sleep 20');
      const job = await runJob(alice, running);
      const res = await fetch(`${url}${jobUrl(running, job)}/events`, { headers: alice.headers });
      expect(res.status).toBe(200);
      const reading = (async () => {
        const events: SseEvent[] = [];
        for await (const event of sseEvents(res.body!)) events.push(event);
        return events;
      })();
      await waitFor(async () => liveFollowers > 0, 5_000);
      await second.app.close(); // not second.close(): the database is shared
      const events = await reading;
      expect(events[0]!.event).toBe('status');
      expect(events.map((e) => e.event)).not.toContain('end');
      await waitFor(async () => liveFollowers === 0, 5_000);
      expect(
        (
          await gw.app.inject({
            method: 'POST',
            url: `${jobUrl(running, job)}/cancel`,
            headers: alice.headers,
          })
        ).statusCode,
      ).toBe(200);
      await finalJob(alice, running, job);
    });
  });
});

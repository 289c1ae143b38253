/**
 * A DAG run followed over Server-Sent Events (api.md "Logs", `event: tasks`), on PGlite and on
 * PostgreSQL: the real gateway and the real engine in one process, heartbeat tasks against a local
 * server that answers slowly, so task states change while the stream is followed. Checks the order
 * of events (status, tasks, …, tasks, end), that every task is seen moving forward only and ends
 * as GET run shows it, and that a task instance's stream (`?task=`, a plain job) has no `tasks`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import {
  createTestDatabase,
  createTestGateway,
  ENGINES,
  registerUser,
  type TestGateway,
} from '../helpers/harness.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { sseEvents, type SseEvent } from '../helpers/sse.ts';

const API = '/api/v1/workflows';
const STEP_MS = 800;

type User = Awaited<ReturnType<typeof registerUser>>;
interface Task {
  id: string;
  name: string;
  index: number | null;
  status: string;
  attempts: number;
}
interface Job {
  id: string;
  status: string;
  kind: string;
  tasks?: Task[];
}

/** Forward order of a task's states (a task seen twice must not go back). */
const RANK: Record<string, number> = {
  PENDING: 0,
  QUEUED: 1,
  RUNNING: 2,
  COMPLETED: 3,
  FAILED: 3,
  SKIPPED: 3,
};

describe.each(ENGINES)('DAG run events (%s)', (engineName) => {
  let database: Database;
  let engine: Engine;
  let gw: TestGateway;
  let server: Server;
  let target: string;
  let baseUrl: string;
  let alice: User;

  beforeAll(async () => {
    // /slow/<ms>/…: answered after that long; anything else at once.
    server = createServer((req, res) => {
      const slow = /^\/slow\/(\d+)\//.exec(req.url ?? '');
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
        Number(slow?.[1] ?? 0),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    database = await createTestDatabase(engineName);
    engine = createEngine(database);
    gw = await createTestGateway(engineName, { database, events: engine.events, live: engine.live });
    engine.start();
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
    alice = await registerUser(gw);
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await gw?.close();
    await database?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  const get = (url: string) => gw.app.inject({ method: 'GET', url, headers: alice.headers });

  async function workflow(body: Record<string, unknown>): Promise<string> {
    const res = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: alice.headers,
      payload: { name: 'dag events', interval: 600, ...body },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    await waitFor(async () => {
      const wf = (await get(`${API}/${id}`)).json<{ build_status: string }>();
      return wf.build_status === 'COMPLETED' ? wf : null;
    }, 30_000);
    return id;
  }

  async function run(w: string): Promise<string> {
    const res = await gw.app.inject({
      method: 'POST',
      url: `${API}/${w}/jobs/schedule`,
      headers: alice.headers,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Job>().id;
  }

  async function follow(w: string, j: string, query = ''): Promise<SseEvent[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 30_000);
    try {
      const res = await fetch(`${baseUrl}${API}/${w}/jobs/${j}/events${query}`, {
        headers: { ...alice.headers, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      const events: SseEvent[] = [];
      for await (const event of sseEvents(res.body!)) events.push(event);
      return events;
    } finally {
      clearTimeout(timer);
    }
  }

  const heartbeat = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
    name,
    kind: 'HEARTBEAT',
    payload: { endpoint: `${target}${path}`, timeout: '10s' },
    ...extra,
  });
  const tasksOf = (e: SseEvent) => (JSON.parse(e.data) as { tasks: Task[] }).tasks;
  const label = (t: Task) => (t.index === null ? t.name : `${t.name}[${t.index}]`);

  let dagId: string;
  let runId: string;
  let followed: SseEvent[];

  it('sends tasks at the start, on every change while the run is live; the last before end shows them final', async () => {
    dagId = await workflow({
      kind: 'DAG',
      payload: {
        tasks: [
          heartbeat('build', `/slow/${STEP_MS}/build`),
          heartbeat('test', `/slow/${STEP_MS}/test/{{item}}`, {
            depends_on: ['build'],
            for_each: ['unit', 'e2e'],
          }),
          heartbeat('deploy', `/slow/${STEP_MS}/deploy`, { depends_on: ['test'] }),
        ],
      },
    });
    runId = await run(dagId);
    followed = await follow(dagId, runId);
    const kinds = followed.map((e) => e.event).filter((k) => k !== 'comment');
    expect(kinds[0]).toBe('status');
    expect(kinds[1]).toBe('tasks');
    expect(kinds.at(-1)).toBe('end');
    expect(kinds.filter((k) => k === 'log')).toEqual([]);
    const snapshots = followed.filter((e) => e.event === 'tasks');
    // Sent only on a change: no two consecutive snapshots are the same.
    for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]!.data).not.toBe(snapshots[i - 1]!.data);

    // Each task instance's states as seen by the stream, repeats folded.
    const seen = new Map<string, string[]>();
    for (const snapshot of snapshots) {
      for (const t of tasksOf(snapshot)) {
        const states = seen.get(label(t)) ?? [];
        if (states.at(-1) !== t.status) states.push(t.status);
        seen.set(label(t), states);
      }
    }
    expect([...seen.keys()].sort()).toEqual(['build', 'deploy', 'test[0]', 'test[1]']);
    for (const [name, states] of seen) {
      expect(states.at(-1), name).toBe('COMPLETED');
      const ranks = states.map((s) => RANK[s]!);
      expect(ranks, `${name}: ${states.join(' → ')}`).toEqual([...ranks].sort((a, b) => a - b));
      // Each task takes STEP_MS: the stream shows it running before it completes.
      expect(states, name).toContain('RUNNING');
    }
    // The first snapshot is before deploy ran; the last is the run as GET shows it.
    expect(tasksOf(snapshots[0]!).find((t) => t.name === 'deploy')?.status ?? 'none').not.toBe('COMPLETED');
    const final = (await get(`${API}/${dagId}/jobs/${runId}`)).json<Job>();
    expect(final.status).toBe('COMPLETED');
    expect(tasksOf(snapshots.at(-1)!)).toEqual(final.tasks);
    expect(JSON.parse(followed.at(-1)!.data)).toMatchObject({ id: runId, status: 'COMPLETED' });
  }, 60_000);

  it('a finished run: status, tasks and end only', async () => {
    const events = await follow(dagId, runId);
    expect(events.map((e) => e.event)).toEqual(['status', 'tasks', 'end']);
    expect(events[1]!.data).toBe(followed.filter((e) => e.event === 'tasks').at(-1)!.data);
  });

  it('a task instance (?task=) is a plain job stream: no tasks events', async () => {
    // Plain jobs' streams are unchanged (logs.test.ts checks them event by event).
    const build = await follow(dagId, runId, '?task=build');
    expect(build.map((e) => e.event)).toEqual(['status', 'end']);
    expect(JSON.parse(build[1]!.data)).toMatchObject({ status: 'COMPLETED', kind: 'HEARTBEAT' });
  });
});

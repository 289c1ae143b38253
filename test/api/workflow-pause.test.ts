/**
 * Pause and resume (docs/api.md "Pause and resume") end to end through the real gateway and the
 * workflows service over RPC, on PGlite and on PostgreSQL, with a test clock: the view (paused_at,
 * pause_note, status PAUSED, no next run), idempotency, the note's validation, the next run after a
 * resume, queued automatic runs canceled, the wake-up, terminated workflows (409) and ownership (404).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { snapshotOf } from '../helpers/fixtures.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
const MINUTE = 60_000;
const START = Date.parse('2027-03-01T10:00:00.000Z');

type User = Awaited<ReturnType<typeof registerUser>>;

interface Workflow {
  id: string;
  status: string;
  next_run_at: string | null;
  paused_at: string | null;
  pause_note: string | null;
  pause_on_failure: boolean;
  terminated_at: string | null;
  consecutive_job_failures_count: number;
  updated_at: string;
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

describe.each(ENGINES)('workflow pause and resume (%s)', (engine) => {
  let gw: TestGateway;
  let u: User;
  const clock = new TestClock(START);

  beforeAll(async () => {
    gw = await createTestGateway(engine, { clock });
    u = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const post = (user: User, path: string, payload?: unknown) =>
    gw.app.inject({
      method: 'POST',
      url: `${API}/${path}`,
      headers: user.headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  const pause = (user: User, id: string, payload?: unknown) => post(user, `${id}/pause`, payload);
  const resume = (user: User, id: string, payload?: unknown) => post(user, `${id}/resume`, payload);
  const get = async (id: string) =>
    (await gw.app.inject({ method: 'GET', url: `${API}/${id}`, headers: u.headers })).json<Workflow>();

  /** An hourly HEARTBEAT whose build completed now (its first run one hour later, as the build sets it). */
  async function builtHourly(): Promise<Workflow> {
    const res = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: {
        name: 'hourly',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://example.com/' },
        interval: 60,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const wf = res.json<Workflow>();
    await gw.database.db
      .updateTable('workflows')
      .set({
        build_status: 'COMPLETED',
        state: 'ACTIVE',
        next_run_at: new Date(clock.now().getTime() + 60 * MINUTE),
      })
      .where('id', '=', wf.id)
      .execute();
    return get(wf.id);
  }

  it('pauses with a note: paused_at, pause_note, status PAUSED, no next run; the row keeps its next run', async () => {
    const wf = await builtHourly();
    expect(wf).toMatchObject({
      status: 'ACTIVE',
      paused_at: null,
      pause_note: null,
      pause_on_failure: false,
    });
    const changed = gw.events.next('schedules:changed');
    const res = await pause(u, wf.id, { note: 'upstream API down, see INC-42' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id: wf.id,
      status: 'PAUSED',
      paused_at: clock.now().toISOString(),
      pause_note: 'upstream API down, see INC-42',
      next_run_at: null,
    });
    expect(await changed).toEqual({ workflowId: wf.id });
    expect(await get(wf.id)).toEqual(res.json());
    const row = await gw.database.db
      .selectFrom('workflows')
      .select(['paused_at', 'pause_note', 'next_run_at'])
      .where('id', '=', wf.id)
      .executeTakeFirstOrThrow();
    expect(row.next_run_at?.toISOString()).toBe(wf.next_run_at);
  });

  it('pausing again changes nothing: the first paused_at and note stay, whatever the second says', async () => {
    const wf = await builtHourly();
    const first = (await pause(u, wf.id, { note: 'first' })).json<Workflow>();
    clock.advance(5 * MINUTE);
    const again = await pause(u, wf.id, { note: 'second' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(first);
    const none = await pause(u, wf.id);
    expect(none.statusCode, none.body).toBe(200);
    expect(none.json()).toEqual(first);
  });

  it('accepts no body, {} and a null note (pause_note null)', async () => {
    for (const body of [undefined, {}, { note: null }]) {
      const wf = await builtHourly();
      const res = await pause(u, wf.id, body);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'PAUSED', pause_note: null });
    }
  });

  it('400 naming note for 501 characters, a number and a NUL; unknown fields named; nothing paused', async () => {
    const wf = await builtHourly();
    const long = expectProblem(await pause(u, wf.id, { note: 'x'.repeat(501) }), 400, 'CV_VALIDATION');
    expect(long.errors).toEqual([{ path: 'note', message: 'must be at most 500 characters (has 501)' }]);
    expect(expectProblem(await pause(u, wf.id, { note: 7 }), 400, 'CV_VALIDATION').errors).toMatchObject([
      { path: 'note' },
    ]);
    expect(
      expectProblem(await pause(u, wf.id, { note: 'a\u0000b' }), 400, 'CV_VALIDATION').errors,
    ).toMatchObject([{ path: 'note' }]);
    expect(
      expectProblem(await pause(u, wf.id, { note: 'ok', until: 'monday' }), 400, 'CV_VALIDATION').errors,
    ).toEqual([{ path: 'until', message: 'is not a known field' }]);
    const exactly = await pause(u, wf.id, { note: 'x'.repeat(500) });
    expect(exactly.statusCode, exactly.body).toBe(200);
    expect(exactly.json<Workflow>().pause_note).toHaveLength(500);
  });

  it('resume: fire times of the pause are not run; an interval keeps its phase; the failure count starts afresh', async () => {
    const wf = await builtHourly(); // next run START' + 60 min
    const pausedNext = Date.parse(wf.next_run_at!);
    await gw.database.db
      .updateTable('workflows')
      .set({ consecutive_job_failures_count: 2 })
      .where('id', '=', wf.id)
      .execute();
    await pause(u, wf.id, { note: 'maintenance' });
    // Three hours and twenty minutes later: three fire times passed during the pause.
    clock.advance(3 * 60 * MINUTE + 20 * MINUTE);
    const changed = gw.events.next('schedules:changed');
    const res = await resume(u, wf.id);
    expect(res.statusCode, res.body).toBe(200);
    const resumed = res.json<Workflow>();
    expect(resumed).toMatchObject({
      status: 'ACTIVE',
      paused_at: null,
      pause_note: null,
      consecutive_job_failures_count: 0,
      next_run_at: new Date(pausedNext + 3 * 60 * MINUTE).toISOString(),
    });
    expect(Date.parse(resumed.next_run_at!)).toBeGreaterThan(clock.now().getTime());
    expect(await changed).toEqual({ workflowId: wf.id });
    // No catch-up: nothing was queued for the fire times of the pause.
    const jobs = await gw.database.db
      .selectFrom('jobs')
      .select('id')
      .where('workflow_id', '=', wf.id)
      .execute();
    expect(jobs).toEqual([]);
  });

  it('resuming a workflow that is not paused changes nothing', async () => {
    const wf = await builtHourly();
    clock.advance(MINUTE);
    const res = await resume(u, wf.id, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual(wf);
  });

  it('resume takes no body but {}: 400 naming the field', async () => {
    const wf = await builtHourly();
    await pause(u, wf.id);
    const problem = expectProblem(await resume(u, wf.id, { note: 'x' }), 400, 'CV_VALIDATION');
    expect(problem.errors).toEqual([{ path: 'note', message: 'is not a known field' }]);
    expect((await get(wf.id)).status).toBe('PAUSED');
  });

  it('pausing cancels queued automatic runs, not manual ones', async () => {
    const wf = await builtHourly();
    const automatic = newId();
    const manual = newId();
    await gw.database.db
      .insertInto('jobs')
      .values(
        [
          { id: automatic, trigger: 'AUTOMATIC' as const },
          { id: manual, trigger: 'MANUAL' as const },
        ].map((j) => ({
          id: j.id,
          workflow_id: wf.id,
          user_id: u.user.id,
          workflow_generation: 1,
          ...snapshotOf(wf.id),
          trigger: j.trigger,
          scheduled_at: clock.now(),
        })),
      )
      .execute();
    await pause(u, wf.id);
    const jobs = await gw.database.db
      .selectFrom('jobs')
      .select(['id', 'status'])
      .where('workflow_id', '=', wf.id)
      .execute();
    expect(Object.fromEntries(jobs.map((j) => [j.id, j.status]))).toEqual({
      [automatic]: 'CANCELED',
      [manual]: 'PENDING',
    });
  });

  it('a paused workflow still building resumes without a next run of its own (the build sets it)', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: { name: 'new', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' }, interval: 5 },
    });
    const wf = res.json<Workflow>();
    const paused = (await pause(u, wf.id)).json<Workflow>();
    // Build precedence: BUILDING until built, then PAUSED.
    expect(paused).toMatchObject({ status: 'BUILDING', paused_at: clock.now().toISOString() });
    clock.advance(MINUTE);
    const resumed = (await resume(u, wf.id)).json<Workflow>();
    expect(resumed).toMatchObject({ status: 'BUILDING', paused_at: null, next_run_at: wf.next_run_at });
  });

  it('409 CV_WORKFLOW_TERMINATED for a terminated workflow, paused or not', async () => {
    const wf = await builtHourly();
    await gw.app.inject({ method: 'PATCH', url: `${API}/${wf.id}`, headers: u.headers });
    expectProblem(await pause(u, wf.id, { note: 'x' }), 409, 'CV_WORKFLOW_TERMINATED');
    expectProblem(await resume(u, wf.id), 409, 'CV_WORKFLOW_TERMINATED');

    const pausedThenTerminated = await builtHourly();
    await pause(u, pausedThenTerminated.id);
    await gw.app.inject({ method: 'PATCH', url: `${API}/${pausedThenTerminated.id}`, headers: u.headers });
    expectProblem(await resume(u, pausedThenTerminated.id), 409, 'CV_WORKFLOW_TERMINATED');
  });

  it('pause_on_failure: false by default, set on create, bulk create and edit; 400 naming it when not a boolean', async () => {
    const body = (extra: Record<string, unknown>) => ({
      name: 'p',
      kind: 'HEARTBEAT',
      payload: { endpoint: 'https://example.com/' },
      interval: 5,
      ...extra,
    });
    const created = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: body({ pause_on_failure: true }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const wf = created.json<Workflow>();
    expect(wf.pause_on_failure).toBe(true);
    const stored = await gw.database.db
      .selectFrom('workflows')
      .select('pause_on_failure')
      .where('id', '=', wf.id)
      .executeTakeFirstOrThrow();
    expect(stored.pause_on_failure).toBe(true);

    const edited = await gw.app.inject({
      method: 'PUT',
      url: `${API}/${wf.id}`,
      headers: u.headers,
      payload: { pause_on_failure: false },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json<Workflow>().pause_on_failure).toBe(false);
    // Absent in an edit: kept.
    const renamed = await gw.app.inject({
      method: 'PUT',
      url: `${API}/${wf.id}`,
      headers: u.headers,
      payload: { name: 'renamed' },
    });
    expect(renamed.json<Workflow>().pause_on_failure).toBe(false);

    const bulk = await gw.app.inject({
      method: 'POST',
      url: `${API}/bulk`,
      headers: u.headers,
      payload: { workflows: [body({ pause_on_failure: true }), body({})] },
    });
    expect(bulk.statusCode, bulk.body).toBe(201);
    expect(bulk.json<{ workflows: Workflow[] }>().workflows.map((w) => w.pause_on_failure)).toEqual([
      true,
      false,
    ]);

    const bad = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: body({ pause_on_failure: 'yes' }),
    });
    expect(expectProblem(bad, 400, 'CV_VALIDATION').errors?.map((e) => e.path)).toEqual(['pause_on_failure']);
    const badEdit = await gw.app.inject({
      method: 'PUT',
      url: `${API}/${wf.id}`,
      headers: u.headers,
      payload: { pause_on_failure: 1 },
    });
    expect(expectProblem(badEdit, 400, 'CV_VALIDATION').errors?.map((e) => e.path)).toEqual([
      'pause_on_failure',
    ]);
  });

  it("404 for another user's workflow and an unknown id, 400 for a non-UUID id; 401 without credentials", async () => {
    const wf = await builtHourly();
    const other = await registerUser(gw);
    expectProblem(await pause(other, wf.id, { note: 'mine now' }), 404, 'CV_NOT_FOUND');
    expectProblem(await resume(other, wf.id), 404, 'CV_NOT_FOUND');
    expect((await get(wf.id)).paused_at).toBeNull();
    expectProblem(await pause(u, newId()), 404, 'CV_NOT_FOUND');
    expectProblem(await resume(u, newId()), 404, 'CV_NOT_FOUND');
    const bad = expectProblem(await pause(u, 'not-a-uuid'), 400, 'CV_VALIDATION');
    expect(bad.errors?.map((e) => e.path)).toEqual(['id']);
    for (const action of ['pause', 'resume']) {
      const res = await gw.app.inject({ method: 'POST', url: `${API}/${wf.id}/${action}` });
      expect(res.statusCode).toBe(401);
    }
  });
});

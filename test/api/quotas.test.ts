/**
 * Quotas end to end through the real gateway on PGlite and on PostgreSQL (api.md "Quotas"): a
 * non-administrator's schedule under min_schedule_seconds is a 400 on its field, a workflow beyond
 * max_workflows a 409, a manual run or retry beyond runs_per_minute a 429 with Retry-After (the
 * window follows the test clock), each naming the quota, its value and the usage; administrators
 * have no limits unless given values; the admin API shows each user's quotas and usage and sets a
 * user's own values.
 */
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { createTestGateway, ENGINES, registerUser, TestClock, type TestGateway } from '../helpers/harness.ts';
import { snapshotOf } from '../helpers/fixtures.ts';

const API = '/api/v1';
type User = Awaited<ReturnType<typeof registerUser>>;

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
  quota?: { name: string; limit: number; usage: number };
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem.code).toBe(code);
  return problem;
}

const heartbeat = (schedule: Record<string, unknown>, name = 'quota test') => ({
  name,
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://api.example.com/health' },
  ...schedule,
});

describe.each(ENGINES)('quotas (%s)', (engine) => {
  let gw: TestGateway;
  const clock = new TestClock(Date.parse('2026-03-01T00:00:00.000Z'));
  let admin: User;

  beforeAll(async () => {
    gw = await createTestGateway(engine, {
      clock,
      env: { CHRONOVERSE_QUOTA_MAX_WORKFLOWS: '3', CHRONOVERSE_QUOTA_RUNS_PER_MINUTE: '2' },
    });
    admin = await registerUser(gw); // the first account: an administrator
  });
  afterAll(() => gw.close());

  const create = (u: User, body: object) =>
    gw.app.inject({ method: 'POST', url: `${API}/workflows`, headers: u.headers, payload: body });
  const quotasOf = (id: string, who: User = admin) =>
    gw.app.inject({ method: 'GET', url: `${API}/admin/users/${id}/quotas`, headers: who.headers });
  const setQuotas = (id: string, body: object, who: User = admin) =>
    gw.app.inject({
      method: 'PUT',
      url: `${API}/admin/users/${id}/quotas`,
      headers: who.headers,
      payload: body,
    });

  /** A workflow of `u` whose build completed, so it can run now. */
  async function runnable(u: User): Promise<string> {
    const res = await create(u, heartbeat({ interval: 5 }));
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', id)
      .execute();
    return id;
  }

  describe('min_schedule_seconds', () => {
    let user: User;
    beforeAll(async () => {
      user = await registerUser(gw);
    });

    it("refuses a non-administrator's cron with seconds: 400 on schedule.cron naming the quota", async () => {
      const res = await create(user, heartbeat({ schedule: { type: 'cron', cron: '*/5 * * * * *' } }));
      const problem = expectProblem(res, 400, 'CV_SCHEDULE_TOO_FREQUENT');
      expect(problem.quota).toEqual({ name: 'min_schedule_seconds', limit: 60, usage: 5 });
      expect(problem.errors).toEqual([
        {
          path: 'schedule.cron',
          message:
            'runs too often: it can run 5 seconds after its previous run; your quota min_schedule_seconds asks for at least 1 minute between runs',
        },
      ]);
      // One run a minute, even written with seconds, is within it; so is a 1-minute interval.
      expect(
        (await create(user, heartbeat({ schedule: { type: 'cron', cron: '30 * * * * *' } }))).statusCode,
      ).toBe(201);
      expect((await create(user, heartbeat({ interval: 1 }))).statusCode).toBe(201);
    });

    it('refuses an interval under a minimum an administrator raised, on the field it came in', async () => {
      expect(
        (await setQuotas(user.user.id, { min_schedule_seconds: 300, max_workflows: 100 })).statusCode,
      ).toBe(200);
      const problem = expectProblem(
        await create(user, heartbeat({ interval: 2 })),
        400,
        'CV_SCHEDULE_TOO_FREQUENT',
      );
      expect(problem.quota).toEqual({ name: 'min_schedule_seconds', limit: 300, usage: 120 });
      expect(problem.errors![0]!.path).toBe('interval');
      const viaSchedule = await create(
        user,
        heartbeat({ schedule: { type: 'interval', interval_minutes: 4 } }),
      );
      expect(expectProblem(viaSchedule, 400, 'CV_SCHEDULE_TOO_FREQUENT').errors![0]!.path).toBe(
        'schedule.interval_minutes',
      );
      expect((await create(user, heartbeat({ interval: 5 }))).statusCode).toBe(201);
    });

    it('holds an edit that changes the schedule to it, and lets other edits of an older schedule through', async () => {
      await setQuotas(user.user.id, { min_schedule_seconds: null });
      const wf = (await create(user, heartbeat({ interval: 1 }))).json<{ id: string }>();
      await setQuotas(user.user.id, { min_schedule_seconds: 3600 });
      const edit = (body: object) =>
        gw.app.inject({
          method: 'PUT',
          url: `${API}/workflows/${wf.id}`,
          headers: user.headers,
          payload: body,
        });
      const problem = expectProblem(
        await edit({ schedule: { type: 'cron', cron: '*/30 * * * *' } }),
        400,
        'CV_SCHEDULE_TOO_FREQUENT',
      );
      expect(problem.quota).toEqual({ name: 'min_schedule_seconds', limit: 3600, usage: 1800 });
      expect((await edit({ name: 'renamed' })).statusCode).toBe(200);
      expect((await edit({ interval: 1, name: 'same schedule' })).statusCode).toBe(200);
      await setQuotas(user.user.id, { min_schedule_seconds: null, max_workflows: null });
    });

    it('lets administrators schedule every second, unless given a minimum of their own', async () => {
      const everySecond = heartbeat({ schedule: { type: 'cron', cron: '* * * * * *' } });
      expect((await create(admin, everySecond)).statusCode).toBe(201);
      await setQuotas(admin.user.id, { min_schedule_seconds: 10 });
      expectProblem(await create(admin, everySecond), 400, 'CV_SCHEDULE_TOO_FREQUENT');
      await setQuotas(admin.user.id, { min_schedule_seconds: null });
    });
  });

  describe('max_workflows', () => {
    it('answers 409 naming the quota for one workflow too many, counts a deleted one out; administrators have none', async () => {
      const user = await registerUser(gw);
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const res = await create(user, heartbeat({ interval: 5 }, `wf ${i}`));
        expect(res.statusCode, res.body).toBe(201);
        ids.push(res.json<{ id: string }>().id);
      }
      const problem = expectProblem(await create(user, heartbeat({ interval: 5 })), 409, 'CV_QUOTA_EXCEEDED');
      expect(problem.quota).toEqual({ name: 'max_workflows', limit: 3, usage: 3 });
      expect(problem.detail).toMatch(/max_workflows \(3\)/);
      // A terminated workflow still counts; a deleted one does not.
      await gw.app.inject({ method: 'PATCH', url: `${API}/workflows/${ids[0]}`, headers: user.headers });
      expectProblem(await create(user, heartbeat({ interval: 5 })), 409, 'CV_QUOTA_EXCEEDED');
      const del = await gw.app.inject({
        method: 'DELETE',
        url: `${API}/workflows/${ids[0]}`,
        headers: user.headers,
      });
      expect(del.statusCode).toBe(204);
      expect((await create(user, heartbeat({ interval: 5 }))).statusCode).toBe(201);
      // An administrator's value of the user's own raises it.
      await setQuotas(user.user.id, { max_workflows: 4 });
      expect((await create(user, heartbeat({ interval: 5 }))).statusCode).toBe(201);
      expectProblem(await create(user, heartbeat({ interval: 5 })), 409, 'CV_QUOTA_EXCEEDED');
      // Administrators have no limit by default.
      for (let i = 0; i < 4; i += 1) {
        expect((await create(admin, heartbeat({ interval: 5 }))).statusCode).toBe(201);
      }
    });
  });

  describe('runs_per_minute', () => {
    it('answers 429 with Retry-After for manual runs and retries beyond it within 60 s, lets them through after; administrators have none', async () => {
      const user = await registerUser(gw);
      const wf = await runnable(user);
      const run = () =>
        gw.app.inject({ method: 'POST', url: `${API}/workflows/${wf}/jobs/schedule`, headers: user.headers });
      const first = await run();
      expect(first.statusCode, first.body).toBe(201);
      clock.advance(10_000);
      // A retry counts like a run.
      const firstJob = first.json<{ id: string }>().id;
      await gw.database.db
        .updateTable('jobs')
        .set({ status: 'FAILED', completed_at: clock.now() })
        .where('id', '=', firstJob)
        .execute();
      const retry = await gw.app.inject({
        method: 'POST',
        url: `${API}/workflows/${wf}/jobs/${firstJob}/retry`,
        headers: user.headers,
      });
      expect(retry.statusCode, retry.body).toBe(201);
      clock.advance(10_000);
      const refused = await run();
      const problem = expectProblem(refused, 429, 'CV_RUN_RATE_EXCEEDED');
      expect(problem.quota).toEqual({ name: 'runs_per_minute', limit: 2, usage: 2 });
      // The first run leaves the window 60 s after it was asked for: 40 s from now.
      expect(refused.headers['retry-after']).toBe('40');
      const refusedRetry = await gw.app.inject({
        method: 'POST',
        url: `${API}/workflows/${wf}/jobs/${firstJob}/retry`,
        headers: user.headers,
      });
      expectProblem(refusedRetry, 429, 'CV_RUN_RATE_EXCEEDED');
      clock.advance(40_000);
      expect((await run()).statusCode).toBe(201);
      // Scheduled runs do not count, and other users have their own window.
      const other = await registerUser(gw);
      const otherWf = await runnable(other);
      const otherRun = await gw.app.inject({
        method: 'POST',
        url: `${API}/workflows/${otherWf}/jobs/schedule`,
        headers: other.headers,
      });
      expect(otherRun.statusCode).toBe(201);
      // Administrators have no limit by default.
      const adminWf = await runnable(admin);
      for (let i = 0; i < 4; i += 1) {
        const res = await gw.app.inject({
          method: 'POST',
          url: `${API}/workflows/${adminWf}/jobs/schedule`,
          headers: admin.headers,
        });
        expect(res.statusCode, res.body).toBe(201);
      }
    });

    // A second connection holds the account's row as the limit's check locks it (PGlite has one).
    it.runIf(engine === 'postgres')(
      "locks the account's row only when a limit applies: an administrator's runs never wait on each other",
      async () => {
        clock.advance(120_000);
        const adminWf = await runnable(admin);
        const user = await registerUser(gw);
        const userWf = await runnable(user);
        const run = (u: User, wf: string) =>
          gw.app.inject({ method: 'POST', url: `${API}/workflows/${wf}/jobs/schedule`, headers: u.headers });
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const locked = new Promise<void>((ready) => {
          void gw.database.db.transaction().execute(async (trx) => {
            await sql`SELECT 1 FROM users WHERE id IN (${admin.user.id}, ${user.user.id}) FOR NO KEY UPDATE`.execute(
              trx,
            );
            ready();
            await held;
          });
        });
        await locked;
        try {
          // No limit: nothing to count, nothing to lock (it waited for the lock holder before).
          expect((await run(admin, adminWf)).statusCode).toBe(201);
          // A limit: the run waits for the row, so two runs cannot both take the last place.
          let answered = false;
          const limited = run(user, userWf).then((res) => ((answered = true), res));
          await new Promise((r) => setTimeout(r, 500));
          expect(answered).toBe(false);
          release();
          expect((await limited).statusCode).toBe(201);
        } finally {
          release();
        }
      },
    );
  });

  describe('admin API', () => {
    it("shows a user's quotas, where each comes from and the usage now", async () => {
      clock.advance(120_000);
      const user = await registerUser(gw);
      const wf = await runnable(user);
      await gw.app.inject({
        method: 'POST',
        url: `${API}/workflows/${wf}/jobs/schedule`,
        headers: user.headers,
      });
      // A CONTAINER job running now.
      const container = await gw.database.db
        .insertInto('workflows')
        .values({
          id: newId(),
          user_id: user.user.id,
          name: 'c',
          kind: 'CONTAINER',
          payload: JSON.stringify({ image: 'alpine:3.20' }),
          schedule_type: 'interval',
          interval_minutes: 5,
          max_consecutive_job_failures_allowed: 3,
          log_retention: true,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await gw.database.db
        .insertInto('jobs')
        .values({
          id: newId(),
          workflow_id: container.id,
          user_id: user.user.id,
          workflow_generation: 1,
          ...snapshotOf(container.id),
          trigger: 'AUTOMATIC',
          status: 'RUNNING',
          lease_owner: 'x',
          lease_expires_at: clock.now(),
          scheduled_at: clock.now(),
        })
        .execute();
      const res = await quotasOf(user.user.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        user_id: user.user.id,
        email: user.user.email,
        role: 'user',
        quotas: {
          max_workflows: { limit: 3, source: 'default', usage: 2 },
          runs_per_minute: { limit: 2, source: 'default', usage: 1 },
          min_schedule_seconds: { limit: 60, source: 'default', usage: null },
          max_concurrent_containers: { limit: 4, source: 'default', usage: 1 },
        },
        updated_at: null,
        updated_by: null,
      });
      const mine = await quotasOf(admin.user.id);
      expect(mine.json<{ quotas: { max_workflows: unknown } }>().quotas.max_workflows).toMatchObject({
        limit: 0,
        source: 'admin',
      });
    });

    it("sets a user's own values (null: back to the default), and says who and when", async () => {
      const user = await registerUser(gw);
      const res = await setQuotas(user.user.id, { max_concurrent_containers: 1, runs_per_minute: 0 });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<{
        quotas: Record<string, { limit: number; source: string }>;
        updated_at: string;
        updated_by: string;
      }>();
      expect(body.quotas.max_concurrent_containers).toMatchObject({ limit: 1, source: 'user' });
      expect(body.quotas.runs_per_minute).toMatchObject({ limit: 0, source: 'user' });
      expect(body.quotas.max_workflows).toMatchObject({ limit: 3, source: 'default' });
      expect(body.updated_by).toBe(admin.user.id);
      expect(body.updated_at).toBe(clock.now().toISOString());
      const reset = await setQuotas(user.user.id, { max_concurrent_containers: null });
      expect(reset.json<typeof body>().quotas.max_concurrent_containers).toMatchObject({
        limit: 4,
        source: 'default',
      });
      expect(reset.json<typeof body>().quotas.runs_per_minute).toMatchObject({ limit: 0, source: 'user' });
      expect((await quotasOf(user.user.id)).json()).toEqual(reset.json());
    });

    it('refuses bad values naming each field, unknown users and non-administrators', async () => {
      const user = await registerUser(gw);
      const bad = expectProblem(
        await setQuotas(user.user.id, {
          max_workflows: -1,
          runs_per_minute: 1.5,
          min_schedule_seconds: 86_401,
          nope: 1,
        }),
        400,
        'CV_VALIDATION',
      );
      expect(bad.errors!.map((e) => e.path).sort()).toEqual(
        ['max_workflows', 'min_schedule_seconds', 'nope', 'runs_per_minute'].sort(),
      );
      expectProblem(await quotasOf(newId()), 404, 'CV_NOT_FOUND');
      expectProblem(await setQuotas(newId(), { max_workflows: 1 }), 404, 'CV_NOT_FOUND');
      expectProblem(await quotasOf(user.user.id, user), 403, 'CV_FORBIDDEN');
      expectProblem(await setQuotas(user.user.id, { max_workflows: 1000 }, user), 403, 'CV_FORBIDDEN');
    });

    it('lists every user with their quotas and usage, newest first, in pages', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: LightMyRequestResponse = await gw.app.inject({
          method: 'GET',
          url: `${API}/admin/quotas?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          headers: admin.headers,
        });
        expect(res.statusCode, res.body).toBe(200);
        const page: { users: { user_id: string }[]; cursor: string | null } = res.json();
        seen.push(...page.users.map((u) => u.user_id));
        cursor = page.cursor;
      } while (cursor !== null);
      const all = await gw.database.db.selectFrom('users').select('id').orderBy('id', 'desc').execute();
      expect(seen).toEqual(all.map((u) => u.id));
    });
  });
});

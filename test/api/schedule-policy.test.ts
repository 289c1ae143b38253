/**
 * `schedule.policy` through the HTTP API: shown with every field filled in, kept by an edit that
 * does not mention it (the dashboard's form changes the time alone), reset by `policy: {}`, and a
 * kept jitter checked against the edit's new times. The validation of each field is in
 * workflows-validation.test.ts; what the scheduler does with a policy, in
 * test/workers/schedule-policies.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jitterMs } from '../../src/domain/schedule-policy.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';

interface Workflow {
  id: string;
  schedule: Record<string, unknown> & { policy?: unknown };
}

const DEFAULTS = {
  overlap: 'BUFFER_ALL',
  catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
  jitter_seconds: 0,
  starting_deadline_seconds: null,
  dst: { gap: 'RUN_AFTER_GAP', overlap: null },
};

describe('schedule policy over the API (pglite)', () => {
  let gw: TestGateway;
  let headers: Record<string, string>;
  beforeAll(async () => {
    gw = await createTestGateway('pglite');
    ({ headers } = await registerUser(gw));
  });
  afterAll(() => gw.close());

  const create = (schedule: unknown) =>
    gw.app.inject({
      method: 'POST',
      url: API,
      headers,
      payload: { name: 'p', kind: 'HEARTBEAT', payload: { endpoint: 'https://api.example.com/' }, schedule },
    });
  const edit = (id: string, body: object) =>
    gw.app.inject({ method: 'PUT', url: `${API}/${id}`, headers, payload: body });
  const read = async (id: string) =>
    (await gw.app.inject({ method: 'GET', url: `${API}/${id}`, headers })).json<Workflow>();

  it('shows the defaults on a recurring schedule without a policy, and none on a once schedule', async () => {
    const interval = (await create({ type: 'interval', interval_minutes: 5 })).json<Workflow>();
    expect(interval.schedule).toEqual({ type: 'interval', interval_minutes: 5, policy: DEFAULTS });
    const once = await create({ type: 'once', run_at: new Date(Date.now() + 86_400_000).toISOString() });
    expect(once.statusCode).toBe(201);
    expect(once.json<Workflow>().schedule).not.toHaveProperty('policy');
  });

  it('stores a policy, keeps it on an edit of the time alone, and resets it with policy: {}', async () => {
    const res = await create({
      type: 'cron',
      cron: '0 * * * *',
      timezone: 'Europe/Berlin',
      policy: { overlap: 'SKIP', catch_up: { mode: 'ALL', max_runs: 5 }, jitter_seconds: 600 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const wf = res.json<Workflow>();
    const policy = {
      overlap: 'SKIP',
      catch_up: { mode: 'ALL', window_seconds: null, max_runs: 5 },
      jitter_seconds: 600,
      starting_deadline_seconds: null,
      dst: { gap: 'RUN_AFTER_GAP', overlap: null },
    };
    expect(wf.schedule.policy).toEqual(policy);
    expect((await read(wf.id)).schedule.policy).toEqual(policy);

    const retimed = await edit(wf.id, {
      schedule: { type: 'cron', cron: '30 * * * *', timezone: 'Europe/Berlin' },
    });
    expect(retimed.statusCode, retimed.body).toBe(200);
    expect(retimed.json<Workflow>().schedule).toMatchObject({ cron: '30 * * * *', policy });

    const reset = await edit(wf.id, {
      schedule: { type: 'cron', cron: '30 * * * *', timezone: 'Europe/Berlin', policy: {} },
    });
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await read(wf.id)).schedule.policy).toEqual(DEFAULTS);
  });

  it('refuses an edit whose new times are closer together than the jitter it keeps, and changes nothing', async () => {
    const wf = (
      await create({ type: 'interval', interval_minutes: 60, policy: { jitter_seconds: 900 } })
    ).json<Workflow>();
    const res = await edit(wf.id, { schedule: { type: 'interval', interval_minutes: 10 } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json<{ errors: { path: string; message: string }[] }>().errors).toEqual([
      {
        path: 'schedule.policy.jitter_seconds',
        message:
          "must be less than the shortest time between two runs (600 seconds) (the workflow's jitter, kept by this edit)",
      },
    ]);
    expect((await read(wf.id)).schedule).toMatchObject({
      interval_minutes: 60,
      policy: { jitter_seconds: 900 },
    });
  });

  it('previews the jittered instants the scheduler gives the runs, the fire times themselves as nominal_at', async () => {
    const wf = (
      await create({ type: 'cron', cron: '0 * * * *', timezone: 'UTC', policy: { jitter_seconds: 900 } })
    ).json<Workflow>();
    const res = await gw.app.inject({ method: 'GET', url: `${API}/${wf.id}/preview?count=5`, headers });
    expect(res.statusCode, res.body).toBe(200);
    const { fire_times } = res.json<{ fire_times: { at: string; nominal_at: string }[] }>();
    expect(fire_times).toHaveLength(5);
    for (const f of fire_times) {
      const nominal = new Date(f.nominal_at);
      expect(nominal.getUTCMinutes()).toBe(0);
      expect(Date.parse(f.at) - nominal.getTime()).toBe(jitterMs(wf.id, nominal, 900));
    }
  });

  describe('dst', () => {
    const problems = async (res: Awaited<ReturnType<typeof create>>) => {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      return res.json<{ errors: { path: string; message: string }[] }>().errors;
    };

    it('stores a DST policy on a cron schedule, shows it, and previews by it', async () => {
      const res = await create({
        type: 'cron',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        policy: { dst: { gap: 'SKIP', overlap: 'BOTH' } },
      });
      expect(res.statusCode, res.body).toBe(201);
      const wf = res.json<Workflow>();
      expect(wf.schedule.policy).toEqual({ ...DEFAULTS, dst: { gap: 'SKIP', overlap: 'BOTH' } });
      expect((await read(wf.id)).schedule.policy).toEqual({
        ...DEFAULTS,
        dst: { gap: 'SKIP', overlap: 'BOTH' },
      });

      const preview = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/schedules/preview',
        headers,
        payload: {
          schedule: {
            type: 'cron',
            cron: '30 2 * * *',
            timezone: 'Europe/Berlin',
            policy: { dst: { gap: 'SKIP' } },
          },
          from: '2027-03-27T00:00:00Z',
          count: 2,
        },
      });
      expect(preview.statusCode, preview.body).toBe(200);
      expect(preview.json()).toEqual({
        fire_times: [
          { at: '2027-03-27T01:30:00.000Z', nominal_at: '2027-03-27T01:30:00.000Z', reason: null },
          {
            at: '2027-03-29T00:30:00.000Z',
            nominal_at: '2027-03-29T00:30:00.000Z',
            reason: '02:30 does not exist on 2027-03-28 in Europe/Berlin: skipped by policy SKIP',
          },
        ],
      });
    });

    it('refuses dst on an interval schedule, naming schedule.policy.dst', async () => {
      const errors = await problems(
        await create({ type: 'interval', interval_minutes: 60, policy: { dst: { gap: 'SKIP' } } }),
      );
      expect(errors).toEqual([
        {
          path: 'schedule.policy.dst',
          message:
            'applies to cron schedules only: an interval counts elapsed time and has no wall clock to change',
        },
      ]);
    });

    it('accepts the dst defaults on an interval schedule: they ask for nothing it could not do', async () => {
      const res = await create({
        type: 'interval',
        interval_minutes: 60,
        policy: { dst: { gap: 'RUN_AFTER_GAP' } },
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<{ schedule: { policy: unknown } }>().schedule.policy).toEqual(DEFAULTS);
    });

    it('refuses unknown values and fields at their path', async () => {
      const cron = (dst: unknown) =>
        create({ type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin', policy: { dst } });
      expect((await problems(await cron({ gap: 'LATER' }))).map((e) => e.path)).toEqual([
        'schedule.policy.dst.gap',
      ]);
      expect((await problems(await cron({ overlap: 'SECOND' }))).map((e) => e.path)).toEqual([
        'schedule.policy.dst.overlap',
      ]);
      expect((await problems(await cron({ fold: 1 }))).map((e) => e.path)).toEqual([
        'schedule.policy.dst.fold',
      ]);
    });

    it('an edit from cron to interval keeps the other policies and drops dst', async () => {
      const wf = (
        await create({
          type: 'cron',
          cron: '30 2 * * *',
          timezone: 'Europe/Berlin',
          policy: { overlap: 'SKIP', dst: { overlap: 'BOTH' } },
        })
      ).json<Workflow>();
      const res = await edit(wf.id, { schedule: { type: 'interval', interval_minutes: 60 } });
      expect(res.statusCode, res.body).toBe(200);
      expect((await read(wf.id)).schedule.policy).toEqual({ ...DEFAULTS, overlap: 'SKIP' });
    });
  });
});

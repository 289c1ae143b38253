import { describe, expect, it } from 'vitest';
import { DEFAULT_DST_POLICY } from './dst.ts';
import { checkCron, checkTimezone, type Schedule } from './schedule.ts';
import { jitterProblem } from './schedule-policy.ts';
import {
  BULK_MAX_ITEMS,
  buildInputOf,
  keepPolicyOnEdit,
  validatePayload,
  validateScheduleInput,
  validatePayloadOf,
  validateWorkflowBulk,
  validateWorkflowCreate,
  validateWorkflowUpdate,
} from './workflow-input.ts';

const NOW = new Date('2021-01-01T00:00:00Z');
const FIVE_MINUTES: Schedule = { type: 'interval', intervalMinutes: 5 };

describe('validatePayload', () => {
  it('says what a record key must look like', () => {
    expect(validatePayload('CONTAINER', { image: 'alpine', env: { '1X': 'a' } })).toEqual({
      ok: false,
      issues: [{ path: 'payload.env.1X', message: 'name must be an environment variable name' }],
    });
  });

  it('fills defaults so users see the effective values', () => {
    const result = validatePayload('HEARTBEAT', { endpoint: 'https://example.com' });
    expect(result).toEqual({
      ok: true,
      value: {
        endpoint: 'https://example.com',
        method: 'GET',
        headers: {},
        body: null,
        expected_status_code: 200,
        timeout: '10s',
      },
    });
  });
});

describe('validateWorkflowCreate', () => {
  it('reports schedule rules together with other bad fields', () => {
    const result = validateWorkflowCreate(
      {
        name: '',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'ftp://x' },
        schedule: { type: 'once', run_at: '2020-01-01T00:00:00Z' },
      },
      NOW,
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => i.path).sort()).toEqual([
        'name',
        'payload.endpoint',
        'schedule.run_at',
      ]);
  });

  it('canonicalises the time zone of a cron schedule', () => {
    const result = validateWorkflowCreate(
      {
        name: 'n',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'europe/paris' },
      },
      NOW,
    );
    expect(result.ok && result.value.schedule).toEqual({
      type: 'cron',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    });
  });
});

const HEARTBEAT = { endpoint: 'https://example.com/health' };
const CONTAINER = { image: 'alpine:3.20' };
const paths = (r: { ok: boolean; issues?: { path: string }[] }) =>
  r.ok ? [] : (r.issues ?? []).map((i) => i.path).sort();

describe('validateWorkflowCreate: defaults and rules between fields', () => {
  const create = (body: Record<string, unknown>) =>
    validateWorkflowCreate({ name: 'n', interval: 5, ...body }, NOW);

  it('fills the failure limit, log retention by kind and labels', () => {
    const heartbeat = create({ kind: 'HEARTBEAT', payload: HEARTBEAT });
    expect(heartbeat.ok && heartbeat.value).toMatchObject({
      name: 'n',
      kind: 'HEARTBEAT',
      schedule: { type: 'interval', intervalMinutes: 5 },
      maxConsecutiveFailures: 3,
      pauseOnFailure: false,
      logRetention: false,
      labels: {},
    });
    const container = create({
      kind: 'CONTAINER',
      payload: CONTAINER,
      max_consecutive_job_failures_allowed: 7,
      labels: { team: 'data' },
    });
    expect(container.ok && container.value).toMatchObject({
      payload: { image: 'alpine:3.20', cmd: null, entrypoint: null },
      maxConsecutiveFailures: 7,
      logRetention: true,
      labels: { team: 'data' },
    });
    const noRetention = create({ kind: 'CONTAINER', payload: CONTAINER, log_retention: false });
    expect(noRetention.ok && noRetention.value.logRetention).toBe(false);
  });

  it('pause_on_failure: a boolean, false by default, kept on create and edit; anything else names it', () => {
    const paused = create({ kind: 'HEARTBEAT', payload: HEARTBEAT, pause_on_failure: true });
    expect(paused.ok && paused.value.pauseOnFailure).toBe(true);
    for (const bad of ['yes', 1, null]) {
      const result = create({ kind: 'HEARTBEAT', payload: HEARTBEAT, pause_on_failure: bad });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual(['pause_on_failure']);
    }
    expect(validateWorkflowUpdate({ pause_on_failure: true }, 'HEARTBEAT', NOW)).toEqual({
      ok: true,
      value: { pauseOnFailure: true },
    });
    expect(validateWorkflowUpdate({}, 'HEARTBEAT', NOW)).toEqual({ ok: true, value: {} });
    const badEdit = validateWorkflowUpdate({ pause_on_failure: 'no' }, 'HEARTBEAT', NOW);
    expect(!badEdit.ok && badEdit.issues.map((i) => i.path)).toEqual(['pause_on_failure']);
  });

  it('takes a payload given as a JSON string, and names a string that is not JSON or not an object', () => {
    const ok = create({ kind: 'HEARTBEAT', payload: JSON.stringify(HEARTBEAT) });
    expect(ok.ok && ok.value.payload).toMatchObject(HEARTBEAT);
    expect(create({ kind: 'HEARTBEAT', payload: '{not json' })).toEqual({
      ok: false,
      issues: [{ path: 'payload', message: 'is not valid JSON' }],
    });
    expect(create({ kind: 'HEARTBEAT', payload: '[1]' })).toEqual({
      ok: false,
      issues: [{ path: 'payload', message: 'must be an object (or a JSON string of one)' }],
    });
  });

  it('requires a payload and a schedule, and refuses both schedule forms at once', () => {
    expect(paths(validateWorkflowCreate({ name: 'n', kind: 'HEARTBEAT' }, NOW))).toEqual([
      'payload',
      'schedule',
    ]);
    expect(paths(create({ kind: 'HEARTBEAT', payload: null }))).toEqual(['payload']);
    expect(
      paths(
        create({
          kind: 'HEARTBEAT',
          payload: HEARTBEAT,
          schedule: { type: 'interval', interval_minutes: 5 },
        }),
      ),
    ).toEqual(['schedule']);
  });

  it('checks the interval bounds and that a one-off time is in the future', () => {
    expect(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 1 }).ok).toBe(true);
    expect(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 10_080 }).ok).toBe(true);
    expect(paths(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 0 }))).toEqual(['interval']);
    expect(paths(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 10_081 }))).toEqual(['interval']);
    expect(paths(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 1.5 }))).toEqual(['interval']);
    const once = (run_at: string) =>
      validateWorkflowCreate(
        { name: 'n', kind: 'HEARTBEAT', payload: HEARTBEAT, schedule: { type: 'once', run_at } },
        NOW,
      );
    expect(paths(once(NOW.toISOString()))).toEqual(['schedule.run_at']);
    const later = once('2021-01-01T00:00:01Z');
    expect(later.ok && later.value.schedule).toEqual({
      type: 'once',
      runAt: new Date('2021-01-01T00:00:01Z'),
    });
  });

  it('refuses log retention for a heartbeat, unknown fields, a body that is not an object', () => {
    expect(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, log_retention: true })).toEqual({
      ok: false,
      issues: [{ path: 'log_retention', message: 'HEARTBEAT workflows have no logs to retain' }],
    });
    expect(paths(create({ kind: 'HEARTBEAT', payload: HEARTBEAT, colour: 'red' }))).toEqual(['colour']);
    expect(validateWorkflowCreate([], NOW)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'body must be a JSON object' }],
    });
    expect(paths(create({ kind: 'CRON', payload: HEARTBEAT }))).toEqual(['kind']);
  });

  it('reports each problem once', () => {
    const result = create({ name: '', kind: 'HEARTBEAT', payload: HEARTBEAT, interval: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const keys = result.issues.map((i) => `${i.path}:${i.message}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(paths(result)).toEqual(['interval', 'name']);
    }
  });
});

describe('validateWorkflowUpdate', () => {
  it('returns only the fields given, the payload checked against the current kind', () => {
    expect(validateWorkflowUpdate({}, 'HEARTBEAT', NOW)).toEqual({ ok: true, value: {} });
    const result = validateWorkflowUpdate(
      {
        name: ' renamed ',
        payload: CONTAINER,
        interval: 10,
        max_consecutive_job_failures_allowed: 2,
        log_retention: false,
        labels: {},
      },
      'CONTAINER',
      NOW,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        name: 'renamed',
        payload: expect.objectContaining({ image: 'alpine:3.20', cmd: null, env: {}, network: 'none' }),
        schedule: { type: 'interval', intervalMinutes: 10 },
        maxConsecutiveFailures: 2,
        logRetention: false,
        labels: {},
      },
    });
    // A container payload has no endpoint, and needs an image.
    expect(paths(validateWorkflowUpdate({ payload: HEARTBEAT }, 'CONTAINER', NOW))).toEqual([
      'payload.endpoint',
      'payload.image',
    ]);
  });

  it('accepts the same kind and refuses another, names retention of a heartbeat, needs an object', () => {
    expect(validateWorkflowUpdate({ kind: 'HEARTBEAT' }, 'HEARTBEAT', NOW)).toEqual({ ok: true, value: {} });
    expect(validateWorkflowUpdate({ kind: 'CONTAINER' }, 'HEARTBEAT', NOW)).toEqual({
      ok: false,
      issues: [{ path: 'kind', message: 'cannot be changed (this workflow is HEARTBEAT)' }],
    });
    expect(paths(validateWorkflowUpdate({ log_retention: true }, 'HEARTBEAT', NOW))).toEqual([
      'log_retention',
    ]);
    expect(validateWorkflowUpdate({ log_retention: true }, 'CONTAINER', NOW)).toEqual({
      ok: true,
      value: { logRetention: true },
    });
    expect(validateWorkflowUpdate('x', 'HEARTBEAT', NOW)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'body must be a JSON object' }],
    });
    expect(
      paths(
        validateWorkflowUpdate(
          { interval: 5, schedule: { type: 'interval', interval_minutes: 5 } },
          'HEARTBEAT',
          NOW,
        ),
      ),
    ).toEqual(['schedule']);
  });
});

describe('validateWorkflowBulk', () => {
  it('checks the envelope before any item', () => {
    expect(validateWorkflowBulk({ workflows: [{}, 1] })).toEqual({ ok: true, value: [{}, 1] });
    expect(validateWorkflowBulk(null)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'body must be a JSON object' }],
    });
    expect(validateWorkflowBulk({ workflows: [{}], extra: 1 })).toEqual({
      ok: false,
      issues: [{ path: 'extra', message: 'is not a known field' }],
    });
    expect(validateWorkflowBulk({})).toEqual({
      ok: false,
      issues: [{ path: 'workflows', message: 'is required: an array of workflows' }],
    });
    expect(validateWorkflowBulk({ workflows: [] })).toEqual({
      ok: false,
      issues: [{ path: 'workflows', message: 'must have at least 1 item' }],
    });
    expect(validateWorkflowBulk({ workflows: new Array(BULK_MAX_ITEMS).fill({}) }).ok).toBe(true);
    expect(validateWorkflowBulk({ workflows: new Array(BULK_MAX_ITEMS + 1).fill({}) })).toEqual({
      ok: false,
      issues: [
        {
          path: 'workflows',
          message: `must have at most ${BULK_MAX_ITEMS} items (has ${BULK_MAX_ITEMS + 1}); send several requests`,
        },
      ],
    });
  });
});

describe('per-kind payloads', () => {
  it('validatePayloadOf types the value of its kind; buildInputOf is the image of a container only', () => {
    const heartbeat = validatePayloadOf('HEARTBEAT', HEARTBEAT);
    expect(heartbeat.ok && heartbeat.value.expected_status_code).toBe(200);
    expect(paths(validatePayloadOf('CONTAINER', {}))).toEqual(['payload.image']);
    const container = validatePayloadOf('CONTAINER', CONTAINER);
    expect(container.ok && buildInputOf('CONTAINER', container.value)).toBe('alpine:3.20');
    expect(heartbeat.ok && buildInputOf('HEARTBEAT', heartbeat.value)).toBeNull();
  });
});

describe('container artifacts', () => {
  const withArtifacts = (artifacts: unknown) => validatePayloadOf('CONTAINER', { ...CONTAINER, artifacts });

  it('keeps declared artifacts as given and leaves the field out when absent (stored payloads unchanged)', () => {
    const r = withArtifacts([{ name: 'report', path: '/out/report.txt' }]);
    expect(r.ok && r.value.artifacts).toEqual([{ name: 'report', path: '/out/report.txt' }]);
    const none = validatePayloadOf('CONTAINER', CONTAINER);
    expect(none.ok && 'artifacts' in none.value).toBe(false);
  });

  it('names every bad entry by index, a repeated name at its second use', () => {
    expect(
      withArtifacts([
        { name: 'a', path: 'relative' },
        { name: 'B', path: '/b' },
        { name: 'a', path: '/c/../d' },
      ]),
    ).toEqual({
      ok: false,
      issues: expect.arrayContaining([
        { path: 'payload.artifacts.0.path', message: 'must be an absolute path' },
        { path: 'payload.artifacts.1.name', message: expect.stringContaining('lower-case') },
        { path: 'payload.artifacts.2.path', message: 'must not contain ".." segments' },
      ]),
    });
    expect(
      paths(
        withArtifacts([
          { name: 'a', path: '/a' },
          { name: 'a', path: '/b' },
        ]),
      ),
    ).toEqual(['payload.artifacts.1.name']);
  });

  it('takes at most 20', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `a${i}`, path: `/a${i}` }));
    expect(withArtifacts(many(20)).ok).toBe(true);
    expect(paths(withArtifacts(many(21)))).toEqual(['payload.artifacts']);
  });
});

describe('schedules on their own (validateScheduleInput) and the rules between a schedule and its policy', () => {
  const DST_ONLY_CRON =
    'applies to cron schedules only: an interval counts elapsed time and has no wall clock to change';
  const interval = (policy?: Record<string, unknown>) =>
    validateScheduleInput({ type: 'interval', interval_minutes: 5, ...(policy ? { policy } : {}) }, NOW);

  it('requires a schedule and names what is wrong with it', () => {
    for (const missing of [undefined, null]) {
      expect(validateScheduleInput(missing, NOW)).toEqual({
        ok: false,
        issues: [{ path: 'schedule', message: 'is required' }],
      });
    }
    expect(validateScheduleInput({ type: 'cron', cron: 'bad', timezone: 'Mars/Base' }, NOW)).toEqual({
      ok: false,
      issues: [
        { path: 'schedule.cron', message: checkCron('bad') },
        { path: 'schedule.timezone', message: checkTimezone('Mars/Base') },
      ],
    });
    expect(validateScheduleInput({ type: 'once', run_at: '2020-12-31T23:59:59Z' }, NOW)).toEqual({
      ok: false,
      issues: [{ path: 'schedule.run_at', message: 'must be in the future' }],
    });
    expect(validateScheduleInput({ type: 'interval', interval_minutes: 5 }, NOW)).toEqual({
      ok: true,
      value: { type: 'interval', intervalMinutes: 5 },
    });
  });

  it('names an unstorable value and an unknown field of the schedule, each once', () => {
    expect(validateScheduleInput({ type: 'interval', interval_minutes: 5, x: '\u0000' }, NOW)).toEqual({
      ok: false,
      issues: [
        { path: 'schedule.x', message: 'must not contain NUL characters' },
        { path: 'schedule.x', message: 'is not a known field' },
      ],
    });
  });

  it('refuses a DST policy on an interval unless it is the default (what the view shows)', () => {
    const refused = { ok: false, issues: [{ path: 'schedule.policy.dst', message: DST_ONLY_CRON }] };
    expect(interval({ dst: { gap: 'SKIP' } })).toEqual(refused);
    expect(interval({ dst: { overlap: 'BOTH' } })).toEqual(refused);
    expect(interval({ dst: { gap: DEFAULT_DST_POLICY.gap, overlap: 'FIRST' } })).toEqual(refused);
    for (const dst of [{}, { gap: DEFAULT_DST_POLICY.gap }]) {
      const result = interval({ dst });
      expect(result.ok, JSON.stringify(dst)).toBe(true);
      expect(result.ok && result.value.type === 'interval' && result.value.policy?.dst).toEqual(
        DEFAULT_DST_POLICY,
      );
    }
    expect(interval({ jitter_seconds: 30 })).toMatchObject({
      ok: true,
      value: { policy: { jitterSeconds: 30 } },
    });
    // A cron schedule takes it.
    expect(
      validateScheduleInput({ type: 'cron', cron: '0 * * * *', policy: { dst: { gap: 'SKIP' } } }, NOW),
    ).toMatchObject({ ok: true, value: { type: 'cron', policy: { dst: { gap: 'SKIP' } } } });
  });

  it('refuses a jitter as long as the time between two runs', () => {
    expect(interval({ jitter_seconds: 300 })).toEqual({
      ok: false,
      issues: [{ path: 'schedule.policy.jitter_seconds', message: jitterProblem(FIVE_MINUTES, 300, NOW) }],
    });
  });

  it('reports the schedule problems of a workflow body with their messages', () => {
    const body = { name: 'n', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com' } };
    expect(validateWorkflowCreate({ ...body, schedule: { type: 'cron', cron: 'bad' } }, NOW)).toEqual({
      ok: false,
      issues: [{ path: 'schedule.cron', message: checkCron('bad') }],
    });
    expect(validateWorkflowCreate(body, NOW)).toEqual({
      ok: false,
      issues: [{ path: 'schedule', message: 'is required: give interval (minutes) or schedule' }],
    });
    expect(
      validateWorkflowCreate(
        { ...body, interval: 5, schedule: { type: 'interval', interval_minutes: 5 } },
        NOW,
      ),
    ).toEqual({
      ok: false,
      issues: [{ path: 'schedule', message: 'give either interval or schedule, not both' }],
    });
    for (const payload of [undefined, null]) {
      expect(validateWorkflowCreate({ ...body, payload, interval: 5 }, NOW)).toEqual({
        ok: false,
        issues: [{ path: 'payload', message: 'is required' }],
      });
    }
  });

  it('reports a problem found by two checks once (an unstorable payload value)', () => {
    const bad = { endpoint: 'https://example.com/\u0000' };
    const nul = { path: 'payload.endpoint', message: 'must not contain NUL characters' };
    const created = validateWorkflowCreate({ name: 'n', kind: 'HEARTBEAT', payload: bad, interval: 5 }, NOW);
    expect(created).toEqual({ ok: false, issues: [nul] });
    expect(validateWorkflowUpdate({ payload: bad }, 'HEARTBEAT', NOW)).toEqual({ ok: false, issues: [nul] });
  });
});

describe('an edit without a policy keeps the workflow’s (keepPolicyOnEdit)', () => {
  const cronWith = (policy: Record<string, unknown>) => {
    const result = validateScheduleInput({ type: 'cron', cron: '0 * * * *', policy }, NOW);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return result.value;
  };
  const current = cronWith({ jitter_seconds: 600, dst: { gap: 'SKIP' } });
  const currentPolicy = current.type === 'cron' ? current.policy! : null;

  it('keeps the current policies for a new cron time', () => {
    const next: Schedule = { type: 'cron', cron: '30 * * * *', timezone: 'UTC' };
    expect(keepPolicyOnEdit(next, current, NOW)).toEqual({
      ok: true,
      value: { ...next, policy: currentPolicy },
    });
  });

  it('keeps them for an interval, but not the DST policy, which means nothing there', () => {
    const next: Schedule = { type: 'interval', intervalMinutes: 60 };
    expect(keepPolicyOnEdit(next, current, NOW)).toEqual({
      ok: true,
      value: { ...next, policy: { ...currentPolicy, dst: DEFAULT_DST_POLICY } },
    });
  });

  it('checks the kept jitter against the new times', () => {
    expect(keepPolicyOnEdit(FIVE_MINUTES, current, NOW)).toEqual({
      ok: false,
      issues: [
        {
          path: 'schedule.policy.jitter_seconds',
          message: `${jitterProblem(FIVE_MINUTES, 600, NOW)} (the workflow's jitter, kept by this edit)`,
        },
      ],
    });
  });

  it('changes nothing when the edit gives a policy, or either schedule is a one-off, or there is none to keep', () => {
    const withOwn: Schedule = {
      type: 'interval',
      intervalMinutes: 5,
      policy: { ...currentPolicy!, jitterSeconds: 0 },
    };
    const once: Schedule = { type: 'once', runAt: new Date('2021-02-01T00:00:00Z') };
    const plain: Schedule = { type: 'cron', cron: '0 * * * *', timezone: 'UTC' };
    expect(keepPolicyOnEdit(withOwn, current, NOW)).toEqual({ ok: true, value: withOwn });
    expect(keepPolicyOnEdit(once, current, NOW)).toEqual({ ok: true, value: once });
    expect(keepPolicyOnEdit(FIVE_MINUTES, once, NOW)).toEqual({ ok: true, value: FIVE_MINUTES });
    expect(keepPolicyOnEdit(FIVE_MINUTES, plain, NOW)).toEqual({ ok: true, value: FIVE_MINUTES });
  });
});

describe('validateWorkflowUpdate: only what is given', () => {
  it('leaves out every field not given (no key set to undefined)', () => {
    expect(validateWorkflowUpdate({ name: 'x' }, 'HEARTBEAT', NOW)).toStrictEqual({
      ok: true,
      value: { name: 'x' },
    });
    expect(validateWorkflowUpdate({ pause_on_failure: true }, 'HEARTBEAT', NOW)).toStrictEqual({
      ok: true,
      value: { pauseOnFailure: true },
    });
  });

  it('names a kind that is not a kind once, by its shape', () => {
    expect(validateWorkflowUpdate({ kind: 5 }, 'HEARTBEAT', NOW)).toEqual({
      ok: false,
      issues: [{ path: 'kind', message: expect.stringMatching(/^Invalid option/) }],
    });
  });
});

describe('the images a DAG needs built (buildInputOf)', () => {
  it('lists its container images once each, sorted, from tasks and finally', () => {
    expect(
      buildInputOf('DAG', {
        tasks: [
          { kind: 'CONTAINER', payload: { image: 'b:1' } },
          { kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com' } },
          { kind: 'CONTAINER', payload: { image: 'a:1' } },
        ],
        finally: [{ kind: 'CONTAINER', payload: { image: 'b:1' } }],
      }),
    ).toBe('a:1\nb:1');
    expect(
      buildInputOf('DAG', { tasks: [], finally: [{ kind: 'CONTAINER', payload: { image: 'c:1' } }] }),
    ).toBe('c:1');
  });

  it('is null for a DAG of heartbeats and for a heartbeat', () => {
    expect(buildInputOf('DAG', { tasks: [{ kind: 'HEARTBEAT', payload: {} }] })).toBeNull();
    expect(buildInputOf('HEARTBEAT', { endpoint: 'https://example.com' } as never)).toBeNull();
  });
});

/**
 * Workflow input validation through the HTTP API: one case per rejected field and rule of
 * src/domain/workflow-input.ts (and the schedule checks of src/domain/schedule.ts), each asserting a
 * 400 application/problem+json whose `errors` name the exact dotted path. Validation is
 * engine-independent, so this file runs on PGlite, plus one PostgreSQL run of the multi-error case.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/platform/db/database.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
const DAY = 86_400_000;

type Body = Record<string, unknown>;
type User = Awaited<ReturnType<typeof registerUser>>;

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

interface Workflow {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
}

const FUTURE = new Date(Date.now() + 30 * DAY).toISOString();
const PAST = new Date(Date.now() - DAY).toISOString();

function heartbeat(overrides: Body = {}): Body {
  return {
    name: 'ping',
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://api.example.com/health' },
    interval: 5,
    ...overrides,
  };
}
function container(overrides: Body = {}): Body {
  return { name: 'job', kind: 'CONTAINER', payload: { image: 'alpine:3.20' }, interval: 5, ...overrides };
}
/** A heartbeat whose payload has `fields` merged in (undefined removes a field). */
function hb(fields: Body): Body {
  return heartbeat({ payload: withoutUndefined({ endpoint: 'https://api.example.com/health', ...fields }) });
}
function ct(fields: Body): Body {
  return container({ payload: withoutUndefined({ image: 'alpine:3.20', ...fields }) });
}
function withSchedule(schedule: unknown, base: Body = heartbeat()): Body {
  const { interval: _interval, ...rest } = base;
  return { ...rest, schedule };
}
function withoutUndefined(o: Body): Body {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
function without(o: Body, ...keys: string[]): Body {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

function expectInvalid(res: LightMyRequestResponse, ...paths: string[]): Problem {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<Problem>();
  expect(problem).toMatchObject({
    status: 400,
    code: 'CV_VALIDATION',
    type: 'urn:chronoverse:problem:CV_VALIDATION',
  });
  expect(problem.errors?.length).toBeGreaterThan(0);
  for (const e of problem.errors ?? []) {
    expect(typeof e.path).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
  }
  const got = (problem.errors ?? []).map((e) => e.path);
  for (const path of paths) expect(got, `errors ${JSON.stringify(problem.errors)}`).toContain(path);
  return problem;
}

/** [label, body, path that must be reported] */
/** A DAG workflow of `tasks` (heartbeats unless a task says otherwise). */
function dag(tasks: Body[], extra: Body = {}): Body {
  return { name: 'graph', kind: 'DAG', payload: { tasks, ...extra }, interval: 5 };
}
function hbTask(name: string, extra: Body = {}): Body {
  return { name, kind: 'HEARTBEAT', payload: { endpoint: 'https://api.example.com/health' }, ...extra };
}

const CREATE_REJECTIONS: [string, Body, string][] = [
  // ── DAG payload (src/domain/dag-definition.ts) ──
  [
    'DAG cycle',
    dag([hbTask('a', { depends_on: ['b'] }), hbTask('b', { depends_on: ['a'] })]),
    'payload.tasks.0.depends_on',
  ],
  ['DAG unknown dependency', dag([hbTask('a', { depends_on: ['zz'] })]), 'payload.tasks.0.depends_on.0'],
  ['DAG duplicate task name', dag([hbTask('a'), hbTask('a')]), 'payload.tasks.1.name'],
  [
    'DAG bad condition',
    dag([hbTask('a'), hbTask('b', { depends: 'a.succeeded &&' })]),
    'payload.tasks.1.depends',
  ],
  ['DAG no tasks', dag([]), 'payload.tasks'],
  [
    'DAG task payload',
    dag([hbTask('a', { payload: { endpoint: 'ftp://x.example.com' } })]),
    'payload.tasks.0.payload.endpoint',
  ],
  [
    'DAG output of a task that is not upstream',
    dag([
      hbTask('a'),
      hbTask('b', { payload: { endpoint: 'https://x.example.com/{{tasks.c.outputs.k}}' } }),
      hbTask('c'),
    ]),
    'payload.tasks.1.payload.endpoint',
  ],
  // ── heartbeat payload ──
  ['endpoint ftp://', hb({ endpoint: 'ftp://files.example.com/x' }), 'payload.endpoint'],
  ['endpoint file://', hb({ endpoint: 'file:///etc/passwd' }), 'payload.endpoint'],
  ['endpoint not a URL', hb({ endpoint: 'not a url' }), 'payload.endpoint'],
  ['endpoint without host', hb({ endpoint: 'http://' }), 'payload.endpoint'],
  ['endpoint javascript:', hb({ endpoint: 'javascript:alert(1)' }), 'payload.endpoint'],
  ['endpoint missing', hb({ endpoint: undefined }), 'payload.endpoint'],
  ['endpoint not a string', hb({ endpoint: 42 }), 'payload.endpoint'],
  [
    'endpoint over 2048 chars',
    hb({ endpoint: `https://example.com/${'a'.repeat(2048)}` }),
    'payload.endpoint',
  ],
  ['method lower-case', hb({ method: 'get' }), 'payload.method'],
  ['method TRACE', hb({ method: 'TRACE' }), 'payload.method'],
  ['method number', hb({ method: 1 }), 'payload.method'],
  ['header name with a space', hb({ headers: { 'Bad Name': 'x' } }), 'payload.headers.Bad Name'],
  ['header name with a colon', hb({ headers: { 'X-A:': 'x' } }), 'payload.headers.X-A:'],
  ['header value with a newline', hb({ headers: { 'X-Test': 'a\nb' } }), 'payload.headers.X-Test'],
  ['header value with a CR', hb({ headers: { 'X-Test': 'a\rInjected: 1' } }), 'payload.headers.X-Test'],
  [
    'header array value with a newline',
    hb({ headers: { 'X-Test': ['ok', 'a\nb'] } }),
    'payload.headers.X-Test.1',
  ],
  ['header value a number', hb({ headers: { 'X-Test': 1 } }), 'payload.headers.X-Test'],
  ['headers an array', hb({ headers: ['X-Test: 1'] }), 'payload.headers'],
  [
    'more than 64 headers',
    hb({ headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, 'v'])) }),
    'payload.headers',
  ],
  ['body with GET', hb({ method: 'GET', body: 'x' }), 'payload.body'],
  ['body with HEAD', hb({ method: 'HEAD', body: 'x' }), 'payload.body'],
  ['body with the default method (GET)', hb({ body: '{}' }), 'payload.body'],
  ['body not a string', hb({ method: 'POST', body: { a: 1 } }), 'payload.body'],
  ['expected_status_code 99', hb({ expected_status_code: 99 }), 'payload.expected_status_code'],
  ['expected_status_code 600', hb({ expected_status_code: 600 }), 'payload.expected_status_code'],
  ['expected_status_code 1.5', hb({ expected_status_code: 1.5 }), 'payload.expected_status_code'],
  ['expected_status_code "200"', hb({ expected_status_code: '200' }), 'payload.expected_status_code'],
  ['heartbeat timeout "0s"', hb({ timeout: '0s' }), 'payload.timeout'],
  ['heartbeat timeout "6m"', hb({ timeout: '6m' }), 'payload.timeout'],
  ['heartbeat timeout "5m1s"', hb({ timeout: '5m1s' }), 'payload.timeout'],
  ['heartbeat timeout "abc"', hb({ timeout: 'abc' }), 'payload.timeout'],
  ['heartbeat timeout "-1s"', hb({ timeout: '-1s' }), 'payload.timeout'],
  ['heartbeat timeout "10"', hb({ timeout: '10' }), 'payload.timeout'],
  ['heartbeat timeout a number', hb({ timeout: 10 }), 'payload.timeout'],
  ['heartbeat unknown payload field', hb({ retries: 3 }), 'payload.retries'],
  ['heartbeat payload with container fields', hb({ image: 'alpine' }), 'payload.image'],
  // ── container payload ──
  ['image "UPPER/Case"', ct({ image: 'UPPER/Case' }), 'payload.image'],
  ['image ""', ct({ image: '' }), 'payload.image'],
  ['image with a space', ct({ image: 'alpine 3' }), 'payload.image'],
  ['image with a bad digest', ct({ image: 'alpine@sha256:xyz' }), 'payload.image'],
  ['image missing', ct({ image: undefined }), 'payload.image'],
  ['image over 255 chars', ct({ image: `a${'b'.repeat(255)}` }), 'payload.image'],
  ['cmd a string', ct({ cmd: 'echo hi' }), 'payload.cmd'],
  ['cmd with a non-string', ct({ cmd: ['echo', 1] }), 'payload.cmd.1'],
  ['cmd over 256 args', ct({ cmd: Array.from({ length: 257 }, () => 'a') }), 'payload.cmd'],
  ['entrypoint a string', ct({ entrypoint: '/bin/sh' }), 'payload.entrypoint'],
  ['env key starting with a digit', ct({ env: { '1BAD': 'x' } }), 'payload.env.1BAD'],
  ['env key with a dash', ct({ env: { 'MY-VAR': 'x' } }), 'payload.env.MY-VAR'],
  ['env value not a string', ct({ env: { GOOD: 1 } }), 'payload.env.GOOD'],
  ['env an array', ct({ env: ['A=1'] }), 'payload.env'],
  ['workdir relative', ct({ workdir: 'srv/app' }), 'payload.workdir'],
  ['workdir a number', ct({ workdir: 1 }), 'payload.workdir'],
  ['container timeout "2h"', ct({ timeout: '2h' }), 'payload.timeout'],
  ['container timeout "1h0m1s"', ct({ timeout: '1h0m1s' }), 'payload.timeout'],
  ['container timeout "0s"', ct({ timeout: '0s' }), 'payload.timeout'],
  ['resources.cpus 0', ct({ resources: { cpus: 0 } }), 'payload.resources.cpus'],
  ['resources.cpus 65', ct({ resources: { cpus: 65 } }), 'payload.resources.cpus'],
  ['resources.memory_mb 5', ct({ resources: { memory_mb: 5 } }), 'payload.resources.memory_mb'],
  ['resources.memory_mb 262145', ct({ resources: { memory_mb: 262_145 } }), 'payload.resources.memory_mb'],
  ['resources.memory_mb 1.5', ct({ resources: { memory_mb: 64.5 } }), 'payload.resources.memory_mb'],
  ['resources.pids 0', ct({ resources: { pids: 0 } }), 'payload.resources.pids'],
  ['resources.pids 32769', ct({ resources: { pids: 32_769 } }), 'payload.resources.pids'],
  ['resources unknown field', ct({ resources: { gpus: 1 } }), 'payload.resources.gpus'],
  ['resources a number', ct({ resources: 4 }), 'payload.resources'],
  ['network host', ct({ network: 'host' }), 'payload.network'],
  ['network NONE', ct({ network: 'NONE' }), 'payload.network'],
  ['container unknown payload field', ct({ privileged: true }), 'payload.privileged'],
  ['container payload with heartbeat fields', ct({ endpoint: 'https://x.example.com/' }), 'payload.endpoint'],
  // ── container artifacts (issue 14); array items are named by index, as cmd's are ──
  ['artifacts not an array', ct({ artifacts: { name: 'a', path: '/a' } }), 'payload.artifacts'],
  [
    'artifact when unknown',
    ct({ artifacts: [{ name: 'a', path: '/a', when: 'NEVER' }] }),
    'payload.artifacts.0.when',
  ],
  ['artifact_retention not a duration', ct({ artifact_retention: '7 days' }), 'payload.artifact_retention'],
  ['inputs on a single-task workflow', ct({ inputs: [{ from: 'a.b', path: '/in' }] }), 'payload.inputs'],
  [
    'DAG input of a task that is not upstream',
    dag([
      {
        name: 'a',
        kind: 'CONTAINER',
        payload: { image: 'alpine:3.20', artifacts: [{ name: 'out', path: '/o' }] },
      },
      hbTask('b'),
      {
        name: 'c',
        kind: 'CONTAINER',
        depends_on: ['b'],
        payload: { image: 'alpine:3.20', inputs: [{ from: 'a.out', path: '/in/o' }] },
      },
    ]),
    'payload.tasks.2.payload.inputs.0.from',
  ],
  [
    'DAG input path relative',
    dag([
      {
        name: 'a',
        kind: 'CONTAINER',
        payload: { image: 'alpine:3.20', artifacts: [{ name: 'out', path: '/o' }] },
      },
      {
        name: 'c',
        kind: 'CONTAINER',
        depends_on: ['a'],
        payload: { image: 'alpine:3.20', inputs: [{ from: 'a.out', path: 'in/o' }] },
      },
    ]),
    'payload.tasks.1.payload.inputs.0.path',
  ],
  [
    'DAG artifact_retention too long',
    dag([hbTask('a')], { artifact_retention: '9999d' }),
    'payload.artifact_retention',
  ],
  [
    'artifact path relative',
    ct({
      artifacts: [
        { name: 'a', path: '/a' },
        { name: 'b', path: 'out/b' },
      ],
    }),
    'payload.artifacts.1.path',
  ],
  [
    'artifact path with ..',
    ct({ artifacts: [{ name: 'a', path: '/out/../etc' }] }),
    'payload.artifacts.0.path',
  ],
  ['artifact path missing', ct({ artifacts: [{ name: 'a' }] }), 'payload.artifacts.0.path'],
  [
    'artifact name upper case',
    ct({ artifacts: [{ name: 'Report', path: '/r' }] }),
    'payload.artifacts.0.name',
  ],
  [
    'artifact name starting with a dot',
    ct({ artifacts: [{ name: '.hidden', path: '/r' }] }),
    'payload.artifacts.0.name',
  ],
  [
    'artifact name of 64 chars',
    ct({ artifacts: [{ name: 'a'.repeat(64), path: '/r' }] }),
    'payload.artifacts.0.name',
  ],
  [
    'artifact name with a slash',
    ct({ artifacts: [{ name: 'a/b', path: '/r' }] }),
    'payload.artifacts.0.name',
  ],
  [
    'artifact name repeated',
    ct({
      artifacts: [
        { name: 'a', path: '/a' },
        { name: 'b', path: '/b' },
        { name: 'a', path: '/c' },
      ],
    }),
    'payload.artifacts.2.name',
  ],
  [
    'artifact unknown field',
    ct({ artifacts: [{ name: 'a', path: '/a', mode: 'tar' }] }),
    'payload.artifacts.0.mode',
  ],
  [
    '21 artifacts',
    ct({ artifacts: Array.from({ length: 21 }, (_, i) => ({ name: `a${i}`, path: `/a${i}` })) }),
    'payload.artifacts',
  ],
  // ── payload as a whole ──
  ['payload JSON string invalid', heartbeat({ payload: '{"endpoint": ' }), 'payload'],
  [
    'payload JSON string of an array',
    heartbeat({ payload: '[{"endpoint":"https://x.example.com/"}]' }),
    'payload',
  ],
  ['payload JSON string of a string', heartbeat({ payload: '"https://x.example.com/"' }), 'payload'],
  [
    'payload JSON string with a bad field',
    heartbeat({ payload: JSON.stringify({ endpoint: 'ftp://x' }) }),
    'payload.endpoint',
  ],
  ['payload an array', heartbeat({ payload: [{ endpoint: 'https://x.example.com/' }] }), 'payload'],
  ['payload a number', heartbeat({ payload: 7 }), 'payload'],
  ['payload missing', without(heartbeat(), 'payload'), 'payload'],
  ['payload null', heartbeat({ payload: null }), 'payload'],
  // ── schedule ──
  ['interval 0', heartbeat({ interval: 0 }), 'interval'],
  ['interval 10081', heartbeat({ interval: 10_081 }), 'interval'],
  ['interval 1.5', heartbeat({ interval: 1.5 }), 'interval'],
  ['interval "5"', heartbeat({ interval: '5' }), 'interval'],
  ['interval -5', heartbeat({ interval: -5 }), 'interval'],
  ['interval null', heartbeat({ interval: null }), 'interval'],
  [
    'both interval and schedule',
    heartbeat({ schedule: { type: 'interval', interval_minutes: 5 } }),
    'schedule',
  ],
  ['neither interval nor schedule', without(heartbeat(), 'interval'), 'schedule'],
  ['schedule unknown type', withSchedule({ type: 'weekly' }), 'schedule.type'],
  ['schedule without type', withSchedule({ interval_minutes: 5 }), 'schedule.type'],
  ['schedule a string', withSchedule('*/5 * * * *'), 'schedule'],
  [
    'schedule.interval_minutes 0',
    withSchedule({ type: 'interval', interval_minutes: 0 }),
    'schedule.interval_minutes',
  ],
  [
    'schedule.interval_minutes 10081',
    withSchedule({ type: 'interval', interval_minutes: 10_081 }),
    'schedule.interval_minutes',
  ],
  [
    'schedule interval unknown field',
    withSchedule({ type: 'interval', interval_minutes: 5, jitter: 1 }),
    'schedule.jitter',
  ],
  [
    'overlap unknown',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { overlap: 'ALLOW' } }),
    'schedule.policy.overlap',
  ],
  [
    'catch_up without mode',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { catch_up: { window_seconds: 60 } } }),
    'schedule.policy.catch_up.mode',
  ],
  [
    'catch_up max_runs outside ALL',
    withSchedule({ type: 'cron', cron: '0 * * * *', policy: { catch_up: { mode: 'LATEST', max_runs: 5 } } }),
    'schedule.policy.catch_up.max_runs',
  ],
  [
    'catch_up max_runs over 1000',
    withSchedule({ type: 'cron', cron: '0 * * * *', policy: { catch_up: { mode: 'ALL', max_runs: 1001 } } }),
    'schedule.policy.catch_up.max_runs',
  ],
  [
    'catch_up window 0',
    withSchedule({
      type: 'interval',
      interval_minutes: 5,
      policy: { catch_up: { mode: 'NONE', window_seconds: 0 } },
    }),
    'schedule.policy.catch_up.window_seconds',
  ],
  [
    'jitter as long as the interval',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { jitter_seconds: 300 } }),
    'schedule.policy.jitter_seconds',
  ],
  [
    'jitter longer than the shortest cron gap',
    withSchedule({ type: 'cron', cron: '*/2 * * * *', policy: { jitter_seconds: 120 } }),
    'schedule.policy.jitter_seconds',
  ],
  [
    'jitter over an hour',
    withSchedule({ type: 'cron', cron: '0 0 * * *', policy: { jitter_seconds: 3601 } }),
    'schedule.policy.jitter_seconds',
  ],
  [
    'starting deadline 0',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { starting_deadline_seconds: 0 } }),
    'schedule.policy.starting_deadline_seconds',
  ],
  [
    'starting deadline over a day',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { starting_deadline_seconds: 86_401 } }),
    'schedule.policy.starting_deadline_seconds',
  ],
  [
    'policy unknown field',
    withSchedule({ type: 'interval', interval_minutes: 5, policy: { deadline: 5 } }),
    'schedule.policy.deadline',
  ],
  [
    'policy on a once schedule',
    withSchedule({ type: 'once', run_at: FUTURE, policy: { overlap: 'SKIP' } }),
    'schedule.policy',
  ],
  ['cron with 4 fields', withSchedule({ type: 'cron', cron: '* * * *' }), 'schedule.cron'],
  ['cron with 7 fields', withSchedule({ type: 'cron', cron: '0 0 0 * * * 2030' }), 'schedule.cron'],
  ['cron garbage', withSchedule({ type: 'cron', cron: 'every day at noon' }), 'schedule.cron'],
  ['cron garbage in 5 fields', withSchedule({ type: 'cron', cron: 'a b c d e' }), 'schedule.cron'],
  ['cron minute 60', withSchedule({ type: 'cron', cron: '60 * * * *' }), 'schedule.cron'],
  ['cron "0 0 30 2 *" never fires', withSchedule({ type: 'cron', cron: '0 0 30 2 *' }), 'schedule.cron'],
  ['cron empty', withSchedule({ type: 'cron', cron: '   ' }), 'schedule.cron'],
  [
    'cron over 200 chars',
    withSchedule({ type: 'cron', cron: `0 0 * * ${'1,'.repeat(100)}1` }),
    'schedule.cron',
  ],
  ['cron missing', withSchedule({ type: 'cron', timezone: 'UTC' }), 'schedule.cron'],
  ['cron @reboot', withSchedule({ type: 'cron', cron: '@reboot' }), 'schedule.cron'],
  [
    'timezone unknown',
    withSchedule({ type: 'cron', cron: '0 9 * * *', timezone: 'Mars/Olympus' }),
    'schedule.timezone',
  ],
  ['timezone empty', withSchedule({ type: 'cron', cron: '0 9 * * *', timezone: '' }), 'schedule.timezone'],
  [
    'timezone too long',
    withSchedule({ type: 'cron', cron: '0 9 * * *', timezone: 'A'.repeat(65) }),
    'schedule.timezone',
  ],
  ['timezone a number', withSchedule({ type: 'cron', cron: '0 9 * * *', timezone: 1 }), 'schedule.timezone'],
  ['cron unknown field', withSchedule({ type: 'cron', cron: '0 9 * * *', tz: 'UTC' }), 'schedule.tz'],
  ['run_at in the past', withSchedule({ type: 'once', run_at: PAST }), 'schedule.run_at'],
  ['run_at not a timestamp', withSchedule({ type: 'once', run_at: 'tomorrow' }), 'schedule.run_at'],
  ['run_at without offset', withSchedule({ type: 'once', run_at: '2099-01-01T00:00:00' }), 'schedule.run_at'],
  ['run_at date only', withSchedule({ type: 'once', run_at: '2099-01-01' }), 'schedule.run_at'],
  ['run_at 30 February', withSchedule({ type: 'once', run_at: '2099-02-30T00:00:00Z' }), 'schedule.run_at'],
  ['run_at epoch number', withSchedule({ type: 'once', run_at: Date.now() + DAY }), 'schedule.run_at'],
  ['run_at missing', withSchedule({ type: 'once' }), 'schedule.run_at'],
  // ── other top-level fields ──
  ['log_retention true on HEARTBEAT', heartbeat({ log_retention: true }), 'log_retention'],
  ['log_retention "yes"', container({ log_retention: 'yes' }), 'log_retention'],
  ['log_retention null', container({ log_retention: null }), 'log_retention'],
  [
    'max failures 0',
    heartbeat({ max_consecutive_job_failures_allowed: 0 }),
    'max_consecutive_job_failures_allowed',
  ],
  [
    'max failures 101',
    heartbeat({ max_consecutive_job_failures_allowed: 101 }),
    'max_consecutive_job_failures_allowed',
  ],
  [
    'max failures 2.5',
    heartbeat({ max_consecutive_job_failures_allowed: 2.5 }),
    'max_consecutive_job_failures_allowed',
  ],
  [
    'max failures "3"',
    heartbeat({ max_consecutive_job_failures_allowed: '3' }),
    'max_consecutive_job_failures_allowed',
  ],
  ['name empty', heartbeat({ name: '' }), 'name'],
  ['name only spaces', heartbeat({ name: '   ' }), 'name'],
  ['name 256 chars', heartbeat({ name: 'n'.repeat(256) }), 'name'],
  ['name with a control char', heartbeat({ name: 'bell\u0007here' }), 'name'],
  ['name with an inner newline', heartbeat({ name: 'two\nlines' }), 'name'],
  ['name with a NUL', heartbeat({ name: 'nul\u0000here' }), 'name'],
  ['name a number', heartbeat({ name: 42 }), 'name'],
  ['name missing', without(heartbeat(), 'name'), 'name'],
  ['kind lower-case', heartbeat({ kind: 'heartbeat' }), 'kind'],
  ['kind unknown', heartbeat({ kind: 'CRON' }), 'kind'],
  ['kind missing', without(heartbeat(), 'kind'), 'kind'],
  ['kind null', heartbeat({ kind: null }), 'kind'],
  ['unknown top-level field', heartbeat({ priority: 1 }), 'priority'],
  ['top-level id', heartbeat({ id: '0190a000-0000-7000-8000-000000000000' }), 'id'],
  ['top-level build_status', heartbeat({ build_status: 'COMPLETED' }), 'build_status'],
];

/** Boundary values that must be accepted. */
const CREATE_ACCEPTED: [string, Body][] = [
  [
    'a DAG with conditions, a fan-out, retries and finally',
    dag(
      [
        hbTask('a'),
        hbTask('b', { depends: 'a.succeeded || a.failed', retry: { limit: 2, on: ['HTTP_5XX'] } }),
        hbTask('c', { depends_on: ['a'], for_each: [1, 2, 3], max_parallel: 2 }),
      ],
      { finally: [hbTask('z')], max_parallel: 4 },
    ),
  ],
  ['interval 1', heartbeat({ interval: 1 })],
  [
    'every schedule policy',
    withSchedule({
      type: 'cron',
      cron: '0 * * * *',
      timezone: 'Europe/Berlin',
      policy: {
        overlap: 'CANCEL_OTHER',
        catch_up: { mode: 'ALL', window_seconds: 86_400, max_runs: 24 },
        jitter_seconds: 3599,
      },
    }),
  ],
  ['an empty policy (the defaults)', withSchedule({ type: 'interval', interval_minutes: 5, policy: {} })],
  ['interval 10080', heartbeat({ interval: 10_080 })],
  ['name of 255 chars', heartbeat({ name: 'n'.repeat(255) })],
  ['name with unicode', heartbeat({ name: 'Überwachung – 監視 ✓' })],
  ['max failures 1', heartbeat({ max_consecutive_job_failures_allowed: 1 })],
  ['max failures 100', heartbeat({ max_consecutive_job_failures_allowed: 100 })],
  ['expected_status_code 100', hb({ expected_status_code: 100 })],
  ['expected_status_code 599', hb({ expected_status_code: 599 })],
  ['heartbeat timeout 5m', hb({ timeout: '5m' })],
  [
    '20 artifacts, names at the bounds',
    ct({
      artifacts: [
        { name: '0', path: '/' },
        { name: 'a'.repeat(63), path: '/out/report.txt' },
        ...Array.from({ length: 18 }, (_, i) => ({ name: `x-${i}.tar_gz`, path: `/out/d${i}/` })),
      ],
    }),
  ],
  ['heartbeat timeout 1m30s', hb({ timeout: '1m30s' })],
  ['heartbeat timeout 250ms', hb({ timeout: '250ms' })],
  ['each method with body (POST)', hb({ method: 'POST', body: 'x' })],
  ['DELETE with null body', hb({ method: 'DELETE', body: null })],
  ['HEAD without body', hb({ method: 'HEAD' })],
  ['header list value', hb({ headers: { Accept: ['a', 'b'], 'X-Empty': '' } })],
  ['64 headers', hb({ headers: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`X-H${i}`, 'v'])) })],
  ['http endpoint with port and query', hb({ endpoint: 'http://127.0.0.1:8080/a?b=c#d' })],
  ['container timeout 1h', ct({ timeout: '1h' })],
  [
    'image with registry port and digest',
    ct({ image: `registry.local:5000/team/app@sha256:${'a'.repeat(64)}` }),
  ],
  ['image with tag', ct({ image: 'ghcr.io/org/app:v1.2.3-rc.1' })],
  ['resources bounds low', ct({ resources: { cpus: 0.01, memory_mb: 6, pids: 1 } })],
  ['resources bounds high', ct({ resources: { cpus: 64, memory_mb: 262_144, pids: 32_768 } })],
  ['resources nulls', ct({ resources: { cpus: null, memory_mb: null, pids: null } })],
  ['env names', ct({ env: { _A: '1', b_2: '', LONG: 'x'.repeat(1000) } })],
  ['network bridge', ct({ network: 'bridge' })],
  ['log_retention false on HEARTBEAT', heartbeat({ log_retention: false })],
  ['cron 6 fields', withSchedule({ type: 'cron', cron: '*/30 * * * * *' })],
  ['cron @hourly', withSchedule({ type: 'cron', cron: '@hourly' })],
  ['cron 29 February', withSchedule({ type: 'cron', cron: '0 0 29 2 *' })],
  [
    'cron America/New_York',
    withSchedule({ type: 'cron', cron: '0 9 * * 1-5', timezone: 'America/New_York' }),
  ],
  ['run_at with offset', withSchedule({ type: 'once', run_at: FUTURE.replace('Z', '+00:00') })],
  [
    'payload as a JSON string',
    heartbeat({ payload: JSON.stringify({ endpoint: 'https://x.example.com/' }) }),
  ],
];

/** A body with many independent bad fields, each reported. */
const MULTI_BAD: Body = {
  name: '',
  kind: 'HEARTBEAT',
  payload: {
    endpoint: 'ftp://x',
    method: 'TRACE',
    timeout: '0s',
    expected_status_code: 99,
    headers: { 'Bad Name': 'x' },
    extra: 1,
  },
  interval: 0,
  max_consecutive_job_failures_allowed: 0,
  log_retention: true,
  color: 'blue',
};
const MULTI_BAD_PATHS = [
  'name',
  'payload.endpoint',
  'payload.method',
  'payload.timeout',
  'payload.expected_status_code',
  'payload.headers.Bad Name',
  'payload.extra',
  'interval',
  'max_consecutive_job_failures_allowed',
  'log_retention',
  'color',
];

async function setup(engine: Engine) {
  // The schema's own bounds are what this file checks: the administrator's ceilings are raised to
  // them, and the registry of the "port and digest" reference is listed (test/api/policy.test.ts
  // checks the ceilings and the allow-list themselves).
  const gw = await createTestGateway(engine, {
    env: {
      CHRONOVERSE_CONTAINERS_MAX_CPUS: '64',
      CHRONOVERSE_CONTAINERS_MAX_MEMORY_MB: '262144',
      CHRONOVERSE_CONTAINERS_MAX_PIDS: '32768',
      CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: 'docker.io,ghcr.io,registry.local:5000',
    },
  });
  const user = await registerUser(gw);
  return { gw, user };
}

function post(gw: TestGateway, user: User, body: unknown) {
  return gw.app.inject({ method: 'POST', url: API, headers: user.headers, payload: body as object });
}

describe('workflow validation (pglite)', () => {
  let gw: TestGateway;
  let user: User;
  beforeAll(async () => {
    ({ gw, user } = await setup('pglite'));
  });
  afterAll(() => gw.close());

  describe('POST /workflows rejects', () => {
    it.each(CREATE_REJECTIONS)('%s → 400 on the exact path', async (_label, body, path) => {
      expectInvalid(await post(gw, user, body), path);
    });

    it('created nothing for any rejected body', async () => {
      const rows = await gw.database.db
        .selectFrom('workflows')
        .select('id')
        .where('user_id', '=', user.user.id)
        .execute();
      expect(rows).toEqual([]);
      const outbox = await gw.database.db.selectFrom('outbox').select('id').execute();
      expect(outbox).toEqual([]);
    });
  });

  describe('POST /workflows accepts boundary values', () => {
    it.each(CREATE_ACCEPTED)('%s', async (_label, body) => {
      const res = await post(gw, user, body);
      expect(res.statusCode, res.body).toBe(201);
    });
  });

  it('a body with at least 6 different bad fields lists ALL of them', async () => {
    const problem = expectInvalid(await post(gw, user, MULTI_BAD), ...MULTI_BAD_PATHS);
    expect(problem.errors!.length).toBeGreaterThanOrEqual(MULTI_BAD_PATHS.length);
  });

  it('a container body with many bad fields lists all of them', async () => {
    const body = {
      name: 'x'.repeat(300),
      kind: 'CONTAINER',
      payload: JSON.stringify({
        image: 'UPPER/Case',
        cmd: 'ls',
        env: { '1BAD': 'x' },
        workdir: 'rel',
        timeout: '2h',
        resources: { cpus: 0, memory_mb: 5, pids: 0 },
        network: 'host',
      }),
      schedule: { type: 'cron', cron: '* * * *', timezone: 'Nowhere/City' },
      max_consecutive_job_failures_allowed: 101,
      log_retention: 'no',
    };
    expectInvalid(
      await post(gw, user, body),
      'name',
      'payload.image',
      'payload.cmd',
      'payload.env.1BAD',
      'payload.workdir',
      'payload.timeout',
      'payload.resources.cpus',
      'payload.resources.memory_mb',
      'payload.resources.pids',
      'payload.network',
      'schedule.cron',
      'schedule.timezone',
      'max_consecutive_job_failures_allowed',
      'log_retention',
    );
  });

  // Regression: schedule rules (both/neither given, run_at in the past) were only checked when
  // every other field was valid.
  it.each([
    [
      'bad name + run_at in the past',
      withSchedule({ type: 'once', run_at: PAST }, heartbeat({ name: '' })),
      ['name', 'schedule.run_at'],
    ],
    ['bad name + no schedule', without(heartbeat({ name: '' }), 'interval'), ['name', 'schedule']],
    [
      'bad payload + both interval and schedule',
      { ...hb({ endpoint: 'ftp://x' }), schedule: { type: 'interval', interval_minutes: 5 } },
      ['payload.endpoint', 'schedule'],
    ],
  ] as [string, Body, string[]][])(
    'lists schedule errors alongside other errors: %s',
    async (_label, body, paths) => {
      expectInvalid(await post(gw, user, body), ...paths);
    },
  );

  // Regression: PostgreSQL refuses NUL in jsonb; the answer used to be a generic 400 without the field.
  it.each([
    ['payload.body', hb({ method: 'POST', body: 'a\u0000b' })],
    ['payload.env.A', ct({ env: { A: 'a\u0000b' } })],
    ['payload.cmd.0', ct({ cmd: ['a\u0000b'] })],
  ] as [string, Body][])('a NUL in %s is reported on that path', async (path, body) => {
    expectInvalid(await post(gw, user, body), path);
  });

  // Regression: an env var named __proto__ used to be dropped silently (answer 201 without it).
  it('an env var named __proto__ is rejected, never silently dropped', async () => {
    const res = await post(
      gw,
      user,
      container({ payload: '{"image":"alpine","env":{"__proto__":"x","A":"b"}}' }),
    );
    if (res.statusCode === 201) {
      const env = res.json<Workflow>().payload.env as Record<string, unknown>;
      expect(Object.keys(env)).toContain('__proto__');
    } else {
      expectInvalid(res, 'payload.env.__proto__');
    }
  });

  describe('PUT /workflows/{id}', () => {
    let h: Workflow;
    let c: Workflow;
    beforeAll(async () => {
      h = (await post(gw, user, heartbeat({ name: 'put target heartbeat' }))).json<Workflow>();
      c = (await post(gw, user, container({ name: 'put target container' }))).json<Workflow>();
    });
    const put = (id: string, body: unknown) =>
      gw.app.inject({ method: 'PUT', url: `${API}/${id}`, headers: user.headers, payload: body as object });
    /** The current payload rides along (see the partial-PUT bug in workflows.test.ts). */
    const hbPut = (changes: Body) => ({ payload: h.payload, ...changes });
    const ctPut = (changes: Body) => ({ payload: c.payload, ...changes });

    const UPDATE_REJECTIONS: [string, 'h' | 'c', () => unknown, string][] = [
      ['kind change HEARTBEAT → CONTAINER', 'h', () => hbPut({ kind: 'CONTAINER' }), 'kind'],
      ['kind change CONTAINER → HEARTBEAT', 'c', () => ctPut({ kind: 'HEARTBEAT' }), 'kind'],
      ['kind invalid', 'h', () => hbPut({ kind: 'PING' }), 'kind'],
      [
        'heartbeat payload on a CONTAINER',
        'c',
        () => ({ payload: { endpoint: 'https://x.example.com/' } }),
        'payload.endpoint',
      ],
      [
        'heartbeat payload on a CONTAINER (image missing)',
        'c',
        () => ({ payload: { endpoint: 'https://x.example.com/' } }),
        'payload.image',
      ],
      ['container payload on a HEARTBEAT', 'h', () => ({ payload: { image: 'alpine' } }), 'payload.image'],
      ['bad endpoint', 'h', () => ({ payload: { endpoint: 'gopher://x' } }), 'payload.endpoint'],
      [
        'body with GET',
        'h',
        () => ({ payload: { endpoint: 'https://x.example.com/', body: 'x' } }),
        'payload.body',
      ],
      [
        'container timeout 2h',
        'c',
        () => ({ payload: { image: 'alpine', timeout: '2h' } }),
        'payload.timeout',
      ],
      [
        'container env key',
        'c',
        () => ({ payload: { image: 'alpine', env: { '1BAD': '' } } }),
        'payload.env.1BAD',
      ],
      ['payload null', 'h', () => ({ payload: null }), 'payload'],
      ['payload invalid JSON string', 'h', () => ({ payload: '{' }), 'payload'],
      ['payload an array', 'c', () => ({ payload: [] }), 'payload'],
      ['name empty', 'h', () => hbPut({ name: '' }), 'name'],
      ['name 256 chars', 'h', () => hbPut({ name: 'x'.repeat(256) }), 'name'],
      ['name control char', 'h', () => hbPut({ name: 'a\u0001b' }), 'name'],
      ['interval 0', 'h', () => hbPut({ interval: 0 }), 'interval'],
      ['interval 10081', 'h', () => hbPut({ interval: 10_081 }), 'interval'],
      [
        'both interval and schedule',
        'h',
        () => hbPut({ interval: 5, schedule: { type: 'interval', interval_minutes: 5 } }),
        'schedule',
      ],
      ['cron 4 fields', 'h', () => hbPut({ schedule: { type: 'cron', cron: '* * * *' } }), 'schedule.cron'],
      [
        'cron never fires',
        'c',
        () => ctPut({ schedule: { type: 'cron', cron: '0 0 31 4 *' } }),
        'schedule.cron',
      ],
      [
        'timezone unknown',
        'h',
        () => hbPut({ schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Atlantis' } }),
        'schedule.timezone',
      ],
      [
        'run_at in the past',
        'h',
        () => hbPut({ schedule: { type: 'once', run_at: PAST } }),
        'schedule.run_at',
      ],
      [
        'run_at not a timestamp',
        'h',
        () => hbPut({ schedule: { type: 'once', run_at: 'soon' } }),
        'schedule.run_at',
      ],
      ['log_retention true on HEARTBEAT', 'h', () => hbPut({ log_retention: true }), 'log_retention'],
      ['log_retention not a boolean', 'c', () => ctPut({ log_retention: 1 }), 'log_retention'],
      [
        'max failures 0',
        'h',
        () => hbPut({ max_consecutive_job_failures_allowed: 0 }),
        'max_consecutive_job_failures_allowed',
      ],
      [
        'max failures 101',
        'c',
        () => ctPut({ max_consecutive_job_failures_allowed: 101 }),
        'max_consecutive_job_failures_allowed',
      ],
      ['unknown field', 'h', () => hbPut({ paused: true }), 'paused'],
      ['read-only field generation', 'h', () => hbPut({ generation: 9 }), 'generation'],
      ['body an array', 'h', () => [hbPut({})], ''],
    ];

    it.each(UPDATE_REJECTIONS)('%s → 400 on the exact path', async (_label, which, body, path) => {
      const target = which === 'h' ? h : c;
      expectInvalid(await put(target.id, body()), path);
    });

    it('a PUT with several bad fields lists all of them', async () => {
      expectInvalid(
        await put(c.id, {
          name: '',
          kind: 'HEARTBEAT',
          payload: { image: '', network: 'host' },
          interval: 0,
          max_consecutive_job_failures_allowed: 0,
          log_retention: 'x',
          extra: 1,
        }),
        'name',
        'kind',
        'payload.image',
        'payload.network',
        'interval',
        'max_consecutive_job_failures_allowed',
        'log_retention',
        'extra',
      );
    });

    it('rejected PUTs changed nothing', async () => {
      const gh = await gw.app.inject({ method: 'GET', url: `${API}/${h.id}`, headers: user.headers });
      const gc = await gw.app.inject({ method: 'GET', url: `${API}/${c.id}`, headers: user.headers });
      expect(gh.json()).toEqual(h);
      expect(gc.json()).toEqual(c);
    });
  });
});

describe('workflow validation (postgres)', () => {
  let gw: TestGateway;
  let user: User;
  beforeAll(async () => {
    ({ gw, user } = await setup('postgres'));
  });
  afterAll(() => gw.close());

  it('a body with at least 6 different bad fields lists ALL of them', async () => {
    const problem = expectInvalid(await post(gw, user, MULTI_BAD), ...MULTI_BAD_PATHS);
    expect(problem.errors!.length).toBeGreaterThanOrEqual(MULTI_BAD_PATHS.length);
    const rows = await gw.database.db
      .selectFrom('workflows')
      .select('id')
      .where('user_id', '=', user.user.id)
      .execute();
    expect(rows).toEqual([]);
  });
});

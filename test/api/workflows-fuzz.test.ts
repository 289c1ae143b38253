/**
 * Property tests of the workflow endpoints (api.md "Bad input never yields a 5xx"): random JSON and
 * mutated valid bodies thrown at POST /workflows and PUT /workflows/{id}, and random filter values
 * at GET /workflows. Every answer must be a 2xx, or a 4xx application/problem+json document whose
 * `status` equals the HTTP status. Many runs on PGlite (fast), fewer on PostgreSQL.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/platform/db/database.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
const DAY = 86_400_000;

type Json = unknown;
type Obj = Record<string, unknown>;
type User = Awaited<ReturnType<typeof registerUser>>;

const RUNS: Record<Engine, { create: number; update: number; list: number; raw: number }> = {
  pglite: { create: 300, update: 200, list: 300, raw: 100 },
  postgres: { create: 100, update: 100, list: 100, raw: 30 },
};

const WORKFLOW_FIELDS = [
  'build_error',
  'build_status',
  'consecutive_job_failures_count',
  'created_at',
  'generation',
  'id',
  'interval',
  'kind',
  'labels',
  'log_retention',
  'max_consecutive_job_failures_allowed',
  'name',
  'next_run_at',
  'pause_note',
  'pause_on_failure',
  'paused_at',
  'payload',
  'recent_jobs',
  'schedule',
  'status',
  'terminated_at',
  'updated_at',
  'version',
];

// ─── arbitraries ─────────────────────────────────────────────────────────────────────────
const future = () => new Date(Date.now() + 7 * DAY).toISOString();

/** Values that sit on or near the validation rules' edges. */
const edgyValue: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'a\r\nInjected: 1',
  '\u202e',
  '0s',
  '6m',
  '1h',
  '2h',
  '1.5s',
  '99999999999999999999h',
  'UTC',
  'Europe/Paris',
  '+05:00',
  'Mars/Olympus',
  '* * * * *',
  '*/5 * * * * *',
  '0 0 30 2 *',
  '@daily',
  '@reboot',
  '61 * * * *',
  'HEARTBEAT',
  'CONTAINER',
  'GET',
  'POST',
  'HEAD',
  'none',
  'bridge',
  'alpine',
  'alpine:3.20',
  'UPPER/Case',
  'https://api.example.com/',
  'http://',
  'ftp://x',
  '/abs',
  'rel',
  '2000-01-01T00:00:00Z',
  '2099-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2099-01-01T00:00:00.1234567891234Z',
  '__proto__',
  'constructor',
  'toString',
  '{}',
  '[]',
  'null',
  '{"endpoint":"https://api.example.com/"}',
  '{"image":"alpine"}',
  0,
  -0,
  -1,
  1,
  1.5,
  5,
  6,
  99,
  100,
  599,
  600,
  10_080,
  10_081,
  32_768,
  262_144,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  1e308,
  -1e308,
  5e-324,
  true,
  false,
  null,
  [],
  {},
  [null],
  { __proto__: null, constructor: 1 },
);

const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
  { weight: 3, arbitrary: edgyValue },
);

const HEARTBEAT_KEYS = ['endpoint', 'method', 'headers', 'body', 'expected_status_code', 'timeout'];
const CONTAINER_KEYS = ['image', 'cmd', 'entrypoint', 'env', 'workdir', 'timeout', 'resources', 'network'];
const TOP_KEYS = [
  'name',
  'kind',
  'payload',
  'interval',
  'schedule',
  'max_consecutive_job_failures_allowed',
  'log_retention',
  'labels',
];
const SCHEDULE_KEYS = ['type', 'interval_minutes', 'cron', 'timezone', 'run_at'];

/** Where a mutation lands: known keys at every level, plus random new keys. */
const mutationPath: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(...TOP_KEYS).map((k) => [k]),
  fc.constantFrom(...HEARTBEAT_KEYS, ...CONTAINER_KEYS).map((k) => ['payload', k]),
  fc.constantFrom('cpus', 'memory_mb', 'pids').map((k) => ['payload', 'resources', k]),
  fc.constantFrom('X-Test', 'Bad Name', '__proto__', '').map((k) => ['payload', 'headers', k]),
  fc.constantFrom('PATH', '1BAD', '__proto__', 'constructor').map((k) => ['payload', 'env', k]),
  fc.constantFrom('0', '1', '300').map((k) => ['payload', 'cmd', k]),
  fc.constantFrom(...SCHEDULE_KEYS).map((k) => ['schedule', k]),
  fc.constantFrom('team', 'example.com/owner', '-bad', 'Bad Key', '__proto__', '').map((k) => ['labels', k]),
  fc
    .tuple(
      fc.constantFrom<string[]>([], ['payload'], ['schedule'], ['payload', 'resources']),
      fc.string({ maxLength: 12 }),
    )
    .map(([prefix, key]) => [...prefix, key]),
);

interface Mutation {
  path: string[];
  op: 'set' | 'delete';
  value: Json;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: mutationPath,
  op: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete'),
  value: anyJson,
});

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null;
}

/** Applies mutations to a deep copy; a path through a non-object is skipped. */
function mutate(base: Obj, mutations: Mutation[], stringifyPayload: boolean): Obj {
  const body = structuredClone(base);
  for (const m of mutations) {
    let node: unknown = body;
    for (const key of m.path.slice(0, -1)) {
      if (!isObject(node)) break;
      if (!(key in node) && m.op === 'set')
        Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
      node = (node as Obj)[key];
    }
    if (!isObject(node)) continue;
    const last = m.path.at(-1)!;
    if (m.op === 'delete') delete (node as Obj)[last];
    // defineProperty, so "__proto__" becomes an own key and reaches the wire.
    else
      Object.defineProperty(node, last, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  if (stringifyPayload && isObject(body.payload)) body.payload = JSON.stringify(body.payload);
  return body;
}

function validCreateBodies(): Obj[] {
  return [
    {
      name: 'hb interval',
      kind: 'HEARTBEAT',
      payload: { endpoint: 'https://api.example.com/health' },
      interval: 5,
    },
    {
      name: 'hb cron',
      kind: 'HEARTBEAT',
      payload: {
        endpoint: 'http://10.0.0.1:8080/hook',
        method: 'POST',
        headers: { 'X-Token': 'abc', Accept: ['a', 'b'] },
        body: '{"x":1}',
        expected_status_code: 204,
        timeout: '30s',
      },
      schedule: { type: 'cron', cron: '0 9 * * 1-5', timezone: 'Europe/Paris' },
      max_consecutive_job_failures_allowed: 5,
      log_retention: false,
      labels: { team: 'ops', 'example.com/owner': 'me', empty: '' },
    },
    {
      name: 'ct once',
      kind: 'CONTAINER',
      payload: {
        image: 'ghcr.io/org/app:1.0',
        cmd: ['run', '--fast'],
        entrypoint: ['/bin/sh', '-c'],
        env: { A: '1' },
        workdir: '/srv',
        timeout: '10m',
        resources: { cpus: 1.5, memory_mb: 512, pids: 100 },
        network: 'bridge',
      },
      schedule: { type: 'once', run_at: future() },
      log_retention: true,
    },
    {
      name: 'ct interval',
      kind: 'CONTAINER',
      payload: { image: 'alpine' },
      schedule: { type: 'interval', interval_minutes: 60 },
    },
  ];
}

function validUpdateBodies(kind: 'HEARTBEAT' | 'CONTAINER', payload: Obj): Obj[] {
  return [
    { payload, name: 'renamed' },
    { payload, labels: { tier: 'web' } },
    { payload, kind, interval: 15, max_consecutive_job_failures_allowed: 2 },
    { payload, schedule: { type: 'cron', cron: '*/10 * * * *' } },
    { payload, schedule: { type: 'once', run_at: future() }, log_retention: false },
    kind === 'HEARTBEAT'
      ? { payload: { endpoint: 'https://other.example.com/', method: 'PUT', body: 'b', timeout: '1m' } }
      : {
          payload: { image: 'busybox:latest', env: { B: '2' }, resources: { memory_mb: 64 } },
          log_retention: true,
        },
  ];
}

/** A create body: random JSON, or a valid body with random mutations (payload maybe as a string). */
const createBody: fc.Arbitrary<Json> = fc.oneof(
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...TOP_KEYS, 'extra'), anyJson) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat({ max: 3 }), fc.array(mutation, { maxLength: 4 }), fc.boolean())
      .map(([i, ms, str]) => mutate(validCreateBodies()[i]!, ms, str)),
  },
);

/** Usually absent; else mostly well-formed keys (few, so some repeat), sometimes malformed ones. */
const idempotencyKey: fc.Arbitrary<string | null> = fc.option(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('k1', 'k2', 'k3') },
    { weight: 2, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,300}$/) },
  ),
  { freq: 3 },
);

/** Percent-encodes the UTF-8 bytes of `text` (lone surrogates become U+FFFD, as a browser would). */
function encodeQueryValue(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

const FILTERS = [
  'cursor',
  'limit',
  'query',
  'kind',
  'build_status',
  'terminated',
  'interval_min',
  'interval_max',
] as const;
const filterValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 20, unit: 'binary' }),
  fc.constantFrom(
    '',
    '0',
    '1',
    '-1',
    '1.5',
    '100',
    '101',
    '10080',
    '10081',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    'true',
    'false',
    'TRUE',
    'HEARTBEAT',
    'CONTAINER',
    'QUEUED',
    'COMPLETED',
    '%',
    '_',
    '\\',
    "'",
    '"; drop table workflows; --',
    '\u0000',
    'eyJpZCI6IjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9',
    'eyJpZCI6MX0',
    'bnVsbA',
    'W10',
    'x'.repeat(600),
  ),
  fc.nat({ max: 20_000 }).map(String),
  fc.integer().map(String),
);
/** Raw query strings: each filter with a value (repeats allowed), some as undecodable byte sequences. */
const listQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.constantFrom(...FILTERS),
      fc.oneof(
        { weight: 4, arbitrary: filterValue.map(encodeQueryValue) },
        {
          weight: 1,
          arbitrary: fc
            .uint8Array({ maxLength: 8 })
            .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
        },
      ),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

// ─── the property ────────────────────────────────────────────────────────────────────────
function expectWellFormedAnswer(res: LightMyRequestResponse, success: number[]): void {
  const context = `${res.statusCode} ${res.body.slice(0, 500)}`;
  expect(res.statusCode, context).toBeLessThan(500);
  if (success.includes(res.statusCode)) {
    expect(res.headers['content-type'], context).toMatch(/^application\/json/);
    return;
  }
  expect(res.statusCode, context).toBeGreaterThanOrEqual(400);
  expect(res.headers['content-type'], context).toMatch(/^application\/problem\+json/);
  const problem = res.json<{
    status: unknown;
    type: unknown;
    title: unknown;
    detail: unknown;
    code: unknown;
    errors?: unknown;
  }>();
  expect(problem.status, context).toBe(res.statusCode);
  expect(typeof problem.type, context).toBe('string');
  expect(typeof problem.title, context).toBe('string');
  expect(typeof problem.detail, context).toBe('string');
  expect(typeof problem.code, context).toBe('string');
  if (problem.code === 'CV_VALIDATION') {
    expect(Array.isArray(problem.errors), context).toBe(true);
    const errors = problem.errors as { path: unknown; message: unknown }[];
    expect(errors.length, context).toBeGreaterThan(0);
    for (const e of errors) {
      expect(typeof e.path, context).toBe('string');
      expect(typeof e.message, context).toBe('string');
    }
  }
}

function fuzzSuite(engine: Engine) {
  const runs = RUNS[engine];
  let gw: TestGateway;
  let user: User;

  beforeAll(async () => {
    gw = await createTestGateway(engine);
    user = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const sendJson = (method: 'POST' | 'PUT', url: string, body: Json, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method,
      url,
      headers: { ...user.headers, ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  /** A created or updated workflow reads back exactly as answered (a replay answers the stored, older state). */
  async function expectReadsBack(res: LightMyRequestResponse): Promise<void> {
    const wf = res.json<Obj>();
    expect(Object.keys(wf).sort()).toEqual(WORKFLOW_FIELDS);
    if (res.headers['idempotent-replayed'] === 'true') return;
    const got = await gw.app.inject({ method: 'GET', url: `${API}/${String(wf.id)}`, headers: user.headers });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(wf);
  }

  it(`POST /workflows: ${runs.create} random and mutated bodies never yield a 5xx`, async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(createBody, idempotencyKey, async (body, key) => {
        const res = await sendJson('POST', API, body, key === null ? {} : { 'idempotency-key': key });
        expectWellFormedAnswer(res, [201]);
        if (res.statusCode === 201) {
          created += 1;
          await expectReadsBack(res);
        }
      }),
      { numRuns: runs.create },
    );
    // The generator must reach the success path too, not only rejections.
    expect(created).toBeGreaterThan(0);
  });

  it(`POST /workflows: ${runs.raw} raw non-JSON or odd bodies never yield a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.string({ maxLength: 30, unit: 'binary' }),
          fc.json({ maxDepth: 2 }),
        ),
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/octet-stream',
        ),
        async (text, contentType) => {
          const res = await gw.app.inject({
            method: 'POST',
            url: API,
            headers: { ...user.headers, 'content-type': contentType },
            payload: text,
          });
          expectWellFormedAnswer(res, [201]);
        },
      ),
      { numRuns: runs.raw },
    );
  });

  it(`PUT /workflows/{id}: ${runs.update} random and mutated bodies never yield a 5xx`, async () => {
    const targets: Obj[] = [];
    for (const body of validCreateBodies()) {
      const res = await sendJson('POST', API, body);
      expect(res.statusCode, res.body).toBe(201);
      targets.push(res.json<Obj>());
    }
    let updated = 0;
    const updateBody = fc
      .tuple(
        fc.nat({ max: targets.length - 1 }),
        fc.nat({ max: 4 }),
        fc.array(mutation, { maxLength: 4 }),
        fc.boolean(),
      )
      .map(([t, i, ms, str]) => {
        const target = targets[t]!;
        const base = validUpdateBodies(target.kind as 'HEARTBEAT' | 'CONTAINER', target.payload as Obj)[i]!;
        return { target: String(target.id), body: mutate(base, ms, str) as Json };
      });
    const randomBody = fc
      .tuple(fc.nat({ max: targets.length - 1 }), anyJson)
      .map(([t, body]) => ({ target: String(targets[t]!.id), body }));
    const oddTarget = fc
      .tuple(
        fc.oneof(
          fc.uuid(),
          fc.string({ maxLength: 40 }),
          fc.constantFrom('00000000-0000-0000-0000-000000000000', '..', '.', '%', 'null'),
        ),
        anyJson,
      )
      .map(([id, body]) => ({ target: encodeURIComponent(id), body }));

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: updateBody },
          { weight: 2, arbitrary: randomBody },
          { weight: 1, arbitrary: oddTarget },
        ),
        idempotencyKey,
        async ({ target, body }, key) => {
          const res = await sendJson(
            'PUT',
            `${API}/${target}`,
            body,
            key === null ? {} : { 'idempotency-key': key },
          );
          expectWellFormedAnswer(res, [200]);
          if (res.statusCode === 200) {
            updated += 1;
            await expectReadsBack(res);
          }
        },
      ),
      { numRuns: runs.update },
    );
    expect(updated).toBeGreaterThan(0);
  });

  it(`GET /workflows: ${runs.list} random filter query strings never yield a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(listQuery, async (qs) => {
        const res = await gw.app.inject({ method: 'GET', url: `${API}?${qs}`, headers: user.headers });
        expectWellFormedAnswer(res, [200]);
        if (res.statusCode === 200) {
          const body = res.json<{ workflows: unknown; cursor: unknown }>();
          expect(Array.isArray(body.workflows)).toBe(true);
          expect(body.cursor === null || typeof body.cursor === 'string').toBe(true);
        }
      }),
      { numRuns: runs.list },
    );
  });

  it.each(FILTERS)('GET /workflows: random values of %s alone never yield a 5xx', async (filter) => {
    await fc.assert(
      fc.asyncProperty(filterValue, async (value) => {
        const res = await gw.app.inject({
          method: 'GET',
          url: `${API}?${filter}=${encodeQueryValue(value)}`,
          headers: user.headers,
        });
        expectWellFormedAnswer(res, [200]);
      }),
      { numRuns: Math.ceil(runs.list / 6) },
    );
  });

  it('logged no internal error', () => {
    expect(gw.logs.text).not.toMatch(/"level":50/);
    expect(gw.logs.text).not.toMatch(/request failed/);
  });
}

describe('workflow fuzzing (pglite)', { timeout: 180_000 }, () => fuzzSuite('pglite'));
describe('workflow fuzzing (postgres)', { timeout: 180_000 }, () => fuzzSuite('postgres'));

/**
 * Property-based fuzzing of every route of the OpenAPI document the gateway serves (issue 16;
 * docs/api.md "Limits": bad input never gets a 5xx). About 100,000 requests in one run on PGlite,
 * in five families:
 *
 * 1. authenticated requests: valid, mutated and random bodies (from each route's own request
 *    schema and from hand-written valid bodies), query strings and path parameters;
 * 2. nested bodies around and far beyond the depth limit (31 … 10,000 levels), whole or inside an
 *    otherwise valid body;
 * 3. oversized bodies (with and without Content-Length), bodies that are not JSON, other media types;
 * 4. credentials: none, malformed, unknown, a cookie without (or with a wrong) CSRF header;
 * 5. URLs: undecodable percent-encoding, over-long paths and queries, unknown routes and methods,
 *    paths that climb out of /assets.
 *
 * Every answer must be below 500; every 4xx an application/problem+json document whose `status`
 * is the HTTP status and whose `code` is in the catalogue; every 400/413/414/431 names the
 * offending field (`errors`) or the limit (`limit`). The gateway must log no error meanwhile.
 *
 * Streams that never end (the Server-Sent Events routes, `…/events`) are left out: inject() would
 * wait for them forever. `POST /auth/logout` gets no valid credentials (it would end the session
 * the run uses); no body ever carries the test user's password (a password change revokes it).
 *
 * The total is CHRONOVERSE_TEST_FUZZ_REQUESTS (default 100000), for quicker local runs; the seed is
 * printed, and CHRONOVERSE_TEST_FUZZ_SEED replays a run. Measured on a 2-core machine: 100,000
 * requests take about 115 s of CPU (one core); the last test prints the figures of each run.
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.ts';
import { GATEWAY_ERROR_CODES } from '../../src/gateway/problem.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const TOTAL = Number(process.env.CHRONOVERSE_TEST_FUZZ_REQUESTS ?? 100_000);
const SEED = Number(process.env.CHRONOVERSE_TEST_FUZZ_SEED ?? Date.now() % 2_147_483_647);

/**
 * Shares of the total per family. Measured on a 2-core machine: an authenticated request costs
 * 2.2–2.8 ms (its token lookup alone is a PGlite query and a signed RPC), family 4 about 0.7 ms,
 * family 5 about 0.2 ms; these shares keep 100,000 requests near 2 minutes.
 */
const SHARES = { routes: 0.33, nested: 0.06, sizes: 0.03, credentials: 0.28, urls: 0.3 } as const;
/** Runs of a family; the last one takes what rounding left, so the families add up to TOTAL. */
function runsOf(family: keyof typeof SHARES): number {
  const families = Object.keys(SHARES) as (keyof typeof SHARES)[];
  const share = (f: keyof typeof SHARES) => Math.max(1, Math.round(TOTAL * SHARES[f]));
  if (family !== families.at(-1)) return share(family);
  return Math.max(1, TOTAL - families.slice(0, -1).reduce((sum, f) => sum + share(f), 0));
}

const DEPTH_LIMIT = 32;
const URL_LIMIT = 8192;
const CATALOGUE = new Set<string>([...ERROR_CODES, ...GATEWAY_ERROR_CODES]);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DAY = 86_400_000;

type Json = unknown;
type Obj = Record<string, unknown>;
type Schema = Record<string, unknown>;
type User = Awaited<ReturnType<typeof registerUser>>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: Schema;
}
interface Operation {
  method: string;
  /** The OpenAPI path, `{name}` placeholders for path parameters. */
  path: string;
  params: Parameter[];
  body: Schema | null;
}

// ─── values ──────────────────────────────────────────────────────────────────────────────────────
/** Values on or near the validation rules' edges, and hostile ones. */
const edgyValue: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'a\r\nInjected: 1',
  '\u202e',
  '0s',
  '1h',
  '99999999999999999999h',
  'Europe/Paris',
  'Mars/Olympus',
  '* * * * *',
  '*/5 * * * * *',
  '0 0 30 2 *',
  '@daily',
  'HEARTBEAT',
  'CONTAINER',
  'ALL',
  '*',
  'job.failed',
  'https://api.example.com/',
  'http://127.0.0.1:8080/',
  'http://[::1]/',
  'http://169.254.169.254/latest/meta-data/',
  'ftp://x',
  'javascript:alert(1)',
  '2000-01-01T00:00:00Z',
  '2099-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '__proto__',
  'constructor',
  '{}',
  '[]',
  'null',
  '0190a5c2-0000-7000-8000-000000000000',
  '00000000-0000-0000-0000-000000000000',
  'x'.repeat(256),
  'x'.repeat(5_000),
  0,
  -0,
  -1,
  1,
  1.5,
  100,
  366,
  10_081,
  2 ** 31,
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
);

const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
  { weight: 3, arbitrary: edgyValue },
);

/** Query and path values: short strings, numbers, enum-like words, hostile text. */
const textValue: fc.Arbitrary<string> = fc.oneof(
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
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    'true',
    'false',
    'hour',
    'day',
    'txt',
    'json',
    'jsonl',
    'asc',
    'desc',
    'stdout',
    'stderr',
    'FAILED',
    'PENDING',
    'MANUAL',
    '%',
    '_',
    '\\',
    "'",
    '"; drop table workflows; --',
    '\u0000',
    'eyJpZCI6IjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9',
    'eyJpZCI6MX0',
    'bnVsbA',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00',
    '1970-01-01T00:00:00Z',
    '0190a5c2-0000-7000-8000-000000000000',
    'x'.repeat(600),
  ),
  fc.uuid().map(String),
  fc.integer().map(String),
);

/** Percent-encodes the UTF-8 bytes of `text` (lone surrogates become U+FFFD, as a browser would). */
function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

// ─── request bodies from JSON Schema ─────────────────────────────────────────────────────────────
/** An arbitrary of values that mostly satisfy `schema` (edges included), resolving `$ref`s. */
function fromSchema(schema: Schema, resolve: (ref: string) => Schema, depth = 0): fc.Arbitrary<Json> {
  if (depth > 6) return anyJson;
  if (typeof schema.$ref === 'string') return fromSchema(resolve(schema.$ref), resolve, depth + 1);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as Json[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, resolve, depth + 1)));
  const n = (key: string) => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const model = Object.fromEntries(
        Object.entries(properties).map(([k, s]) => [
          k,
          // Short new passwords: see weightOf in the suite.
          /password/.test(k) ? fc.string({ minLength: 8, maxLength: 12 }) : fromSchema(s, resolve, depth + 1),
        ]),
      );
      return fc.record(model, { requiredKeys: required.filter((k) => k in model) });
    }
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      const minLength = n('minItems') ?? 0;
      return fc.array(fromSchema(items, resolve, depth + 1), {
        minLength,
        maxLength: Math.max(minLength, Math.min(n('maxItems') ?? 4, 4)),
      });
    }
    case 'string': {
      if (schema.format === 'email') return fc.emailAddress();
      if (schema.format === 'uuid') return fc.uuid().map(String);
      if (schema.format === 'date-time') return fc.constant(new Date(Date.now() + 7 * DAY).toISOString());
      const minLength = n('minLength') ?? 0;
      return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(n('maxLength') ?? 40, 40)) });
    }
    case 'integer':
      return fc.integer({ min: n('minimum') ?? -1_000, max: n('maximum') ?? 1_000_000 });
    case 'number':
      return fc.double({ min: n('minimum') ?? -1e6, max: n('maximum') ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return anyJson;
  }
}

/** Hand-written valid bodies, so that success paths are reached too (keys: `METHOD path`). */
function validBodies(): Record<string, Obj[]> {
  const future = new Date(Date.now() + 7 * DAY).toISOString();
  return {
    'POST /api/v1/workflows': [
      { name: 'hb', kind: 'HEARTBEAT', payload: { endpoint: 'https://api.example.com/health' }, interval: 5 },
      {
        name: 'hb cron',
        kind: 'HEARTBEAT',
        payload: {
          endpoint: 'https://api.example.com/hook',
          method: 'POST',
          headers: { 'X-Token': 'abc', Accept: ['a', 'b'] },
          body: '{"x":1}',
          expected_status_code: 204,
          timeout: '30s',
        },
        schedule: { type: 'cron', cron: '0 9 * * 1-5', timezone: 'Europe/Paris' },
        max_consecutive_job_failures_allowed: 5,
      },
      {
        name: 'ct',
        kind: 'CONTAINER',
        payload: { image: 'alpine:3.20', cmd: ['echo', 'hi'], env: { A: '1' }, resources: { memory_mb: 64 } },
        schedule: { type: 'once', run_at: future },
      },
    ],
    'PUT /api/v1/workflows/{id}': [
      { name: 'renamed' },
      { interval: 15, max_consecutive_job_failures_allowed: 2 },
      { schedule: { type: 'cron', cron: '*/10 * * * *' }, log_retention: false },
    ],
    'POST /api/v1/webhooks': [
      { url: 'https://hooks.example.com/in', event_types: ['*'] },
      { url: 'https://hooks.example.com/in', event_types: ['job.failed'], description: 'd', enabled: false },
    ],
    'PATCH /api/v1/webhooks/{id}': [{ description: 'x' }, { enabled: true, rotate_secret: true }],
    'POST /api/v1/auth/tokens': [{ name: 'ci' }, { name: 'ci', expires_in_days: 30 }],
    'PUT /api/v1/users': [{ notification_preference: 'ALL' }, { notification_preference: 'NONE' }],
    'PUT /api/v1/notifications': [{ all: true }, { ids: ['0190a5c2-0000-7000-8000-000000000000'] }],
    'POST /api/v1/auth/login': [{ email: 'nobody@example.com', password: 'not the password' }],
  };
}

// ─── mutations ───────────────────────────────────────────────────────────────────────────────────
interface Mutation {
  path: string[];
  op: 'set' | 'delete';
  value: Json;
}
const KNOWN_KEYS = [
  'name',
  'kind',
  'payload',
  'interval',
  'schedule',
  'url',
  'event_types',
  'secret',
  'description',
  'enabled',
  'rotate_secret',
  'expires_in_days',
  'notification_preference',
  'new_password',
  'ids',
  'all',
  'email',
  'password',
];
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.oneof(
    fc.constantFrom(...KNOWN_KEYS).map((k) => [k]),
    fc
      .constantFrom('endpoint', 'method', 'headers', 'image', 'cmd', 'env', 'resources', 'timeout', 'network')
      .map((k) => ['payload', k]),
    fc.constantFrom('type', 'cron', 'timezone', 'run_at', 'interval_minutes').map((k) => ['schedule', k]),
    fc
      .tuple(fc.constantFrom<string[]>([], ['payload'], ['schedule']), fc.string({ maxLength: 12 }))
      .map(([prefix, key]) => [...prefix, key]),
  ),
  op: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete'),
  value: anyJson,
});

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null;
}

/** Applies mutations to a deep copy; "__proto__" becomes an own key (defineProperty) and reaches the wire. */
function mutate(base: Json, mutations: Mutation[]): Json {
  if (!isObject(base)) return base;
  const body = structuredClone(base);
  const define = (node: Obj, key: string, value: unknown) =>
    Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
  for (const m of mutations) {
    let node: unknown = body;
    for (const key of m.path.slice(0, -1)) {
      if (!isObject(node)) break;
      if (!(key in node) && m.op === 'set') define(node, key, {});
      node = node[key];
    }
    if (!isObject(node)) continue;
    const last = m.path.at(-1)!;
    if (m.op === 'delete') delete node[last];
    // A copy: one generated value (say the constant {}) can be drawn by two mutations of a list, and
    // setting `name` to it and then `name.k` to it again made a cycle that JSON.stringify refuses
    // (seed 1309708361, which failed CI).
    else define(node, last, structuredClone(m.value));
  }
  return body;
}

// ─── nested and oversized bodies (as text: JSON.stringify itself would overflow) ─────────────────
/** `depth` levels of arrays, objects or both alternating, around `inner`. */
function nest(depth: number, shape: 'array' | 'object' | 'mixed', inner = '1'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const array = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
    open += array ? '[' : '{"k":';
    close = (array ? ']' : '}') + close;
  }
  return open + inner + close;
}

const PLACEHOLDER = '"\u0001deep\u0001"';

/** A body text: the nested value alone, or in place of one field of an otherwise valid body. */
function embed(base: Json, key: string | null, nested: string): string {
  if (key === null || !isObject(base) || Array.isArray(base)) return nested;
  return JSON.stringify({ ...base, [key]: '\u0001deep\u0001' }).replace(PLACEHOLDER, nested);
}

// ─── the property ────────────────────────────────────────────────────────────────────────────────
interface Stats {
  requests: number;
  authenticated: number;
  byStatus: Map<number, number>;
  byRoute: Map<string, Map<number, number>>;
  /** Milliseconds spent per route, to see where the run's time goes. */
  msByRoute: Map<string, number>;
}

function expectWellFormedAnswer(res: LightMyRequestResponse, label: string, method: string): void {
  const context = `${label} → ${res.statusCode} ${res.body.slice(0, 400)}`;
  expect(res.statusCode, context).toBeLessThan(500);
  if (res.statusCode < 400) return;
  expect(res.headers['content-type'], context).toMatch(/^application\/problem\+json/);
  if (method === 'HEAD') return; // the same headers as GET, without the body
  const problem = JSON.parse(res.body) as {
    status: unknown;
    type: unknown;
    code: unknown;
    title: unknown;
    detail: unknown;
    errors?: { path: unknown; message: unknown }[];
    limit?: { name: unknown; max: unknown };
  };
  expect(problem.status, context).toBe(res.statusCode);
  expect(CATALOGUE.has(String(problem.code)), context).toBe(true);
  expect(problem.type, context).toBe(`urn:chronoverse:problem:${String(problem.code)}`);
  expect(typeof problem.title, context).toBe('string');
  expect(typeof problem.detail, context).toBe('string');
  if ([400, 413, 414, 431].includes(res.statusCode)) {
    const namesField =
      Array.isArray(problem.errors) &&
      problem.errors.length > 0 &&
      problem.errors.every((e) => typeof e.path === 'string' && typeof e.message === 'string');
    const namesLimit = typeof problem.limit?.name === 'string' && typeof problem.limit.max === 'number';
    expect(namesField || namesLimit, `${context}: names no field and no limit`).toBe(true);
  }
}

describe('every route, fuzzed (pglite)', { timeout: 900_000 }, () => {
  let gw: TestGateway;
  let user: User;
  let admin: User;
  let ops: Operation[];
  let bodyOps: Operation[];
  let resolveRef: (ref: string) => Schema;
  const ids: Record<string, string[]> = { workflow: [], webhook: [], token: [], delivery: [], job: [] };
  const stats: Stats = {
    requests: 0,
    authenticated: 0,
    byStatus: new Map(),
    byRoute: new Map(),
    msByRoute: new Map(),
  };
  const started = Date.now();
  let logOffset = 0;

  /** Fails on any error, internal failure or dependency failure the gateway logged since the last check. */
  function checkLogs(): void {
    const lines = gw.logs.lines;
    for (let i = logOffset; i < lines.length; i++) {
      const line = lines[i]!;
      if (/"level":(50|60)|request failed|dependency unavailable/.test(line)) {
        expect.fail(`the gateway logged: ${line.slice(0, 1_000)}`);
      }
    }
    // Keeps memory flat over 100,000 requests.
    lines.length = 0;
    logOffset = 0;
  }

  async function send(
    label: string,
    request: InjectOptions & { method: string; url: string },
    authenticated: boolean,
  ): Promise<void> {
    const t0 = performance.now();
    const res = await gw.app.inject(request);
    stats.msByRoute.set(label, (stats.msByRoute.get(label) ?? 0) + performance.now() - t0);
    stats.requests += 1;
    if (authenticated) stats.authenticated += 1;
    stats.byStatus.set(res.statusCode, (stats.byStatus.get(res.statusCode) ?? 0) + 1);
    const perRoute = stats.byRoute.get(label) ?? new Map<number, number>();
    perRoute.set(res.statusCode, (perRoute.get(res.statusCode) ?? 0) + 1);
    stats.byRoute.set(label, perRoute);
    expectWellFormedAnswer(res, `${request.method} ${String(request.url).slice(0, 200)}`, request.method);
    if (stats.requests % 2_000 === 0) checkLogs();
    if (stats.requests % 10_000 === 0) {
      const m = process.memoryUsage();
      console.log(
        `after ${stats.requests}: rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(m.external / 2 ** 20).toFixed(0)} MiB, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }

  beforeAll(async () => {
    gw = await createTestGateway('pglite');
    admin = await registerUser(gw); // the first account is an admin: the admin routes answer too
    user = await registerUser(gw);
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Obj } }>>;
      components: { schemas: Record<string, Schema> };
    }>();
    resolveRef = (ref) => doc.components.schemas[ref.replace('#/components/schemas/', '')] ?? {};
    ops = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]) => {
        const content = op.requestBody?.content['application/json'] as { schema?: Schema } | undefined;
        return {
          method: method.toUpperCase(),
          path,
          params: op.parameters ?? [],
          body: content?.schema ?? null,
        };
      }),
    );
    // Streams that never end are left out (see the header).
    ops = ops.filter((op) => !op.path.endsWith('/events'));
    bodyOps = ops.filter((op) => BODY_METHODS.has(op.method));

    // Things that exist, so that some requests get past "not found".
    for (const body of validBodies()['POST /api/v1/workflows']!) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/workflows',
        headers: user.headers,
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.workflow!.push(res.json<{ id: string }>().id);
    }
    const hook = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: user.headers,
      payload: { url: 'https://hooks.example.com/in', event_types: ['*'] },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    ids.webhook!.push(hook.json<{ id: string }>().id);
    const ping = await gw.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${ids.webhook![0]}/ping`,
      headers: user.headers,
    });
    expect(ping.statusCode, ping.body).toBe(202);
    const deliveries = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${ids.webhook![0]}/deliveries`,
      headers: user.headers,
    });
    ids.delivery!.push(...deliveries.json<{ deliveries: { id: string }[] }>().deliveries.map((d) => d.id));
    const token = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: user.headers,
      payload: { name: 'fuzz' },
    });
    expect(token.statusCode, token.body).toBe(201);
    ids.token!.push(token.json<{ id: string }>().id);
    const run = await gw.app.inject({
      method: 'POST',
      url: `/api/v1/workflows/${ids.workflow![0]}/jobs/schedule`,
      headers: user.headers,
    });
    if (run.statusCode === 201) ids.job!.push(run.json<{ id: string }>().id);
    console.log(
      `fuzz seed ${SEED}: ${ops.length} operations, ${bodyOps.length} take a body, ${TOTAL} requests`,
    );
  });

  afterAll(async () => {
    await gw?.close();
  });

  // ── arbitraries over the operations (built lazily: they need the document) ──
  /**
   * Operations whose body holds a new password are picked a quarter as often, with short
   * passwords: the strength estimator spends 15 ms on a random 10-character password and about
   * 350 ms on a 40-character one (measured), which would dominate the run's time.
   */
  const weightOf = (op: Operation) => (takesPassword(op) ? 1 : 4);
  const opArb = () => fc.oneof(...ops.map((op) => ({ weight: weightOf(op), arbitrary: fc.constant(op) })));
  const bodyOpArb = () =>
    fc.oneof(...bodyOps.map((op) => ({ weight: weightOf(op), arbitrary: fc.constant(op) })));
  function takesPassword(op: Operation): boolean {
    return /"(new_)?password"/.test(JSON.stringify(op.body ? resolveDeep(op.body) : {}));
  }
  function resolveDeep(schema: Schema): Schema {
    return typeof schema.$ref === 'string' ? resolveRef(schema.$ref) : schema;
  }

  /** A value for a path parameter: an id that exists, a well-formed one, or anything. */
  function pathValue(op: Operation, name: string): fc.Arbitrary<string> {
    const kind =
      name === 'job_id'
        ? 'job'
        : name === 'delivery_id'
          ? 'delivery'
          : name === 'workflow_id' || op.path.startsWith('/api/v1/workflows')
            ? 'workflow'
            : op.path.startsWith('/api/v1/webhooks')
              ? 'webhook'
              : op.path.startsWith('/api/v1/auth/tokens')
                ? 'token'
                : null;
    const known = kind ? (ids[kind] ?? []) : [];
    return fc.oneof(
      {
        weight: known.length > 0 ? 6 : 0,
        arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant('x'),
      },
      { weight: 2, arbitrary: fc.uuid().map(String) },
      { weight: 2, arbitrary: textValue.map((v) => (v === '' ? 'x' : encode(v))) },
      { weight: 1, arbitrary: fc.nat({ max: 1e12 }).map(String) },
      { weight: 1, arbitrary: fc.integer({ min: 37, max: 3_000 }).map((n) => 'a'.repeat(n)) },
    );
  }

  function urlOf(op: Operation, values: Record<string, string>, query: string): string {
    const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'x');
    return query === '' ? path : `${path}?${query}`;
  }

  /** A query string over the operation's parameters (some repeated, unknown or hostile). */
  function buildQueryArb(op: Operation): fc.Arbitrary<string> {
    const names = op.params.filter((p) => p.in === 'query');
    const valueOf = (p: Parameter) => {
      const schema = p.schema as Schema & { enum?: string[] };
      const enumValues = Array.isArray(schema.enum) ? schema.enum : [];
      return fc.oneof(
        {
          weight: enumValues.length > 0 ? 3 : 0,
          arbitrary: enumValues.length > 0 ? fc.constantFrom(...enumValues) : fc.constant(''),
        },
        { weight: 4, arbitrary: textValue },
      );
    };
    const pair =
      names.length > 0
        ? fc
            .constantFrom(...names)
            .chain((p) => valueOf(p).map((v) => `${encodeURIComponent(p.name)}=${encode(v)}`))
        : fc.constant('');
    return fc
      .tuple(
        fc.array(pair, { maxLength: 4 }),
        fc.option(fc.constantFrom('unknown=1', 'limit', '=', '&&', 'a[b]=c', 'limit=1&limit=2'), { freq: 6 }),
      )
      .map(([pairs, extra]) => [...pairs, ...(extra ? [extra] : [])].filter((s) => s !== '').join('&'));
  }

  function buildPathValuesArb(op: Operation): fc.Arbitrary<Record<string, string>> {
    const names = op.params.filter((p) => p.in === 'path').map((p) => p.name);
    return fc.record(Object.fromEntries(names.map((n) => [n, pathValue(op, n)])));
  }

  /** Arbitraries built once per operation (building them per run cost more than the requests). */
  function cached<T>(cache: Map<Operation, T>, op: Operation, build: (op: Operation) => T): T {
    let value = cache.get(op);
    if (value === undefined) {
      value = build(op);
      cache.set(op, value);
    }
    return value;
  }
  const bodyArbs = new Map<Operation, fc.Arbitrary<Json | undefined>>();
  const queryArbs = new Map<Operation, fc.Arbitrary<string>>();
  const pathArbs = new Map<Operation, fc.Arbitrary<Record<string, string>>>();
  const bodyArb = (op: Operation) => cached(bodyArbs, op, buildBodyArb);
  const queryArb = (op: Operation) => cached(queryArbs, op, buildQueryArb);
  const pathValuesArb = (op: Operation) => cached(pathArbs, op, buildPathValuesArb);

  /** A body for `op`: a valid one mutated, one from its schema (maybe mutated), random JSON, or none. */
  function buildBodyArb(op: Operation): fc.Arbitrary<Json | undefined> {
    const valid = validBodies()[`${op.method} ${op.path}`] ?? [];
    const fromDoc = op.body ? fromSchema(op.body, resolveRef) : fc.constant<Json>({});
    return fc.oneof(
      {
        weight: valid.length > 0 ? 5 : 0,
        arbitrary:
          valid.length > 0
            ? fc
                .tuple(fc.constantFrom(...valid), fc.array(mutation, { maxLength: 3 }))
                .map(([base, ms]) => mutate(base, ms))
            : fc.constant({}),
      },
      { weight: 3, arbitrary: fromDoc },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fromDoc, fc.array(mutation, { minLength: 1, maxLength: 3 }))
          .map(([b, ms]) => mutate(b, ms)),
      },
      { weight: 2, arbitrary: anyJson },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  }

  const credentials = () =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constant({ who: 'user' as const }) },
      { weight: 2, arbitrary: fc.constant({ who: 'admin' as const }) },
      { weight: 1, arbitrary: fc.constant({ who: 'cookie' as const }) },
    );

  /** Credentials for a request; none for logout, which would end the session the run uses. */
  function headersFor(who: 'user' | 'admin' | 'cookie', method: string, url: string): Record<string, string> {
    if (url.startsWith('/api/v1/auth/logout')) return {};
    if (who === 'admin') return { ...admin.headers };
    if (who === 'user') return { ...user.headers };
    const cookie = `cv_session=${user.cookies.cv_session}; cv_csrf=${user.cookies.cv_csrf}`;
    return BODY_METHODS.has(method) ? { cookie, 'x-csrf-token': String(user.cookies.cv_csrf) } : { cookie };
  }

  const idempotencyKey = fc.option(
    fc.oneof(fc.constantFrom('k1', 'k2'), fc.stringMatching(/^[\x20-\x7e]{0,300}$/)),
    { freq: 4 },
  );

  it('1. authenticated requests: valid, mutated and random bodies, queries and path parameters', async () => {
    const request = opArb().chain((op) =>
      fc.record({
        op: fc.constant(op),
        values: pathValuesArb(op),
        query: queryArb(op),
        body: BODY_METHODS.has(op.method) ? bodyArb(op) : fc.constant(undefined),
        auth: credentials(),
        key: idempotencyKey,
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ op, values, query, body, auth, key }) => {
        const headers = headersFor(auth.who, op.method, op.path);
        const who = Object.keys(headers).length > 0 ? auth.who : null;
        if (key !== null && op.params.some((p) => p.name === 'idempotency-key'))
          headers['idempotency-key'] = key;
        if (body !== undefined) headers['content-type'] = 'application/json';
        await send(
          `${op.method} ${op.path}`,
          {
            method: op.method as 'GET',
            url: urlOf(op, values, query),
            headers,
            ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
          },
          who !== null,
        );
      }),
      { numRuns: runsOf('routes'), seed: SEED },
    );
    checkLogs();
  });

  it('2. nested bodies around and far beyond the depth limit, alone or inside a valid body', async () => {
    const request = bodyOpArb().chain((op) =>
      fc.record({
        op: fc.constant(op),
        values: pathValuesArb(op),
        base: bodyArb(op),
        key: fc.option(fc.constantFrom(...KNOWN_KEYS, 'payload', 'extra'), { freq: 2 }),
        depth: fc.oneof(
          fc.constantFrom(DEPTH_LIMIT - 2, DEPTH_LIMIT - 1, DEPTH_LIMIT, DEPTH_LIMIT + 1, 64, 1_000, 10_000),
          fc.integer({ min: 1, max: 20_000 }),
        ),
        shape: fc.constantFrom<'array' | 'object' | 'mixed'>('array', 'object', 'mixed'),
        inner: fc.constantFrom('1', '"x"', 'null', '[]', '{}', '"[[[["'),
        asStringPayload: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ op, values, base, key, depth, shape, inner, asStringPayload }) => {
        let text = embed(base, key, nest(depth, shape, inner));
        // A workflow payload may be a JSON string of one: the nesting then hides inside a string.
        if (asStringPayload && key === 'payload')
          text = embed(base, key, JSON.stringify(nest(depth, shape, inner)));
        const headers = { ...headersFor('user', op.method, op.path), 'content-type': 'application/json' };
        await send(
          `${op.method} ${op.path}`,
          { method: op.method as 'POST', url: urlOf(op, values, ''), headers, payload: text },
          'authorization' in headers,
        );
      }),
      { numRuns: runsOf('nested'), seed: SEED + 1 },
    );
    checkLogs();
  });

  it('3. oversized bodies, bodies that are not JSON, other media types', async () => {
    const limit = gw.config.server.bodyLimitBytes;
    const oversized = fc.record({
      kind: fc.constant('oversized' as const),
      bytes: fc.constantFrom(limit - 64, limit, limit + 1, limit + 4_096, 2 * limit),
      streamed: fc.boolean(),
    });
    const raw = fc.record({
      kind: fc.constant('raw' as const),
      text: fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ maxLength: 40, unit: 'binary' }),
        fc.json({ maxDepth: 2 }),
        fc.constantFrom(
          '',
          ' ',
          '{',
          '{"a":',
          '[1,]',
          '{"__proto__":{"x":1}}',
          '{"constructor":{"prototype":{}}}',
          '\ufeff{}',
          'null',
          '"x"',
          '1e400',
        ),
      ),
      contentType: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/JSON',
        'application/json; charset=latin1',
        'application/jsonx',
        'application/problem+json',
        'text/plain',
        'text/html',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        '',
        ';',
        'application/json;;',
      ),
      lengthLie: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 8 }),
    });
    const request = bodyOpArb().chain((op) =>
      fc.record({
        op: fc.constant(op),
        values: pathValuesArb(op),
        what: fc.oneof({ weight: 1, arbitrary: oversized }, { weight: 4, arbitrary: raw }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ op, values, what }) => {
        const headers: Record<string, string> = headersFor('user', op.method, op.path);
        let payload: string | Readable;
        if (what.kind === 'oversized') {
          const text = JSON.stringify({ name: 'x'.repeat(Math.max(0, what.bytes - 11)) });
          headers['content-type'] = 'application/json';
          payload = what.streamed ? Readable.from([text.slice(0, 65_536), text.slice(65_536)]) : text;
        } else {
          if (what.contentType !== '') headers['content-type'] = what.contentType;
          if (what.lengthLie !== null) headers['content-length'] = String(what.lengthLie);
          payload = what.text;
        }
        await send(
          `${op.method} ${op.path}`,
          { method: op.method as 'POST', url: urlOf(op, values, ''), headers, payload },
          'authorization' in headers,
        );
      }),
      { numRuns: runsOf('sizes'), seed: SEED + 2 },
    );
    checkLogs();
  });

  it('4. credentials: none, malformed, unknown, or a cookie without the CSRF header', async () => {
    // Weighted toward what is refused before any lookup; the rest costs a token lookup each.
    const badAuth = fc.oneof(
      { weight: 4, arbitrary: fc.constant<Record<string, string>>({}) },
      {
        weight: 4,
        arbitrary: fc.constantFrom<Record<string, string>>(
          { authorization: '' },
          { authorization: 'Bearer' },
          { authorization: 'Bearer ' },
          { authorization: 'Basic dXNlcjpwYXNz' },
          { authorization: 'bearer  x y' },
          { authorization: `Bearer ${'a'.repeat(5_000)}` },
          { cookie: 'cv_session=' },
          { cookie: 'cv_session=%zz; cv_csrf=%' },
        ),
      },
      {
        weight: 2,
        arbitrary: fc
          .string({ maxLength: 60 })
          .map((t) => ({ authorization: `Bearer ${t.replace(/[\r\n]/g, '')}` })),
      },
      {
        weight: 1,
        arbitrary: fc
          .stringMatching(/^cv[sp]_[A-Za-z0-9_-]{10,60}$/)
          .map((t) => ({ authorization: `Bearer ${t}` })),
      },
      {
        weight: 1,
        arbitrary: fc.constant(null).map(() => ({ cookie: `cv_session=${user.cookies.cv_session}` })),
      },
      {
        weight: 1,
        arbitrary: fc.constant(null).map(() => ({
          cookie: `cv_session=${user.cookies.cv_session}; cv_csrf=${user.cookies.cv_csrf}`,
          'x-csrf-token': 'wrong',
        })),
      },
    );
    const request = opArb().chain((op) =>
      fc.record({
        op: fc.constant(op),
        values: pathValuesArb(op),
        query: queryArb(op),
        body: BODY_METHODS.has(op.method) ? bodyArb(op) : fc.constant(undefined),
        auth: badAuth,
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ op, values, query, body, auth }) => {
        const headers: Record<string, string> = { ...auth };
        if (body !== undefined) headers['content-type'] = 'application/json';
        await send(
          `${op.method} ${op.path}`,
          {
            method: op.method as 'GET',
            url: urlOf(op, values, query),
            headers,
            ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
          },
          false,
        );
      }),
      { numRuns: runsOf('credentials'), seed: SEED + 3 },
    );
    checkLogs();
  });

  it('5. URLs: undecodable, over-long, unknown, climbing out of /assets; other methods', async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        '%',
        '%zz',
        '%E0%A4%A',
        '%C0%AF',
        '%00',
        '%2e%2e',
        '..',
        '.',
        '%2f',
        '%5c',
        '~',
        ';x=1',
        '',
      ),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      fc
        .uint8Array({ maxLength: 6 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    );
    const url = fc.oneof(
      // An operation's own path with hostile segments or query.
      opArb().chain((op) =>
        fc
          .tuple(fc.constant(op), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.option(segment))
          .map(([op, segs, q]) =>
            urlOf(
              op,
              Object.fromEntries(op.params.map((p) => [p.name, segs[0]!])),
              q === null ? '' : `limit=${q}&q=${q}`,
            ),
          ),
      ),
      // Unknown routes under the API.
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => `/api/v1/${segs.join('/')}`),
      // Around the URL limit.
      fc
        .integer({ min: URL_LIMIT - 64, max: 3 * URL_LIMIT })
        .map((n) => `/api/v1/workflows?query=${'a'.repeat(n)}`),
      fc
        .integer({ min: URL_LIMIT - 64, max: 2 * URL_LIMIT })
        .map((n) => `/api/v1/workflows/${'b'.repeat(n)}`),
      // Out of the dashboard's files.
      fc
        .array(fc.constantFrom('..%2f', '%2e%2e%2f', '..%5c', '%2e%2e/'), { minLength: 1, maxLength: 4 })
        .map((ups) => `/assets/${ups.join('')}package.json`),
    );
    const method = fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');
    await fc.assert(
      // A quarter with credentials: past authentication, the route's own parameter handling.
      fc.asyncProperty(url, method, fc.nat({ max: 3 }), async (target, verb, dice) => {
        const authenticated = dice === 0;
        const headers = authenticated ? headersFor('user', verb, target) : {};
        await send('urls', { method: verb as 'GET', url: target, headers }, 'authorization' in headers);
      }),
      { numRuns: runsOf('urls'), seed: SEED + 4 },
    );
    checkLogs();
  });

  it(`sent at least ${TOTAL} requests, none answered 5xx`, async () => {
    const seconds = (Date.now() - started) / 1_000;
    const classes = [...stats.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`);
    const routes = [...stats.byRoute]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([route, counts]) =>
          `  ${route.padEnd(64)} ${String(Math.round(stats.msByRoute.get(route) ?? 0)).padStart(7)} ms  ${[
            ...counts,
          ]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}:${n}`)
            .join(' ')}`,
      );
    console.log(
      [
        `fuzz seed ${SEED}: ${stats.requests} requests (${stats.authenticated} authenticated) in ${seconds.toFixed(1)} s, ` +
          `${(stats.requests / seconds).toFixed(0)}/s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
        `statuses ${classes.join(' ')}`,
        ...routes,
      ].join('\n'),
    );
    expect(stats.requests).toBeGreaterThanOrEqual(TOTAL);
    // The run's credentials still work: its authenticated requests were not 401s after all.
    const me = await gw.app.inject({ method: 'GET', url: '/api/v1/users', headers: user.headers });
    expect(me.statusCode).toBe(200);
    expect([...stats.byStatus.keys()].every((s) => s < 500)).toBe(true);
    // Every operation of the document was exercised.
    for (const op of ops)
      expect(stats.byRoute.has(`${op.method} ${op.path}`), `${op.method} ${op.path}`).toBe(true);
  });
});

/**
 * Bad input at the HTTP layer (issue 16, findings 3 and 8; docs/api.md "Limits", docs/errors.md):
 * - JSON nested deeper than the limit is refused by a scan of the raw bytes before anything
 *   recurses over it (10,000 levels used to reach JSON.stringify and answer 500), on every route
 *   that takes a body, whatever the route does with it;
 * - every error the HTTP layer itself produces (400 malformed, 408, 413, 414, 415, 431) is a
 *   problem+json document naming the limit or the part that was wrong, including the ones Node's
 *   parser raises before Fastify sees a request (a real listening server and raw sockets);
 * - a half-sent body is cut after the body timeout with a 408, and is not logged as a dependency
 *   failure;
 * - every HTML response carries the security headers, HSTS only over https (a trusted proxy's
 *   X-Forwarded-Proto), and `/assets/..%2f…` is a 400 CV_MALFORMED_REQUEST.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type GatewayOptions } from '../../src/gateway/app.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const DEPTH_LIMIT = 32;
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const SOME_ID = '0190a5c2-0000-7000-8000-000000000000';

type User = Awaited<ReturnType<typeof registerUser>>;
interface Operation {
  method: string;
  path: string;
}

/** `[[[…]]]` and `{"a":{"a":…}}` nested `depth` levels (10,000 levels: about 20 KB and 50 KB). */
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  const context = `${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, context).toBe(status);
  expect(String(res.headers['content-type']), context).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(res.body) as Record<string, unknown>;
  expect(problem.status, context).toBe(status);
  expect(typeof problem.code, context).toBe('string');
  expect(problem.type, context).toBe(`urn:chronoverse:problem:${String(problem.code)}`);
  return problem;
}

/** Every operation of the served OpenAPI document, path parameters filled with a well-formed id. */
async function operations(gw: TestGateway): Promise<Operation[]> {
  const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{[^}]+\}/g, SOME_ID),
    })),
  );
}

describe('bad input (pglite)', () => {
  let gw: TestGateway;
  let admin: User;

  beforeAll(async () => {
    gw = await createTestGateway('pglite');
    admin = await registerUser(gw); // the first account: an admin, so admin routes reach their body too
  });
  afterAll(() => gw?.close());

  describe('JSON depth', () => {
    it('refuses 10,000 levels on every route that takes a body with a 400 naming the limit', async () => {
      const bodyRoutes = (await operations(gw)).filter((op) =>
        ['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method),
      );
      // The routes finding 3 named, and the other body routes.
      expect(bodyRoutes.length).toBeGreaterThanOrEqual(16);
      for (const op of bodyRoutes) {
        for (const payload of [deepArray(10_000), deepObject(10_000)]) {
          const res = await gw.app.inject({
            method: op.method as 'POST',
            url: op.path,
            headers: { ...admin.headers, 'content-type': 'application/json' },
            payload,
          });
          const problem = expectProblem(res, 400);
          expect(problem, `${op.method} ${op.path}`).toMatchObject({
            code: 'CV_BODY_TOO_DEEP',
            limit: { name: 'json_depth', max: DEPTH_LIMIT },
          });
          expect(String(problem.detail)).toContain(String(DEPTH_LIMIT));
        }
      }
      expect(gw.logs.text).not.toMatch(/Maximum call stack|"level":50/);
    });

    it('counts levels, not brackets inside strings: the limit itself passes, one more does not', async () => {
      const post = (payload: string) =>
        gw.app.inject({
          method: 'POST',
          url: '/api/v1/workflows',
          headers: { ...admin.headers, 'content-type': 'application/json' },
          payload,
        });
      // The body object is level 1; `name` holds levels 2…depth.
      const nested = (depth: number) => `{"name":${deepArray(depth - 1)}}`;
      const atLimit = expectProblem(await post(nested(DEPTH_LIMIT)), 400);
      expect(atLimit.code).toBe('CV_VALIDATION');
      expect(expectProblem(await post(nested(DEPTH_LIMIT + 1)), 400).code).toBe('CV_BODY_TOO_DEEP');
      // Brackets and escaped quotes inside strings are text.
      const inString = JSON.stringify({ name: `\\"${'['.repeat(5_000)}`, kind: 'HEARTBEAT' });
      expect(expectProblem(await post(inString), 400).code).toBe('CV_VALIDATION');
      // Split across chunks of a streamed body, the count carries on.
      const streamed = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/workflows',
        headers: { ...admin.headers, 'content-type': 'application/json' },
        payload: Readable.from(deepArray(DEPTH_LIMIT + 1).split('')),
      });
      expect(expectProblem(streamed, 400).code).toBe('CV_BODY_TOO_DEEP');
    });

    it('refuses a workflow payload given as a JSON string nested 10,000 deep with a 400, not a 500', async () => {
      for (const inner of [deepArray(10_000), `{"headers":{"x":${deepArray(10_000)}}}`]) {
        const res = await gw.app.inject({
          method: 'POST',
          url: '/api/v1/workflows',
          headers: admin.headers,
          payload: { name: 'deep', kind: 'HEARTBEAT', interval: 5, payload: inner },
        });
        expect(expectProblem(res, 400).code).toBe('CV_VALIDATION');
      }
    });
  });

  describe('sizes and malformed requests', () => {
    it('answers an oversized body with 413 naming the limit, whether or not it announces its length', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(gw.config.server.bodyLimitBytes) });
      for (const payload of [big, Readable.from([big.slice(0, 500_000), big.slice(500_000)])]) {
        const res = await gw.app.inject({
          method: 'POST',
          url: '/api/v1/workflows',
          headers: { ...admin.headers, 'content-type': 'application/json' },
          payload,
        });
        expect(expectProblem(res, 413)).toMatchObject({
          code: 'CV_BODY_TOO_LARGE',
          limit: { name: 'body_bytes', max: gw.config.server.bodyLimitBytes },
        });
      }
    });

    it('answers a body that is not JSON with 400 naming the body, and another media type with 415', async () => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/workflows',
        headers: { ...admin.headers, 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      const problem = expectProblem(res, 400);
      expect(problem.code).toBe('CV_MALFORMED_REQUEST');
      expect(problem.errors).toEqual([{ path: '', message: expect.stringMatching(/^is not valid JSON/) }]);

      const text = await gw.app.inject({
        method: 'POST',
        url: '/api/v1/workflows',
        headers: { ...admin.headers, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expect(expectProblem(text, 415).code).toBe('CV_UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers a query or path parameter the database cannot store with 400 naming it (found by the fuzzer)', async () => {
      for (const url of [
        '/api/v1/workflows?query=%00',
        '/api/v1/workflows?query=a%00b&limit=5',
        `/api/v1/workflows/${SOME_ID}/jobs/${SOME_ID}/logs/search?q=%00`,
        '/api/v1/workflows?cursor=%00',
      ]) {
        const res = await gw.app.inject({ method: 'GET', url, headers: admin.headers });
        const problem = expectProblem(res, 400);
        expect(problem.code, url).toBe('CV_VALIDATION');
        const parameter = /[?&](\w+)=[^&]*%00/.exec(url)![1];
        expect(problem.errors, url).toContainEqual({
          path: parameter,
          message: 'must not contain NUL characters',
        });
      }
    });

    it('answers an undecodable URL with 400, a long path parameter with 400 naming it, a long URL with 414', async () => {
      const bad = await gw.app.inject({
        method: 'GET',
        url: '/api/v1/workflows/%E0%A4%A',
        headers: admin.headers,
      });
      expect(expectProblem(bad, 400)).toMatchObject({
        code: 'CV_MALFORMED_REQUEST',
        errors: [{ path: 'url', message: expect.any(String) }],
      });

      const longSegment = await gw.app.inject({
        method: 'GET',
        url: `/api/v1/workflows/${'a'.repeat(500)}`,
        headers: admin.headers,
      });
      // Not a 404 "No route" (the router used to skip routes whose parameter passed 100 characters).
      expect(expectProblem(longSegment, 400)).toMatchObject({
        code: 'CV_VALIDATION',
        errors: [{ path: 'id', message: expect.any(String) }],
      });

      const longQuery = await gw.app.inject({
        method: 'GET',
        url: `/api/v1/workflows?query=${'a'.repeat(9_000)}`,
        headers: admin.headers,
      });
      expect(expectProblem(longQuery, 414)).toMatchObject({
        code: 'CV_URI_TOO_LONG',
        limit: { name: 'url_bytes', max: 8192 },
      });
      // Just under the limit, the route answers (its own validation names the over-long filter).
      const under = await gw.app.inject({
        method: 'GET',
        url: `/api/v1/workflows?query=${'a'.repeat(8_000)}`,
        headers: admin.headers,
      });
      expect(expectProblem(under, 400).errors).toEqual([expect.objectContaining({ path: 'query' })]);
    });
  });
});

// ─── the dashboard's HTML responses ──────────────────────────────────────────────────────────────
describe('security headers on HTML responses', () => {
  let dir: string;
  let plain: TestGateway;
  let apps: Awaited<ReturnType<typeof buildGateway>>[] = [];

  /** A gateway over a small built dashboard (index.html, a hashed asset, an icon). */
  async function dashboardGateway(trustProxy: boolean) {
    const app = await buildGateway(
      {
        logger: plain.app.log as never,
        users: undefined as never,
        workflows: undefined as never,
        jobs: undefined as never,
        logs: undefined as never,
        live: plain.live,
        events: plain.events,
        busAdmin: plain.busAdmin,
        readiness: async () => ({}),
      },
      {
        bodyLimitBytes: 1_048_576,
        // inject() comes from 127.0.0.1: trusting it makes X-Forwarded-Proto count.
        trustProxy: (trustProxy ? '127.0.0.1' : false) as GatewayOptions['trustProxy'],
        version: 'test',
        webDistDir: dir,
      },
    );
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cv-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><html><head><title>t</title><script type="module" src="/assets/app-1a2b3c4d.js"></script></head><body><div id="root"></div></body></html>',
    );
    writeFileSync(join(dir, 'assets', 'app-1a2b3c4d.js'), 'console.log(1);');
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'other.html'), '<!doctype html><html><head></head><body>x</body></html>');
    plain = await createTestGateway('pglite');
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    apps = [];
    await plain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function expectSecurityHeaders(res: LightMyRequestResponse, url: string) {
    expect(res.statusCode, url).toBe(200);
    expect(res.headers['content-type'], url).toMatch(/^text\/html/);
    expect(String(res.headers['content-security-policy']), url).toContain("frame-ancestors 'none'");
    expect(String(res.headers['content-security-policy']), url).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers['referrer-policy'], url).toBe('same-origin');
    expect(res.headers['x-content-type-options'], url).toBe('nosniff');
    expect(res.headers['x-frame-options'], url).toBe('DENY');
  }

  it('sends CSP, Referrer-Policy, X-Content-Type-Options and X-Frame-Options on every HTML page', async () => {
    const app = await dashboardGateway(false);
    for (const url of [
      '/',
      '/index.html',
      '/workflows/new',
      `/workflows/${SOME_ID}/jobs/x`,
      '/other.html',
      '/api/docs',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: HTML } });
      expectSecurityHeaders(res, url);
      expect(res.headers['strict-transport-security'], url).toBeUndefined();
    }
    // /index.html is the app like /: with the per-response style nonce its CSP names.
    const index = await app.inject({ method: 'GET', url: '/index.html', headers: { accept: HTML } });
    const nonce = /'nonce-([^']+)'/.exec(String(index.headers['content-security-policy']))?.[1];
    expect(index.body).toContain(`<meta property="csp-nonce" nonce="${nonce}">`);
    expect(index.headers['cache-control']).toBe('no-cache');
  });

  it('sends HSTS when the request came over https (a trusted proxy says so), and only then', async () => {
    const app = await dashboardGateway(true);
    for (const url of ['/', '/index.html', '/workflows/new', '/api/v1/openapi.json']) {
      const https = await app.inject({
        method: 'GET',
        url,
        headers: { accept: HTML, 'x-forwarded-proto': 'https' },
      });
      expect(https.headers['strict-transport-security'], url).toBe('max-age=31536000');
      const http = await app.inject({ method: 'GET', url, headers: { accept: HTML } });
      expect(http.headers['strict-transport-security'], url).toBeUndefined();
    }
    // Without trust in the proxy, its header is ignored.
    const untrusting = await dashboardGateway(false);
    const res = await untrusting.inject({
      method: 'GET',
      url: '/',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('answers a path that climbs out of /assets with 400 CV_MALFORMED_REQUEST (docs/errors.md)', async () => {
    const app = await dashboardGateway(false);
    for (const url of [
      '/assets/..%2f..%2fpackage.json',
      '/assets/..%2findex.html',
      '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/assets/..%5c..%5cpackage.json',
      '/assets/app%00.js',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: HTML } });
      expect(expectProblem(res, 400), url).toMatchObject({
        code: 'CV_MALFORMED_REQUEST',
        errors: [{ path: 'url', message: expect.any(String) }],
      });
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/app-1a2b3c4d.js' });
    expect(asset.statusCode).toBe(200);
  });
});

// ─── a real listening server: what Node's HTTP parser refuses ───────────────────────────────────
interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `chunks` on a fresh connection and resolves with the answer once the server closes it. */
function rawExchange(port: number, chunks: string[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const statusCode = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (statusCode === 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ statusCode, headers, body });
    });
  });
}

describe('errors of the HTTP parser and the body timeout (a listening server)', () => {
  let gw: TestGateway;
  let port: number;
  let user: User;

  beforeAll(async () => {
    gw = await createTestGateway('pglite', { env: { CHRONOVERSE_SERVER_BODY_TIMEOUT: '1s' } });
    user = await registerUser(gw);
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    port = (gw.app.server.address() as { port: number }).port;
  });
  afterAll(() => gw?.close());

  it('answers headers over the limit with 431 problem+json naming it', async () => {
    const res = await rawExchange(port, [
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]);
    expect(expectProblem(res, 431)).toMatchObject({
      code: 'CV_HEADERS_TOO_LARGE',
      limit: { name: 'header_bytes', max: 16_384 },
    });
  });

  it('answers a request line over the limit with 414 problem+json naming it', async () => {
    const res = await rawExchange(port, [`GET /healthz?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    expect(expectProblem(res, 414)).toMatchObject({
      code: 'CV_URI_TOO_LONG',
      limit: { name: 'url_bytes', max: 8192 },
    });
  });

  it.each([
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
    ['a header name with a space', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'a Content-Length that is not a number',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    ],
  ])('answers %s with 400 problem+json', async (_name, request) => {
    const res = await rawExchange(port, [request]);
    expect(expectProblem(res, 400)).toMatchObject({
      code: 'CV_MALFORMED_REQUEST',
      errors: [{ path: expect.any(String), message: expect.any(String) }],
    });
  });

  it('cuts a half-sent body after the body timeout with 408, not logged as a dependency failure', async () => {
    const res = await rawExchange(port, [
      'POST /api/v1/workflows HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${user.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
    ]);
    expect(expectProblem(res, 408)).toMatchObject({
      code: 'CV_REQUEST_TIMEOUT',
      limit: { name: 'request_timeout_ms', max: 1000 },
    });
    expect(res.headers.connection).toBe('close');
    // Fastify's side of the cut request is settled (and logged) by the time the socket closed.
    await expect.poll(() => gw.logs.text).toMatch(/request cut/);
    expect(gw.logs.text).not.toMatch(/dependency unavailable/);
    expect(gw.logs.text).not.toMatch(/"level":50/);
  });

  it('cuts half-sent headers after the same timeout with 408', async () => {
    const res = await rawExchange(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n']);
    expect(expectProblem(res, 408).code).toBe('CV_REQUEST_TIMEOUT');
  });

  it('still serves a well-formed request on the same server', async () => {
    const res = await rawExchange(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });
});

/**
 * The dashboard served by the gateway (src/gateway/routes/dashboard.ts): index.html with a strict
 * CSP at `/`, hashed assets cached as immutable, deep links answered with index.html, API and
 * operations paths never swallowed by the SPA fallback, and a helpful page when no build exists.
 * Uses the real build: scripts/ensure-web-build.ts builds web/dist when it is missing or stale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../src/gateway/app.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';

const root = join(import.meta.dirname, '..', '..');
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts', 'ensure-web-build.ts')], {
    cwd: root,
    stdio: 'pipe',
  });
}, 120_000);

describe.each(ENGINES)('dashboard (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(async () => gw?.close());

  it('serves index.html at / with a strict CSP and no caching', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    // The one inline allowance: react-aria's <style>, by a nonce that changes with every response.
    const nonce = /style-src 'self' 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(res.body).toContain(`<meta property="csp-nonce" nonce="${nonce}">`);
    const again = await gw.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } });
    expect(String(again.headers['content-security-policy'])).not.toContain(String(nonce));
    expect(csp).not.toContain('unsafe-eval');
    expect(res.body).toContain('<div id="root"></div>');
    // No inline script: every <script> has a src.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves hashed assets as immutable, and 404s a missing asset instead of sending HTML', async () => {
    const index = (await gw.app.inject({ method: 'GET', url: '/' })).body;
    const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const res = await gw.app.inject({ method: 'GET', url: asset });
      expect(res.statusCode, asset).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-type']).toMatch(asset.endsWith('.css') ? /^text\/css/ : /javascript/);
    }
    const missing = await gw.app.inject({
      method: 'GET',
      url: '/assets/nope-12345678.js',
      headers: { accept: HTML },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('sends the precompressed build to browsers that accept it, and the same bytes decoded', async () => {
    const index = (await gw.app.inject({ method: 'GET', url: '/' })).body;
    const script = [...index.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!)[0]!;
    const plain = await gw.app.inject({ method: 'GET', url: script });
    expect(plain.headers['content-encoding']).toBeUndefined();
    for (const [encoding, decode] of [
      ['br', brotliDecompressSync],
      ['gzip', gunzipSync],
    ] as const) {
      const res = await gw.app.inject({
        method: 'GET',
        url: script,
        headers: { 'accept-encoding': encoding },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(String(res.headers.vary)).toMatch(/accept-encoding/i);
      expect(res.headers['content-type']).toMatch(/javascript/);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
      expect(decode(res.rawPayload).equals(plain.rawPayload)).toBe(true);
    }
  });

  it('answers deep links with index.html (the app routes itself)', async () => {
    for (const url of [
      '/workflows/new',
      '/workflows/0190a5c2-0000-7000-8000-000000000000/jobs/x',
      '/login?next=%2Fprofile',
    ]) {
      const res = await gw.app.inject({ method: 'GET', url, headers: { accept: HTML } });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toContain('<div id="root"></div>');
      expect(res.headers['content-security-policy']).toBeDefined();
    }
  });

  it('keeps API and operations paths out of the fallback', async () => {
    const unknown = await gw.app.inject({ method: 'GET', url: '/api/v1/unknown', headers: { accept: HTML } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.json()).toMatchObject({ code: 'CV_ROUTE_NOT_FOUND', status: 404 });

    const api = await gw.app.inject({ method: 'GET', url: '/api', headers: { accept: HTML } });
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);

    const health = await gw.app.inject({ method: 'GET', url: '/healthz', headers: { accept: HTML } });
    expect(health.json()).toEqual({ status: 'ok' });

    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics', headers: { accept: HTML } });
    expect(metrics.body).not.toContain('<div id="root">');

    // Not a navigation (no text/html): a plain 404, not the app.
    const data = await gw.app.inject({
      method: 'GET',
      url: '/workflows/new',
      headers: { accept: 'application/json' },
    });
    expect(data.statusCode).toBe(404);

    // Only GET falls back.
    const post = await gw.app.inject({ method: 'POST', url: '/workflows/new', headers: { accept: HTML } });
    expect(post.statusCode).toBe(404);
    expect(post.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('leaves the API working with the dashboard mounted (cookie session, JSON answers)', async () => {
    const user = await registerUser(gw);
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/users', headers: user.headers });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toBeUndefined();
  });
});

describe('dashboard without a build', () => {
  it('says how to build it at /, and keeps the API 404s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-no-dist-'));
    const gw = await createTestGateway('pglite');
    // A second gateway on the same services, pointed at an empty directory.
    const app = await buildGateway(
      {
        logger: gw.app.log as never,
        users: undefined as never,
        workflows: undefined as never,
        jobs: undefined as never,
        logs: undefined as never,
        live: gw.live,
        events: gw.events,
        busAdmin: gw.busAdmin,
        readiness: async () => ({}),
      },
      { bodyLimitBytes: 1_000_000, trustProxy: false, version: 'test', webDistDir: join(dir, 'dist') },
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/', headers: { accept: HTML } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toContain('npm run build');
      const asset = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
      expect(asset.statusCode).toBe(404);
      const api = await app.inject({ method: 'GET', url: '/api/v1/unknown' });
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(readFileSync(join(root, 'web', 'index.html'), 'utf8')).toContain('/src/main.tsx');
    } finally {
      await app.close();
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

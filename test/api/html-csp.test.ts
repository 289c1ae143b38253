/**
 * The Content-Security-Policy of every HTML page holds in a real browser (security-headers.ts):
 * the API browser at /api/docs (Swagger UI, whose policy allows inline styles but no inline
 * script) renders the served document without one violation, and cannot be framed by another
 * origin. Debian's Chromium through playwright-core (test/helpers/browser.ts).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { createTestGateway, type TestGateway } from '../helpers/harness.ts';

describe('HTML pages under their CSP (chromium)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    gw = await createTestGateway('pglite');
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://127.0.0.1:${(gw.app.server.address() as { port: number }).port}`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('renders the API browser at /api/docs without a CSP violation', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${origin}/api/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Chronoverse API' }).waitFor();
    // The operations of the served document are listed (the document came through connect-src).
    await page.locator('.opblock-summary-path', { hasText: '/api/v1/workflows' }).first().waitFor();
    expect(violations).toEqual([]);
    await page.close();
  });

  it('refuses to be framed by another page', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/frame-ancestors|Refused to display/i.test(message.text())) refused.push(message.text());
    });
    // about:blank is another origin than the gateway's.
    await page.setContent(`<iframe src="${origin}/api/docs"></iframe>`);
    await expect.poll(() => refused.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await page.close();
  });
});

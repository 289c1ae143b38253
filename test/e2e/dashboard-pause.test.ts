/**
 * Pause and resume in the dashboard and the tick ledger (issue 13), in Chromium against the real
 * gateway and engine (embedded profile, as test/e2e/dashboard.test.ts): a HEARTBEAT workflow on a
 * seconds cron (every 3 s, so the ledger fills within seconds; the first account is an
 * administrator, without a minimum schedule period) runs; paused with a note from the workflow
 * page, its Schedule section shows its fire times as Paused with the note as their reason;
 * resumed, they are Started again. The API's ledger then has every fire time once, in that order.
 * Waits only on roles, labels and text (never sleeps); about 30 s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { artifactsDir, ensureDashboardBuilt, launchChromium } from '../helpers/browser.ts';

const UI_TIMEOUT = 30_000;
const NOTE = 'e2e maintenance window';

let runtime: Runtime;
let baseUrl: string;
let browser: Browser;
let shots: string;
let target: Server;
let targetUrl: string;

beforeAll(async () => {
  await ensureDashboardBuilt();
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    DOCKER_HOST: inject('dockerHost'),
    LOG_LEVEL: 'warn',
  });
  runtime = await startRuntime({ config, logger: createLogger('warn'), roles: ['all'] });
  baseUrl = runtime.url!;
  browser = await launchChromium();
  shots = await artifactsDir('dashboard-pause');
  console.log(`dashboard pause screenshots: ${shots}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  await new Promise((resolve) => target?.close(resolve));
});

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function csrfHeader(context: BrowserContext): Promise<Record<string, string>> {
  const cookie = (await context.cookies(baseUrl)).find((c) => c.name === 'cv_csrf');
  return cookie ? { 'X-CSRF-Token': decodeURIComponent(cookie.value) } : {};
}

describe('pause and resume with the tick ledger in Chromium', { timeout: 120_000 }, () => {
  it('pause with a note → the ledger shows Paused with the note → resume → Started again', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-US' });
    context.setDefaultTimeout(UI_TIMEOUT);
    const page = await context.newPage();

    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Email').fill('pause@example.com');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    const confirm = page.getByLabel(/confirm password/i);
    if ((await confirm.count()) > 0) await confirm.fill('correct horse battery');
    await page.getByRole('button', { name: /sign up|create (an )?account|register/i }).click();
    await page
      .getByRole('heading', { name: /workflows/i })
      .first()
      .waitFor();

    const created = await page.request.post(`${baseUrl}/api/v1/workflows`, {
      headers: await csrfHeader(context),
      data: {
        name: 'e2e every 3 s',
        kind: 'HEARTBEAT',
        payload: { endpoint: targetUrl, method: 'GET' },
        schedule: { type: 'cron', cron: '*/3 * * * * *', timezone: 'UTC' },
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    const id = ((await created.json()) as { id: string }).id;

    await page.goto(`${baseUrl}/workflows/${id}`);
    const ledger = page.getByRole('list', { name: 'Fire times' });
    const entries = ledger.getByRole('listitem');
    // The section refreshes on its own (every 5 s): runs appear without a reload.
    await ledger.getByText('Started', { exact: true }).first().waitFor();
    await shot(page, '01-started');

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByLabel('Note (optional)').fill(NOTE);
    await dialog.getByRole('button', { name: 'Pause', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText(NOTE, { exact: false }).first().waitFor();
    const paused = entries.filter({ hasText: 'Paused' });
    await paused.first().waitFor();
    // Its reason quotes the note; keyboard users reach it by focus, as the tooltip says.
    await paused.first().focus();
    expect(await paused.first().getByRole('tooltip').textContent()).toBe(`the workflow was paused: ${NOTE}`);
    await shot(page, '02-paused');

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    // A Started entry after the last Paused one: the schedule runs again.
    await expect
      .poll(
        async () => {
          const items = await entries.allTextContents();
          const lastPaused = items.findLastIndex((t) => t.includes('Paused'));
          return lastPaused >= 0 && items.slice(lastPaused + 1).some((t) => t.includes('Started'));
        },
        { timeout: UI_TIMEOUT, interval: 500 },
      )
      .toBe(true);
    await shot(page, '03-resumed');

    // The API's ledger: every fire time once, 3 s apart, Started… Paused… Started…
    const res = await page.request.get(`${baseUrl}/api/v1/workflows/${id}/ticks?limit=500`);
    expect(res.status()).toBe(200);
    const ticks = ((await res.json()) as { ticks: { nominal_at: string; outcome: string }[] }).ticks;
    const times = ticks.map((t) => Date.parse(t.nominal_at));
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual(times.slice(1).map(() => 3_000));
    const runs = ticks.map((t) => t.outcome).join(' ');
    expect(runs).toMatch(/^(STARTED |CAUGHT_UP )*STARTED (PAUSED )+(STARTED ?)+$/);
    await context.close();
  });
});

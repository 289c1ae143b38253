/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the real
 * gateway in the embedded profile: one in-process runtime with every role (PGlite in memory, the
 * in-process bus, the executor on the test podman). What a new user does: sign up, create a
 * CONTAINER workflow, run it, watch live lines arrive on the job page, see it complete, download
 * the logs; validation errors on the create form (client side and from the server); a second user
 * sees nothing of the first; a failing HEARTBEAT workflow auto-terminates and a notification
 * appears in the drawer; the overview shows each workflow's last run and recent runs, times carry
 * their zone (the browser runs in New York, a cron schedule in Paris); the Runs page lists runs across
 * workflows and filters them. Waits only on roles, labels and text (never sleeps). Screenshots of the
 * main pages go to test-artifacts/dashboard/<timestamp>/ (printed).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { artifactsDir, ensureDashboardBuilt, launchChromium } from '../helpers/browser.ts';

const UI_TIMEOUT = 60_000;
const LINES = 40;
// Numbered lines with short sleeps: the job runs for several seconds, so lines arrive live.
const SCRIPT = `for i in $(seq 1 ${LINES}); do echo "tick $i"; sleep 0.25; done`;

let runtime: Runtime;
let baseUrl: string;
let browser: Browser;
let shots: string;
let failing: Server;
let failingUrl: string;

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/** The CSRF header the dashboard sends, for the few API calls the test makes itself. */
async function csrfHeader(context: BrowserContext): Promise<Record<string, string>> {
  const cookie = (await context.cookies(baseUrl)).find((c) => c.name === 'cv_csrf');
  return cookie ? { 'X-CSRF-Token': decodeURIComponent(cookie.value) } : {};
}

async function signUp(page: Page, email: string) {
  await page.goto(`${baseUrl}/register`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  const confirm = page.getByLabel(/confirm password/i);
  if ((await confirm.count()) > 0) await confirm.fill('correct horse battery');
  await page.getByRole('button', { name: /sign up|create (an )?account|register/i }).click();
  await page
    .getByRole('heading', { name: /workflows/i })
    .first()
    .waitFor();
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  failing = createServer((_req, res) => {
    res.statusCode = 500;
    res.end('down');
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/health`;

  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    DOCKER_HOST: inject('dockerHost'),
    // The test image is localhost/…: a registry the administrator must list.
    CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: 'docker.io,localhost',
    LOG_LEVEL: 'warn',
  });
  runtime = await startRuntime({ config, logger: createLogger('warn'), roles: ['all'] });
  baseUrl = runtime.url!;
  browser = await launchChromium();
  shots = await artifactsDir('dashboard');
  console.log(`dashboard screenshots: ${shots}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  await new Promise((resolve) => failing?.close(resolve));
});

/** The cells of the overview row of workflow `name`, by column header. */
async function overviewRow(page: Page, name: string) {
  const table = page.getByRole('table', { name: 'Workflows' });
  await table.getByRole('link', { name, exact: true }).waitFor();
  const headers = await table.getByRole('columnheader').allTextContents();
  const row = table.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
  return { row, cell: (header: string) => row.getByRole('cell').nth(headers.indexOf(header)) };
}

describe('dashboard in Chromium', { timeout: 240_000 }, () => {
  let owner: BrowserContext;
  let workflowId = '';
  let jobId = '';
  let failingId = '';

  it('signs up, creates a CONTAINER workflow (with validation errors first), runs it and follows its logs live', async () => {
    owner = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      // Not the zone of the cron schedule below: times must say which zone they are in.
      timezoneId: 'America/New_York',
      locale: 'en-US',
    });
    owner.setDefaultTimeout(UI_TIMEOUT);
    const page = await owner.newPage();

    await page.goto(baseUrl);
    await page.getByLabel('Email').waitFor();
    await shot(page, '01-login');

    await signUp(page, 'first@example.com');
    await shot(page, '02-overview');

    // Create form: errors as you type and on submit, next to their fields.
    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByLabel('Kind').selectOption('CONTAINER');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByText(/fix the .*marked below/i).waitFor();
    await page.getByLabel('Timeout').fill('2h');
    await page.getByLabel('Timeout').blur();
    await expect.poll(() => page.getByLabel('Timeout').getAttribute('aria-invalid')).toBe('true');
    await shot(page, '03-create-form-errors');

    await page.getByLabel('Name', { exact: true }).fill('e2e container');
    await page.getByLabel('Image').fill(inject('testImage'));
    await page.getByLabel('Command').fill(['sh', '-c', SCRIPT].join('\n'));
    await page.getByLabel('Timeout').fill('1m');
    await page.getByLabel('Interval (minutes)').fill('60');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
    workflowId = page.url().split('/').at(-1)!;

    // The build completes (the image is local), then run it by hand.
    await page.getByText('Active', { exact: true }).first().waitFor({ timeout: 120_000 });
    await shot(page, '04-workflow-detail');
    await page.getByRole('button', { name: /run now/i }).click();

    // Run now opens the new job's page.
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    jobId = page.url().split('/').at(-1)!;

    // Live: lines arrive while the job is still running.
    const log = page.getByRole('log', { name: 'Log lines' });
    await log.getByText('tick 2', { exact: true }).waitFor({ timeout: 120_000 });
    await expect.poll(() => page.getByText('Running', { exact: true }).count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Live' }).count()).toBeGreaterThan(0);

    // Completed: every line there, once.
    await page.getByText('All lines loaded').waitFor({ timeout: 120_000 });
    await page.getByText('Completed', { exact: true }).first().waitFor();
    await page.getByText(`${LINES} lines`, { exact: false }).first().waitFor();
    await log.getByText(`tick ${LINES}`, { exact: true }).waitFor();
    await shot(page, '05-job-page-logs');

    // Search highlights.
    await page.getByLabel('Search logs').fill('tick 3');
    await expect.poll(() => log.locator('mark').first().textContent()).toBe('tick 3');
    await page.getByLabel('Search logs').fill('');

    // Downloads: the server's file, every line oldest first.
    const [txt] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download logs as txt' }).click(),
    ]);
    const text = await readFile((await txt.path())!, 'utf8');
    expect(text.trimEnd().split('\n')).toEqual(Array.from({ length: LINES }, (_, i) => `tick ${i + 1}`));
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download logs as jsonl' }).click(),
    ]);
    const rows = (await readFile((await jsonl.path())!, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { sequence_num: number; message: string });
    expect(rows.map((r) => r.message)).toEqual(Array.from({ length: LINES }, (_, i) => `tick ${i + 1}`));
    expect(rows.map((r) => r.sequence_num)).toEqual(Array.from({ length: LINES }, (_, i) => i));
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the overview shows each workflow’s last run and recent runs; times carry their zone', async () => {
    expect(jobId).not.toBe('');
    const page = await owner.newPage();
    // A cron workflow in another zone than the browser's (New York): its next run is given in both.
    const created = await page.request.post(`${baseUrl}/api/v1/workflows`, {
      headers: await csrfHeader(owner),
      data: {
        name: 'e2e paris cron',
        kind: 'HEARTBEAT',
        // Not the server itself: the outbound policy refuses its own listeners to everyone.
        payload: { endpoint: `${new URL(failingUrl).origin}/healthz`, method: 'HEAD' },
        schedule: { type: 'cron', cron: '0 2 * * 1-5', timezone: 'Europe/Paris' },
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    const cronId = ((await created.json()) as { id: string }).id;

    await page.goto(baseUrl);
    const container = await overviewRow(page, 'e2e container');
    // The run of the first test: its result, when (linking to it) and how long.
    await container.cell('Last run').getByText('Completed', { exact: true }).waitFor();
    expect(await container.cell('Last run').getByRole('link').getAttribute('href')).toBe(
      `/workflows/${workflowId}/jobs/${jobId}`,
    );
    expect(await container.cell('Last run').textContent()).toMatch(/ · (\d+(\.\d)? s|\d+ min( \d+ s)?)$/);
    const squares = container.row
      .getByRole('list', { name: 'Recent runs of e2e container, oldest first' })
      .getByRole('link');
    expect(await squares.count()).toBe(1);
    expect(await squares.first().getAttribute('aria-label')).toMatch(/^Completed, finished .+, took .+$/);
    expect(await squares.first().getAttribute('href')).toBe(`/workflows/${workflowId}/jobs/${jobId}`);
    expect(await container.cell('Consecutive failures').textContent()).toBe('0/3');
    // An interval schedule's next run in the browser's zone, named.
    expect(await container.cell('Next run').textContent()).toMatch(/\b(EST|EDT|GMT-[45])$/);

    const cron = await overviewRow(page, 'e2e paris cron');
    expect(await cron.cell('Last run').textContent()).toBe('Never');
    expect(await cron.cell('Next run').textContent()).toMatch(
      /\b(EST|EDT|GMT-[45]) · (\w+ \d+, )?02:00( AM)? Europe\/Paris$/,
    );
    await shot(page, '06-overview-last-run');

    // Its detail page: the cron in words, what it checks, the next run in both zones.
    await cron.row.getByRole('link', { name: 'e2e paris cron', exact: true }).click();
    await page.waitForURL(`${baseUrl}/workflows/${cronId}`);
    await page.getByText('At 02:00, Monday through Friday (Europe/Paris)').waitFor();
    await page.getByText(`HEAD ${new URL(failingUrl).origin}/healthz`, { exact: true }).waitFor();
    await page
      .getByText(/Europe\/Paris$/)
      .first()
      .waitFor();
    await page.close();
  });

  it('a CONTAINER workflow whose build failed says why and can be rebuilt', async () => {
    const page = await owner.newPage();
    const created = await page.request.post(`${baseUrl}/api/v1/workflows`, {
      headers: await csrfHeader(owner),
      data: {
        name: 'e2e missing image',
        kind: 'CONTAINER',
        payload: { image: `${inject('testImage')}-missing`, cmd: ['true'] },
        interval: 60,
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    await page.goto(`${baseUrl}/workflows/${id}`);
    await page.getByText('Build failed', { exact: true }).first().waitFor({ timeout: 120_000 });
    await page.getByText(/^Failed — .+/).waitFor();
    await page.getByText('true', { exact: true }).waitFor(); // the command, in plain sight
    const [rebuilt] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/workflows/${id}/rebuild`)),
      page.getByRole('button', { name: 'Rebuild' }).click(),
    ]);
    expect(rebuilt.status()).toBe(202);
    const queued = (await rebuilt.json()) as { build_status: string; updated_at: string };
    expect(queued.build_status).toBe('QUEUED');
    // The image is still missing: the build runs again and fails again, and Rebuild is offered again.
    await expect
      .poll(
        async () => {
          const w = (await (await page.request.get(`${baseUrl}/api/v1/workflows/${id}`)).json()) as {
            build_status: string;
            updated_at: string;
          };
          return w.build_status === 'FAILED' && w.updated_at > queued.updated_at;
        },
        { timeout: 120_000 },
      )
      .toBe(true);
    await page.reload();
    await page.getByRole('button', { name: 'Rebuild' }).waitFor();
    await page.close();
  });

  it('a second user sees none of the first user’s workflows, and not by deep link either', async () => {
    expect(workflowId).not.toBe('');
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    other.setDefaultTimeout(UI_TIMEOUT);
    const page = await other.newPage();
    await signUp(page, 'second@example.com');
    await expect.poll(() => page.getByText('e2e container').count()).toBe(0);
    await page.goto(`${baseUrl}/workflows/${workflowId}`);
    await page
      .getByText(/not found/i)
      .first()
      .waitFor();
    expect(await page.getByText('e2e container').count()).toBe(0);
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByText('No runs yet').waitFor();
    await other.close();
  });

  it('a failing HEARTBEAT workflow auto-terminates and a notification appears in the drawer', async () => {
    const page = await owner.newPage();
    const headers = await csrfHeader(owner);
    const created = await page.request.post(`${baseUrl}/api/v1/workflows`, {
      headers,
      data: {
        name: 'e2e failing heartbeat',
        kind: 'HEARTBEAT',
        payload: { endpoint: failingUrl, timeout: '5s' },
        interval: 60,
        max_consecutive_job_failures_allowed: 1,
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    const wf = (await created.json()) as { id: string };

    await page.goto(`${baseUrl}/workflows/${wf.id}`);
    await page.getByText('Active', { exact: true }).first().waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: /run now/i }).click();
    // Run now opens the job: it fails (HTTP 500 is the workflow's fault, never retried).
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await page.getByText('Failed', { exact: true }).first().waitFor({ timeout: 120_000 });
    await page.goto(`${baseUrl}/workflows/${wf.id}`);
    await page.getByText('Terminated', { exact: true }).first().waitFor({ timeout: 120_000 });

    await page
      .getByRole('button', { name: /notifications/i })
      .first()
      .click();
    await page
      .getByRole('dialog')
      .getByText(/terminated/i)
      .first()
      .waitFor({ timeout: 120_000 });
    await shot(page, '07-notifications-drawer');
    await page.keyboard.press('Escape');

    await page.goto(`${baseUrl}/profile`);
    await page.getByRole('heading').first().waitFor();
    await shot(page, '08-profile');
    await page.goto(`${baseUrl}/analytics`);
    await page.getByRole('heading').first().waitFor();
    await shot(page, '09-analytics');
    failingId = wf.id;
  });

  it('the Runs page lists runs across workflows and filters them by status and workflow', async () => {
    expect(failingId).not.toBe('');
    const page = await owner.newPage();
    await page.goto(baseUrl);
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    const table = page.getByRole('table', { name: 'Runs' });
    await table.getByRole('link', { name: 'e2e container', exact: true }).first().waitFor();
    await table.getByRole('link', { name: 'e2e failing heartbeat', exact: true }).first().waitFor();

    // Failed only: the heartbeat's failed run, not the container's completed one.
    await page.getByRole('checkbox', { name: 'Failed', exact: true }).check();
    await page.waitForURL(/[?&]status=FAILED\b/);
    await expect.poll(() => table.getByRole('link', { name: 'e2e container', exact: true }).count()).toBe(0);
    const failedRow = table
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'e2e failing heartbeat', exact: true }) })
      .first();
    await failedRow.getByText('Failed', { exact: true }).waitFor();
    await shot(page, '10-runs-failed');

    // By workflow: only the container's runs.
    await page.getByRole('checkbox', { name: 'Failed', exact: true }).uncheck();
    await page.getByLabel('Workflow').selectOption({ label: 'e2e container' });
    await page.waitForURL(new RegExp(`[?&]workflow=${workflowId}`));
    await table.getByRole('link', { name: 'e2e container', exact: true }).first().waitFor();
    await expect
      .poll(() => table.getByRole('link', { name: 'e2e failing heartbeat', exact: true }).count())
      .toBe(0);
    // A time range that ends before any run: none match.
    await page.getByLabel('Until').fill('2020-01-01T00:00');
    await page.getByText('No runs match').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await table.getByRole('link', { name: 'e2e failing heartbeat', exact: true }).first().waitFor();

    // Each row links to its job page.
    await page.getByLabel('Workflow').selectOption({ label: 'e2e failing heartbeat' });
    await table
      .getByRole('link', { name: /^Job of e2e failing heartbeat scheduled / })
      .first()
      .click();
    await page.waitForURL(new RegExp(`/workflows/${failingId}/jobs/[0-9a-f-]{36}$`));
    await page.getByText('Failed', { exact: true }).first().waitFor();
    // Terminated workflow: no retry offered, and the job is not going to be attempted again.
    await page.getByText(/Retry is not available/).waitFor();
    expect(await page.getByRole('button', { name: 'Retry job' }).count()).toBe(0);
    await owner.close();
  });
});

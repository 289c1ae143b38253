/**
 * A DAG workflow in the dashboard, in Chromium against the real gateway (embedded profile, as
 * test/e2e/dashboard.test.ts): create a 4-task diamond of HEARTBEAT tasks from YAML text (with its
 * graph preview), run it, watch the nodes turn completed while one task fails on a target path
 * answering 500, open that task's panel, then retry the run once the path answers 200 and see
 * every node completed. Waits only on roles, labels, text and the nodes' states (never sleeps).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { artifactsDir, ensureDashboardBuilt, launchChromium } from '../helpers/browser.ts';

const UI_TIMEOUT = 60_000;

let runtime: Runtime;
let baseUrl: string;
let browser: Browser;
let shots: string;
let target: Server;
let targetUrl: string;
/** What the target's /flaky path answers; the other paths always answer 200. */
let flakyStatus = 500;

beforeAll(async () => {
  await ensureDashboardBuilt();
  target = createServer((req, res) => {
    res.statusCode = req.url === '/flaky' ? flakyStatus : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
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
  shots = await artifactsDir('dashboard-dag');
  console.log(`dashboard DAG screenshots: ${shots}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  await new Promise((resolve) => target?.close(resolve));
});

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

const node = (page: Page, name: string, state: string) =>
  page.locator(`svg g.dag-node[data-task="${name}"][data-state="${state}"]`);

describe('DAG workflows in Chromium', { timeout: 240_000 }, () => {
  it('creates a 4-task DAG from YAML, runs it, shows a failed task, and retries the run to completion', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(UI_TIMEOUT);
    const page = await context.newPage();

    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Email').fill('dag@example.com');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    const confirm = page.getByLabel(/confirm password/i);
    if ((await confirm.count()) > 0) await confirm.fill('correct horse battery');
    await page.getByRole('button', { name: /sign up|create (an )?account|register/i }).click();
    await page
      .getByRole('heading', { name: /workflows/i })
      .first()
      .waitFor();

    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByLabel('Kind').selectOption('DAG');
    await page.getByLabel('Name', { exact: true }).fill('e2e diamond');
    const task = (name: string, path: string, deps: string[]) =>
      [
        `  - name: ${name}`,
        '    kind: HEARTBEAT',
        `    payload: { endpoint: "${targetUrl}${path}" }`,
        ...(deps.length > 0 ? [`    depends_on: [${deps.join(', ')}]`] : []),
      ].join('\n');
    const editor = page.getByLabel('Definition (YAML or JSON)');
    // A cycle first: named in the list of problems, as typed.
    await editor.fill(['tasks:', task('a', '/a', ['b']), task('b', '/b', ['a'])].join('\n'));
    await page
      .getByRole('list', { name: 'Problems in the definition' })
      .getByText(/makes a cycle: a → b → a/)
      .waitFor();
    await editor.fill(
      [
        'tasks:',
        task('a', '/a', []),
        task('b', '/b', ['a']),
        task('c', '/flaky', ['a']),
        task('d', '/d', ['b', 'c']),
      ].join('\n'),
    );
    await page.getByRole('img', { name: "Preview of the definition's 4 tasks." }).waitFor();
    expect(await page.getByRole('list', { name: 'Problems in the definition' }).count()).toBe(0);
    await page.getByLabel('Interval (minutes)').fill('60');
    await shot(page, '01-create-dag');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
    await page.getByText('4 tasks', { exact: true }).waitFor();
    await page.getByRole('img', { name: "Graph of the workflow's 4 tasks." }).waitFor();

    await page.getByRole('button', { name: /run now/i }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const firstRun = page.url();
    await page.getByRole('group', { name: /Graph of the run's 4 tasks/ }).waitFor();
    await node(page, 'a', 'COMPLETED').waitFor();
    await node(page, 'b', 'COMPLETED').waitFor();
    await node(page, 'c', 'FAILED').waitFor();
    // d waits for b and c to succeed: c failed, so d is skipped and says why.
    await node(page, 'd', 'SKIPPED').waitFor();
    await page.getByRole('table').getByRole('button', { name: 'd', exact: true }).click();
    await page.getByRole('region', { name: 'Task d' }).getByText('Skipped because').waitFor();
    await page.getByRole('button', { name: 'Retry run' }).waitFor();
    // A graph node is a button named with its state: the keyboard opens its task.
    await page.getByRole('button', { name: 'c: FAILED', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('region', { name: 'Task c' }).getByText('HTTP status').waitFor();
    expect(await page.getByRole('region', { name: 'Task c' }).textContent()).toContain('500');
    await shot(page, '02-run-failed');

    flakyStatus = 200;
    await page.getByRole('button', { name: 'Retry run' }).click();
    await page.waitForURL((url) => /\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && url.href !== firstRun);
    for (const name of ['a', 'b', 'c', 'd']) await node(page, name, 'COMPLETED').waitFor();
    await page.getByText('Completed', { exact: true }).first().waitFor();
    await shot(page, '03-retry-completed');
    await context.close();
  });
});

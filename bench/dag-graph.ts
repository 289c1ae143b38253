/**
 * The dashboard's run page with a 500-task DAG, in Debian's Chromium (playwright-core, headless),
 * against the real gateway (embedded profile: in-memory PGlite, every role in this process)
 * serving the built dashboard. HEARTBEAT tasks against a local HTTP server; the DAG is 25 layers
 * of 20 tasks, each depending on two tasks of the layer before (500 nodes, 960 edges).
 *
 * (a) first render: a finished run's page opened in a new browser context, time from navigation
 *     start until all 500 graph nodes show COMPLETED, then long tasks until the main thread is
 *     idle (none for 1 s): count, how many over 200 ms (the target: none), the longest;
 * (b) refresh: the same page reloaded (warm cache), the same figures;
 * (c) live: a second run opened as it starts (each task answers after DELAY ms), long tasks while
 *     the graph follows it over SSE until every node is COMPLETED, and how long that took.
 *
 *   npm run build && node bench/dag-graph.ts [delay_ms=100]
 *
 * Prints its figures; asserts nothing. Figures depend on this machine (2 shared cores).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { startRuntime } from '../src/cli/runtime.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/platform/logger.ts';
import { ensureDashboardBuilt, launchChromium } from '../test/helpers/browser.ts';

const DELAY = Number(process.argv[2] ?? 100);
const LAYERS = 25;
const WIDTH = 20;
const TASKS = LAYERS * WIDTH;
const PASSWORD = 'correct horse battery';

let delayMs = 0;
const target = createServer((_req, res) => {
  setTimeout(() => res.writeHead(200).end('ok'), delayMs);
});
await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;

await ensureDashboardBuilt();
const runtime = await startRuntime({
  config: loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', LOG_LEVEL: 'error' }),
  logger: createLogger('error'),
  roles: ['all'],
});
const base = runtime.url!;
const browser = await launchChromium();

// Long tasks from the very start of every document (in-page code as strings: no DOM types here).
const OBSERVE = `
  window.__longtasks = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
`;
const IDLE_1S = `(() => {
  const lastEnd = window.__longtasks.reduce((m, t) => Math.max(m, t.start + t.duration), 0);
  return performance.now() - lastEnd > 1000;
})()`;
const ALL_COMPLETED = `document.querySelectorAll('svg g.dag-node[data-state="COMPLETED"]').length === ${TASKS}`;
const LONG_TASKS = (from: number) => `(() => {
  const tasks = window.__longtasks.filter((t) => t.start >= ${from});
  return {
    count: tasks.length,
    over200: tasks.filter((t) => t.duration > 200).length,
    max: tasks.reduce((m, t) => Math.max(m, t.duration), 0),
    total: tasks.reduce((s, t) => s + t.duration, 0),
  };
})()`;

interface LongTasks {
  count: number;
  over200: number;
  max: number;
  total: number;
}

const ms = (n: number) => `${Math.round(n)} ms`;
const printTasks = (t: LongTasks) =>
  `long tasks ${t.count} (over 200 ms: ${t.over200}, max ${ms(t.max)}, ${ms(t.total)} in all)`;

async function csrf(context: BrowserContext): Promise<Record<string, string>> {
  const cookie = (await context.cookies(base)).find((c) => c.name === 'cv_csrf');
  return cookie ? { 'X-CSRF-Token': decodeURIComponent(cookie.value) } : {};
}

async function poll<T>(probe: () => Promise<T | null>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Page open (or reload) → every node COMPLETED, then idle: the render time and long tasks. */
async function renderFigures(page: Page, open: () => Promise<unknown>) {
  await open();
  await page.waitForFunction(ALL_COMPLETED, undefined, { timeout: 120_000, polling: 'raf' });
  const renderedMs = (await page.evaluate('performance.now()')) as number;
  await page.waitForFunction(IDLE_1S, undefined, { timeout: 120_000, polling: 100 });
  return { renderedMs, tasks: (await page.evaluate(LONG_TASKS(0))) as LongTasks };
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  await context.addInitScript(OBSERVE);
  const reg = await context.request.post(`${base}/api/v1/auth/register`, {
    data: { email: 'bench@example.com', password: PASSWORD },
  });
  if (!reg.ok()) throw new Error(`register: ${reg.status()} ${await reg.text()}`);
  const headers = await csrf(context);
  const tasks = Array.from({ length: TASKS }, (_, i) => {
    const layer = Math.floor(i / WIDTH);
    const column = i % WIDTH;
    const name = `l${layer}-t${column}`;
    return {
      name,
      kind: 'HEARTBEAT',
      payload: { endpoint, timeout: '10s' },
      ...(layer === 0
        ? {}
        : { depends_on: [`l${layer - 1}-t${column}`, `l${layer - 1}-t${(column + 1) % WIDTH}`] }),
    };
  });
  const created = await context.request.post(`${base}/api/v1/workflows`, {
    headers,
    data: { name: 'bench graph', kind: 'DAG', payload: { tasks }, interval: 3600 },
  });
  if (created.status() !== 201) throw new Error(`create: ${created.status()} ${await created.text()}`);
  const workflowId = ((await created.json()) as { id: string }).id;
  await poll(async () => {
    const wf = (await (await context.request.get(`${base}/api/v1/workflows/${workflowId}`)).json()) as {
      build_status: string;
    };
    return wf.build_status === 'COMPLETED' ? true : null;
  });
  const runNow = async () => {
    const res = await context.request.post(`${base}/api/v1/workflows/${workflowId}/jobs/schedule`, {
      headers,
      data: {},
    });
    if (res.status() !== 201) throw new Error(`run: ${res.status()} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const finished = (runId: string) =>
    poll(async () => {
      const job = (await (
        await context.request.get(`${base}/api/v1/workflows/${workflowId}/jobs/${runId}`)
      ).json()) as { status: string };
      return ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status) ? job.status : null;
    });

  // ── (a) and (b): a finished run ──────────────────────────────────────────────────────────
  const first = await runNow();
  const status = await finished(first);
  console.log(`run of ${TASKS} tasks (${LAYERS} layers of ${WIDTH}): ${status}`);
  const page = await context.newPage();
  const runUrl = `${base}/workflows/${workflowId}/jobs/${first}`;
  const cold = await renderFigures(page, () => page.goto(runUrl));
  console.log(
    `first render (new page): all ${TASKS} nodes COMPLETED at ${ms(cold.renderedMs)} from navigation start; ${printTasks(cold.tasks)}`,
  );
  const warm = await renderFigures(page, () => page.reload());
  console.log(
    `refresh (reload): all ${TASKS} nodes COMPLETED at ${ms(warm.renderedMs)} from navigation start; ${printTasks(warm.tasks)}`,
  );

  // ── (c) a live run ───────────────────────────────────────────────────────────────────────
  delayMs = DELAY;
  const second = await runNow();
  const live = await context.newPage();
  await live.goto(`${base}/workflows/${workflowId}/jobs/${second}`);
  await live.locator('svg g.dag-node').first().waitFor({ timeout: 120_000 });
  const from = (await live.evaluate('performance.now()')) as number;
  await live
    .waitForFunction(ALL_COMPLETED, undefined, { timeout: 120_000, polling: 'raf' })
    .catch(async (err: unknown) => {
      const shown = await live.evaluate(
        `[...document.querySelectorAll('svg g.dag-node')].reduce((m, n) => { const s = n.getAttribute('data-state'); m[s] = (m[s] ?? 0) + 1; return m; }, {})`,
      );
      console.log('live page nodes by state', shown, 'run', await finished(second));
      throw err;
    });
  const until = (await live.evaluate('performance.now()')) as number;
  await live.waitForFunction(IDLE_1S, undefined, { timeout: 120_000, polling: 100 });
  const during = (await live.evaluate(LONG_TASKS(from))) as LongTasks;
  console.log(
    `live run (tasks answer after ${DELAY} ms): graph shown → all nodes COMPLETED in ${ms(until - from)}; ${printTasks(during)}`,
  );
  await context.close();
} finally {
  await browser.close();
  await runtime.stop();
  await new Promise((r) => target.close(r));
}

/**
 * The DAG screens against a stubbed gateway: a run's page (graph, task table, task panel with
 * outputs and the log viewer on the task's own job), and the editor's validation and preview.
 */
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppRoutes } from '../../App.tsx';
import type { Job, Task, Workflow } from '../../api/types.ts';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import { WorkflowForm } from '../workflow-form/WorkflowForm.tsx';
import { emptyForm } from '../workflow-form/form-state.ts';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

const hb = (path: string) => ({ endpoint: `http://127.0.0.1:9/${path}` });
const DEFINITION = {
  tasks: [
    { name: 'fetch', kind: 'HEARTBEAT', payload: hb('fetch') },
    { name: 'build', kind: 'CONTAINER', payload: { image: 'alpine:3.20' }, depends_on: ['fetch'] },
    { name: 'lint', kind: 'HEARTBEAT', payload: hb('lint'), depends_on: ['fetch'] },
    {
      name: 'shards',
      kind: 'HEARTBEAT',
      payload: hb('{{item}}'),
      for_each: ['a', 'b', 'c'],
      depends_on: ['build'],
    },
    {
      name: 'deploy',
      kind: 'HEARTBEAT',
      payload: hb('deploy'),
      depends: 'build.succeeded && lint.succeeded',
    },
    { name: 'never', kind: 'HEARTBEAT', payload: hb('never'), depends: 'lint.failed' },
  ],
  finally: [{ name: 'cleanup', kind: 'HEARTBEAT', payload: hb('cleanup') }],
};

function workflow(payload: Record<string, unknown> = DEFINITION): Workflow {
  return {
    id: 'w1',
    name: 'pipeline',
    kind: 'DAG',
    payload,
    schedule: {
      type: 'interval',
      interval_minutes: 60,
      policy: {
        overlap: 'BUFFER_ALL',
        catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
        jitter_seconds: 0,
        starting_deadline_seconds: null,
        dst: { gap: 'RUN_AFTER_GAP', overlap: null },
      },
    },
    interval: 60,
    build_status: 'COMPLETED',
    build_error: null,
    status: 'ACTIVE',
    consecutive_job_failures_count: 0,
    max_consecutive_job_failures_allowed: 3,
    log_retention: true,
    next_run_at: '2026-01-06T01:00:00.000Z',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    terminated_at: null,
    paused_at: null,
    pause_note: null,
    pause_on_failure: false,
    generation: 1,
    version: 2,
    labels: {},
    recent_jobs: [],
  } as Workflow;
}

let seq = 0;
function task(name: string, status: Task['status'], extra: Partial<Task> = {}): Task {
  seq += 1;
  const id = `00000000-0000-7000-8000-${String(seq).padStart(12, '0')}`;
  const final =
    status === 'COMPLETED' || status === 'FAILED' || status === 'SKIPPED' || status === 'CANCELED';
  return {
    id,
    name,
    kind: 'HEARTBEAT',
    index: null,
    status,
    attempts: status === 'PENDING' || status === 'SKIPPED' ? 0 : 1,
    started_at: status === 'PENDING' || status === 'SKIPPED' ? null : '2026-01-05T08:00:01.000Z',
    completed_at: final ? '2026-01-05T08:00:02.000Z' : null,
    exit_code: null,
    http_status: null,
    error: null,
    outputs: null,
    ...extra,
  };
}

const BUILD = task('build', 'COMPLETED', {
  kind: 'CONTAINER',
  exit_code: 0,
  outputs: { version: '1.4.2' },
});
const TASKS: Task[] = [
  task('fetch', 'COMPLETED', { http_status: 200, outputs: { status: 200 } }),
  BUILD,
  task('lint', 'FAILED', {
    http_status: 500,
    error: { kind: 'USER', code: 'CV_HEARTBEAT_STATUS', message: 'expected 200, got 500' },
  }),
  task('shards', 'COMPLETED', { index: 0, item: 'a' }),
  task('shards', 'RUNNING', { index: 1, item: 'b' }),
  task('shards', 'FAILED', { index: 2, item: 'c' }),
  task('deploy', 'SKIPPED', { skipped_reason: 'lint did not succeed' }),
  task('never', 'QUEUED'),
  task('cleanup', 'PENDING'),
];

function dagRun(): Job {
  return {
    id: 'r1',
    workflow_id: 'w1',
    status: 'RUNNING',
    trigger: 'MANUAL',
    scheduled_at: '2026-01-05T08:00:00.000Z',
    started_at: '2026-01-05T08:00:01.000Z',
    completed_at: null,
    created_at: '2026-01-05T08:00:00.000Z',
    updated_at: '2026-01-05T08:00:01.000Z',
    attempts: 1,
    max_attempts: 1,
    exit_code: null,
    http_status_code: null,
    latency_ms: null,
    skipped_ticks: 0,
    retry_of: null,
    workflow_version: 1,
    error: null,
    kind: 'DAG',
    tasks: TASKS,
  };
}

/** The browser's EventSource is not in jsdom: a scripted one records the URLs the viewer opens. */
class ScriptedEventSource {
  static opened: ScriptedEventSource[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly url: string;
  readonly #listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  constructor(url: string) {
    this.url = url;
    ScriptedEventSource.opened.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.readyState = 2;
  }
  emit(type: string, data: unknown): void {
    const event = new MessageEvent<string>(type, { data: JSON.stringify(data) });
    for (const l of this.#listeners.get(type) ?? []) l(event);
  }
}

beforeAll(() => {
  // A scroll area of some size for the log viewer's virtualiser.
  HTMLElement.prototype.getBoundingClientRect = function () {
    return {
      width: 800,
      height: 400,
      top: 0,
      left: 0,
      right: 800,
      bottom: 400,
      x: 0,
      y: 0,
      toJSON: () => ({}),
    };
  };
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get: () => 400 });
  Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get: () => 800 });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 400 });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 800 });
});
beforeEach(() => {
  ScriptedEventSource.opened = [];
  (globalThis as { EventSource?: unknown }).EventSource = ScriptedEventSource;
});
afterEach(() => {
  delete (globalThis as { EventSource?: unknown }).EventSource;
});

/** The workflow was edited since the run: version 2 has a task more than version 1, which the run ran. */
const CURRENT = {
  ...DEFINITION,
  tasks: [...DEFINITION.tasks, { name: 'added', kind: 'HEARTBEAT', payload: hb('added') }],
};

function stubRun(run: () => Job = dagRun) {
  const w = workflow(CURRENT);
  return stubFetch({
    'GET /api/v1/users': () => json(200, USER),
    'GET /api/v1/workflows/w1': () => json(200, w),
    'GET /api/v1/workflows/w1/versions/1': () =>
      json(200, {
        workflow_id: 'w1',
        version: 1,
        created_at: '2026-01-01T00:00:00.000Z',
        created_by: 'u1',
        current: false,
        changes: [],
        definition: {
          kind: 'DAG',
          payload: DEFINITION,
          schedule: w.schedule,
          max_consecutive_job_failures_allowed: 3,
          pause_on_failure: false,
          log_retention: true,
        },
      }),
    'GET /api/v1/workflows/w1/jobs/r1': () => json(200, run()),
  });
}

const rowOf = (name: string) =>
  document.querySelector(`.dag-task-table tr[data-task="${name}"]`) as HTMLElement;
const nodeOf = (name: string) => document.querySelector(`svg g.dag-node[data-task="${name}"]`) as SVGGElement;

describe('DAG run page', () => {
  it("draws every task of a run with its state, in the graph and in the table, from the run's own version", async () => {
    const calls = stubRun();
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    await screen.findByRole('heading', { name: /^Run/ });
    // Version 1's seven tasks, not the current definition's eight.
    await waitFor(() =>
      expect(calls.some((c) => c.url.pathname === '/api/v1/workflows/w1/versions/1')).toBe(true),
    );
    await screen.findByRole('group', { name: /Graph of the run's 7 tasks/ });
    expect(nodeOf('added')).toBeNull();
    expect(screen.getByRole('button', { name: 'Cancel run' })).toBeTruthy();

    const expected: Record<string, string> = {
      fetch: 'COMPLETED',
      build: 'COMPLETED',
      lint: 'FAILED',
      shards: 'RUNNING',
      deploy: 'SKIPPED',
      never: 'QUEUED',
      cleanup: 'PENDING',
    };
    for (const [name, state] of Object.entries(expected)) {
      expect(nodeOf(name).getAttribute('data-state')).toBe(state);
      expect(within(rowOf(name)).getByText(state[0] + state.slice(1).toLowerCase())).toBeTruthy();
    }
    // The fan-out is one node and one row, counted by state.
    expect(document.querySelectorAll('svg g.dag-node[data-task="shards"]')).toHaveLength(1);
    expect(rowOf('shards').textContent).toContain('1✓ 1✗ 1▶ of 3');
    expect(nodeOf('shards').textContent).toContain('for each: 1✓ 1✗ 1▶');
    // Edges come from depends_on and from the names in a depends expression.
    expect(document.querySelectorAll('.dag-edges path')).toHaveLength(6);
    expect(nodeOf('cleanup').classList.contains('dag-node--finally')).toBe(true);
    expect(within(rowOf('cleanup')).getByText('(finally)')).toBeTruthy();
  });

  it('shows the selected task: state, error, skipped reason, outputs, and its own logs', async () => {
    stubRun();
    const user = userEvent.setup();
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    await screen.findByRole('group', { name: /Graph of the run/ });

    await user.click(within(rowOf('lint')).getByRole('button', { name: 'lint' }));
    const panel = () => screen.getByRole('region', { name: /^Task/ });
    expect(within(panel()).getByRole('note', { name: 'Task error' }).textContent).toContain(
      'expected 200, got 500',
    );
    expect(within(panel()).getByText('HEARTBEAT tasks keep no logs.')).toBeTruthy();

    await user.click(within(rowOf('deploy')).getByRole('button', { name: 'deploy' }));
    expect(within(panel()).getByText('lint did not succeed')).toBeTruthy();

    // A click on the node selects it too; a container task's logs are its own job's.
    fireEvent.click(nodeOf('build'));
    await waitFor(() =>
      expect(within(panel()).getByLabelText('Outputs').textContent).toContain('"version": "1.4.2"'),
    );
    expect(nodeOf('build').classList.contains('dag-node--selected')).toBe(true);
    const url = `/api/v1/workflows/w1/jobs/${BUILD.id}/events`;
    const es = await waitFor(() => {
      const opened = ScriptedEventSource.opened.find((e) => e.url === url);
      expect(opened).toBeDefined();
      return opened!;
    });
    act(() => {
      es.onopen?.(new Event('open'));
      es.emit('log', {
        sequence_num: 0,
        stream: 'stdout',
        timestamp: '2026-01-05T08:00:01.500Z',
        message: 'built 1.4.2',
      });
    });
    await screen.findByText('built 1.4.2');

    // A fan-out lists its instances; one of them opens its details.
    await user.click(within(rowOf('shards')).getByRole('button', { name: 'shards' }));
    const list = within(panel()).getByRole('list', { name: 'Instances of shards' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(3);
    await user.click(within(list).getByRole('button', { name: '#2' }));
    expect(within(panel()).getByRole('heading', { name: 'Instance #2' })).toBeTruthy();
    expect(within(panel()).getByText('Item', { selector: 'dt' }).nextElementSibling!.textContent).toBe('"c"');
  });
});

describe('DAG run page, live', () => {
  const runUrl = '/api/v1/workflows/w1/jobs/r1/events';
  const runStream = () =>
    waitFor(() => {
      const opened = ScriptedEventSource.opened.find((e) => e.url === runUrl);
      expect(opened).toBeDefined();
      return opened!;
    });
  const runGets = (calls: ReturnType<typeof stubRun>) =>
    calls.filter((c) => c.method === 'GET' && c.url.pathname === '/api/v1/workflows/w1/jobs/r1').length;

  it("follows the run's stream: tasks and status update the graph and table without polling; polls while the stream is down", async () => {
    const calls = stubRun();
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    await screen.findByRole('group', { name: /Graph of the run/ });
    const es = await runStream();
    act(() => es.onopen?.(new Event('open')));
    const moved = TASKS.map((t) =>
      t.name === 'shards' && t.index === 1
        ? { ...t, status: 'COMPLETED' as const }
        : t.name === 'never'
          ? { ...t, status: 'RUNNING' as const }
          : t,
    );
    act(() => es.emit('tasks', { tasks: moved }));
    await waitFor(() => expect(nodeOf('never').getAttribute('data-state')).toBe('RUNNING'));
    expect(rowOf('shards').textContent).toContain('2✓ 1✗ of 3');
    expect(within(rowOf('never')).getByText('Running')).toBeTruthy();
    // A status carries the run without its tasks: the tasks shown stay.
    const { tasks: _tasks, ...bare } = dagRun();
    act(() => es.emit('status', { ...bare, attempts: 1, updated_at: '2026-01-05T08:00:05.000Z' }));
    expect(nodeOf('never').getAttribute('data-state')).toBe('RUNNING');
    // No polling while the stream is open.
    const before = runGets(calls);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(runGets(calls)).toBe(before);
    // The stream fails (the browser gave up): the page polls again.
    act(() => {
      es.readyState = 2;
      es.onerror?.(new Event('error'));
    });
    await waitFor(() => expect(runGets(calls)).toBeGreaterThan(before), { timeout: 4_000 });
  }, 15_000);

  it('closes the stream on end, shows the final run, and reads it once more', async () => {
    const done = TASKS.map((t) => ({ ...t, status: 'COMPLETED' as const }));
    const { tasks: _tasks, ...bare } = dagRun();
    const finished = { ...bare, status: 'COMPLETED' as const, completed_at: '2026-01-05T08:00:09.000Z' };
    let over = false;
    const calls = stubRun(() => (over ? { ...finished, tasks: done } : dagRun()));
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    await screen.findByRole('group', { name: /Graph of the run/ });
    const es = await runStream();
    act(() => es.onopen?.(new Event('open')));
    // The stream's last tasks are lost to a stale GET: the read after `end` puts things right.
    const before = runGets(calls);
    over = true;
    act(() => es.emit('end', finished));
    expect(es.readyState).toBe(2);
    await waitFor(() => expect(runGets(calls)).toBe(before + 1));
    await waitFor(() => expect(nodeOf('never').getAttribute('data-state')).toBe('COMPLETED'));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Cancel run' })).toBeNull());
    expect(nodeOf('cleanup').getAttribute('data-state')).toBe('COMPLETED');
  });

  it("keeps the stream after the run's final status: the last tasks come after it, then end", async () => {
    const done = TASKS.map((t) => ({ ...t, status: 'COMPLETED' as const }));
    const { tasks: _tasks, ...bare } = dagRun();
    const finished = { ...bare, status: 'COMPLETED' as const, completed_at: '2026-01-05T08:00:09.000Z' };
    // GETs keep answering the running run: only the stream tells the end.
    stubRun();
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    await screen.findByRole('group', { name: /Graph of the run/ });
    const es = await runStream();
    act(() => es.onopen?.(new Event('open')));
    // The server's order (src/gateway/routes/logs.ts #check): status, then tasks, then end.
    act(() => es.emit('status', finished));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Cancel run' })).toBeNull());
    expect(es.readyState).not.toBe(2);
    act(() => es.emit('tasks', { tasks: done }));
    await waitFor(() => expect(nodeOf('never').getAttribute('data-state')).toBe('COMPLETED'));
    act(() => es.emit('end', finished));
    expect(es.readyState).toBe(2);
  });

  it('graph nodes are buttons in the tab order, named with their state; Enter and Space open the task', async () => {
    stubRun();
    const user = userEvent.setup();
    renderAt('/workflows/w1/jobs/r1', <AppRoutes />);
    const graph = await screen.findByRole('group', { name: /Graph of the run/ });
    const build = within(graph).getByRole('button', { name: 'build: COMPLETED' });
    expect(build.getAttribute('tabindex')).toBe('0');
    expect(within(graph).getByRole('button', { name: 'shards: RUNNING (1✓ 1✗ 1▶)' })).toBeTruthy();
    act(() => build.focus());
    await user.keyboard('{Enter}');
    const panel = () => screen.getByRole('region', { name: /^Task/ });
    await waitFor(() => expect(within(panel()).getByLabelText('Outputs').textContent).toContain('1.4.2'));
    expect(build.getAttribute('aria-pressed')).toBe('true');
    const lint = within(graph).getByRole('button', { name: 'lint: FAILED' });
    act(() => lint.focus());
    await user.keyboard(' ');
    expect(within(panel()).getByRole('note', { name: 'Task error' }).textContent).toContain(
      'expected 200, got 500',
    );
    // Tab moves from node to node.
    await user.tab();
    expect(document.activeElement?.getAttribute('data-task')).not.toBe('lint');
  });
});

describe('DAG editor', () => {
  it('offers the DAG kind, validates the definition as typed, and names a cycle with its line', async () => {
    const user = userEvent.setup();
    renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={emptyForm()}
        submitLabel="Create"
        pending={false}
        error={null}
        onSubmit={() => {}}
      />,
    );
    await user.selectOptions(screen.getByLabelText('Kind'), 'DAG');
    const editor = screen.getByLabelText('Definition (YAML or JSON)');
    fireEvent.change(editor, {
      target: {
        value: [
          'tasks:',
          '  - name: a',
          '    kind: HEARTBEAT',
          '    payload: { endpoint: "http://127.0.0.1:9/a" }',
          '    depends_on: [c]',
          '  - name: b',
          '    kind: HEARTBEAT',
          '    payload: { endpoint: "http://127.0.0.1:9/b" }',
          '    depends_on: [a]',
          '  - name: c',
          '    kind: HEARTBEAT',
          '    payload: { endpoint: "http://127.0.0.1:9/c" }',
          '    depends_on: [b]',
        ].join('\n'),
      },
    });
    const problems = await screen.findByRole('list', { name: 'Problems in the definition' });
    expect(problems.textContent).toMatch(/tasks\[0\]\.depends_on \(line 5\): makes a cycle: a → b → c → a/);
    // The preview draws what it can read, cycle and all.
    expect(screen.getByRole('img', { name: "Preview of the definition's 3 tasks." })).toBeTruthy();

    fireEvent.change(editor, { target: { value: 'tasks: [' } });
    expect((await screen.findByRole('list', { name: 'Problems in the definition' })).textContent).toMatch(
      /definition: line \d+: is not valid YAML or JSON/,
    );

    fireEvent.change(editor, {
      target: { value: JSON.stringify({ tasks: [{ name: 'a', kind: 'HEARTBEAT', payload: hb('a') }] }) },
    });
    await waitFor(() =>
      expect(screen.queryByRole('list', { name: 'Problems in the definition' })).toBeNull(),
    );
  });
});

describe('DAG workflow pages', () => {
  function stubWorkflow() {
    return stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, workflow()),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
    });
  }

  it('the workflow page shows the task count and the graph instead of an endpoint or image', async () => {
    stubWorkflow();
    renderAt('/workflows/w1', <AppRoutes />);
    const tasks = await screen.findByText('Tasks', { selector: 'dt' });
    expect(tasks.nextElementSibling!.textContent).toBe('6 tasks and 1 finally');
    expect(screen.getByRole('img', { name: "Graph of the workflow's 7 tasks." })).toBeTruthy();
    expect(screen.queryByText('Endpoint', { selector: 'dt' })).toBeNull();
    expect(screen.queryByText('Image', { selector: 'dt' })).toBeNull();
  });

  it('the edit page edits the stored definition as text and sends only what changed', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, workflow()),
      'PUT /api/v1/workflows/w1': () => json(200, workflow()),
      'POST /api/v1/schedules/preview': () => json(200, { runs: [] }),
    });
    const user = userEvent.setup();
    renderAt('/workflows/w1/edit', <AppRoutes />);
    const editor = (await screen.findByLabelText('Definition (YAML or JSON)')) as HTMLTextAreaElement;
    expect(editor.value).toContain('depends: build.succeeded && lint.succeeded');
    expect(screen.getByRole('img', { name: "Preview of the definition's 7 tasks." })).toBeTruthy();
    fireEvent.change(editor, { target: { value: editor.value.replace('lint.succeeded', 'lint.completed') } });
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    const put = calls.find((c) => c.method === 'PUT')!.body as { payload: typeof DEFINITION };
    expect(Object.keys(put)).toEqual(['payload']);
    expect(put.payload.tasks[4]).toMatchObject({
      name: 'deploy',
      depends: 'build.succeeded && lint.completed',
    });
  });
});

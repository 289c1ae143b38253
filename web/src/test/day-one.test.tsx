/**
 * The day-one pieces against a stubbed gateway (the API contract of issue 10): the overview's last
 * run and recent-runs strip, the Runs page and its filters, the workflow detail (what it runs,
 * cron in words, Rebuild), the job page's retry and attempts wording, and the form's cron words.
 */
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { RecentJob, Run, SchedulePolicyView, Workflow } from '../api/types.ts';
import { emptyForm } from '../features/workflow-form/form-state.ts';
import { WorkflowForm } from '../features/workflow-form/WorkflowForm.tsx';
import { browserZone } from '../lib/format.ts';
import { localInputToIso } from '../pages/runs/runs-query.ts';
import { json, renderAt, stubFetch } from './render.tsx';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

// A zone that is surely not the browser's, so the next run is written in both.
const DEFAULT_POLICY: SchedulePolicyView = {
  overlap: 'BUFFER_ALL',
  catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
  jitter_seconds: 0,
  starting_deadline_seconds: null,
  dst: { gap: 'RUN_AFTER_GAP', overlap: null },
};
const OTHER_ZONE = browserZone() === 'Europe/Paris' ? 'America/New_York' : 'Europe/Paris';

function workflow(overrides: Partial<Workflow> = {}): Workflow {
  return {
    id: 'w1',
    name: 'nightly',
    kind: 'HEARTBEAT',
    payload: {
      endpoint: 'https://example.com/health',
      method: 'HEAD',
      expected_status_code: 204,
      timeout: '5s',
    },
    schedule: { type: 'cron', cron: '0 2 * * 1-5', timezone: OTHER_ZONE, policy: DEFAULT_POLICY },
    interval: null,
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
    version: 1,
    labels: {},
    recent_jobs: [],
    ...overrides,
  };
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function recent(id: string, status: RecentJob['status'], duration_ms: number | null): RecentJob {
  return {
    id,
    status,
    trigger: 'AUTOMATIC',
    scheduled_at: ago(600_000),
    started_at: ago(590_000),
    completed_at: duration_ms === null ? null : ago(590_000 - duration_ms),
    duration_ms,
  };
}

function run(id: string, overrides: Partial<Run> = {}): Run {
  return {
    id,
    workflow_id: 'w1',
    workflow_name: 'nightly',
    status: 'COMPLETED',
    trigger: 'AUTOMATIC',
    scheduled_at: '2026-01-05T08:00:00.000Z',
    started_at: '2026-01-05T08:00:01.000Z',
    completed_at: '2026-01-05T08:00:03.500Z',
    created_at: '2026-01-05T08:00:00.000Z',
    updated_at: '2026-01-05T08:00:03.500Z',
    attempts: 1,
    max_attempts: 3,
    exit_code: null,
    http_status_code: 200,
    latency_ms: 12,
    skipped_ticks: 0,
    retry_of: null,
    workflow_version: 1,
    error: null,
    kind: 'HEARTBEAT',
    ...overrides,
  };
}

const hrefOf = (el: Element) => el.getAttribute('href');

describe('overview: last run and recent runs', () => {
  it('shows the last run’s result and duration, a strip oldest → newest linking to each job, and Never', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows': () =>
        json(200, {
          workflows: [
            workflow({
              // newest first, as the API sends them
              recent_jobs: [
                recent('j3', 'FAILED', 1_240),
                recent('j2', 'COMPLETED', 850),
                recent('j1', 'RUNNING', null),
              ],
            }),
            workflow({ id: 'w2', name: 'fresh', recent_jobs: [] }),
          ],
          cursor: null,
        }),
    });
    renderAt('/', <AppRoutes />);
    const table = await screen.findByRole('table', { name: 'Workflows' });
    const headers = within(table)
      .getAllByRole('columnheader')
      .map((h) => h.textContent);
    expect(headers).toEqual(
      expect.arrayContaining(['Last run', 'Recent runs', 'Consecutive failures', 'Next run']),
    );
    expect(headers).not.toContain('Failures');

    const [, nightly, fresh] = within(table).getAllByRole('row');
    const cells = within(nightly!).getAllByRole('cell');
    const last = cells[headers.indexOf('Last run')]!;
    expect(within(last).getByText('Failed')).toBeTruthy();
    expect(last.textContent).toContain('1.2 s');
    expect(hrefOf(within(last).getByRole('link'))).toBe('/workflows/w1/jobs/j3');

    const strip = within(nightly!).getByRole('list', { name: 'Recent runs of nightly, oldest first' });
    const squares = within(strip).getAllByRole('link');
    expect(squares.map(hrefOf)).toEqual([
      '/workflows/w1/jobs/j1',
      '/workflows/w1/jobs/j2',
      '/workflows/w1/jobs/j3',
    ]);
    const labels = squares.map((s) => s.getAttribute('aria-label') ?? '');
    expect(labels[0]).toMatch(/^Running, started /);
    expect(labels[0]).not.toContain('took');
    expect(labels[1]).toMatch(/^Completed, finished .*, took 850 ms$/);
    expect(labels[2]).toMatch(/^Failed, finished .*, took 1\.2 s$/);
    expect(squares.map((s) => s.getAttribute('title'))).toEqual(labels);
    expect(squares.map((s) => s.className)).toEqual([
      'run-square run-info',
      'run-square run-success',
      'run-square run-danger',
    ]);

    const freshCells = within(fresh!).getAllByRole('cell');
    expect(freshCells[headers.indexOf('Last run')]!.textContent).toBe('Never');
    expect(within(fresh!).queryByRole('list')).toBeNull();

    // The next run of a cron in another zone also says the schedule's own time.
    expect(cells[headers.indexOf('Next run')]!.textContent).toContain(`· `);
    expect(cells[headers.indexOf('Next run')]!.textContent).toContain(OTHER_ZONE);

    await userEvent.setup().click(squares[2]!);
    // The job page is a lazy chunk: the navigation completes once it has loaded.
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/workflows/w1/jobs/j3'));
  });

  it('names build statuses with the API’s words', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows': () => json(200, { workflows: [], cursor: null }),
    });
    renderAt('/', <AppRoutes />);
    const build = (await screen.findByLabelText('Build')) as HTMLSelectElement;
    expect([...build.options].map((o) => o.textContent)).toEqual([
      'Any',
      'Queued',
      'Started',
      'Completed',
      'Failed',
      'Canceled',
    ]);
  });
});

describe('Runs page', () => {
  const lastJobsQuery = (calls: ReturnType<typeof stubFetch>) =>
    Object.fromEntries(calls.filter((c) => c.url.pathname === '/api/v1/jobs').at(-1)!.url.searchParams);

  function stubRuns() {
    return stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows': () =>
        json(200, { workflows: [workflow(), workflow({ id: 'w2', name: 'weekly' })], cursor: null }),
      'GET /api/v1/jobs': ({ url }) => {
        if (url.searchParams.get('status') === 'CANCELED') return json(200, { jobs: [], cursor: null });
        return url.searchParams.get('cursor') === 'c1'
          ? json(200, { jobs: [run('j-old', { workflow_id: 'w2', workflow_name: 'weekly' })], cursor: null })
          : json(200, {
              jobs: [
                run('j-new', {
                  status: 'FAILED',
                  error: { kind: 'USER', code: 'UNEXPECTED_STATUS', message: 'expected 200, got 500' },
                }),
              ],
              cursor: 'c1',
            });
      },
    });
  }

  it('is in the navigation, lists runs linking to their job and workflow, and pages with the cursor', async () => {
    const calls = stubRuns();
    renderAt('/', <AppRoutes />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('link', { name: 'Runs' }));
    const table = await screen.findByRole('table', { name: 'Runs' });
    expect(screen.getByTestId('location').textContent).toBe('/runs');
    expect(lastJobsQuery(calls)).toEqual({ limit: '25' });

    const [, row] = within(table).getAllByRole('row');
    expect(within(row!).getByText('Failed')).toBeTruthy();
    expect(within(row!).getByText('expected 200, got 500')).toBeTruthy();
    expect(within(row!).getByText('2.5 s')).toBeTruthy();
    expect(hrefOf(within(row!).getByRole('link', { name: /^Job of nightly scheduled / }))).toBe(
      '/workflows/w1/jobs/j-new',
    );
    expect(hrefOf(within(row!).getByRole('link', { name: 'nightly' }))).toBe('/workflows/w1');

    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByRole('link', { name: 'weekly' });
    expect(lastJobsQuery(calls)).toEqual({ limit: '25', cursor: 'c1' });
    expect(screen.getByText('Page 2')).toBeTruthy();
  });

  it('filters by status, workflow and time range, from the first page again, and keeps them in the URL', async () => {
    const calls = stubRuns();
    renderAt('/runs', <AppRoutes />);
    const user = userEvent.setup();
    await screen.findByRole('table', { name: 'Runs' });
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByText('Page 2');

    await user.click(screen.getByRole('checkbox', { name: 'Failed' }));
    await waitFor(() => expect(lastJobsQuery(calls)).toEqual({ limit: '25', status: 'FAILED' }));
    expect(screen.getByText('Page 1')).toBeTruthy();
    await user.click(screen.getByRole('checkbox', { name: 'Completed' }));
    await waitFor(() => expect(lastJobsQuery(calls)).toEqual({ limit: '25', status: 'COMPLETED,FAILED' }));

    await user.selectOptions(await screen.findByLabelText('Workflow'), 'weekly');
    await waitFor(() => expect(lastJobsQuery(calls)).toMatchObject({ workflow_id: 'w2' }));
    await user.selectOptions(screen.getByLabelText('Trigger'), 'MANUAL');

    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-01-05T09:00' } });
    await waitFor(() =>
      expect(lastJobsQuery(calls)).toEqual({
        limit: '25',
        status: 'COMPLETED,FAILED',
        workflow_id: 'w2',
        trigger: 'MANUAL',
        since: localInputToIso('2026-01-05T09:00'),
      }),
    );
    const location = new URL(`http://x${screen.getByTestId('location').textContent}`);
    expect(location.pathname).toBe('/runs');
    expect(Object.fromEntries(location.searchParams)).toEqual({
      status: 'COMPLETED,FAILED',
      workflow: 'w2',
      trigger: 'MANUAL',
      since: localInputToIso('2026-01-05T09:00'),
    });

    // An "until" before "from" is explained and not sent.
    const until = screen.getByLabelText('Until');
    fireEvent.change(until, { target: { value: '2026-01-04T09:00' } });
    await waitFor(() => expect(until.getAttribute('aria-invalid')).toBe('true'));
    expect(lastJobsQuery(calls)).not.toHaveProperty('until');
    fireEvent.change(until, { target: { value: '2026-01-06T09:00' } });
    await waitFor(() =>
      expect(lastJobsQuery(calls)).toMatchObject({ until: localInputToIso('2026-01-06T09:00') }),
    );
  });

  it('follows the URL when it changes from outside (the Runs link in the navigation)', async () => {
    const calls = stubRuns();
    renderAt('/runs?status=CANCELED', <AppRoutes />);
    await screen.findByText('No runs match');
    await userEvent.setup().click(screen.getByRole('link', { name: 'Runs' }));
    await screen.findByRole('table', { name: 'Runs' });
    expect((screen.getByRole('checkbox', { name: 'Canceled' }) as HTMLInputElement).checked).toBe(false);
    expect(lastJobsQuery(calls)).toEqual({ limit: '25' });
  });

  it('says when no run matches, and clears the filters', async () => {
    const calls = stubRuns();
    renderAt('/runs?status=CANCELED', <AppRoutes />);
    const user = userEvent.setup();
    await screen.findByText('No runs match');
    expect((screen.getByRole('checkbox', { name: 'Canceled' }) as HTMLInputElement).checked).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await screen.findByRole('table', { name: 'Runs' });
    expect(lastJobsQuery(calls)).toEqual({ limit: '25' });
    expect(screen.getByTestId('location').textContent).toBe('/runs');
  });
});

describe('workflow detail', () => {
  const dd = (term: string) => screen.getByText(term, { selector: 'dt' }).nextElementSibling!.textContent;

  it('shows what a heartbeat checks, the cron in words and the next run in both zones', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, workflow()),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
    });
    renderAt('/workflows/w1', <AppRoutes />);
    await screen.findByRole('heading', { name: /nightly/ });
    expect(dd('Endpoint')).toBe('HEAD https://example.com/health');
    expect(dd('Expects')).toBe('HTTP 204 within 5s');
    expect(dd('Schedule')).toBe(
      `cron 0 2 * * 1-5 (${OTHER_ZONE}) — At 02:00, Monday through Friday (${OTHER_ZONE})`,
    );
    expect(dd('Next run')).toMatch(new RegExp(`· .*${OTHER_ZONE}$`));
    expect(dd('Build')).toBe('Completed');
    expect(dd('Consecutive failures')).toContain('0/3');
    expect(screen.queryByRole('button', { name: 'Rebuild' })).toBeNull();
  });

  it('shows a container’s image and command, and rebuilds a failed build', async () => {
    const failed = workflow({
      id: 'w2',
      name: 'report',
      kind: 'CONTAINER',
      payload: { image: 'alpine:3.20', cmd: ['sh', '-c', 'echo hello'], timeout: '5m' },
      schedule: { type: 'interval', interval_minutes: 60, policy: DEFAULT_POLICY },
      build_status: 'FAILED',
      build_error: 'no container runtime',
      status: 'BUILD_FAILED',
    });
    let current = failed;
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w2': () => json(200, current),
      'GET /api/v1/workflows/w2/jobs': () => json(200, { jobs: [], cursor: null }),
      'POST /api/v1/workflows/w2/rebuild': () => {
        current = { ...failed, build_status: 'QUEUED', build_error: null, status: 'BUILDING' };
        return json(202, current);
      },
    });
    document.cookie = 'cv_csrf=csrf-value';
    renderAt('/workflows/w2', <AppRoutes />);
    await screen.findByRole('heading', { name: /report/ });
    expect(dd('Image')).toBe('alpine:3.20');
    expect(dd('Command')).toBe("sh -c 'echo hello'");
    expect(dd('Timeout')).toBe('5m');
    expect(dd('Build')).toBe('Failed — no container runtime');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Rebuild' }));
    await waitFor(() => expect(dd('Build')).toBe('Queued'));
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url.pathname).toBe('/api/v1/workflows/w2/rebuild');
    expect(post.headers.get('x-csrf-token')).toBe('csrf-value');
    expect(post.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.body).toBeUndefined();
    expect(screen.queryByRole('button', { name: 'Rebuild' })).toBeNull();
  });

  it('says why a rebuild was refused, and offers none on a terminated workflow', async () => {
    let terminated = false;
    const failed = () =>
      workflow({
        build_status: 'FAILED',
        build_error: 'boom',
        status: terminated ? 'TERMINATED' : 'BUILD_FAILED',
        terminated_at: terminated ? '2026-01-02T00:00:00.000Z' : null,
      });
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, failed()),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'POST /api/v1/workflows/w1/rebuild': () =>
        json(412, {
          title: 'Precondition failed',
          status: 412,
          code: 'CV_PRECONDITION_FAILED',
          detail: 'The workflow is terminated.',
        }),
    });
    const { unmount } = renderAt('/workflows/w1', <AppRoutes />);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Rebuild' }));
    const alert = await screen.findByText('The rebuild could not start');
    expect(alert.parentElement!.textContent).toContain('The workflow is terminated.');
    unmount();

    terminated = true;
    renderAt('/workflows/w1', <AppRoutes />);
    await screen.findByRole('button', { name: 'Delete' });
    expect(screen.queryByRole('button', { name: 'Rebuild' })).toBeNull();
  });
});

describe('job page wording', () => {
  function stubJob(job: Partial<Run>, wf: Partial<Workflow>) {
    return stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, workflow(wf)),
      'GET /api/v1/workflows/w1/jobs/j1': () => json(200, run('j1', job)),
    });
  }
  const attempts = () => screen.getByText('Attempts', { selector: 'dt' }).nextElementSibling!.textContent;

  it('hides "Retry job" for a failed job of a terminated workflow and says why', async () => {
    stubJob(
      { status: 'FAILED', attempts: 1, max_attempts: 3 },
      { terminated_at: '2026-01-02T00:00:00.000Z', status: 'TERMINATED' },
    );
    renderAt('/workflows/w1/jobs/j1', <AppRoutes />);
    await screen.findByText(/Retry is not available: The workflow is terminated/);
    expect(screen.queryByRole('button', { name: 'Retry job' })).toBeNull();
    expect(attempts()).toBe('1');
  });

  it('offers "Retry job" for a failed job of a live workflow', async () => {
    stubJob({ status: 'FAILED' }, {});
    renderAt('/workflows/w1/jobs/j1', <AppRoutes />);
    await screen.findByRole('button', { name: 'Retry job' });
  });

  it('says "1 of 3" only while a retry can still happen', async () => {
    stubJob({ status: 'RUNNING', attempts: 1, max_attempts: 3, completed_at: null }, {});
    renderAt('/workflows/w1/jobs/j1', <AppRoutes />);
    await screen.findByRole('button', { name: 'Cancel job' });
    expect(attempts()).toBe('1 of 3');
    expect(screen.queryByRole('button', { name: 'Retry job' })).toBeNull();
  });
});

describe('workflow form', () => {
  it('describes a valid cron expression in words beside the field, and nothing for an invalid one', async () => {
    renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={{ ...emptyForm(), scheduleType: 'cron', cron: '0 2 * * 1-5', timezone: 'Europe/Paris' }}
        submitLabel="Create"
        pending={false}
        error={null}
        onSubmit={() => {}}
      />,
    );
    const cron = screen.getByLabelText('Cron expression');
    const description = () =>
      cron
        .getAttribute('aria-describedby')!
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' ');
    expect(description()).toContain('At 02:00, Monday through Friday (Europe/Paris).');
    const user = userEvent.setup();
    await user.clear(cron);
    await user.type(cron, '*/15 * * * *');
    expect(description()).toContain('Every 15 minutes (Europe/Paris).');
    await user.clear(cron);
    await user.type(cron, '61 * * * *');
    expect(description()).not.toMatch(/Every|At /);
    expect(screen.queryByText(/Every 15 minutes/)).toBeNull();
  });
});

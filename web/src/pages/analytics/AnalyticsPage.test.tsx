import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Analytics } from '../../api/analytics.ts';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import AnalyticsPage from './AnalyticsPage.tsx';
import { WorkflowAnalytics } from './WorkflowAnalytics.tsx';

const WF = '0190a000-0000-7000-8000-000000000001';

const totals = (over: Partial<Analytics> = {}): Analytics => ({
  total_workflows: 3,
  total_jobs: 12,
  total_joblogs: 4_200,
  total_job_execution_duration: 95.5,
  jobs_by_status: { PENDING: 0, QUEUED: 1, RUNNING: 1, COMPLETED: 6, FAILED: 2, CANCELED: 2 },
  success_rate: 0.75,
  duration_ms: { p50: 850, p95: 4_200, p99: 61_000 },
  fire_lag_ms: { p50: 12, p95: 40, p99: null },
  percentiles_since: '2024-02-04T00:00:00Z',
  ...over,
});

/** Zero-filled series like the gateway's, with one busy bucket at the end. */
function series(from: string, to: string, bucket: string) {
  const step = bucket === 'day' ? 86_400_000 : 3_600_000;
  const out = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += step) {
    out.push({
      ts: new Date(t).toISOString(),
      completed: 0,
      failed: 0,
      canceled: 0,
      avg_duration_ms: null,
      avg_fire_lag_ms: null,
    });
  }
  Object.assign(out.at(-1)!, { completed: 3, failed: 1, avg_duration_ms: 900, avg_fire_lag_ms: 10 });
  return out;
}

function fakeAnalytics(extra: Parameters<typeof stubFetch>[0] = {}) {
  const timeseries = ({ url }: { url: URL }) => {
    const q = url.searchParams;
    return json(200, series(q.get('from')!, q.get('to')!, q.get('bucket')!));
  };
  const jobs_by_status = { PENDING: 4, QUEUED: 1, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELED: 0 };
  return stubFetch({
    'GET /api/v1/workflows': () =>
      json(200, { workflows: [{ id: WF, name: 'nightly report' }], cursor: null }),
    'GET /api/v1/analytics': () => json(200, totals()),
    [`GET /api/v1/analytics/${WF}`]: () =>
      json(200, { ...totals({ total_jobs: 5, success_rate: null, jobs_by_status }), workflow_id: WF }),
    'GET /api/v1/analytics/timeseries': timeseries,
    [`GET /api/v1/analytics/${WF}/timeseries`]: timeseries,
    ...extra,
  });
}

const timeseriesCalls = (calls: ReturnType<typeof fakeAnalytics>, path: string) =>
  calls.filter((c) => c.url.pathname === path).map((c) => c.url.searchParams);

describe('AnalyticsPage', () => {
  it('shows the totals, status counts, percentiles and the chart', async () => {
    const net = fakeAnalytics();
    renderAt('/analytics', <AnalyticsPage />);
    const jobs = await screen.findByText('Jobs');
    expect(jobs.nextElementSibling?.textContent).toBe('12');
    expect(screen.getByText('Success rate').nextElementSibling?.textContent).toContain('75%');
    expect(screen.getByText('Execution time').nextElementSibling?.textContent).toBe('1 min 36 s');
    const status = screen.getByRole('table', { name: 'Jobs by status' });
    expect(within(status).getByRole('row', { name: 'Failed 2' })).toBeTruthy();
    const lat = screen.getByRole('table', { name: 'Latency (last 30 days)' });
    expect(within(lat).getByRole('row', { name: /Duration 850 ms 4.2 s 1 min 1 s/ })).toBeTruthy();
    expect(within(lat).getByRole('row', { name: /Fire lag 12 ms 40 ms —/ })).toBeTruthy();

    const img = await screen.findByRole('img', { name: /Jobs finished per hour/ });
    expect(img.getAttribute('aria-label')).toContain('3 completed, 1 failed, 0 canceled');
    const ts = timeseriesCalls(net, '/api/v1/analytics/timeseries')[0]!;
    expect(ts.get('bucket')).toBe('hour');
    expect(Date.parse(ts.get('to')!) - Date.parse(ts.get('from')!)).toBe(24 * 3_600_000);
  });

  it('switches range and bucket, and picks one workflow', async () => {
    const net = fakeAnalytics();
    const user = userEvent.setup();
    renderAt('/analytics', <AnalyticsPage />);
    await screen.findByRole('img', { name: /per hour/ });

    await user.selectOptions(screen.getByLabelText('Range'), '7d');
    await user.click(screen.getByRole('radio', { name: 'Daily' }));
    await screen.findByRole('img', { name: /per day/ });
    const daily = timeseriesCalls(net, '/api/v1/analytics/timeseries').at(-1)!;
    expect(daily.get('bucket')).toBe('day');
    expect(Date.parse(daily.get('to')!) - Date.parse(daily.get('from')!)).toBe(7 * 86_400_000);

    // 90 days has no hourly bucket.
    await user.selectOptions(screen.getByLabelText('Range'), '90d');
    expect(screen.getByRole('radio', { name: 'Hourly' })).toHaveProperty('disabled', true);

    await user.selectOptions(await screen.findByLabelText('Workflow'), WF);
    await waitFor(() => expect(screen.getByText('Success rate').nextElementSibling?.textContent).toBe('—'));
    expect(screen.getByTestId('location').textContent).toBe(`/analytics?workflow=${WF}`);
    expect(timeseriesCalls(net, `/api/v1/analytics/${WF}/timeseries`)).not.toHaveLength(0);
  });

  it('reads the workflow from the URL and says so when it is not found', async () => {
    const other = '0190a000-0000-7000-8000-0000000000ff';
    const calls = stubFetch({
      'GET /api/v1/workflows': () => json(200, { workflows: [], cursor: null }),
      [`GET /api/v1/analytics/${other}`]: () =>
        json(404, { title: 'Not found', status: 404, code: 'CV_NOT_FOUND', detail: 'No such workflow.' }),
      [`GET /api/v1/analytics/${other}/timeseries`]: () => json(404, { title: 'Not found', status: 404 }),
    });
    renderAt(`/analytics?workflow=${other}`, <AnalyticsPage />);
    expect(await screen.findByText('Could not load the analytics')).toBeTruthy();
    expect(screen.getByText('No such workflow.')).toBeTruthy();
    expect(calls.some((c) => c.url.pathname === '/api/v1/analytics')).toBe(false);
  });
});

describe('WorkflowAnalytics', () => {
  it('shows one workflow’s figures and a 7-day daily chart', async () => {
    const net = fakeAnalytics();
    renderAt('/workflows/x', <WorkflowAnalytics workflowId={WF} />);
    expect((await screen.findByText('Jobs')).nextElementSibling?.textContent).toBe('5');
    expect(screen.queryByText('Workflows')).toBeNull();
    await screen.findByRole('img', { name: /per day/ });
    expect(timeseriesCalls(net, `/api/v1/analytics/${WF}/timeseries`)[0]!.get('bucket')).toBe('day');
  });

  it('shows a DAG’s figures per task (retries = attempts − instances), and asks for them only for a DAG', async () => {
    const tasks = {
      workflow_id: WF,
      since: '2024-02-04T00:00:00Z',
      tasks: [
        {
          name: 'build',
          runs: 4,
          instances: 4,
          completed: 4,
          failed: 0,
          attempts: 5,
          success_rate: 1,
          duration_ms: { p50: 1_500, p95: 2_000, p99: 2_000 },
          last_finished_at: '2024-03-01T00:00:00Z',
        },
        {
          name: 'test',
          runs: 4,
          instances: 12,
          completed: 9,
          failed: 3,
          attempts: 12,
          success_rate: 0.75,
          duration_ms: { p50: 300, p95: 900, p99: 900 },
          last_finished_at: '2024-03-01T00:00:00Z',
        },
      ],
    };
    const calls = fakeAnalytics({ [`GET /api/v1/analytics/${WF}/tasks`]: () => json(200, tasks) });
    renderAt('/workflows/x', <WorkflowAnalytics workflowId={WF} dag />);
    const table = await screen.findByRole('table', { name: 'Tasks, last 30 days' });
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      );
    expect(rows).toEqual([
      ['build', '4', '4', '100%', '1', '1.5 s', '2.0 s'],
      ['test', '4', '12', '75%', '0', '300 ms', '900 ms'],
    ]);
    expect(calls.some((c) => c.url.pathname.endsWith('/tasks'))).toBe(true);
  });

  it('does not ask for task figures for a single-task workflow', async () => {
    const net = fakeAnalytics();
    renderAt('/workflows/x', <WorkflowAnalytics workflowId={WF} />);
    await screen.findByRole('img', { name: /per day/ });
    expect(screen.queryByRole('table', { name: 'Tasks, last 30 days' })).toBeNull();
    expect(net.some((c) => c.url.pathname.endsWith('/tasks'))).toBe(false);
  });
});

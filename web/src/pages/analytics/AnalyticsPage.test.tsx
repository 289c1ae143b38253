import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Analytics } from '../../api/analytics.ts';
import { installFakeFetch, problem } from '../../features/notifications/testing/fake-network.ts';
import { renderWithApp } from '../../features/notifications/testing/render.tsx';
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

function fakeAnalytics() {
  return installFakeFetch((req) => {
    if (req.path === '/api/v1/workflows') {
      return { body: { workflows: [{ id: WF, name: 'nightly report' }], cursor: null } };
    }
    if (req.path === '/api/v1/analytics') return { body: totals() };
    if (req.path === `/api/v1/analytics/${WF}`) {
      const jobs_by_status = { PENDING: 4, QUEUED: 1, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELED: 0 };
      return { body: { ...totals({ total_jobs: 5, success_rate: null, jobs_by_status }), workflow_id: WF } };
    }
    if (req.path.endsWith('/timeseries')) {
      return { body: series(req.query.get('from')!, req.query.get('to')!, req.query.get('bucket')!) };
    }
    return undefined;
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('AnalyticsPage', () => {
  it('shows the totals, status counts, percentiles and the chart', async () => {
    const net = fakeAnalytics();
    renderWithApp(<AnalyticsPage />, { path: '/analytics' });
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
    const ts = net.requests.find((r) => r.path === '/api/v1/analytics/timeseries')!;
    expect(ts.query.get('bucket')).toBe('hour');
    expect(Date.parse(ts.query.get('to')!) - Date.parse(ts.query.get('from')!)).toBe(24 * 3_600_000);
  });

  it('switches range and bucket, and picks one workflow', async () => {
    const net = fakeAnalytics();
    const user = userEvent.setup();
    renderWithApp(<AnalyticsPage />, { path: '/analytics' });
    await screen.findByRole('img', { name: /per hour/ });

    await user.selectOptions(screen.getByLabelText('Range'), '7d');
    await user.click(screen.getByRole('radio', { name: 'Daily' }));
    await screen.findByRole('img', { name: /per day/ });
    const daily = net.requests.filter((r) => r.path === '/api/v1/analytics/timeseries').at(-1)!;
    expect(daily.query.get('bucket')).toBe('day');
    expect(Date.parse(daily.query.get('to')!) - Date.parse(daily.query.get('from')!)).toBe(7 * 86_400_000);

    // 90 days has no hourly bucket.
    await user.selectOptions(screen.getByLabelText('Range'), '90d');
    expect(screen.getByRole('radio', { name: 'Hourly' })).toHaveProperty('disabled', true);

    await user.selectOptions(await screen.findByLabelText('Workflow'), WF);
    await waitFor(() => expect(screen.getByText('Success rate').nextElementSibling?.textContent).toBe('—'));
    expect(screen.getByTestId('location').textContent).toBe('/analytics');
    expect(net.requests.some((r) => r.path === `/api/v1/analytics/${WF}/timeseries`)).toBe(true);
  });

  it('says so when the analytics cannot be read', async () => {
    installFakeFetch((req) =>
      req.path === '/api/v1/workflows'
        ? { body: { workflows: [], cursor: null } }
        : problem(503, 'CV_UNAVAILABLE'),
    );
    renderWithApp(<AnalyticsPage />, { path: '/analytics' });
    expect(await screen.findByText('Could not load the analytics')).toBeTruthy();
  });
});

describe('WorkflowAnalytics', () => {
  it('shows one workflow’s figures and a 7-day daily chart', async () => {
    const net = fakeAnalytics();
    renderWithApp(<WorkflowAnalytics workflowId={WF} />);
    expect((await screen.findByText('Jobs')).nextElementSibling?.textContent).toBe('5');
    expect(screen.queryByText('Workflows')).toBeNull();
    await screen.findByRole('img', { name: /per day/ });
    const ts = net.requests.find((r) => r.path === `/api/v1/analytics/${WF}/timeseries`)!;
    expect(ts.query.get('bucket')).toBe('day');
  });
});

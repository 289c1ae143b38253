/**
 * The workflow page's "Schedule" section against a stubbed gateway (docs/api.md "Tick ledger"):
 * the fire times in order with their outcome in words, the reason as the entry's accessible
 * description (shown on hover and focus), paging by cursor, the period sent as `from`.
 */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { Tick, Workflow } from '../api/types.ts';
import { json, renderAt, stubFetch } from './render.tsx';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

const WORKFLOW: Workflow = {
  id: 'w1',
  name: 'nightly',
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://example.com/health' },
  schedule: {
    type: 'interval',
    interval_minutes: 60,
    policy: {
      overlap: 'SKIP',
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
  log_retention: false,
  next_run_at: '2099-01-06T01:00:00.000Z',
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
};

const tick = (hour: number, outcome: Tick['outcome'], reason: string | null = null): Tick => ({
  nominal_at: `2026-03-01T${String(hour).padStart(2, '0')}:00:00.000Z`,
  scheduled_at: `2026-03-01T${String(hour).padStart(2, '0')}:00:00.000Z`,
  outcome,
  job_id: outcome === 'STARTED' ? `j${hour}` : null,
  reason,
});

describe('workflow page: schedule (tick ledger)', () => {
  it('lists the fire times with their outcome and reason, pages by cursor, sends the period', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w1/ticks': ({ url }) =>
        url.searchParams.get('cursor') === 'page2'
          ? json(200, { ticks: [tick(3, 'PAUSED', 'the workflow was paused: deploy')], cursor: null })
          : json(200, {
              ticks: [
                tick(1, 'STARTED'),
                tick(2, 'SKIPPED_OVERLAP', 'policy SKIP: 1 earlier run was unfinished'),
              ],
              cursor: 'page2',
            }),
    });
    renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    // The first render loads the lazily imported page: more than findBy's default second on a busy machine.
    const list = await screen.findByRole('list', { name: 'Fire times' }, { timeout: 10_000 });
    const entries = within(list).getAllByRole('listitem');
    expect(entries.map((e) => within(e).getByText(/Started|Skipped/).textContent)).toEqual([
      'Started',
      'Skipped (overlap)',
    ]);
    // Only entries with a reason take focus, and the reason is their description.
    expect(entries[0]!.getAttribute('tabindex')).toBeNull();
    await user.tab();
    while (document.activeElement !== entries[1] && document.activeElement !== document.body)
      await user.tab();
    expect(document.activeElement).toBe(entries[1]);
    const described = document.getElementById(entries[1]!.getAttribute('aria-describedby')!);
    expect(described?.textContent).toBe('policy SKIP: 1 earlier run was unfinished');
    expect(described?.getAttribute('role')).toBe('tooltip');

    const first = calls.find((c) => c.url.pathname.endsWith('/ticks'))!;
    const from = Date.parse(first.url.searchParams.get('from')!);
    // The default period is the last 24 hours (from is fixed when it is chosen).
    expect(Math.abs(Date.now() - 86_400_000 - from)).toBeLessThan(3_600_000);

    await user.click(
      within(screen.getByRole('navigation', { name: 'Fire time pages' })).getByRole('button', {
        name: 'Next',
      }),
    );
    await waitFor(() => expect(screen.getByText('Paused', { selector: '.badge' })).toBeTruthy());

    await user.selectOptions(screen.getByLabelText('Period'), 'Everything kept');
    await waitFor(() => {
      const last = calls.filter((c) => c.url.pathname.endsWith('/ticks')).at(-1)!;
      expect(last.url.searchParams.has('from')).toBe(false);
      expect(last.url.searchParams.has('cursor')).toBe(false);
    });
  });

  it('says so when nothing was recorded in the period', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w1/ticks': () => json(200, { ticks: [], cursor: null }),
    });
    renderAt('/workflows/w1', <AppRoutes />);
    expect(
      await screen.findByText('No fire times recorded in this period', undefined, { timeout: 10_000 }),
    ).toBeTruthy();
  });
});

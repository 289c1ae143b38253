/**
 * The workflow page's backfill (docs/api.md "Backfill") against a stubbed gateway: a dry run lists
 * the fire times (with the DST reason) before anything starts, "Start" sends exactly the previewed
 * range, a 400 shows on its field, and a running backfill can be canceled from the list.
 */
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { Backfill, Workflow } from '../api/types.ts';
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
    type: 'cron',
    cron: '30 2 * * *',
    timezone: 'Europe/Berlin',
    policy: {
      overlap: 'BUFFER_ALL',
      catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
      jitter_seconds: 0,
      starting_deadline_seconds: null,
      dst: { gap: 'RUN_AFTER_GAP', overlap: null },
    },
  },
  interval: null,
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

const backfill = (id: string, status: Backfill['status']): Backfill => ({
  id,
  workflow_id: 'w1',
  from: '2026-03-27T00:00:00.000Z',
  to: '2026-03-29T00:00:00.000Z',
  overlap: 'ALLOW_ALL',
  max_parallel: 2,
  status,
  fire_times: 2,
  progress: { not_created: 0, waiting: 0, running: 1, completed: 1, failed: 0, canceled: 0 },
  created_at: '2026-03-30T00:00:00.000Z',
  finished_at: null,
});

const GAP =
  '02:30 does not exist on 2026-03-29 in Europe/Berlin: runs at 03:00 (first instant after the gap) by policy RUN_AFTER_GAP';

describe('workflow page: backfill', () => {
  it('previews the fire times, starts exactly that range, and cancels a running backfill', async () => {
    let backfills: Backfill[] = [];
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w1/ticks': () => json(200, { ticks: [], cursor: null }),
      'GET /api/v1/workflows/w1/backfills': () => json(200, { backfills, cursor: null }),
      'POST /api/v1/workflows/w1/backfill': ({ body }) => {
        const b = body as { dry_run?: boolean; to: string };
        if (b.to.startsWith('2099'))
          return json(400, {
            title: 'Invalid request',
            status: 400,
            code: 'CV_VALIDATION',
            errors: [{ path: 'to', message: 'must not be in the future' }],
          });
        if (b.dry_run)
          return json(200, {
            fire_times: [
              { at: '2026-03-28T01:30:00.000Z', nominal_at: '2026-03-28T01:30:00.000Z', reason: null },
              { at: '2026-03-29T01:00:00.000Z', nominal_at: '2026-03-29T01:30:00.000Z', reason: GAP },
            ],
          });
        backfills = [backfill('b1', 'RUNNING')];
        return json(201, backfills[0]);
      },
      'POST /api/v1/workflows/w1/backfills/b1/cancel': () => {
        backfills = [{ ...backfill('b1', 'CANCELED'), finished_at: '2026-03-30T00:01:00.000Z' }];
        return json(200, backfills[0]);
      },
    });
    renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    const from = await screen.findByLabelText('From (included)', undefined, { timeout: 10_000 });
    const to = screen.getByLabelText('To (excluded)');

    // A 400 shows on its field, and nothing can be started.
    fireEvent.change(from, { target: { value: '2026-03-27T00:00' } });
    fireEvent.change(to, { target: { value: '2099-03-29T00:00' } });
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    expect(await screen.findByText('must not be in the future')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Start backfill/ })).toBeNull();

    fireEvent.change(to, { target: { value: '2026-03-29T00:00' } });
    await user.clear(screen.getByLabelText('At most at once'));
    await user.type(screen.getByLabelText('At most at once'), '2');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const list = await screen.findByRole('list', { name: 'Fire times to backfill' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(2);
    expect(within(list).getByText(new RegExp('02:30 does not exist'))).toBeTruthy();
    const dry = calls.filter((c) => c.method === 'POST').at(-1)!;
    expect(dry.body).toEqual({
      from: new Date('2026-03-27T00:00').toISOString(),
      to: new Date('2026-03-29T00:00').toISOString(),
      overlap: 'ALLOW_ALL',
      max_parallel: 2,
      dry_run: true,
    });
    // Nothing was started by the preview.
    expect(
      calls.filter((c) => c.method === 'POST' && !(c.body as { dry_run?: boolean }).dry_run),
    ).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Start backfill of 2' }));
    await waitFor(() => {
      const started = calls.filter((c) => c.method === 'POST').at(-1)!;
      expect(started.body).toEqual({ ...(dry.body as object), dry_run: undefined });
    });
    const table = await screen.findByRole('table', { name: 'Backfills' });
    expect(within(table).getByText('running')).toBeTruthy();
    expect(within(table).getByText(/1 of 2 done/)).toBeTruthy();

    await user.click(within(table).getByRole('button', { name: /Cancel the backfill/ }));
    await waitFor(() =>
      expect(within(screen.getByRole('table', { name: 'Backfills' })).getByText('canceled')).toBeTruthy(),
    );
    expect(calls.some((c) => c.method === 'POST' && c.url.pathname.endsWith('/backfills/b1/cancel'))).toBe(
      true,
    );
  });
});

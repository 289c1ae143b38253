/**
 * Pause and resume on the workflow page against a stubbed gateway (docs/api.md "Pause and
 * resume"): the Pause dialog sends the optional note, the page then shows since when and why it is
 * paused and no next run, Resume clears it; a refused note is shown in the dialog.
 */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { Workflow } from '../api/types.ts';
import { json, renderAt, stubFetch } from './render.tsx';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

const ACTIVE: Workflow = {
  id: 'w1',
  name: 'nightly',
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://example.com/health' },
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

const dd = (term: string) => screen.getByText(term, { selector: 'dt' }).nextElementSibling!.textContent;

describe('workflow page: pause and resume', () => {
  it('pauses with a note, shows it and no next run, then resumes', async () => {
    let current = ACTIVE;
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, current),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'POST /api/v1/workflows/w1/pause': ({ body }) => {
        const note = (body as { note?: string }).note ?? null;
        current = {
          ...ACTIVE,
          status: 'PAUSED',
          paused_at: '2026-03-01T10:00:00.000Z',
          pause_note: note,
          next_run_at: null,
        };
        return json(200, current);
      },
      'POST /api/v1/workflows/w1/resume': () => {
        current = ACTIVE;
        return json(200, current);
      },
    });
    document.cookie = 'cv_csrf=csrf-value';
    renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    // The first render loads the lazily imported page: more than findBy's default second on a busy machine.
    await user.click(await screen.findByRole('button', { name: 'Pause' }, { timeout: 10_000 }));
    const dialog = await screen.findByRole('alertdialog');
    await user.type(screen.getByLabelText(/Note/), 'upstream down, INC-42');
    await user.click(within(dialog).getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    const pause = calls.find((c) => c.method === 'POST')!;
    expect(pause.url.pathname).toBe('/api/v1/workflows/w1/pause');
    expect(pause.body).toEqual({ note: 'upstream down, INC-42' });
    expect(pause.headers.get('x-csrf-token')).toBe('csrf-value');
    await waitFor(() => expect(dd('Paused')).toMatch(/^since .+ — upstream down, INC-42$/));
    expect(dd('Next run')).toBe('none while paused');
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(screen.queryByText('Paused', { selector: 'dt' })).toBeNull());
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url.pathname)).toEqual([
      '/api/v1/workflows/w1/pause',
      '/api/v1/workflows/w1/resume',
    ]);
    expect(screen.getByRole('button', { name: 'Pause' })).toBeTruthy();
  });

  it('pauses without a note as {}; a refused pause is explained in the dialog; nothing offered when terminated', async () => {
    let refuse = true;
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, ACTIVE),
      'GET /api/v1/workflows/w2': () =>
        json(200, { ...ACTIVE, id: 'w2', status: 'TERMINATED', terminated_at: '2026-01-02T00:00:00.000Z' }),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w2/jobs': () => json(200, { jobs: [], cursor: null }),
      'POST /api/v1/workflows/w1/pause': () =>
        refuse
          ? json(409, {
              title: 'Workflow terminated',
              status: 409,
              code: 'CV_WORKFLOW_TERMINATED',
              detail: 'The workflow is terminated; edit it to re-activate it.',
            })
          : json(200, { ...ACTIVE, status: 'PAUSED', paused_at: '2026-03-01T10:00:00.000Z' }),
    });
    const { unmount } = renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    // The first render loads the lazily imported page: more than findBy's default second on a busy machine.
    await user.click(await screen.findByRole('button', { name: 'Pause' }, { timeout: 10_000 }));
    const dialog = await screen.findByRole('alertdialog');
    await user.click(within(dialog).getByRole('button', { name: 'Pause' }));
    expect(await within(dialog).findByText(/edit it to re-activate it/)).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({});
    refuse = false;
    await user.click(within(dialog).getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    unmount();

    renderAt('/workflows/w2', <AppRoutes />);
    await screen.findByRole('button', { name: 'Delete' });
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull();
  });
});

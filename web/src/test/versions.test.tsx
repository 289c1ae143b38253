/**
 * The workflow page's versions against a stubbed gateway (docs/api.md "Versions"): the list with
 * what changed, a diff of an older version against the current definition, and "Run this version"
 * sending `{ version }` and opening the new job.
 */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { Workflow, WorkflowVersion } from '../api/types.ts';
import { changesText, definitionOf } from '../features/versions/VersionsSection.tsx';
import { json, renderAt, stubFetch } from './render.tsx';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

const POLICY = {
  overlap: 'BUFFER_ALL',
  catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
  jitter_seconds: 0,
  starting_deadline_seconds: null,
  dst: { gap: 'RUN_AFTER_GAP', overlap: null },
} as const;

const WORKFLOW: Workflow = {
  id: 'w1',
  name: 'nightly',
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://example.com/v2' },
  schedule: { type: 'interval', interval_minutes: 60, policy: POLICY },
  interval: 60,
  build_status: 'COMPLETED',
  build_error: null,
  status: 'ACTIVE',
  consecutive_job_failures_count: 0,
  max_consecutive_job_failures_allowed: 3,
  log_retention: false,
  next_run_at: '2099-01-06T01:00:00.000Z',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-02T00:00:00.000Z',
  terminated_at: null,
  paused_at: null,
  pause_note: null,
  pause_on_failure: false,
  generation: 1,
  version: 2,
  labels: {},
  recent_jobs: [],
};

const V2: WorkflowVersion = {
  workflow_id: 'w1',
  version: 2,
  created_at: '2026-01-02T00:00:00.000Z',
  created_by: 'u1',
  current: true,
  changes: ['payload.endpoint'],
  definition: definitionOf(WORKFLOW),
};
const V1: WorkflowVersion = {
  ...V2,
  version: 1,
  created_at: '2026-01-01T00:00:00.000Z',
  current: false,
  changes: [],
  definition: { ...definitionOf(WORKFLOW), payload: { endpoint: 'https://example.com/v1' } },
};

const JOB = {
  id: 'j9',
  workflow_id: 'w1',
  status: 'PENDING',
  trigger: 'MANUAL',
  scheduled_at: '2026-01-03T00:00:00.000Z',
  started_at: null,
  completed_at: null,
  created_at: '2026-01-03T00:00:00.000Z',
  updated_at: '2026-01-03T00:00:00.000Z',
  attempts: 0,
  max_attempts: 3,
  exit_code: null,
  http_status_code: null,
  latency_ms: null,
  skipped_ticks: 0,
  retry_of: null,
  workflow_version: 1,
  error: null,
};

describe('workflow page: versions', () => {
  it('lists versions with what changed, diffs one against the current definition, and runs it', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w1/versions': () => json(200, { versions: [V2, V1], cursor: null }),
      'POST /api/v1/workflows/w1/jobs/schedule': () => json(201, JOB),
      'GET /api/v1/workflows/w1/jobs/j9': () => json(200, JOB),
    });
    document.cookie = 'cv_csrf=csrf-value';
    renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    // The first render loads the lazily imported page: more than findBy's default second on a busy machine.
    const section = (await screen.findByRole('heading', { name: 'Versions' }, { timeout: 10_000 }))
      .parentElement!;
    const table = await within(section).findByRole('table', { name: 'Versions' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[0]!.textContent)).toEqual(['2 (current)', '1']);
    expect(within(rows[0]!).getByText('payload.endpoint')).toBeTruthy();
    expect(within(rows[1]!).getByText('created')).toBeTruthy();
    // The current version has nothing to compare with.
    expect(within(rows[0]!).queryByRole('button', { name: 'Compare with current' })).toBeNull();

    await user.click(within(rows[1]!).getByRole('button', { name: 'Compare with current' }));
    const diff = await screen.findByLabelText('Changes from version 1 to the current one');
    const removed = [...diff.querySelectorAll('.diff-removed')].map((e) => e.textContent);
    const added = [...diff.querySelectorAll('.diff-added')].map((e) => e.textContent);
    expect(removed).toEqual(['-     "endpoint": "https://example.com/v1"']);
    expect(added).toEqual(['+     "endpoint": "https://example.com/v2"']);

    await user.click(within(rows[1]!).getByRole('button', { name: 'Run version 1' }));
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/workflows/w1/jobs/j9'));
    const run = calls.find((c) => c.method === 'POST')!;
    expect(run.url.pathname).toBe('/api/v1/workflows/w1/jobs/schedule');
    expect(run.body).toEqual({ version: 1 });
    expect(run.headers.get('idempotency-key')).toBeTruthy();
  });

  it('offers no run of a version while the workflow cannot run (terminated)', async () => {
    const terminated = {
      ...WORKFLOW,
      status: 'TERMINATED',
      terminated_at: '2026-01-04T00:00:00.000Z',
    } as const;
    stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, terminated),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'GET /api/v1/workflows/w1/versions': () => json(200, { versions: [V2, V1], cursor: null }),
    });
    renderAt('/workflows/w1', <AppRoutes />);
    const run = await screen.findByRole('button', { name: 'Run version 1' }, { timeout: 10_000 });
    expect((run as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Run version 2' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('says what a version changed in one line', () => {
    expect(changesText(V1)).toBe('created');
    expect(changesText(V2)).toBe('payload.endpoint');
    expect(changesText({ ...V2, changes: ['a', 'b'] })).toBe('a, b');
    expect(changesText({ ...V2, changes: [] })).toBe('no change');
  });
});

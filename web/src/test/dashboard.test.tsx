import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import { WorkflowStatusBadge, workflowStatusOf } from '../components/Badge.tsx';
import { emptyForm } from '../features/workflow-form/form-state.ts';
import { WorkflowForm } from '../features/workflow-form/WorkflowForm.tsx';
import { ApiError } from '../api/client.ts';
import { listParams, filtersFromSearch } from '../pages/workflows/overview-query.ts';
import { ThemeToggle } from '../theme/ThemeToggle.tsx';
import { THEME_STORAGE_KEY } from '../theme/theme.ts';
import { json, renderAt, stubFetch } from './render.tsx';
import { render } from '@testing-library/react';

const USER = {
  id: 'u1',
  email: 'me@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '',
  updated_at: '',
};
const WORKFLOW = {
  id: 'w1',
  name: 'nightly',
  kind: 'CONTAINER',
  payload: { image: 'alpine' },
  schedule: {
    type: 'interval',
    interval_minutes: 5,
    policy: {
      overlap: 'SKIP',
      catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
      jitter_seconds: 0,
      starting_deadline_seconds: null,
    },
  },
  interval: 5,
  build_status: 'COMPLETED',
  build_error: null,
  status: 'TERMINATED',
  consecutive_job_failures_count: 3,
  max_consecutive_job_failures_allowed: 3,
  log_retention: true,
  next_run_at: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  terminated_at: '2026-01-02T00:00:00Z',
  generation: 1,
  version: 1,
  labels: { team: 'data', 'chronoverse.io/managed-by': 'cli' },
  recent_jobs: [],
};

describe('status badges', () => {
  it('derive the human status when the API did not send one', () => {
    expect(workflowStatusOf({ build_status: 'STARTED', terminated_at: null })).toBe('BUILDING');
    expect(workflowStatusOf({ build_status: 'FAILED', terminated_at: null })).toBe('BUILD_FAILED');
    expect(workflowStatusOf({ build_status: 'COMPLETED', terminated_at: 'x' })).toBe('TERMINATED');
    expect(workflowStatusOf({ build_status: 'COMPLETED', terminated_at: null, status: 'PAUSED' })).toBe(
      'PAUSED',
    );
    render(<WorkflowStatusBadge status="BUILD_FAILED" />);
    expect(screen.getByText('Build failed')).toBeTruthy();
  });
});

describe('auth guard', () => {
  it('sends a signed-out visitor to /login and back to the page after signing in', async () => {
    let signedIn = false;
    const calls = stubFetch({
      'GET /api/v1/users': () =>
        signedIn ? json(200, USER) : json(401, { title: 'Unauthenticated', status: 401 }),
      'POST /api/v1/auth/login': () => {
        signedIn = true;
        return json(200, { user: USER, token: 't', expires_at: '' });
      },
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
    });
    document.cookie = 'cv_csrf=csrf-value';
    renderAt('/workflows/w1', <AppRoutes />);
    await waitFor(() =>
      expect(screen.getByTestId('location').textContent).toBe('/login?next=%2Fworkflows%2Fw1'),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'me@example.com');
    await user.type(screen.getByLabelText('Password'), 'whatever-pass');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/workflows/w1'));
    const login = calls.find((c) => c.url.pathname === '/api/v1/auth/login')!;
    expect(login.headers.get('x-csrf-token')).toBe('csrf-value');
  });

  it('shows a 429 with its retry time', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(401, { title: 'Unauthenticated', status: 401 }),
      'POST /api/v1/auth/login': () =>
        json(
          429,
          { title: 'Too many requests', status: 429, detail: 'Too many attempts; try again later.' },
          { 'retry-after': '42' },
        ),
    });
    renderAt('/login', <AppRoutes />);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Email'), 'me@example.com');
    await user.type(screen.getByLabelText('Password'), 'x');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('42 s');
  });
});

describe('overview', () => {
  it('turns the URL filters into the list query', () => {
    const filters = filtersFromSearch(
      new URLSearchParams('q=night&state=terminated&build=FAILED&kind=CONTAINER&x=1'),
    );
    expect(listParams(filters, 'c1')).toEqual({
      limit: 20,
      query: 'night',
      kind: 'CONTAINER',
      build_status: 'FAILED',
      terminated: true,
      cursor: 'c1',
    });
    expect(listParams(filtersFromSearch(new URLSearchParams('state=bogus')), undefined)).toEqual({
      limit: 20,
    });
    expect(
      listParams(filtersFromSearch(new URLSearchParams('labels=team%3Ddata&kind=DAG')), undefined),
    ).toEqual({
      limit: 20,
      kind: 'DAG',
      labels: 'team=data',
    });
  });

  it('requests what the search box and filters say, and shows status badges', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows': () => json(200, { workflows: [WORKFLOW], cursor: null }),
    });
    renderAt('/', <AppRoutes />);
    const table = await screen.findByRole('table', { name: 'Workflows' });
    expect(within(table).getByText('Terminated')).toBeTruthy();
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Kind'), 'HEARTBEAT');
    await user.type(screen.getByLabelText('Search by name'), 'nig');
    await waitFor(() => {
      const last = calls.filter((c) => c.url.pathname === '/api/v1/workflows').at(-1)!;
      expect(Object.fromEntries(last.url.searchParams)).toEqual({
        limit: '20',
        query: 'nig',
        kind: 'HEARTBEAT',
      });
    });
    expect(screen.getByTestId('location').textContent).toBe('/?q=nig&kind=HEARTBEAT');
  });

  it('shows labels as chips; a chip or a typed selector filters by label, a bad one is named without a request', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows': () => json(200, { workflows: [WORKFLOW], cursor: null }),
    });
    renderAt('/', <AppRoutes />);
    const table = await screen.findByRole('table', { name: 'Workflows' });
    const chips = within(table).getByRole('list', { name: 'Labels' });
    expect(
      within(chips)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['team=data', 'chronoverse.io/managed-by=cli']);
    const user = userEvent.setup();
    await user.click(within(chips).getByRole('button', { name: 'Show only workflows labelled team=data' }));
    const lastQuery = () =>
      Object.fromEntries(
        calls.filter((c) => c.url.pathname === '/api/v1/workflows').at(-1)!.url.searchParams,
      );
    await waitFor(() => expect(lastQuery()).toEqual({ limit: '20', labels: 'team=data' }));
    const field = screen.getByLabelText('Label selector') as HTMLInputElement;
    expect(field.value).toBe('team=data');

    // A half-typed selector is checked as typed by the server's parser: no request for it.
    const before = calls.length;
    await user.type(field, ',tier in (');
    expect(await screen.findByText('expected a value in "tier in (…)"')).toBeTruthy();
    expect(field.getAttribute('aria-invalid')).toBe('true');
    await new Promise((r) => setTimeout(r, 400));
    expect(
      calls
        .slice(before)
        .some((c) => c.url.searchParams.has('labels') && c.url.searchParams.get('labels') !== 'team=data'),
    ).toBe(false);
    await user.type(field, 'batch)');
    await waitFor(() => expect(lastQuery()).toEqual({ limit: '20', labels: 'team=data,tier in (batch)' }));
    expect(screen.getByTestId('location').textContent).toBe('/?labels=team%3Ddata%2Ctier+in+%28batch%29');
  });
});

describe('workflow detail', () => {
  it('deletes only after confirming in a dialog', async () => {
    const calls = stubFetch({
      'GET /api/v1/users': () => json(200, USER),
      'GET /api/v1/workflows/w1': () => json(200, WORKFLOW),
      'GET /api/v1/workflows/w1/jobs': () => json(200, { jobs: [], cursor: null }),
      'DELETE /api/v1/workflows/w1': () => new Response(null, { status: 204 }),
      'GET /api/v1/workflows': () => json(200, { workflows: [], cursor: null }),
    });
    renderAt('/workflows/w1', <AppRoutes />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    // The schedule's policy, in words, next to the schedule.
    expect(screen.getByText('skips a run while one is going')).toBeTruthy();
    const dialog = await screen.findByRole('alertdialog', { name: 'Delete nightly?' });
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/'));
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
  });
});

describe('workflow form', () => {
  const noop = () => {};

  it('validates as you type and previews runs with the server', async () => {
    // The server's answer (src/domain/schedule-preview.ts computes it; test/api covers that).
    const calls = stubFetch({
      'POST /api/v1/schedules/preview': ({ body }) => {
        const count = (body as { count: number }).count;
        return json(200, {
          fire_times: Array.from({ length: count }, (_, i) => {
            const at = new Date(Date.UTC(2027, 2, 27 + i, 1, 30)).toISOString();
            return i === 1
              ? {
                  at: '2027-03-28T01:00:00.000Z',
                  nominal_at: '2027-03-28T01:30:00.000Z',
                  reason:
                    '02:30 does not exist on 2027-03-28 in Europe/Berlin: runs at 03:00 (first instant after the gap)',
                }
              : { at, nominal_at: at, reason: null };
          }),
        });
      },
    });
    renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={emptyForm()}
        submitLabel="Create"
        pending={false}
        error={null}
        onSubmit={noop}
      />,
    );
    const user = userEvent.setup();
    const url = screen.getByLabelText('URL');
    await user.type(url, 'ftp://x');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('must be an http:// or https:// URL')).toBeTruthy();
    await user.clear(url);
    await user.type(url, 'https://example.com');
    expect(url.getAttribute('aria-invalid')).toBeNull();
    const list = await screen.findByRole('list', { name: 'Next run times' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(5);
    expect(within(list).getByText(/02:30 does not exist on 2027-03-28 in Europe\/Berlin/)).toBeTruthy();
    const asked = calls.filter((c) => c.url.pathname === '/api/v1/schedules/preview');
    // Asked once the form settled, not once per keystroke.
    expect(asked).toHaveLength(1);
    expect(asked[0]!.body).toMatchObject({ count: 5, schedule: { type: 'interval' } });
    await user.selectOptions(screen.getByLabelText('Runs'), 'cron');
    const cron = screen.getByLabelText('Cron expression');
    await user.clear(cron);
    await user.type(cron, '61 * * * *');
    expect(cron.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Complete the schedule to see when it runs.')).toBeTruthy();
  });

  it('shows server field errors next to their fields', async () => {
    const error = new ApiError({
      status: 400,
      title: 'Invalid request',
      issues: [
        { path: 'payload.image', message: 'no such image on this host' },
        { path: 'schedule.timezone', message: 'unknown time zone' },
      ],
    });
    const initial = {
      ...emptyForm(),
      kind: 'CONTAINER' as const,
      name: 'n',
      image: 'alpine',
      scheduleType: 'cron' as const,
    };
    renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={initial}
        submitLabel="Create"
        pending={false}
        error={error}
        onSubmit={noop}
      />,
    );
    const image = screen.getByLabelText('Image');
    expect(image.getAttribute('aria-invalid')).toBe('true');
    const describedBy = image.getAttribute('aria-describedby')!.split(' ');
    expect(describedBy.map((id) => document.getElementById(id)?.textContent)).toContain(
      'no such image on this host',
    );
    expect(screen.getByText('unknown time zone')).toBeTruthy();
  });

  it('offers the daylight-saving policy for a cron schedule in a zone with DST, and sends it', async () => {
    stubFetch({ 'POST /api/v1/schedules/preview': () => json(200, { fire_times: [] }) });
    const sent: Record<string, unknown>[] = [];
    const initial = {
      ...emptyForm(),
      name: 'n',
      endpoint: 'https://example.com',
      scheduleType: 'cron' as const,
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
    };
    const { unmount } = renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={initial}
        submitLabel="Create"
        pending={false}
        error={null}
        onSubmit={(body) => sent.push(body)}
      />,
    );
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Daylight saving: skipped times'), 'SKIP');
    expect(screen.getByText('A time the clocks skip does not run that day.')).toBeTruthy();
    await user.selectOptions(screen.getByLabelText('Daylight saving: repeated times'), 'BOTH');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    expect(sent[0]).toMatchObject({ schedule: { policy: { dst: { gap: 'SKIP', overlap: 'BOTH' } } } });
    unmount();

    renderAt(
      '/',
      <WorkflowForm
        mode="create"
        initial={{ ...initial, timezone: 'Asia/Tehran' }}
        submitLabel="Create"
        pending={false}
        error={null}
        onSubmit={noop}
      />,
    );
    expect(screen.queryByLabelText('Daylight saving: skipped times')).toBeNull();
  });
});

describe('theme', () => {
  it('toggles and remembers the choice', async () => {
    render(<ThemeToggle />);
    const toggle = screen.getByRole('switch', { name: /dark theme/i });
    const before = toggle.getAttribute('aria-checked') === 'true';
    await userEvent.setup().click(toggle);
    const expected = before ? 'light' : 'dark';
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe(expected);
    expect(document.documentElement.dataset.theme).toBe(expected);
  });
});

/** The admin section: who sees it, settings, invitations, users and roles, the audit log. */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import type { AuditEvent, Invite, Settings } from '../api/admin.ts';
import type { User } from '../api/types.ts';
import { describeDetails, localToUtc } from '../pages/admin/AuditPanel.tsx';
import { inviteUrl } from '../pages/admin/InvitesPanel.tsx';
import { json, renderAt, stubFetch } from './render.tsx';

const ADMIN: User = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'root@example.com',
  role: 'admin',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};
const BOB: User = {
  ...ADMIN,
  id: '00000000-0000-4000-8000-000000000002',
  email: 'bob@example.com',
  role: 'user',
};
const INVITE_ID = '00000000-0000-4000-8000-0000000000c1';

function event(n: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    at: '2026-03-01T12:00:00.000Z',
    action: 'auth.login.succeeded',
    actor_id: ADMIN.id,
    subject_id: ADMIN.id,
    address: '127.0.0.1',
    target_type: null,
    target_id: null,
    details: {},
    ...extra,
  };
}

/** The admin routes of the gateway, in memory (the rules the tests need: last admin, one-time invites). */
function gateway(me: User = ADMIN) {
  const state = {
    settings: {
      signup_mode: 'invite',
      signup_mode_source: 'configuration',
      configured_signup_mode: 'invite',
    } as Settings,
    invites: [] as Invite[],
    users: [ADMIN, BOB] as User[],
  };
  const calls = stubFetch({
    'GET /api/v1/users': () => json(200, me),
    'GET /api/v1/workflows': () => json(200, { workflows: [], cursor: null }),
    'GET /api/v1/notifications': () => json(200, { notifications: [], cursor: null, unread: 0 }),
    'GET /api/v1/admin/settings': () => json(200, state.settings),
    'PUT /api/v1/admin/settings': ({ body }) => {
      const mode = (body as { signup_mode: Settings['signup_mode'] | null }).signup_mode;
      state.settings =
        mode === null
          ? {
              ...state.settings,
              signup_mode: state.settings.configured_signup_mode,
              signup_mode_source: 'configuration',
            }
          : { ...state.settings, signup_mode: mode, signup_mode_source: 'setting' };
      return json(200, state.settings);
    },
    'GET /api/v1/admin/invites': () => json(200, { invites: state.invites, cursor: null }),
    'POST /api/v1/admin/invites': ({ body }) => {
      const b = body as { email?: string; expires_in_days: number };
      const invite: Invite = {
        id: INVITE_ID,
        email: b.email ?? null,
        status: 'pending',
        created_at: '2026-03-01T12:00:00.000Z',
        expires_at: '2026-03-08T12:00:00.000Z',
        created_by: ADMIN.id,
        used_at: null,
        used_by: null,
      };
      state.invites.unshift(invite);
      return json(201, { ...invite, token: 'cvi_secret', link: '/register?invite=cvi_secret' });
    },
    [`DELETE /api/v1/admin/invites/${INVITE_ID}`]: () => {
      state.invites = state.invites.map((i) => ({ ...i, status: 'revoked' as const }));
      return new Response(null, { status: 204 });
    },
    'GET /api/v1/admin/users': () => json(200, { users: state.users, cursor: null }),
    'POST /api/v1/admin/users': ({ body }) => {
      const b = body as { email: string; password: string; role: User['role'] };
      if (b.password === 'aaaaaaaaaa') {
        return json(400, {
          title: 'Invalid request',
          status: 400,
          code: 'CV_VALIDATION',
          errors: [
            {
              path: 'password',
              message:
                'is too easy to guess (strength 0 of 4, at least 3 needed): Avoid repeated words and characters.',
            },
          ],
        });
      }
      const user = { ...BOB, id: '00000000-0000-4000-8000-000000000003', email: b.email, role: b.role };
      state.users.unshift(user);
      return json(201, user);
    },
    [`PATCH /api/v1/admin/users/${ADMIN.id}`]: () =>
      json(412, {
        title: 'Precondition failed',
        status: 412,
        code: 'CV_PRECONDITION_FAILED',
        detail: 'The last administrator cannot be demoted; promote another first.',
      }),
    [`PATCH /api/v1/admin/users/${BOB.id}`]: ({ body }) => {
      state.users = state.users.map((u) =>
        u.id === BOB.id ? { ...u, role: (body as { role: User['role'] }).role } : u,
      );
      return json(
        200,
        state.users.find((u) => u.id === BOB.id),
      );
    },
    'GET /api/v1/admin/audit': ({ url }) => {
      const cursor = url.searchParams.get('cursor');
      if (url.searchParams.get('action') === 'user.role_changed') {
        return json(200, {
          events: [
            event(9, {
              action: 'user.role_changed',
              subject_id: BOB.id,
              details: { from: 'user', to: 'admin' },
            }),
          ],
          cursor: null,
        });
      }
      if (url.searchParams.has('since') && url.searchParams.has('until')) {
        return json(400, {
          title: 'Invalid request',
          status: 400,
          code: 'CV_VALIDATION',
          errors: [{ path: 'until', message: 'must be after since' }],
        });
      }
      return cursor === 'page2'
        ? json(200, {
            events: [event(3, { action: 'user.registered', actor_id: BOB.id, subject_id: BOB.id })],
            cursor: null,
          })
        : json(200, {
            events: [
              event(1),
              event(2, { action: 'auth.login.failed', actor_id: null, details: { email: 'x@example.com' } }),
            ],
            cursor: 'page2',
          });
    },
  });
  return { state, calls };
}

describe('admin section', () => {
  it('is in the navigation for administrators only, and refuses others', async () => {
    gateway(BOB);
    renderAt('/admin', <AppRoutes />);
    expect(await screen.findByText(/Administrators only/)).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
  });

  it('sets the sign-up mode and goes back to the server default', async () => {
    const { calls } = gateway();
    const user = userEvent.setup();
    renderAt('/admin', <AppRoutes />);
    expect(await screen.findByRole('link', { name: 'Admin' })).toBeTruthy();
    const group = await screen.findByRole('group', { name: 'Who may create an account' });
    const byDefault = within(group).getByRole('radio', {
      name: /Use the server default \(CHRONOVERSE_SIGNUP: by invitation\)/,
    });
    expect(byDefault).toHaveProperty('checked', true);
    expect(screen.getByText(/the server default/, { selector: 'span' })).toBeTruthy();
    await user.click(within(group).getByRole('radio', { name: /^Closed/ }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Sign-up mode saved.');
    expect(screen.getByText(/set by an administrator/)).toBeTruthy();
    await user.click(byDefault);
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() =>
      expect(calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([
        { signup_mode: 'closed' },
        { signup_mode: null },
      ]),
    );
  });

  it('creates an invitation, shows and copies its link once, lists and revokes it', async () => {
    const { calls } = gateway();
    const user = userEvent.setup();
    renderAt('/admin/invites', <AppRoutes />);
    await screen.findByText('No invitations yet.');
    await user.type(screen.getByLabelText('Email (optional)'), 'carol@example.com');
    await user.selectOptions(screen.getByLabelText('Valid for'), '3');
    await user.click(screen.getByRole('button', { name: 'Create invitation' }));
    const link = await screen.findByLabelText('Invitation link');
    expect(link).toHaveProperty('value', 'http://localhost:3000/register?invite=cvi_secret');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      email: 'carol@example.com',
      expires_in_days: 3,
    });
    await user.click(screen.getByRole('button', { name: 'Copy link' }));
    expect(await navigator.clipboard.readText()).toBe('http://localhost:3000/register?invite=cvi_secret');

    const table = await screen.findByRole('table', { name: 'Invitations' });
    expect(within(table).getByText('carol@example.com')).toBeTruthy();
    expect(within(table).getByText('pending')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Done' }));
    expect(document.body.innerHTML).not.toContain('cvi_secret');

    await user.click(
      within(table).getByRole('button', { name: /Revoke the invitation for carol@example.com/ }),
    );
    const dialog = await screen.findByRole('alertdialog', { name: 'Revoke this invitation?' });
    await user.click(within(dialog).getByRole('button', { name: 'Revoke invitation' }));
    await within(table).findByText('revoked');
    expect(within(table).queryByRole('button', { name: /Revoke/ })).toBeNull();
  });

  it('creates accounts (server advice on the password), changes roles, shows the last-admin refusal', async () => {
    const { calls } = gateway();
    const user = userEvent.setup();
    renderAt('/admin/users', <AppRoutes />);
    const table = await screen.findByRole('table', { name: 'Users' });
    expect(within(table).getByText('root@example.com (you)')).toBeTruthy();

    await user.type(screen.getByLabelText('New user’s email'), 'dave@example.com');
    await user.type(screen.getByLabelText('Initial password'), 'aaaaaaaaaa');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText(/^Too easy to guess .*Avoid repeated words/)).toBeTruthy();
    await user.clear(screen.getByLabelText('Initial password'));
    await user.type(screen.getByLabelText('Initial password'), 'plum tractor velvet nine');
    await user.selectOptions(screen.getByLabelText('Role'), 'admin');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    await screen.findByText('Account dave@example.com created.');
    expect(calls.filter((c) => c.method === 'POST').at(-1)?.body).toEqual({
      email: 'dave@example.com',
      password: 'plum tractor velvet nine',
      role: 'admin',
    });
    await within(table).findByText('dave@example.com');

    await user.click(within(table).getByRole('button', { name: 'Make bob@example.com an administrator' }));
    await within(table).findByRole('button', { name: 'Make bob@example.com a user' });
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ role: 'admin' });

    // A demotion is confirmed first; the API's refusal appears in the dialog, in its words.
    await user.click(within(table).getByRole('button', { name: 'Make root@example.com a user' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Remove administrator rights?' });
    expect(within(dialog).getByText(/You will no longer administer/)).toBeTruthy();
    await user.click(within(dialog).getByRole('button', { name: 'Make user' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toContain('The last administrator cannot be demoted; promote another first.');
    expect(calls.filter((c) => c.method === 'PATCH').at(-1)?.body).toEqual({ role: 'user' });
  });

  it('pages the audit log by cursor, writes times with their zone, filters and shows filter errors', async () => {
    const { calls } = gateway();
    const user = userEvent.setup();
    renderAt('/admin/audit', <AppRoutes />);
    const table = await screen.findByRole('table', { name: 'Audit log' });
    expect(await within(table).findAllByText('root@example.com')).toBeTruthy();
    expect(within(table).getByText('auth.login.failed')).toBeTruthy();
    expect(within(table).getByText('email: x@example.com')).toBeTruthy();
    const time = within(table).getAllByText((_, el) => el?.tagName === 'TIME')[0]!;
    expect(time.getAttribute('datetime')).toBe('2026-03-01T12:00:00.000Z');
    expect(time.textContent).toMatch(/2026.*(UTC|GMT|[A-Z]{3,4})/);

    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await within(table).findByText('user.registered')).toBeTruthy();
    expect(calls.at(-1)?.url.searchParams.get('cursor')).toBe('page2');
    await user.click(screen.getByRole('button', { name: 'Previous' }));
    await within(table).findByText('auth.login.failed');

    await user.selectOptions(screen.getByLabelText('Action'), 'user.role_changed');
    await user.selectOptions(screen.getByLabelText('User'), BOB.id);
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));
    expect(await screen.findByText('from: user, to: admin')).toBeTruthy();
    const sent = calls.at(-1)!.url.searchParams;
    expect(sent.get('action')).toBe('user.role_changed');
    expect(sent.get('user')).toBe(BOB.id);
    expect(sent.has('cursor')).toBe(false);

    await user.selectOptions(screen.getByLabelText('Action'), '');
    await user.type(screen.getByLabelText('From'), '2026-03-02T10:00');
    await user.type(screen.getByLabelText('Until'), '2026-03-01T10:00');
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));
    expect(await screen.findByText('must be after since')).toBeTruthy();
    expect(calls.at(-1)!.url.searchParams.get('since')).toBe(localToUtc('2026-03-02T10:00'));
  });

  it('helpers: local times to UTC, details in a line, absolute invitation links', () => {
    expect(localToUtc('')).toBeUndefined();
    expect(localToUtc('2026-03-02T10:00')).toBe(new Date('2026-03-02T10:00').toISOString());
    expect(
      describeDetails(event(1, { target_type: 'token', target_id: 't1', details: { scopes: ['read'] } })),
    ).toBe('token t1, scopes: ["read"]');
    expect(inviteUrl('/register?invite=cvi_x', 'https://cv.example.com')).toBe(
      'https://cv.example.com/register?invite=cvi_x',
    );
  });
});

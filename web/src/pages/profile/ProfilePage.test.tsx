import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { PersonalAccessToken } from '../../api/account.ts';
import type { User } from '../../api/types.ts';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import ProfilePage from './ProfilePage.tsx';

const user0: User = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'ann@example.com',
  role: 'admin',
  notification_preference: 'ALERTS',
  created_at: '2024-01-02T10:00:00Z',
  updated_at: '2024-01-02T10:00:00Z',
};

const TOKEN_ID = '00000000-0000-4000-8000-000000000101';

/** The account endpoints of the gateway, in memory. */
function fakeAccount() {
  const state = { user: { ...user0 }, tokens: [] as PersonalAccessToken[], password: 'old password' };
  const requests = stubFetch({
    'GET /api/v1/users': () => json(200, state.user),
    'PUT /api/v1/users': ({ body }) => {
      const b = body as Record<string, string>;
      if (b.new_password !== undefined && b.current_password !== state.password) {
        return json(400, {
          title: 'Invalid request',
          status: 400,
          code: 'CV_VALIDATION',
          detail: 'current_password: is incorrect',
          errors: [{ path: 'current_password', message: 'is incorrect' }],
        });
      }
      if (b.new_password) state.password = b.new_password;
      if (b.notification_preference) {
        state.user = { ...state.user, notification_preference: b.notification_preference as never };
      }
      return json(200, state.user);
    },
    'GET /api/v1/auth/tokens': () => json(200, { tokens: state.tokens }),
    'POST /api/v1/auth/tokens': ({ body }) => {
      const b = body as { name: string; scopes?: PersonalAccessToken['scopes'] };
      const token: PersonalAccessToken = {
        id: TOKEN_ID,
        name: b.name,
        scopes: b.scopes ?? ['read', 'write'],
        parent_id: null,
        created_at: '2024-03-05T10:00:00Z',
        expires_at: '2024-04-04T10:00:00Z',
        last_used_at: null,
      };
      state.tokens.push(token);
      return json(201, { ...token, token: 'cvp_secret_1' });
    },
    [`DELETE /api/v1/auth/tokens/${TOKEN_ID}`]: () => {
      state.tokens = state.tokens.filter((t) => t.id !== TOKEN_ID);
      return new Response(null, { status: 204 });
    },
  });
  return { state, requests };
}

const render = () => renderAt('/profile', <ProfilePage />);

describe('ProfilePage', () => {
  it('shows the account and saves a new notification preference', async () => {
    const server = fakeAccount();
    const user = userEvent.setup();
    render();
    expect(await screen.findByText('ann@example.com')).toBeTruthy();
    expect(screen.getByText('Administrator')).toBeTruthy();

    const group = screen.getByRole('radiogroup', { name: 'Notify me about' });
    expect(within(group).getByRole('radio', { name: /Failures only/ })).toHaveProperty('checked', true);
    await user.click(within(group).getByRole('radio', { name: /^All/ }));
    await screen.findByText('Preference saved.');
    expect(server.requests.find((r) => r.method === 'PUT')?.body).toEqual({ notification_preference: 'ALL' });
    expect(within(group).getByRole('radio', { name: /^All/ })).toHaveProperty('checked', true);
    expect(server.state.user.notification_preference).toBe('ALL');

    // Keyboard: arrow keys move the selection like any radio group.
    await user.keyboard('{ArrowDown}');
    await waitFor(() => expect(server.state.user.notification_preference).toBe('ALERTS'));
  });

  it('shows the server’s error next to the current password field', async () => {
    const server = fakeAccount();
    const user = userEvent.setup();
    render();
    await user.type(await screen.findByLabelText('Current password'), 'wrong one');
    await user.type(screen.getByLabelText(/^New password/), 'a much better one');
    await user.type(screen.getByLabelText('Repeat the new password'), 'a much better one');
    await user.click(screen.getByRole('button', { name: 'Change password' }));

    const current = screen.getByLabelText('Current password');
    await waitFor(() => expect(current.getAttribute('aria-invalid')).toBe('true'));
    const describedBy = current.getAttribute('aria-describedby') ?? '';
    expect(describedBy.split(' ').map((id) => document.getElementById(id)?.textContent)).toContain(
      'is incorrect',
    );
    expect(server.state.password).toBe('old password');

    await user.clear(current);
    await user.type(current, 'old password');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    await screen.findByText(/Password changed/);
    expect(server.state.password).toBe('a much better one');
    expect(current).toHaveProperty('value', '');
  });

  it('checks the new password locally before sending', async () => {
    const server = fakeAccount();
    const user = userEvent.setup();
    render();
    await user.type(await screen.findByLabelText('Current password'), 'old password');
    await user.type(screen.getByLabelText(/^New password/), 'short');
    await user.type(screen.getByLabelText('Repeat the new password'), 'other');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('Use at least 10 characters.')).toBeTruthy();
    expect(screen.getByText('The two new passwords differ.')).toBeTruthy();
    expect(server.requests.some((r) => r.method === 'PUT')).toBe(false);
  });

  it('shows a new access token once, lists it, and revokes it after confirmation', async () => {
    const server = fakeAccount();
    const user = userEvent.setup(); // also installs a clipboard stub on navigator
    render();
    await screen.findByText('No active tokens.');

    await user.click(screen.getByRole('button', { name: 'Create token' }));
    expect(screen.getByText(/Give the token a name/)).toBeTruthy();

    await user.type(screen.getByLabelText('Token name'), 'laptop');
    await user.selectOptions(screen.getByLabelText('Expires after'), '90');
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    const secret = await screen.findByLabelText('New token');
    expect(secret).toHaveProperty('value', 'cvp_secret_1');
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      name: 'laptop',
      scopes: ['read', 'write'],
      expires_in_days: 90,
    });
    await user.click(screen.getByRole('button', { name: 'Copy token' }));
    expect(await navigator.clipboard.readText()).toBe('cvp_secret_1');
    await screen.findByText('Copied to the clipboard.');

    const table = await screen.findByRole('table', { name: 'Active personal access tokens' });
    expect(within(table).getByText('laptop')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Done, I have stored it' }));
    expect(screen.queryByLabelText('New token')).toBeNull();
    expect(screen.queryByText('cvp_secret_1')).toBeNull();
    expect(document.body.innerHTML).not.toContain('cvp_secret_1');

    await user.click(within(table).getByRole('button', { name: 'Revoke token laptop' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Revoke this token?' });
    await user.click(within(confirm).getByRole('button', { name: 'Revoke token' }));
    await screen.findByText('No active tokens.');
    expect(server.requests.find((r) => r.method === 'DELETE')?.url.pathname).toBe(
      `/api/v1/auth/tokens/${TOKEN_ID}`,
    );
  });
});

/** Profile → tokens: scopes, expiry (presets or a date), the list's scopes/expiry/parent, cascading revoke. */
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { PersonalAccessToken } from '../api/account.ts';
import { endOfDay } from '../pages/profile/TokensSection.tsx';
import ProfilePage from '../pages/profile/ProfilePage.tsx';
import { json, renderAt, stubFetch } from './render.tsx';

const ME = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'ann@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};
const PARENT: PersonalAccessToken = {
  id: '00000000-0000-4000-8000-0000000000a1',
  name: 'ci',
  scopes: ['read', 'write', 'tokens'],
  parent_id: null,
  created_at: '2026-01-05T10:00:00Z',
  expires_at: '2026-07-01T12:00:00Z',
  last_used_at: null,
};
const CHILD: PersonalAccessToken = {
  ...PARENT,
  id: '00000000-0000-4000-8000-0000000000a2',
  name: 'ci-job',
  scopes: ['read'],
  parent_id: PARENT.id,
};

function gateway(role: 'user' | 'admin', tokens: PersonalAccessToken[] = []) {
  const list = [...tokens];
  const calls = stubFetch({
    'GET /api/v1/users': () => json(200, { ...ME, role }),
    'GET /api/v1/auth/tokens': () => json(200, { tokens: list }),
    'POST /api/v1/auth/tokens': ({ body }) => {
      const b = body as { name: string; scopes: PersonalAccessToken['scopes']; expires_at?: string };
      const token: PersonalAccessToken = {
        ...PARENT,
        id: '00000000-0000-4000-8000-0000000000b1',
        name: b.name,
        scopes: b.scopes,
        expires_at: b.expires_at ?? '2026-02-05T10:00:00Z',
      };
      list.push(token);
      return json(201, { ...token, token: 'cvp_new' });
    },
    [`DELETE /api/v1/auth/tokens/${PARENT.id}`]: () => {
      list.splice(0, list.length);
      return new Response(null, { status: 204 });
    },
  });
  return calls;
}

describe('personal access tokens', () => {
  it('defaults to read and write, offers tokens, and admin only to administrators', async () => {
    const calls = gateway('user');
    const user = userEvent.setup();
    renderAt('/profile', <ProfilePage />);
    const scopes = await screen.findByRole('group', { name: 'Scopes' });
    const box = (name: string) => within(scopes).queryByRole('checkbox', { name });
    expect(box('read')).toHaveProperty('checked', true);
    expect(box('write')).toHaveProperty('checked', true);
    expect(box('tokens')).toHaveProperty('checked', false);
    expect(box('admin')).toBeNull();

    await user.type(screen.getByLabelText('Token name'), 'deploy');
    await user.click(box('write')!);
    await user.click(box('tokens')!);
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    await screen.findByLabelText('New token');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'deploy',
      scopes: ['read', 'tokens'],
      expires_in_days: 30,
    });
  });

  it('refuses no scope at all, and lets an administrator grant admin', async () => {
    const calls = gateway('admin');
    const user = userEvent.setup();
    renderAt('/profile', <ProfilePage />);
    const scopes = await screen.findByRole('group', { name: 'Scopes' });
    await user.type(screen.getByLabelText('Token name'), 'ops');
    await user.click(within(scopes).getByRole('checkbox', { name: 'read' }));
    await user.click(within(scopes).getByRole('checkbox', { name: 'write' }));
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    expect(await screen.findByText('Choose at least one scope.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await user.click(within(scopes).getByRole('checkbox', { name: 'admin' }));
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    await screen.findByLabelText('New token');
    expect((calls.find((c) => c.method === 'POST')?.body as { scopes: string[] }).scopes).toEqual(['admin']);
  });

  it('expires on a chosen day, at its end in the browser’s zone', async () => {
    const calls = gateway('user');
    const user = userEvent.setup();
    renderAt('/profile', <ProfilePage />);
    await user.type(await screen.findByLabelText('Token name'), 'laptop');
    await user.selectOptions(screen.getByLabelText('Expires after'), 'date');
    const day = screen.getByLabelText('Expires on');
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    expect(await screen.findByText(/Choose the day it expires/)).toBeTruthy();
    const future = new Date(Date.now() + 10 * 86_400_000);
    const iso = `${future.getFullYear()}-${String(future.getMonth() + 1).padStart(2, '0')}-${String(future.getDate()).padStart(2, '0')}`;
    await user.type(day, iso);
    await user.click(screen.getByRole('button', { name: 'Create token' }));
    await screen.findByLabelText('New token');
    const body = calls.find((c) => c.method === 'POST')?.body as Record<string, unknown>;
    expect(body.expires_at).toBe(endOfDay(iso));
    expect(body.expires_in_days).toBeUndefined();
    expect(new Date(body.expires_at as string).getHours()).toBe(23);
  });

  it('lists scopes, expiry with its zone and the parent; revoking a parent names its children', async () => {
    const calls = gateway('user', [PARENT, CHILD]);
    const user = userEvent.setup();
    renderAt('/profile', <ProfilePage />);
    const table = await screen.findByRole('table', { name: 'Active personal access tokens' });
    const row = (name: string) =>
      within(table)
        .getAllByRole('row')
        .find((r) => within(r).queryByText(name, { exact: true }))!;
    expect(within(row('ci')).getByText('read, write, tokens')).toBeTruthy();
    expect(within(row('ci')).getByText('You (signed in)')).toBeTruthy();
    expect(within(row('ci-job')).getByText('read')).toBeTruthy();
    expect(within(row('ci-job')).getByText('Token ci')).toBeTruthy();
    const expiry = within(row('ci')).getByText((_, el) => el?.tagName === 'TIME');
    expect(expiry.getAttribute('datetime')).toBe(PARENT.expires_at);
    expect(expiry.textContent).toMatch(/2026/);
    expect(expiry.textContent).toMatch(/UTC|GMT|[A-Z]{2,5}/);

    await user.click(within(row('ci')).getByRole('button', { name: 'Revoke token ci' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Revoke this token?' });
    expect(within(dialog).getByText(/revoked with it: “ci-job”/)).toBeTruthy();
    await user.click(within(dialog).getByRole('button', { name: 'Revoke token' }));
    await screen.findByText('No active tokens.');
    expect(calls.some((c) => c.method === 'DELETE')).toBe(true);
  });

  it('explains a missing scope in words', async () => {
    stubFetch({
      'GET /api/v1/users': () => json(200, ME),
      'GET /api/v1/auth/tokens': () =>
        json(403, {
          title: 'Forbidden',
          status: 403,
          code: 'CV_INSUFFICIENT_SCOPE',
          detail: 'This credential lacks the "tokens" scope.',
        }),
    });
    renderAt('/profile', <ProfilePage />);
    expect(await screen.findByText(/lacks the “tokens” scope this action needs/)).toBeTruthy();
  });
});

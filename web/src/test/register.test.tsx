/** The register page against the sign-up modes, invitations and the password rule (docs/api.md "Sign-up"). */
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import { ApiError, errorMessage } from '../api/client.ts';
import { json, renderAt, stubFetch } from './render.tsx';

const USER = {
  id: '00000000-0000-4000-8000-000000000002',
  email: 'new@example.com',
  role: 'user',
  notification_preference: 'ALL',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};
const STRONG = 'plum tractor velvet nine';

function gateway(mode: 'open' | 'invite' | 'closed', register?: (body: unknown) => Response) {
  let signedIn = false;
  return stubFetch({
    'GET /api/v1/users': () =>
      signedIn
        ? json(200, USER)
        : json(401, { title: 'Unauthorized', status: 401, code: 'CV_UNAUTHENTICATED' }),
    'GET /api/v1/auth/signup': () => json(200, { mode }),
    'POST /api/v1/auth/register': ({ body }) => {
      const answer =
        register?.(body) ?? json(201, { user: USER, token: 't', expires_at: '2026-01-02T00:00:00Z' });
      if (answer.status === 201) signedIn = true;
      return answer;
    },
    'GET /api/v1/workflows': () => json(200, { workflows: [], cursor: null }),
    'GET /api/v1/notifications': () => json(200, { notifications: [], cursor: null, unread: 0 }),
  });
}

async function fill(email: string, password: string) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText('Email'), email);
  await user.type(screen.getByLabelText('Password'), password);
  return user;
}

describe('register page', () => {
  it('reads ?invite= and sends it with the registration', async () => {
    const calls = gateway('invite');
    renderAt('/register?invite=cvi_abc123', <AppRoutes />);
    expect(await screen.findByText(/Sign-up is by invitation/)).toBeTruthy();
    expect(screen.getByText(/You were invited/)).toBeTruthy();
    expect(screen.getByLabelText('Invitation code')).toHaveProperty('value', 'cvi_abc123');
    const user = await fill('new@example.com', STRONG);
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    await screen.findByTestId('location');
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/'));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      email: 'new@example.com',
      password: STRONG,
      invite: 'cvi_abc123',
    });
  });

  it('asks for the invitation in invite mode and sends nothing without it', async () => {
    const calls = gateway('invite');
    renderAt('/register', <AppRoutes />);
    const user = await fill('new@example.com', STRONG);
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    expect(await screen.findByText(/Enter the invitation code/)).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('says sign-up is closed and shows no form', async () => {
    gateway('closed');
    renderAt('/register', <AppRoutes />);
    expect(await screen.findByText(/Sign-up is closed on this installation/)).toBeTruthy();
    expect(screen.queryByLabelText('Password')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Create an account' })).toBeNull();
    expect(screen.getByRole('link', { name: 'Log in' })).toBeTruthy();
  });

  it('shows the password rule, checks the length, and puts the server’s advice under the field', async () => {
    const calls = gateway('open', () =>
      json(400, {
        title: 'Invalid request',
        status: 400,
        code: 'CV_VALIDATION',
        detail: 'password: is too easy to guess',
        errors: [
          {
            path: 'password',
            message:
              'is too easy to guess (strength 0 of 4, at least 3 needed): This is a commonly used password. Add more words that are less common.',
          },
        ],
      }),
    );
    renderAt('/register', <AppRoutes />);
    expect(await screen.findByText(/10 to 128 characters, hard to guess/)).toBeTruthy();
    expect(screen.queryByLabelText('Invitation code')).toBeNull();
    const user = await fill('new@example.com', 'short');
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    expect(await screen.findByText('Use at least 10 characters.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'password123');
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    const advice = await screen.findByText(/^Too easy to guess \(strength 0 of 4, at least 3 needed\)/);
    expect(advice.textContent).toContain('Add more words that are less common.');
    // Next to the field: the input points at it, and there is no separate alert.
    const input = screen.getByLabelText('Password');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toContain(advice.id);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('explains a refusal by the sign-up mode and reads the mode again', async () => {
    let mode: 'open' | 'closed' = 'open';
    const calls = stubFetch({
      'GET /api/v1/users': () => json(401, { title: 'Unauthorized', status: 401 }),
      'GET /api/v1/auth/signup': () => json(200, { mode }),
      'POST /api/v1/auth/register': () => {
        mode = 'closed';
        return json(403, {
          title: 'Forbidden',
          status: 403,
          code: 'CV_SIGNUP_CLOSED',
          detail: 'Sign-up is closed on this installation; an administrator creates accounts.',
        });
      },
    });
    renderAt('/register', <AppRoutes />);
    const user = await fill('new@example.com', STRONG);
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    expect(await screen.findByText(/Sign-up is closed on this installation: an administrator/)).toBeTruthy();
    expect(calls.filter((c) => c.url.pathname === '/api/v1/auth/signup').length).toBe(2);
  });
});

describe('access errors in words', () => {
  it('names the missing scope, and the sign-up refusals', () => {
    const scope = new ApiError({
      status: 403,
      title: 'Forbidden',
      code: 'CV_INSUFFICIENT_SCOPE',
      detail: 'This credential lacks the "tokens" scope.',
    });
    expect(errorMessage(scope)).toBe(
      'Not allowed: this credential lacks the “tokens” scope this action needs. Sign in again, or use a token created with the “tokens” scope.',
    );
    expect(
      errorMessage(
        new ApiError({ status: 403, title: 'Forbidden', code: 'CV_INVITE_REQUIRED', detail: 'x' }),
      ),
    ).toMatch(/needs an invitation/);
    expect(
      errorMessage(new ApiError({ status: 403, title: 'Forbidden', code: 'CV_SIGNUP_CLOSED', detail: 'x' })),
    ).toMatch(/closed/);
    expect(
      errorMessage(new ApiError({ status: 403, title: 'Forbidden', detail: 'Administrators only.' })),
    ).toBe('Administrators only.');
  });
});

/** The reset-password page: asking for a link, and choosing a new password with one (docs/api.md "Authentication"). */
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App.tsx';
import { json, renderAt, stubFetch } from './render.tsx';

const STRONG = 'plum tractor velvet nine';
const SENT = 'If an account has this address, an email with a link to choose a new password is on its way.';

function gateway(confirm: (body: unknown) => Response = () => new Response(null, { status: 204 })) {
  return stubFetch({
    'GET /api/v1/users': () => json(401, { title: 'Unauthorized', status: 401, code: 'CV_UNAUTHENTICATED' }),
    'GET /api/v1/auth/signup': () => json(200, { mode: 'open' }),
    'POST /api/v1/auth/password-reset': () => json(202, { message: SENT }),
    'POST /api/v1/auth/password-reset/confirm': ({ body }) => confirm(body),
  });
}

describe('reset password page', () => {
  it('is linked from the login page and asks for the email, then says what happens', async () => {
    const calls = gateway();
    renderAt('/login', <AppRoutes />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('link', { name: 'Forgot your password?' }));
    await user.type(await screen.findByLabelText('Email'), ' Me@Example.com ');
    await user.click(screen.getByRole('button', { name: 'Email me a link' }));
    expect(await screen.findByText(SENT)).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ email: 'Me@Example.com' });
  });

  it('sets a new password with the token of the link, then sends to log in', async () => {
    const calls = gateway();
    renderAt('/reset-password?token=cvr_abc', <AppRoutes />);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('New password'), STRONG);
    await user.click(screen.getByRole('button', { name: 'Set the new password' }));
    expect(await screen.findByText(/password is changed/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Log in' })).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ token: 'cvr_abc', password: STRONG });
  });

  it('says when the link is spent and offers a new one; shows the advice on a weak password', async () => {
    let weak = true;
    gateway(() => {
      const answer = weak
        ? json(400, {
            title: 'Validation failed',
            status: 400,
            code: 'CV_VALIDATION',
            errors: [{ path: 'password', message: 'is too easy to guess: add another word or two' }],
          })
        : json(400, {
            title: 'Validation failed',
            status: 400,
            code: 'CV_VALIDATION',
            errors: [{ path: 'token', message: 'is unknown, already used or expired; ask for a new link' }],
          });
      weak = false;
      return answer;
    });
    renderAt('/reset-password?token=cvr_old', <AppRoutes />);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('New password'), 'password1234');
    await user.click(screen.getByRole('button', { name: 'Set the new password' }));
    expect(await screen.findByText(/easy to guess/)).toBeTruthy();
    await user.type(screen.getByLabelText('New password'), 'x');
    await user.click(screen.getByRole('button', { name: 'Set the new password' }));
    expect(await screen.findByText('This link is unknown, already used or expired.')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href')).toBe(
      '/reset-password',
    );
  });
});

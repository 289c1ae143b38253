/**
 * Password reset by email (docs/api.md "Authentication"): without `?token=` the page asks for the
 * account's email (`POST /auth/password-reset`, the same answer whether or not an account has it);
 * with the token of the emailed link it asks for a new password (`POST /auth/password-reset/confirm`),
 * then sends the reader to log in: every session of the account was signed out.
 */
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, ApiError } from '../../api/client.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { TextField } from '../../components/Field.tsx';
import { fieldSentence, PASSWORD_RULE, passwordLengthIssue } from '../../lib/password-rule.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function RequestForm() {
  const [email, setEmail] = useState('');
  const [touched, setTouched] = useState(false);
  const mutation = useMutation({
    mutationFn: (body: { email: string }) => api.post<{ message: string }>('/auth/password-reset', body),
  });
  const trimmed = email.trim();
  const local =
    trimmed === ''
      ? 'Enter your email address.'
      : EMAIL.test(trimmed)
        ? undefined
        : 'Enter a valid email address.';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (local) return;
    mutation.mutate({ email: trimmed });
  };
  if (mutation.isSuccess) {
    return (
      <>
        <p role="status">{mutation.data.message}</p>
        <p>
          <Link to="/login">Back to log in</Link>
        </p>
      </>
    );
  }
  return (
    <form noValidate onSubmit={submit} aria-label="Reset your password">
      <p className="muted">We email you a link to choose a new password. It works once, for 30 minutes.</p>
      <TextField
        label="Email"
        type="email"
        name="email"
        autoComplete="email"
        value={email}
        onChange={(e) => {
          setEmail(e.target.value);
          if (mutation.error) mutation.reset();
        }}
        onBlur={() => setTouched(true)}
        error={touched ? local : undefined}
        required
      />
      <ErrorMessage error={mutation.error} title="Could not send the link" />
      <Button type="submit" variant="primary" pending={mutation.isPending}>
        Email me a link
      </Button>
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </form>
  );
}

function ConfirmForm({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState(false);
  const mutation = useMutation({
    mutationFn: (body: { token: string; password: string }) =>
      api.post<void>('/auth/password-reset/confirm', body),
  });
  const local = password === '' ? 'Enter a password.' : passwordLengthIssue(password);
  const server = mutation.error instanceof ApiError ? mutation.error : null;
  const passwordError =
    (touched ? local : undefined) ?? server?.fieldErrors.password?.map(fieldSentence).join('; ');
  const tokenError = server?.fieldErrors.token ? 'This link is unknown, already used or expired.' : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (local) return;
    mutation.mutate({ token, password });
  };
  if (mutation.isSuccess) {
    return (
      <>
        <p role="status">Your password is changed, and every session of your account was signed out.</p>
        <p>
          <Link to="/login">Log in</Link>
        </p>
      </>
    );
  }
  return (
    <form noValidate onSubmit={submit} aria-label="Choose a new password">
      <TextField
        label="New password"
        type="password"
        name="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => {
          setPassword(e.target.value);
          if (mutation.error) mutation.reset();
        }}
        onBlur={() => setTouched(true)}
        error={passwordError}
        description={PASSWORD_RULE}
        required
      />
      {tokenError ? (
        <div role="alert" className="error-message">
          <strong>{tokenError}</strong>
          <p>
            <Link to="/reset-password">Ask for a new link</Link>
          </p>
        </div>
      ) : (
        <ErrorMessage
          error={server && server.fieldErrors.password ? null : mutation.error}
          title="Could not change the password"
        />
      )}
      <Button type="submit" variant="primary" pending={mutation.isPending}>
        Set the new password
      </Button>
    </form>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get('token');
  return (
    <main className="auth-page">
      <h1>{token ? 'Choose a new password' : 'Reset your password'}</h1>
      {token ? <ConfirmForm token={token} /> : <RequestForm />}
    </main>
  );
}

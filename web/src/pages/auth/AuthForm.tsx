/**
 * The sign-in and sign-up form: checks as you type (after a field was left), shows the server's
 * field errors next to the fields and other errors (401, 409, 429 with its wait) above the button.
 */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../../api/client.ts';
import type { Credentials } from '../../api/auth.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { TextField } from '../../components/Field.tsx';
import { safeNext } from '../../layout/RequireAuth.tsx';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

export function credentialIssues(values: Credentials, mode: 'login' | 'register'): Partial<Credentials> {
  const issues: Partial<Credentials> = {};
  const email = values.email.trim();
  if (email === '') issues.email = 'Enter your email address.';
  else if (!EMAIL.test(email)) issues.email = 'Enter a valid email address.';
  if (values.password === '') issues.password = 'Enter a password.';
  else if (mode === 'register' && values.password.length < PASSWORD_MIN)
    issues.password = `Use at least ${PASSWORD_MIN} characters.`;
  else if (mode === 'register' && values.password.length > PASSWORD_MAX)
    issues.password = `Use at most ${PASSWORD_MAX} characters.`;
  return issues;
}

export interface AuthFormProps {
  mode: 'login' | 'register';
  mutation: {
    mutate: (body: Credentials, options: { onSuccess: () => void }) => void;
    isPending: boolean;
    error: unknown;
    reset: () => void;
  };
}

export function AuthForm({ mode, mutation }: AuthFormProps) {
  const [values, setValues] = useState<Credentials>({ email: '', password: '' });
  const [touched, setTouched] = useState<Record<keyof Credentials, boolean>>({
    email: false,
    password: false,
  });
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const local = credentialIssues(values, mode);
  const server = mutation.error instanceof ApiError ? mutation.error : null;
  const fieldError = (name: keyof Credentials) =>
    (touched[name] ? local[name] : undefined) ?? server?.fieldErrors[name]?.join('; ');
  const generalError = server && server.issues.length > 0 ? null : mutation.error;

  const set = (name: keyof Credentials) => (e: { target: { value: string } }) => {
    setValues((v) => ({ ...v, [name]: e.target.value }));
    if (mutation.error) mutation.reset();
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched({ email: true, password: true });
    if (Object.keys(local).length > 0) return;
    mutation.mutate(
      { email: values.email.trim(), password: values.password },
      { onSuccess: () => navigate(safeNext(params.get('next')), { replace: true }) },
    );
  };

  const title = mode === 'login' ? 'Log in' : 'Create an account';
  return (
    <main className="auth-page">
      <h1>{title}</h1>
      <form noValidate onSubmit={submit} aria-label={title}>
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete={mode === 'login' ? 'username' : 'email'}
          value={values.email}
          onChange={set('email')}
          onBlur={() => setTouched((t) => ({ ...t, email: true }))}
          error={fieldError('email')}
          required
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          value={values.password}
          onChange={set('password')}
          onBlur={() => setTouched((t) => ({ ...t, password: true }))}
          error={fieldError('password')}
          description={mode === 'register' ? `${PASSWORD_MIN} to ${PASSWORD_MAX} characters.` : undefined}
          required
        />
        <ErrorMessage error={generalError} />
        <Button type="submit" variant="primary" pending={mutation.isPending}>
          {title}
        </Button>
      </form>
      <p>
        {mode === 'login' ? (
          <>
            No account yet? <Link to={{ pathname: '/register', search: params.toString() }}>Create one</Link>
          </>
        ) : (
          <>
            Already registered? <Link to={{ pathname: '/login', search: params.toString() }}>Log in</Link>
          </>
        )}
      </p>
    </main>
  );
}

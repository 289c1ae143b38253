/**
 * The sign-in and sign-up form: checks as you type (after a field was left), shows the server's
 * field errors next to the fields (a weak password gets the estimator's advice) and other errors
 * (401, 403 sign-up refusals, 409, 429 with its wait) above the button. Registration reads the
 * invitation from `?invite=` and follows the sign-up mode (`GET /auth/signup`).
 */
import { type FormEvent, type ReactNode, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { Credentials, SignupMode } from '../../api/auth.ts';
import { ApiError } from '../../api/client.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { TextField } from '../../components/Field.tsx';
import { safeNext } from '../../layout/RequireAuth.tsx';
import { fieldSentence, PASSWORD_RULE, passwordLengthIssue } from '../../lib/password-rule.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Field = 'email' | 'password' | 'invite';
type Issues = Partial<Record<Field, string>>;

export function credentialIssues(
  values: Credentials,
  mode: 'login' | 'register',
  inviteRequired = false,
): Issues {
  const issues: Issues = {};
  const email = values.email.trim();
  if (email === '') issues.email = 'Enter your email address.';
  else if (!EMAIL.test(email)) issues.email = 'Enter a valid email address.';
  if (values.password === '') issues.password = 'Enter a password.';
  else if (mode === 'register') {
    const length = passwordLengthIssue(values.password);
    if (length) issues.password = length;
  }
  if (mode === 'register' && inviteRequired && !values.invite?.trim()) {
    issues.invite = 'Enter the invitation code, or open the invitation link you were sent.';
  }
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
  /** Registration: the sign-up mode (undefined while it loads or when it could not be read). */
  signupMode?: SignupMode | undefined;
}

function SwitchLink({ mode, search }: { mode: 'login' | 'register'; search: string }) {
  return (
    <p>
      {mode === 'login' ? (
        <>
          No account yet? <Link to={{ pathname: '/register', search }}>Create one</Link>
          <br />
          <Link to="/reset-password">Forgot your password?</Link>
        </>
      ) : (
        <>
          Already registered? <Link to={{ pathname: '/login', search }}>Log in</Link>
        </>
      )}
    </p>
  );
}

const MODE_NOTE: Record<SignupMode, ReactNode> = {
  open: null,
  invite: 'Sign-up is by invitation: use the link an administrator sent you, or paste its code below.',
  closed: 'Sign-up is closed on this installation: an administrator creates accounts. Ask one for yours.',
};

export function AuthForm({ mode, mutation, signupMode }: AuthFormProps) {
  const [params] = useSearchParams();
  const urlInvite = mode === 'register' ? (params.get('invite') ?? '') : '';
  const [values, setValues] = useState<Credentials>({ email: '', password: '', invite: urlInvite });
  const [touched, setTouched] = useState<Record<Field, boolean>>({
    email: false,
    password: false,
    invite: false,
  });
  const navigate = useNavigate();
  const register = mode === 'register';
  const showInvite = register && (signupMode === 'invite' || urlInvite !== '');
  const local = credentialIssues(values, mode, register && signupMode === 'invite');
  const server = mutation.error instanceof ApiError ? mutation.error : null;
  const shown: Field[] = showInvite ? ['email', 'password', 'invite'] : ['email', 'password'];
  const fieldError = (name: Field) =>
    (touched[name] ? local[name] : undefined) ?? server?.fieldErrors[name]?.map(fieldSentence).join('; ');
  // Errors on a field shown are written next to it; anything else above the button.
  const generalError =
    server && server.issues.length > 0 && server.issues.every((i) => shown.includes(i.path as Field))
      ? null
      : mutation.error;

  const set = (name: Field) => (e: { target: { value: string } }) => {
    setValues((v) => ({ ...v, [name]: e.target.value }));
    if (mutation.error) mutation.reset();
  };
  const blur = (name: Field) => () => setTouched((t) => ({ ...t, [name]: true }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched({ email: true, password: true, invite: true });
    if (shown.some((f) => local[f] !== undefined)) return;
    const invite = values.invite?.trim();
    mutation.mutate(
      { email: values.email.trim(), password: values.password, ...(register && invite ? { invite } : {}) },
      { onSuccess: () => navigate(safeNext(params.get('next')), { replace: true }) },
    );
  };

  // The invitation is for this page only: the login link keeps `next`, not the secret.
  const switchParams = new URLSearchParams(params);
  switchParams.delete('invite');
  const title = mode === 'login' ? 'Log in' : 'Create an account';
  const note = register && signupMode ? MODE_NOTE[signupMode] : null;

  if (register && signupMode === 'closed') {
    return (
      <main className="auth-page">
        <h1>{title}</h1>
        <p role="status">{note}</p>
        <SwitchLink mode={mode} search={switchParams.toString()} />
      </main>
    );
  }

  return (
    <main className="auth-page">
      <h1>{title}</h1>
      {note ? <p className="muted">{note}</p> : null}
      {register && urlInvite ? (
        <p className="muted">You were invited: choose your email and password.</p>
      ) : null}
      <form noValidate onSubmit={submit} aria-label={title}>
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete={mode === 'login' ? 'username' : 'email'}
          value={values.email}
          onChange={set('email')}
          onBlur={blur('email')}
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
          onBlur={blur('password')}
          error={fieldError('password')}
          description={register ? PASSWORD_RULE : undefined}
          required
        />
        {showInvite ? (
          <TextField
            label="Invitation code"
            name="invite"
            autoComplete="off"
            spellCheck={false}
            value={values.invite ?? ''}
            onChange={set('invite')}
            onBlur={blur('invite')}
            error={fieldError('invite')}
            description="From your invitation link (starts with cvi_)."
            required={signupMode === 'invite'}
          />
        ) : null}
        <ErrorMessage error={generalError} title={register ? 'Could not create the account' : undefined} />
        <Button type="submit" variant="primary" pending={mutation.isPending}>
          {title}
        </Button>
      </form>
      <SwitchLink mode={mode} search={switchParams.toString()} />
    </main>
  );
}

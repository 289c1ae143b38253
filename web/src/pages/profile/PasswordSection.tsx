import { useState, type FormEvent } from 'react';
import { useUpdateUser } from '../../api/account.ts';
import { ApiError } from '../../api/client.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { TextField } from '../../components/Field.tsx';
import { Button } from '../../components/Button.tsx';
import { fieldSentence, PASSWORD_RULE, passwordLengthIssue } from '../../lib/password-rule.ts';

type Errors = Partial<Record<'current_password' | 'new_password' | 'confirm', string[]>>;

function localErrors(current: string, next: string, confirm: string): Errors {
  const errors: Errors = {};
  if (!current) errors.current_password = ['Enter your current password.'];
  const length = passwordLengthIssue(next);
  if (length) errors.new_password = [length];
  if (confirm !== next) errors.confirm = ['The two new passwords differ.'];
  return errors;
}

/**
 * Password change. Field errors from the server (a wrong current password, a rule on the new one)
 * appear under the field they concern; changing it signs out every other session and token.
 */
export function PasswordSection() {
  const update = useUpdateUser();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [shown, setShown] = useState<Errors>({});
  const [done, setDone] = useState(false);

  const server = update.error instanceof ApiError ? update.error.fieldErrors : {};
  // The strength advice ("is too easy to guess …: Add more words …") reads as a sentence.
  const errorFor = (field: keyof Errors) =>
    shown[field] ?? (field === 'new_password' ? server[field]?.map(fieldSentence) : server[field]) ?? null;
  const unplaced =
    update.error instanceof ApiError &&
    !['current_password', 'new_password'].some((f) => server[f]) &&
    update.error;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    const errors = localErrors(current, next, confirm);
    setShown(errors);
    if (Object.keys(errors).length > 0) return;
    update.mutate(
      { current_password: current, new_password: next },
      {
        onSuccess: () => {
          setCurrent('');
          setNext('');
          setConfirm('');
          setDone(true);
        },
      },
    );
  };

  return (
    <section aria-labelledby="password-heading" className="profile-section">
      <h2 id="password-heading">Password</h2>
      <form onSubmit={submit} noValidate className="profile-form">
        <TextField
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          error={errorFor('current_password')}
        />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          description={PASSWORD_RULE}
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={errorFor('new_password')}
        />
        <TextField
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          error={errorFor('confirm')}
        />
        {unplaced ? <ErrorMessage error={unplaced} title="Could not change the password" /> : null}
        {update.error && !(update.error instanceof ApiError) ? <ErrorMessage error={update.error} /> : null}
        <div>
          <Button type="submit" variant="primary" pending={update.isPending}>
            Change password
          </Button>
        </div>
        <p role="status" className="muted">
          {done ? 'Password changed. Your other sessions and access tokens were signed out.' : ''}
        </p>
      </form>
    </section>
  );
}

/** The sign-up mode: open, by invitation, closed, or the server's default (CHRONOVERSE_SIGNUP). */
import { useState, type FormEvent } from 'react';
import { useSettings, useUpdateSettings } from '../../api/admin.ts';
import type { SignupMode } from '../../api/auth.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';

export const SIGNUP_MODE_LABEL: Record<SignupMode, string> = {
  open: 'Open: anyone can create an account',
  invite: 'By invitation: only with an invitation link',
  closed: 'Closed: only administrators create accounts',
};

const DEFAULT = 'default';
type Choice = SignupMode | typeof DEFAULT;

export function SettingsPanel() {
  const settings = useSettings();
  const update = useUpdateSettings();
  const [choice, setChoice] = useState<Choice | null>(null);
  const [saved, setSaved] = useState(false);

  if (settings.isPending) return <Spinner />;
  if (settings.isError) return <ErrorMessage error={settings.error} title="Could not load the settings" />;
  const s = settings.data;
  const current: Choice = s.signup_mode_source === 'setting' ? s.signup_mode : DEFAULT;
  const selected = choice ?? current;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    update.mutate(selected === DEFAULT ? null : selected, {
      onSuccess: () => {
        setChoice(null);
        setSaved(true);
      },
    });
  };

  const options: { value: Choice; label: string }[] = [
    {
      value: DEFAULT,
      label: `Use the server default (CHRONOVERSE_SIGNUP: ${SIGNUP_MODE_LABEL[s.configured_signup_mode].split(':')[0]?.toLowerCase()})`,
    },
    ...(['open', 'invite', 'closed'] as const).map((m) => ({ value: m, label: SIGNUP_MODE_LABEL[m] })),
  ];

  return (
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">Sign-up</h2>
      <p>
        Now: <strong>{SIGNUP_MODE_LABEL[s.signup_mode]}</strong>{' '}
        <span className="muted">
          ({s.signup_mode_source === 'setting' ? 'set by an administrator' : 'the server default'})
        </span>
      </p>
      <form onSubmit={submit} className="admin-form">
        <fieldset>
          <legend>Who may create an account</legend>
          {options.map((o) => (
            <div className="field field-checkbox" key={o.value}>
              <input
                type="radio"
                id={`signup-${o.value}`}
                name="signup_mode"
                value={o.value}
                checked={selected === o.value}
                onChange={() => {
                  setChoice(o.value);
                  setSaved(false);
                }}
              />
              <label htmlFor={`signup-${o.value}`}>{o.label}</label>
            </div>
          ))}
        </fieldset>
        <Button type="submit" variant="primary" pending={update.isPending} disabled={selected === current}>
          Save
        </Button>
      </form>
      <p role="status" className="muted">
        {saved ? 'Sign-up mode saved.' : ''}
      </p>
      <ErrorMessage error={update.error} title="Could not save the sign-up mode" />
    </section>
  );
}

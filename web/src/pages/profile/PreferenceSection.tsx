import { Label, Radio, RadioGroup, Text } from 'react-aria-components';
import { useUpdateUser } from '../../api/account.ts';
import type { NotificationPreference, User } from '../../api/types.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';

const OPTIONS: ReadonlyArray<{ value: NotificationPreference; label: string; description: string }> = [
  {
    value: 'ALL',
    label: 'All',
    description: 'Builds started and completed, job results, failures, terminations.',
  },
  {
    value: 'ALERTS',
    label: 'Failures only',
    description: 'Failed jobs, failed builds and terminated workflows.',
  },
  { value: 'NONE', label: 'None', description: 'No notifications in the dashboard.' },
];

/** The notification preference: a radio group saved on change (arrow keys move, as in any radio group). */
export function PreferenceSection({ user }: { user: User }) {
  const update = useUpdateUser();
  const pending = update.isPending ? update.variables?.notification_preference : undefined;
  const value = pending ?? user.notification_preference;
  return (
    <section aria-labelledby="preference-heading" className="profile-section">
      <h2 id="preference-heading">Notifications</h2>
      <RadioGroup
        value={value}
        onChange={(next) => update.mutate({ notification_preference: next as NotificationPreference })}
        isDisabled={update.isPending}
        className="radio-group"
      >
        <Label>Notify me about</Label>
        {OPTIONS.map((o) => (
          <Radio key={o.value} value={o.value} className="radio">
            <span className="radio-mark" aria-hidden="true" />
            <span>
              <span className="radio-label">{o.label}</span>
              <Text slot="description" className="field-description">
                {o.description}
              </Text>
            </span>
          </Radio>
        ))}
      </RadioGroup>
      <p role="status" className="muted">
        {update.isSuccess ? 'Preference saved.' : ''}
      </p>
      {update.isError && <ErrorMessage error={update.error} title="Could not save the preference" />}
    </section>
  );
}

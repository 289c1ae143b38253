/** The account page: who I am, the notification preference, the password, personal access tokens. */
import { useMe } from '../../api/auth.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { PasswordSection } from './PasswordSection.tsx';
import { PreferenceSection } from './PreferenceSection.tsx';
import { TokensSection } from './TokensSection.tsx';
import './profile.css';

export default function ProfilePage() {
  const me = useMe();
  return (
    <section aria-labelledby="profile-heading" className="profile-page">
      <h1 id="profile-heading">Profile</h1>
      {me.isPending ? (
        <Spinner />
      ) : me.isError || !me.data ? (
        <ErrorMessage error={me.error ?? new Error('Not signed in.')} title="Could not load your account" />
      ) : (
        <>
          <dl className="profile-facts">
            <div>
              <dt>Email</dt>
              <dd>{me.data.email}</dd>
            </div>
            <div>
              <dt>Role</dt>
              <dd>{me.data.role === 'admin' ? 'Administrator' : 'User'}</dd>
            </div>
            <div>
              <dt>Member since</dt>
              <dd>
                <time dateTime={me.data.created_at}>
                  {new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(
                    Date.parse(me.data.created_at),
                  )}
                </time>
              </dd>
            </div>
          </dl>
          <PreferenceSection user={me.data} />
          <PasswordSection />
          <TokensSection />
        </>
      )}
    </section>
  );
}

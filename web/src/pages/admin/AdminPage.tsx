/**
 * The administration section (`/admin/*`, its own lazy chunk): the sign-up mode, invitations,
 * accounts and roles, the audit log. Shown to administrators; anyone else gets a plain refusal
 * (the API refuses them too: 403).
 */
import { NavLink, Route, Routes } from 'react-router';
import { useMe } from '../../api/auth.ts';
import { Spinner } from '../../components/Spinner.tsx';
import { NotFoundPage } from '../NotFoundPage.tsx';
import { AuditPanel } from './AuditPanel.tsx';
import { InvitesPanel } from './InvitesPanel.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { UsersPanel } from './UsersPanel.tsx';
import './admin.css';

export default function AdminPage() {
  const me = useMe();
  if (me.isPending) return <Spinner />;
  if (me.data?.role !== 'admin') {
    return (
      <section aria-labelledby="admin-heading">
        <h1 id="admin-heading">Administration</h1>
        <p role="alert">Administrators only: your account cannot see this section.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="admin-heading" className="admin-page">
      <h1 id="admin-heading">Administration</h1>
      <nav aria-label="Administration" className="admin-nav">
        <ul>
          <li>
            <NavLink to="/admin" end>
              Settings
            </NavLink>
          </li>
          <li>
            <NavLink to="/admin/invites">Invitations</NavLink>
          </li>
          <li>
            <NavLink to="/admin/users">Users</NavLink>
          </li>
          <li>
            <NavLink to="/admin/audit">Audit log</NavLink>
          </li>
        </ul>
      </nav>
      <Routes>
        <Route index element={<SettingsPanel />} />
        <Route path="invites" element={<InvitesPanel />} />
        <Route path="users" element={<UsersPanel me={me.data} />} />
        <Route path="audit" element={<AuditPanel />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </section>
  );
}

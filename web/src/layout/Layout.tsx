import { lazy, Suspense } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router';
import { useLogout, useMe } from '../api/auth.ts';
import { Button } from '../components/Button.tsx';
import { ThemeToggle } from '../theme/ThemeToggle.tsx';

// Its own chunk: the bell brings the notifications stream and drawer.
const NotificationsBell = lazy(() => import('../features/notifications/NotificationsBell.tsx'));

export function Layout() {
  const me = useMe();
  const logout = useLogout();
  const navigate = useNavigate();
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="app-header">
        <NavLink to="/" className="app-brand">
          Chronoverse
        </NavLink>
        <nav aria-label="Main" className="app-nav">
          <ul>
            <li>
              <NavLink to="/" end>
                Workflows
              </NavLink>
            </li>
            <li>
              <NavLink to="/runs">Runs</NavLink>
            </li>
            <li>
              <NavLink to="/analytics">Analytics</NavLink>
            </li>
            <li>
              <NavLink to="/profile">Profile</NavLink>
            </li>
            {me.data?.role === 'admin' ? (
              <li>
                <NavLink to="/admin">Admin</NavLink>
              </li>
            ) : null}
          </ul>
        </nav>
        <div className="app-header-actions">
          <Suspense fallback={null}>
            <NotificationsBell />
          </Suspense>
          <ThemeToggle />
          {me.data && <span className="muted">{me.data.email}</span>}
          <Button
            variant="ghost"
            pending={logout.isPending}
            onClick={() =>
              logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) })
            }
          >
            Log out
          </Button>
        </div>
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

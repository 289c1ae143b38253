/**
 * Routes of the dashboard. Signed-in pages sit under <RequireAuth> and the <Layout> (header,
 * navigation, notifications bell, theme, log out); pages other engineers own are lazy chunks.
 */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { Spinner } from './components/Spinner.tsx';
import { Layout } from './layout/Layout.tsx';
import { RedirectIfSignedIn, RequireAuth } from './layout/RequireAuth.tsx';
import { LoginPage } from './pages/auth/LoginPage.tsx';
import { RegisterPage } from './pages/auth/RegisterPage.tsx';
import { ResetPasswordPage } from './pages/auth/ResetPasswordPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.tsx';

const WorkflowDetailPage = lazy(() => import('./pages/workflows/WorkflowDetailPage.tsx'));
const WorkflowCreatePage = lazy(() => import('./pages/workflows/WorkflowCreatePage.tsx'));
const WorkflowEditPage = lazy(() => import('./pages/workflows/WorkflowEditPage.tsx'));
const JobPage = lazy(() => import('./pages/job/JobPage.tsx'));
const ProfilePage = lazy(() => import('./pages/profile/ProfilePage.tsx'));
const RunsPage = lazy(() => import('./pages/runs/RunsPage.tsx'));
const AnalyticsPage = lazy(() => import('./pages/analytics/AnalyticsPage.tsx'));
// Administrators only: its own chunk, fetched when an administrator opens it.
const AdminPage = lazy(() => import('./pages/admin/AdminPage.tsx'));

/** The route table, without the router (tests wrap it in a MemoryRouter). */
export function AppRoutes() {
  return (
    <Suspense fallback={<Spinner />}>
      <Routes>
        <Route element={<RedirectIfSignedIn />}>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
        </Route>
        <Route element={<RequireAuth />}>
          <Route element={<Layout />}>
            <Route index element={<WorkflowsPage />} />
            <Route path="/workflows/new" element={<WorkflowCreatePage />} />
            <Route path="/workflows/:workflowId" element={<WorkflowDetailPage />} />
            <Route path="/workflows/:workflowId/edit" element={<WorkflowEditPage />} />
            <Route path="/workflows/:workflowId/jobs/:jobId" element={<JobPage />} />
            <Route path="/runs" element={<RunsPage />} />
            <Route path="/profile" element={<ProfilePage />} />
            <Route path="/analytics" element={<AnalyticsPage />} />
            <Route path="/admin/*" element={<AdminPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Route>
      </Routes>
    </Suspense>
  );
}

export function App({ queryClient }: { queryClient: QueryClient }) {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  );
}

/**
 * Administration hooks (docs/api.md "Administration"): the sign-up mode, invitations, accounts and
 * roles, the audit log. Only the lazy admin pages import this module.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { meKey, signupKey, type SignupMode } from './auth.ts';
import { api } from './client.ts';
import type { ResponseOf, Schemas, User, UserRole } from './types.ts';

/**
 * `signup_mode`: the mode registrations meet now; `signup_mode_source`: `setting` (an administrator
 * chose it) or `configuration` (CHRONOVERSE_SIGNUP).
 */
export type Settings = Schemas['Settings'];
export type Invite = Schemas['Invite'];
export type InviteStatus = Invite['status'];
/** The create answer: the only time the secret and its link (`/register?invite=cvi_…`) are sent. */
export type CreatedInvite = Schemas['CreatedInvite'];
export type InviteCreate = Schemas['InviteCreate'];
export type AuditEvent = Schemas['AuditEvent'];
type InvitePage = ResponseOf<'/api/v1/admin/invites', 'get'>;
type UserPage = ResponseOf<'/api/v1/admin/users', 'get'>;
type AuditPage = ResponseOf<'/api/v1/admin/audit', 'get'>;

export interface AuditFilter {
  action?: string | undefined;
  user?: string | undefined;
  /** RFC 3339 with a zone, inclusive. */
  since?: string | undefined;
  /** RFC 3339 with a zone, exclusive. */
  until?: string | undefined;
}

/** The actions the audit log records (docs/api.md), for the filter. */
export const AUDIT_ACTIONS = [
  'auth.login.succeeded',
  'auth.login.failed',
  'user.registered',
  'user.created',
  'user.role_changed',
  'user.password_changed',
  'token.created',
  'token.revoked',
  'settings.signup_mode_changed',
  'invite.created',
  'invite.revoked',
  'workflow.deleted',
] as const;

export const adminKeys = {
  all: ['admin'] as const,
  settings: () => [...adminKeys.all, 'settings'] as const,
  invites: (cursor?: string) => [...adminKeys.all, 'invites', cursor ?? null] as const,
  users: (cursor?: string) => [...adminKeys.all, 'users', cursor ?? null] as const,
  audit: (filter: AuditFilter, cursor?: string) =>
    [...adminKeys.all, 'audit', filter, cursor ?? null] as const,
};

const PAGE = 50;

export function useSettings() {
  return useQuery({
    queryKey: adminKeys.settings(),
    queryFn: ({ signal }) => api.get<Settings>('/admin/settings', { signal }),
  });
}

export function useUpdateSettings() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (signup_mode: SignupMode | null) => api.put<Settings>('/admin/settings', { signup_mode }),
    onSuccess: (settings) => {
      client.setQueryData(adminKeys.settings(), settings);
      void client.invalidateQueries({ queryKey: signupKey });
      void client.invalidateQueries({ queryKey: [...adminKeys.all, 'audit'] });
    },
  });
}

export function useInvites(cursor?: string) {
  return useQuery({
    queryKey: adminKeys.invites(cursor),
    queryFn: ({ signal }) =>
      api.get<InvitePage>('/admin/invites', {
        signal,
        query: { limit: PAGE, cursor },
      }),
    placeholderData: keepPreviousData,
  });
}

export function useCreateInvite() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: InviteCreate) => api.post<CreatedInvite>('/admin/invites', body),
    onSuccess: () => client.invalidateQueries({ queryKey: [...adminKeys.all] }),
  });
}

export function useRevokeInvite() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete<void>(`/admin/invites/${encodeURIComponent(id)}`),
    onSuccess: () => client.invalidateQueries({ queryKey: [...adminKeys.all] }),
  });
}

export function useUsers(cursor?: string) {
  return useQuery({
    queryKey: adminKeys.users(cursor),
    queryFn: ({ signal }) =>
      api.get<UserPage>('/admin/users', {
        signal,
        query: { limit: PAGE, cursor },
      }),
    placeholderData: keepPreviousData,
  });
}

export type AdminUserCreate = Schemas['AdminUserCreate'];

export function useCreateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: AdminUserCreate) => api.post<User>('/admin/users', body),
    onSuccess: () => client.invalidateQueries({ queryKey: [...adminKeys.all] }),
  });
}

export function useSetRole() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, role }: { id: string; role: UserRole }) =>
      api.patch<User>(`/admin/users/${encodeURIComponent(id)}`, { role }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: [...adminKeys.all] });
      // Demoting myself changes what the dashboard shows me.
      void client.invalidateQueries({ queryKey: meKey });
    },
  });
}

export function useAudit(filter: AuditFilter, cursor?: string) {
  return useQuery({
    queryKey: adminKeys.audit(filter, cursor),
    queryFn: ({ signal }) =>
      api.get<AuditPage>('/admin/audit', {
        signal,
        query: { limit: PAGE, cursor, ...filter },
      }),
    placeholderData: keepPreviousData,
  });
}

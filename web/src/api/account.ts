/** Account hooks: notification preference, password change, personal access tokens. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { meKey } from './auth.ts';
import { api } from './client.ts';
import type { NotificationPreference, User } from './types.ts';

export const NOTIFICATION_PREFERENCES = [
  'ALL',
  'ALERTS',
  'NONE',
] as const satisfies readonly NotificationPreference[];

export interface UserUpdate {
  notification_preference?: NotificationPreference;
  current_password?: string;
  new_password?: string;
}

export interface PersonalAccessToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** The create answer: the only time the secret is ever sent. */
export interface CreatedPersonalAccessToken extends PersonalAccessToken {
  token: string;
}

export interface TokenCreate {
  name: string;
  expires_in_days?: number;
}

export const tokenKeys = { all: ['tokens'] as const };

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: UserUpdate) => api.put<User>('/users', body),
    onSuccess: (user) => {
      client.setQueryData(meKey, user);
      // A password change revokes every other token: the list is stale.
      void client.invalidateQueries({ queryKey: tokenKeys.all });
    },
  });
}

export function useTokens() {
  return useQuery({
    queryKey: tokenKeys.all,
    queryFn: ({ signal }) => api.get<{ tokens: PersonalAccessToken[] }>('/auth/tokens', { signal }),
    select: (data) => data.tokens,
  });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TokenCreate) => api.post<CreatedPersonalAccessToken>('/auth/tokens', body),
    onSuccess: () => client.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete<void>(`/auth/tokens/${encodeURIComponent(id)}`),
    onSuccess: () => client.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}

/** Account hooks: notification preference, password change, personal access tokens. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { meKey } from './auth.ts';
import { api } from './client.ts';
import type { NotificationPreference, Schemas, User } from './types.ts';

export const NOTIFICATION_PREFERENCES = [
  'ALL',
  'ALERTS',
  'NONE',
] as const satisfies readonly NotificationPreference[];

export type UserUpdate = Schemas['UserUpdate'];

/** What a personal access token may do (docs/api.md "Token scopes"). */
export type TokenScope = PersonalAccessToken['scopes'][number];
export const TOKEN_SCOPES = ['read', 'write', 'tokens', 'admin'] as const satisfies readonly TokenScope[];
/** What the API gives a token created without `scopes`. */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = ['read', 'write'];

/** `parent_id`: the token that minted this one (revoking it revokes this too). */
export type PersonalAccessToken = Schemas['PersonalAccessToken'];
/** The create answer: the only time the secret is ever sent. */
export type CreatedPersonalAccessToken = Schemas['CreatedPersonalAccessToken'];
/** `expires_at`: RFC 3339 with a zone, at most 365 days ahead; or `expires_in_days`. */
export type TokenCreate = Schemas['TokenCreate'];

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

/** Session hooks: the current user, register, login, logout. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from './client.ts';
import type { Session, User } from './types.ts';

export const meKey = ['me'] as const;

/** The signed-in user; `null` when not signed in (401), so guards can redirect. */
export function useMe() {
  return useQuery({
    queryKey: meKey,
    queryFn: async ({ signal }): Promise<User | null> => {
      try {
        return await api.get<User>('/users', { signal });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export interface Credentials {
  email: string;
  password: string;
}

function useSessionMutation(path: '/auth/login' | '/auth/register') {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Credentials) => api.post<Session>(path, body),
    meta: { authForm: true },
    onSuccess: (session) => {
      client.clear();
      client.setQueryData(meKey, session.user);
    },
  });
}

export const useLogin = () => useSessionMutation('/auth/login');
export const useRegister = () => useSessionMutation('/auth/register');

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<void>('/auth/logout'),
    // Signed out either way: a 401 means the session had already ended.
    onSettled: () => {
      client.clear();
      client.setQueryData(meKey, null);
    },
  });
}

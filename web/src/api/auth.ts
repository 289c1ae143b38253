/** Session hooks: the current user, the sign-up mode, register, login, logout. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from './client.ts';
import type { ResponseOf, Schemas, Session, User } from './types.ts';

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

/** `invite`, registration only: the invitation secret (`cvi_…`) from `?invite=`. */
export type Credentials = Schemas['Registration'];

type SignupAnswer = ResponseOf<'/api/v1/auth/signup', 'get'>;
/** Who may register now (`GET /auth/signup`); docs/api.md "Sign-up". */
export type SignupMode = SignupAnswer['mode'];
export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const satisfies readonly SignupMode[];

export const signupKey = ['signup'] as const;

export function useSignupMode() {
  return useQuery({
    queryKey: signupKey,
    queryFn: ({ signal }) => api.get<SignupAnswer>('/auth/signup', { signal }),
    select: (data) => data.mode,
    staleTime: 30_000,
  });
}

function useSessionMutation(path: '/auth/login' | '/auth/register') {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Credentials) => api.post<Session>(path, body),
    meta: { authForm: true },
    onError: (error) => {
      // Refused by the sign-up mode: it changed since the page read it.
      if (error instanceof ApiError && /^CV_(SIGNUP_CLOSED|INVITE_REQUIRED)$/.test(error.code)) {
        void client.invalidateQueries({ queryKey: signupKey });
      }
    },
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

import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { meKey } from '../api/auth.ts';
import { ApiError } from '../api/client.ts';

/**
 * Client errors (4xx) are answers, not glitches: never retried. A 401 anywhere means the session
 * ended (expired, revoked, password changed elsewhere): the guard then sends the user to /login.
 */
export function createQueryClient(): QueryClient {
  const sessionEnded = (error: unknown) => {
    if (error instanceof ApiError && error.status === 401) client.setQueryData(meKey, null);
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (query.queryKey[0] !== meKey[0]) sessionEnded(error);
      },
    }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        // A failed login is a 401 too, and says nothing about a session.
        if (!mutation.options.meta?.authForm) sessionEnded(error);
      },
    }),
    defaultOptions: {
      queries: {
        retry: (failures, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 2,
      },
      mutations: { retry: false },
    },
  });
  return client;
}

/** Renders a tree with a fresh query client and an in-memory router at `path`. */
import { QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { createQueryClient } from '../lib/query-client.ts';

export function LocationProbe() {
  const location = useLocation();
  return <output data-testid="location">{`${location.pathname}${location.search}`}</output>;
}

export function renderAt(path: string, element: ReactNode, routePath = '*') {
  const client = createQueryClient();
  return {
    client,
    ...render(
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path={routePath} element={element} />
          </Routes>
          <LocationProbe />
        </MemoryRouter>
      </QueryClientProvider>,
    ),
  };
}

/**
 * A fetch that answers like the gateway for the paths a test gives; records every request. Not a
 * fake of our logic: the component under test builds the requests and reads the answers.
 */
export function stubFetch(
  routes: Record<string, (req: { method: string; url: URL; body: unknown }) => Response>,
) {
  const calls: { method: string; url: URL; headers: Headers; body: unknown }[] = [];
  const fetchFn = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost');
    const method = init.method ?? 'GET';
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    calls.push({ method, url, headers: new Headers(init.headers), body });
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return json(404, { title: 'Not found', status: 404, code: 'CV_ROUTE_NOT_FOUND' });
    return handler({ method, url, body });
  };
  globalThis.fetch = fetchFn as typeof fetch;
  return calls;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const problem = status >= 400;
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': problem ? 'application/problem+json' : 'application/json', ...headers },
  });
}

/**
 * Test doubles at the network boundary only: `fetch` (answered by a handler the test writes, like a
 * tiny gateway) and `EventSource` (driven by the test). Our own code — the API client, hooks, cache
 * updates and components — runs for real on top of them.
 */
import { vi } from 'vitest';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Record<string, string>;
}

export type FakeReply = { status?: number; body?: unknown } | undefined;

/** Installs a fake `fetch`; unknown routes answer 404 problem+json. Returns the recorded requests. */
export function installFakeFetch(handler: (req: FakeRequest) => FakeReply | Promise<FakeReply>) {
  const requests: FakeRequest[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost');
    const req: FakeRequest = {
      method: (init.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      headers: { ...(init.headers as Record<string, string> | undefined) },
    };
    requests.push(req);
    const reply = (await handler(req)) ?? {
      status: 404,
      body: { type: 'about:blank', title: 'Not found', status: 404, detail: '', code: 'CV_NOT_FOUND' },
    };
    const status = reply.status ?? 200;
    const isProblem = status >= 400;
    return new Response(status === 204 || reply.body === undefined ? null : JSON.stringify(reply.body), {
      status,
      headers: { 'content-type': isProblem ? 'application/problem+json' : 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetch);
  return { requests, fetch };
}

export function problem(status: number, code: string, errors: Array<{ path: string; message: string }> = []) {
  return {
    status,
    body: {
      type: `urn:chronoverse:problem:${code}`,
      title: status === 400 ? 'Invalid request' : 'Error',
      status,
      detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      code,
      errors,
    },
  };
}

/** An EventSource the test drives: `open()`, `emit(type, data)`, `fail(closed)`. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  readonly withCredentials: boolean;
  readyState = 0;
  private listeners = new Map<string, Set<(event: Event) => void>>();

  constructor(url: string | URL, init?: EventSourceInit) {
    this.url = String(url);
    this.withCredentials = init?.withCredentials ?? false;
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, listener: (event: Event) => void): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    this.readyState = 2;
  }

  private dispatch(event: Event): void {
    for (const listener of this.listeners.get(event.type) ?? []) listener(event);
  }

  open(): void {
    this.readyState = 1;
    this.dispatch(new Event('open'));
  }

  emit(type: string, data: unknown, lastEventId = ''): void {
    this.dispatch(
      new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId }),
    );
  }

  /** A dropped connection: `closed` = the browser gave up (a non-200 answer) instead of retrying. */
  fail(closed: boolean): void {
    this.readyState = closed ? 2 : 0;
    this.dispatch(new Event('error'));
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error('no EventSource was opened');
    return last;
  }

  static install(): void {
    FakeEventSource.instances = [];
    vi.stubGlobal('EventSource', FakeEventSource);
  }
}

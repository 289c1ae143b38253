/**
 * `@chronoverse/client`: the Chronoverse HTTP API, typed from the OpenAPI 3.1 document the
 * gateway serves (./generated/schema.ts, by openapi-typescript; `npm run client:gen`), called
 * through openapi-fetch. Paths, parameters, bodies and answers are checked by the compiler:
 *
 *   const api = createChronoverseClient({ baseUrl: 'http://localhost:8080', token });
 *   const { data, error } = await api.GET('/api/v1/workflows', { params: { query: { labels: 'team=data' } } });
 *   const workflow = unwrap(await api.GET('/api/v1/workflows/{id}', { params: { path: { id } } }));
 *
 * Errors are problem+json documents (`Problem`); `unwrap` turns one into a `ChronoverseApiError`.
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/schema.ts';

export type { components, paths } from './generated/schema.ts';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];
export type Workflow = Schemas['Workflow'];
/** Request bodies are the `…Input` schemas (before defaults are filled in). */
export type WorkflowCreate = Schemas['WorkflowCreateInput'];
export type WorkflowUpdate = Schemas['WorkflowUpdateInput'];
export type Job = Schemas['Job'];
export type WorkflowJob = Schemas['WorkflowJob'];
export type LogLine = Schemas['LogLine'];

export type ChronoverseClient = Client<paths>;

export interface ChronoverseClientOptions {
  /** The server's root, such as `http://localhost:8080` (the paths carry `/api/v1`). */
  baseUrl: string;
  /** A session token or personal access token, sent as `Authorization: Bearer`. */
  token?: string;
  /** Sent as `User-Agent` (servers log it). */
  userAgent?: string;
  /** Another fetch (tests, proxies). */
  fetch?: (input: Request) => Promise<Response>;
}

export function createChronoverseClient(options: ChronoverseClientOptions): ChronoverseClient {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  return createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** A problem+json answer (or another non-2xx one) as an error: its status, code and field errors. */
export class ChronoverseApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;
  constructor(status: number, problem: Problem | null, fallback: string) {
    const fields = problem?.errors?.map((e) => `${e.path ? `${e.path} ` : ''}${e.message}`) ?? [];
    super(
      problem
        ? `${problem.detail}${fields.length > 0 ? ` ${fields.join('; ')}` : ''} (${problem.code}, ${status})`
        : fallback,
    );
    this.name = 'ChronoverseApiError';
    this.status = status;
    this.problem = problem;
  }
  get code(): string | null {
    return this.problem?.code ?? null;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value;
}

/** The answer's data, or a `ChronoverseApiError` for an error answer. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  const status = result.response.status;
  throw new ChronoverseApiError(
    status,
    isProblem(result.error) ? result.error : null,
    `${result.response.url} answered ${status} ${result.response.statusText}`,
  );
}

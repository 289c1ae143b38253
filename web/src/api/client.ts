/**
 * The one way the dashboard talks to the gateway: same-origin fetch with the session cookie, the
 * double-submit CSRF header on every state-changing request, and problem+json answers turned into
 * `ApiError` (with `fieldErrors` keyed by the API's dotted paths, e.g. `payload.image`).
 */

export const API_BASE = '/api/v1';
/** The readable cookie the gateway sets next to the HttpOnly session (src/gateway/auth.ts). */
export const CSRF_COOKIE = 'cv_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  /** Every offending field, keyed by its dotted path (`''` for the whole body). */
  readonly fieldErrors: Record<string, string[]>;
  readonly issues: FieldIssue[];
  /** Seconds from `Retry-After` (429, 503), or null. */
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    status: number;
    title: string;
    detail?: string;
    code?: string;
    issues?: FieldIssue[];
    retryAfterSeconds?: number | null;
  }) {
    super(init.detail || init.title);
    this.name = 'ApiError';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail ?? '';
    this.code = init.code ?? '';
    this.issues = init.issues ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.fieldErrors = {};
    for (const issue of this.issues) (this.fieldErrors[issue.path] ??= []).push(issue.message);
  }
}

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=x` from the defined, non-empty values of `query` (in key order). */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function apiRequest<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (MUTATING.has(method)) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  const response = await fetch(`${API_BASE}${path}${queryString(options.query)}`, {
    method,
    credentials: 'same-origin',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function toApiError(response: Response): Promise<ApiError> {
  const retry = response.headers.get('retry-after');
  const retryAfterSeconds = retry !== null && /^\d+$/.test(retry) ? Number(retry) : null;
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = await response.json();
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): fall back to the status line.
  }
  const issues = Array.isArray(body.errors)
    ? (body.errors as unknown[]).filter(
        (e): e is FieldIssue =>
          typeof e === 'object' &&
          e !== null &&
          typeof (e as FieldIssue).path === 'string' &&
          typeof (e as FieldIssue).message === 'string',
      )
    : [];
  return new ApiError({
    status: response.status,
    title: typeof body.title === 'string' ? body.title : response.statusText || `HTTP ${response.status}`,
    detail: typeof body.detail === 'string' ? body.detail : '',
    code: typeof body.code === 'string' ? body.code : '',
    issues,
    retryAfterSeconds,
  });
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => apiRequest<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    apiRequest<T>('POST', path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    apiRequest<T>('PUT', path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    apiRequest<T>('PATCH', path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => apiRequest<T>('DELETE', path, options),
};

/** The scope a `CV_INSUFFICIENT_SCOPE` answer names (`… lacks the "tokens" scope.`), or null. */
export function missingScope(error: ApiError): string | null {
  return /"(read|write|tokens|admin)"/.exec(error.detail)?.[1] ?? null;
}

/**
 * The access-control refusals in the dashboard's words: which scope is missing and what to do, why
 * a registration was refused. `null` for any other error.
 */
export function accessMessage(error: ApiError): string | null {
  switch (error.code) {
    case 'CV_INSUFFICIENT_SCOPE': {
      const scope = missingScope(error);
      return `Not allowed: this credential lacks the ${scope ? `“${scope}” ` : ''}scope this action needs. Sign in again, or use a token created with ${scope ? `the “${scope}”` : 'that'} scope.`;
    }
    case 'CV_SIGNUP_CLOSED':
      return 'Sign-up is closed on this installation: ask an administrator to create your account.';
    case 'CV_INVITE_REQUIRED':
      return 'Sign-up needs an invitation: open the invitation link an administrator sent you.';
    default:
      return null;
  }
}

/** A readable one-line message for any error a query or mutation may throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const access = accessMessage(error);
    if (access) return access;
    if (error.status === 429 && error.retryAfterSeconds !== null) {
      return `${error.detail || error.title} Try again in ${error.retryAfterSeconds} s.`;
    }
    return error.detail || error.title;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

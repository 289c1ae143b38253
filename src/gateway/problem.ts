/**
 * Errors → RFC 9457 problem documents (`application/problem+json`). The catalogue's codes map to
 * statuses here and nowhere else. Anything unexpected is a 500 with no internals in the body.
 */
import { isConnectionFailure } from '../platform/db/connection-errors.ts';
import { ChronoverseError, RateLimitedError, ValidationError, type FieldIssue } from '../domain/errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldIssue[];
}

const STATUS_BY_CODE: Record<string, { status: number; title: string }> = {
  CV_VALIDATION: { status: 400, title: 'Invalid request' },
  CV_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  CV_INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  CV_CSRF: { status: 403, title: 'CSRF check failed' },
  CV_FORBIDDEN: { status: 403, title: 'Forbidden' },
  CV_NOT_FOUND: { status: 404, title: 'Not found' },
  CV_EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  CV_IDEMPOTENCY_MISMATCH: { status: 409, title: 'Idempotency key reused' },
  CV_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  CV_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  CV_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
};

/** Fastify's own client errors we expect, by code. */
const FASTIFY_CODES: Record<string, { status: number; title: string; code: string; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, title: 'Request body too large', code: 'CV_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    code: 'CV_UNSUPPORTED_MEDIA_TYPE',
    detail: 'Send JSON with Content-Type: application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, title: 'Invalid request', code: 'CV_MALFORMED_REQUEST' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    title: 'Invalid request',
    code: 'CV_MALFORMED_REQUEST',
    detail: 'The body is not valid JSON.',
  },
};

export function problemType(code: string): string {
  return `urn:chronoverse:problem:${code}`;
}

export interface MappedProblem {
  problem: Problem;
  headers: Record<string, string>;
  /** True when the failure is ours (5xx) and must be logged with its stack. */
  internal: boolean;
}

export function toProblem(err: unknown): MappedProblem {
  if (err instanceof ChronoverseError) {
    const entry = STATUS_BY_CODE[err.code] ?? { status: 500, title: 'Internal error' };
    const problem: Problem = {
      type: problemType(err.code),
      title: entry.title,
      status: entry.status,
      detail: err.message,
      code: err.code,
    };
    if (err instanceof ValidationError) problem.errors = err.issues;
    const headers: Record<string, string> = {};
    if (err instanceof RateLimitedError) headers['retry-after'] = String(err.retryAfterSeconds);
    return { problem, headers, internal: entry.status >= 500 && entry.status !== 503 };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; name?: string } | undefined;
  const known = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (known) {
    return {
      problem: {
        type: problemType(known.code),
        title: known.title,
        status: known.status,
        detail: known.detail ?? e?.message ?? known.title,
        code: known.code,
      },
      headers: {},
      internal: false,
    };
  }
  if (e?.name === 'SyntaxError' && e.statusCode === 400) {
    return malformed('The body is not valid JSON.');
  }
  if (isConnectionFailure(e)) {
    return {
      problem: {
        type: problemType('CV_UNAVAILABLE'),
        title: 'Service unavailable',
        status: 503,
        detail: 'The database is unreachable; try again shortly.',
        code: 'CV_UNAVAILABLE',
      },
      headers: { 'retry-after': '5' },
      internal: false,
    };
  }
  // Data exceptions (class 22) and check violations reaching the database are bad input that
  // slipped past validation: still the client's 400, never a 500 (and logged as a warning).
  if (typeof e?.code === 'string' && (/^22/.test(e.code) || e.code === '23514')) {
    return { ...malformed('A value is out of range or malformed.'), internal: false };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return malformed(e.message ?? 'Malformed request.', e.statusCode);
  }
  return {
    problem: {
      type: problemType('CV_INTERNAL'),
      title: 'Internal error',
      status: 500,
      detail: 'The server failed to handle this request; it has been logged.',
      code: 'CV_INTERNAL',
    },
    headers: {},
    internal: true,
  };
}

function malformed(detail: string, status = 400): MappedProblem {
  return {
    problem: {
      type: problemType('CV_MALFORMED_REQUEST'),
      title: 'Invalid request',
      status,
      detail,
      code: 'CV_MALFORMED_REQUEST',
    },
    headers: {},
    internal: false,
  };
}

/** Codes that only the gateway produces (not in the domain catalogue). */
export const GATEWAY_ERROR_CODES = [
  'CV_BODY_TOO_LARGE',
  'CV_UNSUPPORTED_MEDIA_TYPE',
  'CV_MALFORMED_REQUEST',
  'CV_ROUTE_NOT_FOUND',
  'CV_INTERNAL',
] as const;

/**
 * Errors → RFC 9457 problem documents (`application/problem+json`). The catalogue's codes map to
 * statuses here and nowhere else. Anything unexpected is a 500 with no internals in the body.
 */
import { isConnectionFailure } from '../platform/db/connection-errors.ts';
import {
  ChronoverseError,
  ForbiddenError,
  InsufficientScopeError,
  QuotaExceededError,
  RateLimitedError,
  RunRateExceededError,
  ScheduleTooFrequentError,
  ValidationError,
  type FieldIssue,
  type QuotaDetail,
} from '../domain/errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldIssue[];
  /** The limit a 400/408/413/414/431 crossed (docs/api.md "Limits"). */
  limit?: ProblemLimit;
  /** The user's quota a 400/409/429 crossed (docs/api.md "Quotas"). */
  quota?: QuotaDetail;
}

export interface ProblemLimit {
  /** `json_depth`, `body_bytes`, `url_bytes`, `header_bytes`, `request_timeout_ms`. */
  name: string;
  max: number;
}

const STATUS_BY_CODE: Record<string, { status: number; title: string }> = {
  CV_VALIDATION: { status: 400, title: 'Invalid request' },
  CV_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  CV_INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  CV_CSRF: { status: 403, title: 'CSRF check failed' },
  CV_FORBIDDEN: { status: 403, title: 'Forbidden' },
  CV_INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient scope' },
  CV_SIGNUP_CLOSED: { status: 403, title: 'Sign-up closed' },
  CV_INVITE_REQUIRED: { status: 403, title: 'Invitation required' },
  CV_NOT_FOUND: { status: 404, title: 'Not found' },
  CV_EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  CV_IDEMPOTENCY_MISMATCH: { status: 409, title: 'Idempotency key reused' },
  CV_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  CV_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  CV_QUOTA_EXCEEDED: { status: 409, title: 'Quota exceeded' },
  CV_RUN_RATE_EXCEEDED: { status: 429, title: 'Run quota exceeded' },
  CV_SCHEDULE_TOO_FREQUENT: { status: 400, title: 'Schedule too frequent' },
  CV_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  CV_WORKFLOW_TERMINATED: { status: 409, title: 'Workflow terminated' },
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

/** The codes the HTTP layer itself raises (limits and malformed requests), by status. */
const GATEWAY_PROBLEMS = {
  CV_MALFORMED_REQUEST: { status: 400, title: 'Invalid request' },
  CV_BODY_TOO_DEEP: { status: 400, title: 'Request body nested too deeply' },
  CV_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  CV_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  CV_URI_TOO_LONG: { status: 414, title: 'URI too long' },
  CV_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
} as const;

/**
 * An error the HTTP layer raises before any route runs: a limit crossed or a request that is not
 * well-formed HTTP/JSON. It names the limit or the part (`errors`) so the client can fix it.
 */
export class HttpProblemError extends Error {
  readonly code: keyof typeof GATEWAY_PROBLEMS;
  readonly limit: ProblemLimit | undefined;
  readonly issues: FieldIssue[] | undefined;
  /** The client went away or was cut off: nothing can be answered, and it is not our failure. */
  readonly aborted: boolean;
  constructor(
    code: keyof typeof GATEWAY_PROBLEMS,
    detail: string,
    extra: { limit?: ProblemLimit; errors?: FieldIssue[]; aborted?: boolean } = {},
  ) {
    super(detail);
    this.code = code;
    this.limit = extra.limit;
    this.issues = extra.errors;
    this.aborted = extra.aborted ?? false;
  }
}

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
  if (err instanceof HttpProblemError) {
    const entry = GATEWAY_PROBLEMS[err.code];
    const problem: Problem = {
      type: problemType(err.code),
      title: entry.title,
      status: entry.status,
      detail: err.message,
      code: err.code,
    };
    if (err.issues) problem.errors = err.issues;
    if (err.limit) problem.limit = err.limit;
    return { problem, headers: {}, internal: false };
  }
  if (err instanceof ChronoverseError) {
    const entry = STATUS_BY_CODE[err.code] ?? { status: 500, title: 'Internal error' };
    const problem: Problem = {
      type: problemType(err.code),
      title: entry.title,
      status: entry.status,
      detail: err.message,
      code: err.code,
    };
    if (err instanceof ValidationError || err instanceof ScheduleTooFrequentError)
      problem.errors = err.issues;
    if (err instanceof ForbiddenError && err.issues.length > 0) problem.errors = err.issues;
    if (
      err instanceof QuotaExceededError ||
      err instanceof RunRateExceededError ||
      err instanceof ScheduleTooFrequentError
    ) {
      problem.quota = { ...err.quota };
    }
    const headers: Record<string, string> = {};
    if (err instanceof RateLimitedError || err instanceof RunRateExceededError) {
      headers['retry-after'] = String(err.retryAfterSeconds);
    }
    // RFC 6750 §3.1: tells a client which scope its token would need.
    if (err instanceof InsufficientScopeError) {
      headers['www-authenticate'] = `Bearer error="insufficient_scope", scope="${err.scope}"`;
    }
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
  'CV_BODY_TOO_DEEP',
  'CV_BODY_TOO_LARGE',
  'CV_REQUEST_TIMEOUT',
  'CV_URI_TOO_LONG',
  'CV_HEADERS_TOO_LARGE',
  'CV_UNSUPPORTED_MEDIA_TYPE',
  'CV_MALFORMED_REQUEST',
  'CV_ROUTE_NOT_FOUND',
  'CV_INTERNAL',
] as const;

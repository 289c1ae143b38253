/**
 * The error catalogue. Every error the system reports on purpose is one of these classes, with a
 * stable `code` that is never reused. The edges translate them: `src/gateway/problem.ts` maps a code
 * to an HTTP status and problem+json document. `docs/errors.md` lists every code; a test checks the
 * list in both directions.
 */

/**
 * One offending input field: `path` is dotted (`payload.cmd.0`), empty for the whole body. In a
 * request of many items (`POST /workflows/bulk`) an item's issue also names the item's `index` and
 * its `field` within the item (`path` is then `workflows.<index>.<field>`).
 */
export interface FieldIssue {
  path: string;
  message: string;
  index?: number;
  field?: string;
}

export abstract class ChronoverseError extends Error {
  abstract readonly code: string;
}

export class ValidationError extends ChronoverseError {
  readonly code = 'CV_VALIDATION';
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[], message = 'The request has invalid fields.') {
    super(message);
    this.issues = issues;
  }
  static single(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class UnauthenticatedError extends ChronoverseError {
  readonly code = 'CV_UNAUTHENTICATED';
  constructor(message = 'Missing, invalid, expired or revoked credentials.') {
    super(message);
  }
}

export class InvalidCredentialsError extends ChronoverseError {
  readonly code = 'CV_INVALID_CREDENTIALS';
  constructor() {
    // Deliberately the same for an unknown email and a wrong password.
    super('Email or password is incorrect.');
  }
}

export class CsrfError extends ChronoverseError {
  readonly code = 'CV_CSRF';
  constructor() {
    super(
      'Cookie-authenticated requests that change state need an X-CSRF-Token header equal to the csrf cookie.',
    );
  }
}

export class ForbiddenError extends ChronoverseError {
  readonly code = 'CV_FORBIDDEN';
  /** The field that asked for what the caller may not do (e.g. `user_id`), when a field did. */
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = []) {
    super(message);
    this.issues = issues;
  }
}

/**
 * The credential is valid but lacks the scope this action needs (a personal access token created
 * without it, or one asking to grant more than it holds). `scope` names the missing scope.
 */
export class InsufficientScopeError extends ChronoverseError {
  readonly code = 'CV_INSUFFICIENT_SCOPE';
  readonly scope: string;
  constructor(scope: string, message = `This credential lacks the "${scope}" scope.`) {
    super(message);
    this.scope = scope;
  }
}

/** Registration refused: the installation's sign-up mode is `closed` (administrators create accounts). */
export class SignupClosedError extends ChronoverseError {
  readonly code = 'CV_SIGNUP_CLOSED';
  constructor(message = 'Sign-up is closed on this installation; an administrator creates accounts.') {
    super(message);
  }
}

/** Registration refused: the sign-up mode is `invite` and the request carries no invitation. */
export class InviteRequiredError extends ChronoverseError {
  readonly code = 'CV_INVITE_REQUIRED';
  constructor(message = 'Sign-up needs an invitation from an administrator (the "invite" field).') {
    super(message);
  }
}

export class NotFoundError extends ChronoverseError {
  readonly code = 'CV_NOT_FOUND';
  readonly resource: string;
  constructor(resource: string) {
    super(`${resource} not found.`);
    this.resource = resource;
  }
}

export class EmailTakenError extends ChronoverseError {
  readonly code = 'CV_EMAIL_TAKEN';
  constructor() {
    super('An account with this email already exists.');
  }
}

export class IdempotencyMismatchError extends ChronoverseError {
  readonly code = 'CV_IDEMPOTENCY_MISMATCH';
  constructor() {
    super('This Idempotency-Key was already used with a different request.');
  }
}

export class PreconditionFailedError extends ChronoverseError {
  readonly code = 'CV_PRECONDITION_FAILED';
}

export class RateLimitedError extends ChronoverseError {
  readonly code = 'CV_RATE_LIMITED';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = 'Too many attempts; try again later.') {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A quota in force (src/domain/quotas.ts): `name` (max_workflows, runs_per_minute,
 * min_schedule_seconds), `limit` its value for this user, `usage` what crossed it: the workflows
 * the user has, the runs asked for in the last minute, the refused schedule's shortest period.
 */
export interface QuotaDetail {
  name: string;
  limit: number;
  usage: number;
}

/** A count quota is used up (409): the user has as many workflows as `max_workflows` allows. */
export class QuotaExceededError extends ChronoverseError {
  readonly code = 'CV_QUOTA_EXCEEDED';
  readonly quota: QuotaDetail;
  constructor(quota: QuotaDetail, message: string) {
    super(message);
    this.quota = quota;
  }
}

/** A rate quota is used up (429, Retry-After): more manual runs than `runs_per_minute`. */
export class RunRateExceededError extends ChronoverseError {
  readonly code = 'CV_RUN_RATE_EXCEEDED';
  readonly quota: QuotaDetail;
  readonly retryAfterSeconds: number;
  constructor(quota: QuotaDetail, retryAfterSeconds: number, message: string) {
    super(message);
    this.quota = quota;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A schedule runs more often than `min_schedule_seconds` allows (400 on its field). */
export class ScheduleTooFrequentError extends ChronoverseError {
  readonly code = 'CV_SCHEDULE_TOO_FREQUENT';
  readonly quota: QuotaDetail;
  readonly issues: FieldIssue[];
  constructor(
    quota: QuotaDetail,
    issues: FieldIssue[],
    message = 'The schedule runs more often than your quota allows.',
  ) {
    super(message);
    this.quota = quota;
    this.issues = issues;
  }
}

export class UnavailableError extends ChronoverseError {
  readonly code = 'CV_UNAVAILABLE';
}

/**
 * The action needs a workflow that is not terminated (409): pause and resume. A terminated
 * workflow is re-activated by editing it, which rebuilds it.
 */
export class WorkflowTerminatedError extends ChronoverseError {
  readonly code = 'CV_WORKFLOW_TERMINATED';
  constructor(
    message = 'The workflow is terminated; edit it to re-activate it (which rebuilds it) instead.',
  ) {
    super(message);
  }
}

/** Every code in the catalogue, for the documentation test. */
export const ERROR_CODES = [
  'CV_VALIDATION',
  'CV_UNAUTHENTICATED',
  'CV_INVALID_CREDENTIALS',
  'CV_CSRF',
  'CV_FORBIDDEN',
  'CV_INSUFFICIENT_SCOPE',
  'CV_SIGNUP_CLOSED',
  'CV_INVITE_REQUIRED',
  'CV_NOT_FOUND',
  'CV_EMAIL_TAKEN',
  'CV_IDEMPOTENCY_MISMATCH',
  'CV_PRECONDITION_FAILED',
  'CV_RATE_LIMITED',
  'CV_QUOTA_EXCEEDED',
  'CV_RUN_RATE_EXCEEDED',
  'CV_SCHEDULE_TOO_FREQUENT',
  'CV_UNAVAILABLE',
  'CV_WORKFLOW_TERMINATED',
] as const;

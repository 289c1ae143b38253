/**
 * Errors across the wire, losslessly. The server turns every failure the gateway must answer on
 * purpose into a ConnectError with a fitting gRPC code and an `ErrorInfo` detail (the catalogue
 * code, message, field issues, resource, Retry-After, or for errors outside the catalogue the
 * original error's code); the client rebuilds the same error class from it, so
 * src/gateway/problem.ts `toProblem` yields the identical problem+json either side of the wire.
 *
 * Which failures count is decided by `toProblem` itself (imported here on purpose: it is the one
 * mapping, and a second copy would drift): catalogue errors, lost database connections (503) and
 * database data exceptions (400). Anything else is internal: Code.Internal with a fixed message, so
 * no internals leak; the server logs it with its stack.
 *
 * A failure without the detail was not an answer of the service: transport errors and deadlines
 * become the catalogue's UnavailableError (503, the dependency is unreachable), anything else
 * (identity rejected, unimplemented, a remote bug) stays a ConnectError, a 500 the gateway logs.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  ChronoverseError,
  CsrfError,
  EmailTakenError,
  ForbiddenError,
  IdempotencyMismatchError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InviteRequiredError,
  NotFoundError,
  PreconditionFailedError,
  QuotaExceededError,
  RateLimitedError,
  RunRateExceededError,
  ScheduleTooFrequentError,
  SignupClosedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  WorkflowTerminatedError,
} from '../../domain/errors.ts';
import type { ERROR_CODES, QuotaDetail } from '../../domain/errors.ts';
import { toProblem } from '../../gateway/problem.ts';
import { ErrorInfoSchema, type ErrorInfo } from '../../gen/chronoverse/errors/v1/errors_pb.js';

type CatalogueCode = (typeof ERROR_CODES)[number];

const GRPC_CODE: Record<CatalogueCode, Code> = {
  CV_VALIDATION: Code.InvalidArgument,
  CV_UNAUTHENTICATED: Code.Unauthenticated,
  CV_INVALID_CREDENTIALS: Code.Unauthenticated,
  CV_CSRF: Code.PermissionDenied,
  CV_FORBIDDEN: Code.PermissionDenied,
  CV_INSUFFICIENT_SCOPE: Code.PermissionDenied,
  CV_SIGNUP_CLOSED: Code.PermissionDenied,
  CV_INVITE_REQUIRED: Code.PermissionDenied,
  CV_NOT_FOUND: Code.NotFound,
  CV_EMAIL_TAKEN: Code.AlreadyExists,
  CV_IDEMPOTENCY_MISMATCH: Code.Aborted,
  CV_PRECONDITION_FAILED: Code.FailedPrecondition,
  CV_RATE_LIMITED: Code.ResourceExhausted,
  CV_QUOTA_EXCEEDED: Code.ResourceExhausted,
  CV_RUN_RATE_EXCEEDED: Code.ResourceExhausted,
  CV_SCHEDULE_TOO_FREQUENT: Code.InvalidArgument,
  CV_UNAVAILABLE: Code.Unavailable,
  CV_WORKFLOW_TERMINATED: Code.FailedPrecondition,
};

/** Rebuilds each catalogue class; `satisfies` makes a new catalogue code a type error here. */
const REBUILD = {
  CV_VALIDATION: (i) =>
    new ValidationError(
      i.issues.map((x) => ({
        path: x.path,
        message: x.message,
        ...(x.index !== undefined ? { index: x.index, field: x.field ?? '' } : {}),
      })),
      i.message,
    ),
  CV_UNAUTHENTICATED: (i) => new UnauthenticatedError(i.message),
  CV_INVALID_CREDENTIALS: () => new InvalidCredentialsError(),
  CV_CSRF: () => new CsrfError(),
  CV_FORBIDDEN: (i) =>
    new ForbiddenError(
      i.message,
      i.issues.map((x) => ({ path: x.path, message: x.message })),
    ),
  CV_INSUFFICIENT_SCOPE: (i) => new InsufficientScopeError(i.scope, i.message),
  CV_SIGNUP_CLOSED: (i) => new SignupClosedError(i.message),
  CV_INVITE_REQUIRED: (i) => new InviteRequiredError(i.message),
  CV_NOT_FOUND: (i) => new NotFoundError(i.resource),
  CV_EMAIL_TAKEN: () => new EmailTakenError(),
  CV_IDEMPOTENCY_MISMATCH: () => new IdempotencyMismatchError(),
  CV_PRECONDITION_FAILED: (i) => new PreconditionFailedError(i.message),
  CV_RATE_LIMITED: (i) => new RateLimitedError(i.retryAfterSeconds, i.message),
  CV_QUOTA_EXCEEDED: (i) => new QuotaExceededError(quotaOf(i), i.message),
  CV_RUN_RATE_EXCEEDED: (i) => new RunRateExceededError(quotaOf(i), i.retryAfterSeconds, i.message),
  CV_SCHEDULE_TOO_FREQUENT: (i) =>
    new ScheduleTooFrequentError(
      quotaOf(i),
      i.issues.map((x) => ({ path: x.path, message: x.message })),
      i.message,
    ),
  CV_UNAVAILABLE: (i) => new UnavailableError(i.message),
  CV_WORKFLOW_TERMINATED: (i) => new WorkflowTerminatedError(i.message),
} satisfies Record<CatalogueCode, (info: ErrorInfo) => ChronoverseError>;

function quotaOf(info: ErrorInfo): QuotaDetail {
  return {
    name: info.quota?.name ?? '',
    limit: Number(info.quota?.limit ?? 0),
    usage: Number(info.quota?.usage ?? 0),
  };
}

/** A catalogue code this build does not know (a newer server): kept, so the answer keeps its code. */
class RemoteChronoverseError extends ChronoverseError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const INTERNAL_MESSAGE = 'internal error';

/**
 * Server side: the ConnectError to answer with for `err`, and whether it is our own failure (to be
 * logged with its stack, since the message does not cross the wire).
 */
export function toConnectError(err: unknown): { error: ConnectError; internal: boolean } {
  if (err instanceof ConnectError) return { error: err, internal: false };
  if (err instanceof ChronoverseError) {
    const info = create(ErrorInfoSchema, {
      code: err.code,
      message: err.message,
      issues:
        err instanceof ValidationError ||
        err instanceof ScheduleTooFrequentError ||
        err instanceof ForbiddenError
          ? err.issues
          : [],
      resource: err instanceof NotFoundError ? err.resource : '',
      retryAfterSeconds:
        err instanceof RateLimitedError || err instanceof RunRateExceededError ? err.retryAfterSeconds : 0,
      scope: err instanceof InsufficientScopeError ? err.scope : '',
      ...(err instanceof QuotaExceededError ||
      err instanceof RunRateExceededError ||
      err instanceof ScheduleTooFrequentError
        ? {
            quota: {
              name: err.quota.name,
              limit: BigInt(err.quota.limit),
              usage: BigInt(err.quota.usage),
            },
          }
        : {}),
    });
    const code = GRPC_CODE[err.code as CatalogueCode] ?? Code.Unknown;
    return { error: withInfo(err.message, code, info), internal: false };
  }
  const mapped = toProblem(err);
  const causeCode = (err as { code?: unknown } | undefined)?.code;
  if (!mapped.internal && mapped.problem.status === 503) {
    // A lost database connection; some are recognised by their message alone: send a class 08 code.
    const code = typeof causeCode === 'string' ? causeCode : '08006';
    return {
      error: withInfo('database unavailable', Code.Unavailable, create(ErrorInfoSchema, { causeCode: code })),
      internal: false,
    };
  }
  if (!mapped.internal && typeof causeCode === 'string') {
    return {
      error: withInfo(
        mapped.problem.detail,
        Code.InvalidArgument,
        create(ErrorInfoSchema, { causeCode, message: mapped.problem.detail }),
      ),
      internal: false,
    };
  }
  return { error: new ConnectError(INTERNAL_MESSAGE, Code.Internal), internal: true };
}

function withInfo(message: string, code: Code, info: ErrorInfo): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: info }]);
}

/** Client side: the error the in-process service would have thrown, as far as the wire tells. */
export function fromRpcError(err: unknown, serviceName: string): unknown {
  if (!(err instanceof ConnectError)) return err;
  const info = err.findDetails(ErrorInfoSchema)[0];
  if (info) {
    if (info.code !== '') {
      const rebuild = REBUILD[info.code as CatalogueCode] as ((i: ErrorInfo) => ChronoverseError) | undefined;
      const rebuilt = rebuild ? rebuild(info) : new RemoteChronoverseError(info.code, info.message);
      rebuilt.message = info.message;
      return rebuilt;
    }
    if (info.causeCode !== '') {
      // toProblem maps these by their code (class 08: 503; class 22: 400), as it would locally.
      return Object.assign(new Error(info.message || `${serviceName}: ${info.causeCode}`), {
        code: info.causeCode,
      });
    }
  }
  if (err.code === Code.Unavailable || err.code === Code.DeadlineExceeded) {
    return new UnavailableError(
      err.code === Code.DeadlineExceeded
        ? `The ${serviceName} service did not answer in time; try again shortly.`
        : `The ${serviceName} service is unreachable; try again shortly.`,
    );
  }
  return err;
}

/** True when a Chronoverse server answered this failure on purpose (never retried). */
export function isServiceAnswer(err: ConnectError): boolean {
  return err.findDetails(ErrorInfoSchema).length > 0;
}

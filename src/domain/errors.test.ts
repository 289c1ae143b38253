import { describe, expect, it } from 'vitest';
import {
  type ChronoverseError,
  CsrfError,
  EmailTakenError,
  ERROR_CODES,
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
} from './errors.ts';

const quota = { name: 'runs_per_minute', limit: 5, usage: 6 };

/**
 * One of each error, as the code throws them (defaults where the code relies on them). Made inside
 * each test, so that mutation testing sees which tests construct them.
 */
const allErrors = (): ChronoverseError[] => [
  new ValidationError([{ path: 'name', message: 'is required' }]),
  new UnauthenticatedError(),
  new InvalidCredentialsError(),
  new CsrfError(),
  new ForbiddenError('Only administrators may do this.'),
  new InsufficientScopeError('tokens'),
  new SignupClosedError(),
  new InviteRequiredError(),
  new NotFoundError('Workflow'),
  new EmailTakenError(),
  new IdempotencyMismatchError(),
  new PreconditionFailedError('The workflow changed.'),
  new RateLimitedError(30),
  new QuotaExceededError(quota, 'You have 5 workflows.'),
  new RunRateExceededError(quota, 12, 'Too many runs.'),
  new ScheduleTooFrequentError(quota, [{ path: 'schedule', message: 'too often' }]),
  new UnavailableError('The database is unreachable.'),
  new WorkflowTerminatedError(),
];

describe('the error catalogue', () => {
  it('every error has its own catalogued code and says what happened', () => {
    const errors = allErrors();
    expect(errors.map((e) => e.code)).toEqual([...ERROR_CODES]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(error.message, error.code).toMatch(/\w.*\.$/);
    }
  });

  it('a validation error carries its field issues; single() makes one', () => {
    expect(allErrors()[0]).toMatchObject({ issues: [{ path: 'name', message: 'is required' }] });
    const single = ValidationError.single('payload.endpoint', 'must be https');
    expect(single.issues).toEqual([{ path: 'payload.endpoint', message: 'must be https' }]);
    expect(single.message).toBe('The request has invalid fields.');
    expect(new ValidationError([], 'Bad item.').message).toBe('Bad item.');
  });

  it('names the missing scope and the missing resource', () => {
    const scope = new InsufficientScopeError('admin');
    expect(scope.scope).toBe('admin');
    expect(scope.message).toContain('"admin"');
    expect(new InsufficientScopeError('write', 'Cannot grant write.').message).toBe('Cannot grant write.');
    const missing = new NotFoundError('Job');
    expect(missing.resource).toBe('Job');
    expect(missing.message).toBe('Job not found.');
  });

  it('rate and quota errors carry what the answer reports', () => {
    expect(new RateLimitedError(30).retryAfterSeconds).toBe(30);
    expect(new QuotaExceededError(quota, 'x.').quota).toEqual(quota);
    const runs = new RunRateExceededError(quota, 12, 'x.');
    expect([runs.quota, runs.retryAfterSeconds]).toEqual([quota, 12]);
    const frequent = new ScheduleTooFrequentError(quota, [{ path: 'schedule', message: 'too often' }]);
    expect(frequent.quota).toEqual(quota);
    expect(frequent.issues).toEqual([{ path: 'schedule', message: 'too often' }]);
  });

  it('an unknown email and a wrong password fail alike', () => {
    expect(new InvalidCredentialsError().message).toBe('Email or password is incorrect.');
  });
});

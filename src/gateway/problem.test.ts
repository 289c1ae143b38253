import { describe, expect, it } from 'vitest';
import { NotFoundError, RateLimitedError, ValidationError } from '../domain/errors.ts';
import { toProblem } from './problem.ts';

describe('toProblem', () => {
  it('maps catalogue errors to their status, with field issues', () => {
    const mapped = toProblem(new ValidationError([{ path: 'name', message: 'is required' }]));
    expect(mapped.problem).toMatchObject({
      status: 400,
      code: 'CV_VALIDATION',
      errors: [{ path: 'name', message: 'is required' }],
    });
    expect(mapped.internal).toBe(false);
    expect(toProblem(new NotFoundError('Workflow')).problem.status).toBe(404);
  });

  it('adds Retry-After to rate limits', () => {
    expect(toProblem(new RateLimitedError(42)).headers).toEqual({ 'retry-after': '42' });
  });

  it.each([
    { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
    { code: '57P01', message: 'terminating connection due to administrator command' },
    { code: '08006', message: 'connection failure' },
    { message: 'Connection terminated unexpectedly' },
  ])('maps a lost database connection to 503 with Retry-After: %j', (err) => {
    const mapped = toProblem(Object.assign(new Error(err.message), err));
    expect(mapped.problem).toMatchObject({ status: 503, code: 'CV_UNAVAILABLE' });
    expect(mapped.headers['retry-after']).toBe('5');
    expect(mapped.internal).toBe(false);
  });

  it('maps data exceptions that reach the database to 400, not 500', () => {
    expect(toProblem(Object.assign(new Error('value too long'), { code: '22001' })).problem.status).toBe(400);
    expect(toProblem(Object.assign(new Error('check'), { code: '23514' })).problem.status).toBe(400);
  });

  it('hides internals of unexpected errors', () => {
    const mapped = toProblem(new Error('secret stack detail'));
    expect(mapped.problem).toMatchObject({ status: 500, code: 'CV_INTERNAL' });
    expect(JSON.stringify(mapped.problem)).not.toMatch(/secret/);
    expect(mapped.internal).toBe(true);
  });
});

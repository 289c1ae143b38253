/**
 * Errors cross the wire losslessly: the gateway's problem+json (toProblem) is identical whether the
 * service threw in process or behind the RPC client, over both transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  IdempotencyMismatchError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InviteRequiredError,
  PreconditionFailedError,
  QuotaExceededError,
  RateLimitedError,
  RunRateExceededError,
  ScheduleTooFrequentError,
  SignupClosedError,
  UnauthenticatedError,
  UnavailableError,
  WorkflowTerminatedError,
  ValidationError,
} from '../../src/domain/errors.ts';
import { toProblem } from '../../src/gateway/problem.ts';
import type { Database } from '../../src/platform/db/database.ts';
import type { ServiceClients } from '../../src/platform/rpc/wiring.ts';
import type { UsersApi } from '../../src/services/users/api.ts';
import { createTestDatabase, PASSWORD, uniqueEmail } from '../helpers/harness.ts';
import { loopbackClients, memoryClients, realServices } from './fixtures.ts';

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** The same problem document and headers, and the same error class. */
async function expectSameProblem(direct: Promise<unknown>, remote: Promise<unknown>) {
  // Both settle concurrently: awaiting one first would leave the other's rejection unhandled meanwhile.
  const [a, b] = await Promise.all([failure(direct), failure(remote)]);
  expect(toProblem(b)).toEqual(toProblem(a));
  expect((b as object).constructor).toBe((a as object).constructor);
  return toProblem(b);
}

/** A users service that throws what it is told (what a real one throws is covered below). */
function throwing(err: () => unknown): UsersApi {
  const fail = async (): Promise<never> => {
    throw err();
  };
  return {
    register: fail,
    requestPasswordReset: fail,
    confirmPasswordReset: fail,
    login: fail,
    authenticate: fail,
    revokeToken: fail,
    getUser: fail,
    updateUser: fail,
    createPersonalAccessToken: fail,
    listPersonalAccessTokens: fail,
    revokePersonalAccessToken: fail,
    listUsers: fail,
    getSignupSettings: fail,
    setSignupMode: fail,
    createInvite: fail,
    listInvites: fail,
    revokeInvite: fail,
    adminCreateUser: fail,
    setUserRole: fail,
    recordAudit: fail,
    listAudit: fail,
  };
}

describe.each(['memory', 'loopback'] as const)('errors over the %s transport', (mode) => {
  let database: Database;
  let local: ReturnType<typeof realServices>;
  let c: ServiceClients;
  const closers: (() => Promise<void> | void)[] = [];

  async function clientsFor(services: Parameters<typeof memoryClients>[0]) {
    if (mode === 'memory') {
      const m = memoryClients(services);
      closers.push(m.close);
      return m;
    }
    const lb = await loopbackClients(services);
    closers.push(lb.close);
    return lb.clients;
  }

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    local = realServices(database);
    c = await clientsFor(local);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await database.close();
  });

  it('validation errors keep every field issue, in order', async () => {
    const { user } = await local.users.register({ email: uniqueEmail(), password: PASSWORD });
    const body = { name: '', kind: 'CONTAINER', payload: { image: 'not an image!' }, extra: 1 };
    const problem = await expectSameProblem(
      local.workflows.create(user.id, body),
      c.workflows.create(user.id, body),
    );
    expect(problem.problem.status).toBe(400);
    expect(problem.problem.errors!.length).toBeGreaterThan(1);
  });

  it('not found, conflicts, precondition, rate limit and credentials', async () => {
    const email = uniqueEmail();
    const { user } = await local.users.register({ email, password: PASSWORD });
    const missing = '00000000-0000-7000-8000-000000000000';
    expect(
      (await expectSameProblem(local.workflows.get(user.id, missing), c.workflows.get(user.id, missing)))
        .problem.status,
    ).toBe(404);
    expect(
      (
        await expectSameProblem(
          local.users.register({ email, password: PASSWORD }),
          c.users.register({ email, password: PASSWORD }),
        )
      ).problem.code,
    ).toBe('CV_EMAIL_TAKEN');
    const body = { name: 'w', kind: 'CONTAINER', payload: { image: 'alpine:3.20' }, interval: 5 };
    await local.workflows.create(user.id, body, 'k');
    const other = { ...body, name: 'x' };
    expect(
      (
        await expectSameProblem(
          local.workflows.create(user.id, other, 'k'),
          c.workflows.create(user.id, other, 'k'),
        )
      ).problem.status,
    ).toBe(409);
    const { body: wf } = await local.workflows.create(user.id, body);
    expect(
      (await expectSameProblem(local.workflows.delete(user.id, wf.id), c.workflows.delete(user.id, wf.id)))
        .problem.status,
    ).toBe(412);
    const wrong = { email, password: 'wrong password!', ip: '10.1.1.1' };
    await expectSameProblem(local.users.login(wrong), c.users.login(wrong));
  });

  it.each([
    [
      'validation',
      () =>
        new ValidationError(
          [
            { path: 'a.0', message: 'bad' },
            { path: '', message: 'x' },
          ],
          'custom',
        ),
    ],
    ['unauthenticated', () => new UnauthenticatedError('nope')],
    ['invalid credentials', () => new InvalidCredentialsError()],
    ['forbidden', () => new ForbiddenError('admins only')],
    [
      'forbidden, the field named',
      () => new ForbiddenError('admins only', [{ path: 'user_id', message: 'must be your own id' }]),
    ],
    ['insufficient scope (WWW-Authenticate)', () => new InsufficientScopeError('tokens')],
    ['sign-up closed', () => new SignupClosedError()],
    ['invitation required', () => new InviteRequiredError()],
    ['idempotency', () => new IdempotencyMismatchError()],
    ['precondition', () => new PreconditionFailedError('not yet')],
    ['rate limited (Retry-After)', () => new RateLimitedError(42, 'slow down')],
    [
      'quota exceeded (the quota named)',
      () => new QuotaExceededError({ name: 'max_workflows', limit: 500, usage: 500 }, 'too many'),
    ],
    [
      'run rate exceeded (Retry-After, the quota named)',
      () => new RunRateExceededError({ name: 'runs_per_minute', limit: 60, usage: 60 }, 17, 'slow down'),
    ],
    [
      'schedule too frequent (the field and the quota named)',
      () =>
        new ScheduleTooFrequentError(
          { name: 'min_schedule_seconds', limit: 60, usage: 1 },
          [{ path: 'schedule.cron', message: 'runs too often' }],
          'too often',
        ),
    ],
    ['unavailable', () => new UnavailableError('later')],
    ['workflow terminated (409)', () => new WorkflowTerminatedError('edit it')],
    [
      'database unreachable (503)',
      () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['connection lost, message only (503)', () => new Error('Connection terminated unexpectedly')],
    [
      'database data exception (400)',
      () => Object.assign(new Error('invalid input syntax for type uuid: "x"'), { code: '22P02' }),
    ],
  ])('%s: the same problem', async (_name, make) => {
    const users = throwing(make);
    const remote = (await clientsFor({ ...local, users })).users;
    const a = toProblem(await failure(users.getUser('u')));
    const b = toProblem(await failure(remote.getUser('u')));
    expect(b).toEqual(a);
  });

  it('a 403 naming a field names it remotely too', async () => {
    const forbidden = () =>
      new ForbiddenError('admins only', [{ path: 'user_id', message: 'must be your own id' }]);
    const remote = (await clientsFor({ ...local, users: throwing(forbidden) })).users;
    const { problem } = toProblem(await failure(remote.getUser('u')));
    expect(problem).toMatchObject({ status: 403, code: 'CV_FORBIDDEN' });
    expect(problem.errors).toEqual([{ path: 'user_id', message: 'must be your own id' }]);
  });

  it('an internal error is Code.Internal without its message: the same 500', async () => {
    const remote = (
      await clientsFor({ ...local, users: throwing(() => new TypeError('secret internals at /srv/x')) })
    ).users;
    const err = await failure(remote.getUser('u'));
    expect(String((err as Error).message)).not.toContain('secret');
    expect(toProblem(err)).toEqual(toProblem(new TypeError('x')));
    expect(toProblem(err).problem.status).toBe(500);
  });
});

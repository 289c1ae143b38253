/**
 * Who gets in and what they may do (issue 16, findings 4–6), on the real gateway against both
 * PGlite and PostgreSQL: trusted proxies and the client address, the sign-up mode and invitations,
 * token scopes and the revocation cascade, and the audit log.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Housekeeping } from '../../src/workers/housekeeping/housekeeping.ts';
import { createLogger } from '../../src/platform/logger.ts';
import {
  createTestGateway,
  ENGINES,
  PASSWORD,
  registerUser,
  TestClock,
  uniqueEmail,
  type TestGateway,
} from '../helpers/harness.ts';

type Response = Awaited<ReturnType<TestGateway['app']['inject']>>;
type Headers = Record<string, string>;

const API = '/api/v1';
const DAY_MS = 86_400_000;

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}
interface PatBody {
  id: string;
  name: string;
  scopes: string[];
  parent_id: string | null;
  expires_at: string | null;
  token: string;
}
interface InviteBody {
  id: string;
  email: string | null;
  status: string;
  expires_at: string;
  created_by: string | null;
  used_at: string | null;
  used_by: string | null;
  token?: string;
  link?: string;
}
interface AuditBody {
  id: string;
  at: string;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  address: string | null;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
}

function expectProblem(res: Response, status: number, code: string): ProblemBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as ProblemBody;
  expect(body).toMatchObject({ status, code });
  return body;
}

function bearer(token: string): Headers {
  return { authorization: `Bearer ${token}` };
}

let ipCounter = 0;
/** A documentation address (198.51.100.0/24) no other test of this file uses. */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

describe.each(ENGINES)('access control (%s)', (engine) => {
  const call = (
    g: TestGateway,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    headers: Headers = {},
    payload?: unknown,
    remoteAddress?: string,
  ) =>
    g.app.inject({
      method,
      url: `${API}${url}`,
      headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
      ...(remoteAddress !== undefined ? { remoteAddress } : {}),
    });
  const register = (g: TestGateway, body: Record<string, unknown>, remoteAddress?: string) =>
    call(g, 'POST', '/auth/register', {}, { password: PASSWORD, ...body }, remoteAddress);
  const login = (
    g: TestGateway,
    email: string,
    password: string,
    remoteAddress: string,
    headers: Headers = {},
  ) => call(g, 'POST', '/auth/login', headers, { email, password }, remoteAddress);
  const audit = async (g: TestGateway, headers: Headers, query = '') => {
    const res = await call(g, 'GET', `/admin/audit${query}`, headers);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { events: AuditBody[]; cursor: string | null };
  };

  describe('trusted proxies', () => {
    it('refuses "trust everything" at configuration, saying why', async () => {
      await expect(
        createTestGateway(engine, { env: { CHRONOVERSE_SERVER_TRUST_PROXY: 'true' } }),
      ).rejects.toThrow(
        /CHRONOVERSE_SERVER_TRUST_PROXY .*"true" would believe X-Forwarded-For from every client/,
      );
    });

    it('takes the right-most untrusted hop: spoofed left-most entries neither dodge the per-address limit nor reach the logs', async () => {
      const g = await createTestGateway(engine, {
        env: {
          CHRONOVERSE_SERVER_TRUST_PROXY: '127.0.0.1,10.0.0.0/8',
          CHRONOVERSE_AUTH_LOGIN_MAX_FAILURES_PER_IP: '3',
        },
      });
      try {
        const admin = await registerUser(g);
        // A client at 198.51.100.7 sends "X-Forwarded-For: 203.0.113.<i>, 127.0.0.1"; the proxy on
        // 127.0.0.1 appends the address it received the request from.
        const viaProxy = (i: number, client = '198.51.100.7') => ({
          'x-forwarded-for': `203.0.113.${i}, 127.0.0.1, ${client}`,
        });
        for (let i = 0; i < 3; i++) {
          const res = await login(g, uniqueEmail('spray'), 'wrong password!', '127.0.0.1', viaProxy(i));
          expectProblem(res, 401, 'CV_INVALID_CREDENTIALS');
        }
        const limited = await login(g, admin.user.email, PASSWORD, '127.0.0.1', viaProxy(99));
        expectProblem(limited, 429, 'CV_RATE_LIMITED');
        // Another client behind the same proxy is its own address.
        const other = await login(g, admin.user.email, PASSWORD, '127.0.0.1', viaProxy(5, '198.51.100.8'));
        expect(other.statusCode, other.body).toBe(200);
        // Two trusted proxies in a row (10.x, then loopback).
        const chained = await login(g, admin.user.email, PASSWORD, '127.0.0.1', {
          'x-forwarded-for': '203.0.113.1, 198.51.100.7, 10.1.2.3',
        });
        expectProblem(chained, 429, 'CV_RATE_LIMITED');
        // A client that is not a proxy cannot claim an address.
        const direct = await login(g, admin.user.email, PASSWORD, '198.51.100.9', {
          'x-forwarded-for': '198.51.100.7',
        });
        expect(direct.statusCode, direct.body).toBe(200);

        const logged = g.logs.text;
        expect(logged).toContain('"remoteAddress":"198.51.100.7"');
        expect(logged).toContain('"remoteAddress":"198.51.100.9"');
        expect(logged).not.toMatch(/203\.0\.113\./);
        const failures = await audit(g, admin.headers, '?action=auth.login.failed');
        expect(failures.events.map((e) => e.address)).toEqual([
          '198.51.100.7',
          '198.51.100.7',
          '198.51.100.7',
        ]);
        const successes = await audit(g, admin.headers, '?action=auth.login.succeeded');
        expect(successes.events.map((e) => e.address)).toEqual(['198.51.100.9', '198.51.100.8']);
      } finally {
        await g.close();
      }
    });

    it('with a hop count, trusts exactly that many proxies', async () => {
      const g = await createTestGateway(engine, {
        env: { CHRONOVERSE_SERVER_TRUST_PROXY: '1', CHRONOVERSE_AUTH_LOGIN_MAX_FAILURES_PER_IP: '2' },
      });
      try {
        const { user } = await registerUser(g);
        for (let i = 0; i < 2; i++) {
          const res = await login(g, uniqueEmail(), 'wrong password!', '172.18.0.4', {
            'x-forwarded-for': `203.0.113.${i}, 198.51.100.30`,
          });
          expectProblem(res, 401, 'CV_INVALID_CREDENTIALS');
        }
        expectProblem(
          await login(g, user.email, PASSWORD, '172.18.0.5', { 'x-forwarded-for': '198.51.100.30' }),
          429,
          'CV_RATE_LIMITED',
        );
        expect(
          (await login(g, user.email, PASSWORD, '172.18.0.4', { 'x-forwarded-for': '198.51.100.31' }))
            .statusCode,
        ).toBe(200);
      } finally {
        await g.close();
      }
    });
  });

  describe('sign-up mode', () => {
    it('is open on a loopback HOST (the README quick start) and needs an invitation on other addresses', async () => {
      const local = await createTestGateway(engine);
      const exposed = await createTestGateway(engine, { env: { HOST: '0.0.0.0' } });
      try {
        expect((await register(local, { email: uniqueEmail() })).statusCode).toBe(201);
        expect((await register(local, { email: uniqueEmail() })).statusCode).toBe(201);
        expect((await call(local, 'GET', '/auth/signup')).json()).toEqual({ mode: 'open' });

        // The first account of an empty installation can always register, and is an admin.
        expect((await call(exposed, 'GET', '/auth/signup')).json()).toEqual({ mode: 'open' });
        const first = await register(exposed, { email: uniqueEmail('first') });
        expect(first.statusCode, first.body).toBe(201);
        expect(first.json().user.role).toBe('admin');
        expect((await call(exposed, 'GET', '/auth/signup')).json()).toEqual({ mode: 'invite' });
        const second = await register(exposed, { email: uniqueEmail() });
        expectProblem(second, 403, 'CV_INVITE_REQUIRED');
        expect(second.cookies).toHaveLength(0);
      } finally {
        await local.close();
        await exposed.close();
      }
    });

    describe('invite', () => {
      let g: TestGateway;
      let admin: Awaited<ReturnType<typeof registerUser>>;
      const clock = new TestClock();
      beforeAll(async () => {
        // Sessions outlive the days the clock moves.
        g = await createTestGateway(engine, {
          clock,
          env: { CHRONOVERSE_SIGNUP: 'invite', CHRONOVERSE_AUTH_SESSION_TTL: '2000h' },
        });
        admin = await registerUser(g, uniqueEmail('admin'));
      });
      afterAll(() => g.close());

      const invite = async (body: Record<string, unknown> = {}) => {
        const res = await call(g, 'POST', '/admin/invites', admin.headers, body);
        expect(res.statusCode, res.body).toBe(201);
        return res.json() as InviteBody & { token: string; link: string };
      };

      it('an invitation an admin created registers one account, once', async () => {
        expect(admin.user.role).toBe('admin');
        expectProblem(await register(g, { email: uniqueEmail() }), 403, 'CV_INVITE_REQUIRED');
        const inv = await invite();
        expect(inv.token).toMatch(/^cvi_[A-Za-z0-9_-]{43}$/);
        expect(inv.link).toBe(`/register?invite=${inv.token}`);
        expect(inv).toMatchObject({
          email: null,
          status: 'pending',
          created_by: admin.user.id,
          used_at: null,
        });
        expect(new Date(inv.expires_at).getTime()).toBe(clock.now().getTime() + 7 * DAY_MS);

        const email = uniqueEmail('invited');
        const used = await register(g, { email, invite: inv.token });
        expect(used.statusCode, used.body).toBe(201);
        expect(used.json().user.role).toBe('user');
        const again = await register(g, { email: uniqueEmail(), invite: inv.token });
        expect(expectProblem(again, 400, 'CV_VALIDATION').errors!.map((e) => e.path)).toEqual(['invite']);
        expect(
          expectProblem(
            await register(g, {
              email: uniqueEmail(),
              invite: `cvi_${randomBytes(32).toString('base64url')}`,
            }),
            400,
            'CV_VALIDATION',
          ).errors![0]!.path,
        ).toBe('invite');

        const list = await call(g, 'GET', '/admin/invites', admin.headers);
        const listed = (list.json() as { invites: InviteBody[] }).invites.find((i) => i.id === inv.id)!;
        expect(listed).toMatchObject({ status: 'used', used_by: used.json().user.id });
        expect(list.body).not.toContain('cvi_');
      });

      it('binds an invitation to its email, expires it and lets an admin revoke it', async () => {
        const bound = await invite({ email: 'Named@Example.com' });
        expect(bound.email).toBe('named@example.com');
        expectProblem(await register(g, { email: uniqueEmail(), invite: bound.token }), 400, 'CV_VALIDATION');
        expect((await register(g, { email: 'named@example.com', invite: bound.token })).statusCode).toBe(201);

        const short = await invite({ expires_in_days: 1 });
        const revoked = await invite();
        expect((await call(g, 'DELETE', `/admin/invites/${revoked.id}`, admin.headers)).statusCode).toBe(204);
        expectProblem(
          await call(g, 'DELETE', `/admin/invites/${revoked.id}`, admin.headers),
          404,
          'CV_NOT_FOUND',
        );
        expectProblem(
          await register(g, { email: uniqueEmail(), invite: revoked.token }),
          400,
          'CV_VALIDATION',
        );
        clock.advance(DAY_MS + 1_000);
        expectProblem(await register(g, { email: uniqueEmail(), invite: short.token }), 400, 'CV_VALIDATION');
        const statuses = (
          (await call(g, 'GET', '/admin/invites', admin.headers)).json() as { invites: InviteBody[] }
        ).invites;
        expect(statuses.find((i) => i.id === short.id)!.status).toBe('expired');
        expect(statuses.find((i) => i.id === revoked.id)!.status).toBe('revoked');
      });

      it('makes one account of one invitation when registrations race', async () => {
        const inv = await invite();
        const results = await Promise.all(
          Array.from({ length: 4 }, () => register(g, { email: uniqueEmail('race'), invite: inv.token })),
        );
        expect(results.map((r) => r.statusCode).sort()).toEqual([201, 400, 400, 400]);
      });

      it('is for administrators only', async () => {
        const inv = await invite();
        const user = (await register(g, { email: uniqueEmail(), invite: inv.token })).json() as {
          token: string;
        };
        expectProblem(await call(g, 'POST', '/admin/invites', bearer(user.token), {}), 403, 'CV_FORBIDDEN');
        expectProblem(await call(g, 'GET', '/admin/invites', bearer(user.token)), 403, 'CV_FORBIDDEN');
        expectProblem(await call(g, 'POST', '/admin/invites', {}, {}), 401, 'CV_UNAUTHENTICATED');
      });
    });

    it('closed: only administrators create accounts, invitations or not', async () => {
      const g = await createTestGateway(engine, { env: { CHRONOVERSE_SIGNUP: 'closed' } });
      try {
        const admin = await registerUser(g, uniqueEmail('admin'));
        expect(admin.user.role).toBe('admin');
        expect((await call(g, 'GET', '/auth/signup')).json()).toEqual({ mode: 'closed' });
        expectProblem(await register(g, { email: uniqueEmail() }), 403, 'CV_SIGNUP_CLOSED');
        const inv = (await call(g, 'POST', '/admin/invites', admin.headers, {})).json() as { token: string };
        expectProblem(
          await register(g, { email: uniqueEmail(), invite: inv.token }),
          403,
          'CV_SIGNUP_CLOSED',
        );

        const email = uniqueEmail('made');
        const made = await call(g, 'POST', '/admin/users', admin.headers, { email, password: PASSWORD });
        expect(made.statusCode, made.body).toBe(201);
        expect(made.json()).toMatchObject({ email, role: 'user' });
        expect((await login(g, email, PASSWORD, freshIp())).statusCode).toBe(200);
        expectProblem(
          await call(g, 'POST', '/admin/users', admin.headers, { email, password: PASSWORD }),
          409,
          'CV_EMAIL_TAKEN',
        );
        const weak = await call(g, 'POST', '/admin/users', admin.headers, {
          email: uniqueEmail(),
          password: 'passwordpassword',
        });
        expect(expectProblem(weak, 400, 'CV_VALIDATION').errors!.map((e) => e.path)).toEqual(['password']);
        const user = (await login(g, email, PASSWORD, freshIp())).json() as { token: string };
        expectProblem(
          await call(g, 'POST', '/admin/users', bearer(user.token), {
            email: uniqueEmail(),
            password: PASSWORD,
          }),
          403,
          'CV_FORBIDDEN',
        );
      } finally {
        await g.close();
      }
    });

    it('administrators set the mode over the API; null goes back to the configuration', async () => {
      const g = await createTestGateway(engine);
      try {
        const admin = await registerUser(g, uniqueEmail('admin'));
        const user = await registerUser(g);
        expect((await call(g, 'GET', '/admin/settings', admin.headers)).json()).toEqual({
          signup_mode: 'open',
          signup_mode_source: 'configuration',
          configured_signup_mode: 'open',
        });
        const closed = await call(g, 'PUT', '/admin/settings', admin.headers, { signup_mode: 'closed' });
        expect(closed.statusCode, closed.body).toBe(200);
        expect(closed.json()).toEqual({
          signup_mode: 'closed',
          signup_mode_source: 'setting',
          configured_signup_mode: 'open',
        });
        expectProblem(await register(g, { email: uniqueEmail() }), 403, 'CV_SIGNUP_CLOSED');
        expect((await call(g, 'GET', '/auth/signup')).json()).toEqual({ mode: 'closed' });
        expectProblem(
          await call(g, 'PUT', '/admin/settings', user.headers, { signup_mode: 'open' }),
          403,
          'CV_FORBIDDEN',
        );
        expect(
          expectProblem(
            await call(g, 'PUT', '/admin/settings', admin.headers, { signup_mode: 'sometimes' }),
            400,
            'CV_VALIDATION',
          ).errors![0]!.path,
        ).toBe('signup_mode');
        const back = await call(g, 'PUT', '/admin/settings', admin.headers, { signup_mode: null });
        expect(back.json()).toMatchObject({ signup_mode: 'open', signup_mode_source: 'configuration' });
        expect((await register(g, { email: uniqueEmail() })).statusCode).toBe(201);
      } finally {
        await g.close();
      }
    });

    it('administrators change roles, never leaving the installation without one', async () => {
      const g = await createTestGateway(engine);
      try {
        const admin = await registerUser(g, uniqueEmail('admin'));
        const user = await registerUser(g);
        expectProblem(await call(g, 'GET', '/admin/users', user.headers), 403, 'CV_FORBIDDEN');
        const promoted = await call(g, 'PATCH', `/admin/users/${user.user.id}`, admin.headers, {
          role: 'admin',
        });
        expect(promoted.statusCode, promoted.body).toBe(200);
        expect(promoted.json()).toMatchObject({ id: user.user.id, role: 'admin' });
        // The session has the admin scope at once.
        expect((await call(g, 'GET', '/admin/users', user.headers)).statusCode).toBe(200);
        const demoted = await call(g, 'PATCH', `/admin/users/${admin.user.id}`, user.headers, {
          role: 'user',
        });
        expect(demoted.json()).toMatchObject({ role: 'user' });
        expectProblem(await call(g, 'GET', '/admin/users', admin.headers), 403, 'CV_FORBIDDEN');
        expectProblem(
          await call(g, 'PATCH', `/admin/users/${user.user.id}`, user.headers, { role: 'user' }),
          412,
          'CV_PRECONDITION_FAILED',
        );
        expectProblem(
          await call(g, 'PATCH', '/admin/users/0190a6b2-0000-7000-8000-000000000000', user.headers, {
            role: 'user',
          }),
          404,
          'CV_NOT_FOUND',
        );
      } finally {
        await g.close();
      }
    });
  });

  describe('token scopes', () => {
    let g: TestGateway;
    const clock = new TestClock();
    beforeAll(async () => {
      g = await createTestGateway(engine, { clock });
    });
    afterAll(() => g.close());

    const mint = async (headers: Headers, body: Record<string, unknown>) => {
      const res = await call(g, 'POST', '/auth/tokens', headers, body);
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as PatBody;
    };
    function expectMissingScope(res: Response, scope: string): void {
      const body = expectProblem(res, 403, 'CV_INSUFFICIENT_SCOPE');
      expect(body.detail).toContain(`"${scope}"`);
      expect(res.headers['www-authenticate']).toBe(`Bearer error="insufficient_scope", scope="${scope}"`);
    }

    it('a default token (read + write) cannot mint, list or revoke tokens: 403 naming "tokens"', async () => {
      const { headers } = await registerUser(g);
      const pat = await mint(headers, { name: 'ci' });
      expect(pat.scopes).toEqual(['read', 'write']);
      expectMissingScope(
        await call(g, 'POST', '/auth/tokens', bearer(pat.token), { name: 'child' }),
        'tokens',
      );
      expectMissingScope(await call(g, 'GET', '/auth/tokens', bearer(pat.token)), 'tokens');
      expectMissingScope(await call(g, 'DELETE', `/auth/tokens/${pat.id}`, bearer(pat.token)), 'tokens');
      // Nothing was minted.
      const list = (await call(g, 'GET', '/auth/tokens', headers)).json() as { tokens: PatBody[] };
      expect(list.tokens.map((t) => t.id)).toEqual([pat.id]);
    });

    it('reads need read, changes need write; logout and validate need neither', async () => {
      const { headers } = await registerUser(g);
      const reader = await mint(headers, { name: 'reader', scopes: ['read'] });
      const writer = await mint(headers, { name: 'writer', scopes: ['write', 'write'] });
      expect(writer.scopes).toEqual(['write']);
      expect((await call(g, 'GET', '/users', bearer(reader.token))).statusCode).toBe(200);
      expect((await call(g, 'GET', '/workflows', bearer(reader.token))).statusCode).toBe(200);
      expectMissingScope(
        await call(g, 'PUT', '/users', bearer(reader.token), { notification_preference: 'ALL' }),
        'write',
      );
      expectMissingScope(
        await call(g, 'POST', '/workflows', bearer(reader.token), {
          name: 'x',
          kind: 'HEARTBEAT',
          payload: { endpoint: 'https://api.example.com/health' },
          interval: 5,
        }),
        'write',
      );
      expectMissingScope(await call(g, 'GET', '/users', bearer(writer.token)), 'read');
      expect(
        (await call(g, 'PUT', '/users', bearer(writer.token), { notification_preference: 'ALL' })).statusCode,
      ).toBe(200);
      expect((await call(g, 'POST', '/auth/validate', bearer(writer.token))).statusCode).toBe(200);
      expect((await call(g, 'POST', '/auth/logout', bearer(reader.token))).statusCode).toBe(204);
      expectProblem(await call(g, 'GET', '/users', bearer(reader.token)), 401, 'CV_UNAUTHENTICATED');
    });

    it('admin routes need the admin scope and the admin role', async () => {
      const ag = await createTestGateway(engine);
      try {
        const admin = await registerUser(ag, uniqueEmail('admin'));
        const user = await registerUser(ag);
        const mintOn = (h: Headers, body: object) => call(ag, 'POST', '/auth/tokens', h, body);
        const plain = (await mintOn(admin.headers, { name: 'plain' })).json() as PatBody;
        expectMissingScope(await call(ag, 'GET', '/admin/users', bearer(plain.token)), 'admin');
        const adminToken = (
          await mintOn(admin.headers, { name: 'ops', scopes: ['admin', 'read'] })
        ).json() as PatBody;
        expect(adminToken.scopes).toEqual(['read', 'admin']);
        expect((await call(ag, 'GET', '/admin/users', bearer(adminToken.token))).statusCode).toBe(200);
        expect((await call(ag, 'GET', '/admin/audit', bearer(adminToken.token))).statusCode).toBe(200);
        // A user cannot grant itself what its role does not allow.
        expectMissingScope(await mintOn(user.headers, { name: 'sneaky', scopes: ['admin'] }), 'admin');
        // Demoted: the admin token loses its power at once.
        await call(ag, 'PATCH', `/admin/users/${user.user.id}`, admin.headers, { role: 'admin' });
        await call(ag, 'PATCH', `/admin/users/${admin.user.id}`, user.headers, { role: 'user' });
        expectProblem(await call(ag, 'GET', '/admin/users', bearer(adminToken.token)), 403, 'CV_FORBIDDEN');
        expect((await call(ag, 'GET', '/users', bearer(adminToken.token))).statusCode).toBe(200);
      } finally {
        await ag.close();
      }
    });

    it('a token minted by a token holds no more than it, expires no later, and is revoked with it', async () => {
      const { headers } = await registerUser(g);
      const parent = await mint(headers, {
        name: 'parent',
        scopes: ['read', 'write', 'tokens'],
        expires_in_days: 10,
      });
      expect(parent.parent_id).toBeNull();
      const child = await mint(bearer(parent.token), {
        name: 'child',
        scopes: ['read', 'tokens'],
        expires_in_days: 30,
      });
      expect(child.parent_id).toBe(parent.id);
      expect(child.expires_at).toBe(parent.expires_at);
      expectMissingScope(
        await call(g, 'POST', '/auth/tokens', bearer(child.token), { name: 'x', scopes: ['write'] }),
        'write',
      );
      const grandchild = await mint(bearer(child.token), { name: 'grandchild', scopes: ['read'] });
      expect(grandchild.parent_id).toBe(child.id);
      const sibling = await mint(headers, { name: 'sibling' });
      for (const t of [parent, child, grandchild, sibling]) {
        expect((await call(g, 'GET', '/users', bearer(t.token))).statusCode).toBe(200);
      }
      expect((await call(g, 'DELETE', `/auth/tokens/${parent.id}`, headers)).statusCode).toBe(204);
      for (const t of [parent, child, grandchild]) {
        expectProblem(await call(g, 'GET', '/users', bearer(t.token)), 401, 'CV_UNAUTHENTICATED');
      }
      expect((await call(g, 'GET', '/users', bearer(sibling.token))).statusCode).toBe(200);
      const left = (await call(g, 'GET', '/auth/tokens', headers)).json() as { tokens: PatBody[] };
      expect(left.tokens.map((t) => t.id)).toEqual([sibling.id]);

      // Logging out with a token revokes what it minted too.
      const minter = await mint(headers, { name: 'minter', scopes: ['read', 'tokens'] });
      const minted = await mint(bearer(minter.token), { name: 'minted', scopes: ['read'] });
      expect((await call(g, 'POST', '/auth/logout', bearer(minter.token))).statusCode).toBe(204);
      expectProblem(await call(g, 'GET', '/users', bearer(minted.token)), 401, 'CV_UNAUTHENTICATED');
    });

    it('takes an optional expires_at, and stops the token at that moment', async () => {
      const { headers } = await registerUser(g);
      const at = new Date(clock.now().getTime() + 2 * 3_600_000);
      const pat = await mint(headers, { name: 'short', expires_at: at.toISOString().replace('Z', '+00:00') });
      expect(pat.expires_at).toBe(at.toISOString());
      clock.advance(2 * 3_600_000 - 1_000);
      expect((await call(g, 'GET', '/users', bearer(pat.token))).statusCode).toBe(200);
      clock.advance(2_000);
      expectProblem(await call(g, 'GET', '/users', bearer(pat.token)), 401, 'CV_UNAUTHENTICATED');
      const { headers: fresh } = await registerUser(g);
      const bad = async (body: object, path: string) =>
        expect(
          expectProblem(
            await call(g, 'POST', '/auth/tokens', fresh, { name: 'x', ...body }),
            400,
            'CV_VALIDATION',
          ).errors!.map((e) => e.path),
        ).toEqual([path]);
      await bad({ expires_at: new Date(clock.now().getTime() - 1_000).toISOString() }, 'expires_at');
      await bad({ expires_at: new Date(clock.now().getTime() + 366 * DAY_MS).toISOString() }, 'expires_at');
      await bad({ expires_at: 'tomorrow' }, 'expires_at');
      await bad(
        { expires_at: new Date(clock.now().getTime() + DAY_MS).toISOString(), expires_in_days: 1 },
        'expires_at',
      );
      await bad({ scopes: ['root'] }, 'scopes.0');
      await bad({ scopes: [] }, 'scopes');
    });
  });

  describe('audit log', () => {
    it('records sign-ins, tokens, admin changes and workflow deletes with who, what and from where', async () => {
      const g = await createTestGateway(engine);
      try {
        const admin = await registerUser(g, uniqueEmail('admin'));
        const user = await registerUser(g);
        const ip = freshIp();
        expect((await login(g, user.user.email, PASSWORD, ip)).statusCode).toBe(200);
        expect((await login(g, user.user.email, 'wrong password!', ip)).statusCode).toBe(401);
        const ghost = uniqueEmail('ghost');
        expect((await login(g, ghost, 'wrong password!', ip)).statusCode).toBe(401);
        const pat = (
          await call(g, 'POST', '/auth/tokens', user.headers, { name: 'ci' }, ip)
        ).json() as PatBody;
        expect(
          (await call(g, 'DELETE', `/auth/tokens/${pat.id}`, user.headers, undefined, ip)).statusCode,
        ).toBe(204);
        await call(g, 'PUT', '/admin/settings', admin.headers, { signup_mode: 'invite' }, ip);
        const inv = (
          await call(g, 'POST', '/admin/invites', admin.headers, { email: 'x@example.com' }, ip)
        ).json() as InviteBody;
        await call(g, 'DELETE', `/admin/invites/${inv.id}`, admin.headers, undefined, ip);
        await call(g, 'PATCH', `/admin/users/${user.user.id}`, admin.headers, { role: 'admin' }, ip);
        const wf = await call(g, 'POST', '/workflows', user.headers, {
          name: 'to delete',
          kind: 'HEARTBEAT',
          payload: { endpoint: 'https://api.example.com/health' },
          interval: 5,
        });
        expect(wf.statusCode, wf.body).toBe(201);
        const workflowId = (wf.json() as { id: string }).id;
        expect((await call(g, 'PATCH', `/workflows/${workflowId}`, user.headers)).statusCode).toBe(200);
        expect(
          (await call(g, 'DELETE', `/workflows/${workflowId}`, user.headers, undefined, ip)).statusCode,
        ).toBe(204);

        const { events, cursor } = await audit(g, admin.headers, '?limit=100');
        expect(cursor).toBeNull();
        expect(events.map((e) => e.action)).toEqual([
          'workflow.deleted',
          'user.role_changed',
          'invite.revoked',
          'invite.created',
          'settings.signup_mode_changed',
          'token.revoked',
          'token.created',
          'auth.login.failed',
          'auth.login.failed',
          'auth.login.succeeded',
          'user.registered',
          'user.registered',
        ]);
        const by = (action: string) => events.filter((e) => e.action === action);
        expect(by('workflow.deleted')[0]).toMatchObject({
          actor_id: user.user.id,
          subject_id: user.user.id,
          address: ip,
          target_type: 'workflow',
          target_id: workflowId,
        });
        expect(by('user.role_changed')[0]).toMatchObject({
          actor_id: admin.user.id,
          subject_id: user.user.id,
          address: ip,
          details: { from: 'user', to: 'admin' },
        });
        expect(by('settings.signup_mode_changed')[0]!.details).toMatchObject({ from: null, to: 'invite' });
        expect(by('invite.created')[0]).toMatchObject({
          target_id: inv.id,
          details: { email: 'x@example.com' },
        });
        expect(by('token.created')[0]).toMatchObject({
          actor_id: user.user.id,
          target_id: pat.id,
          address: ip,
          details: { name: 'ci', scopes: ['read', 'write'], parent_id: null },
        });
        expect(by('token.revoked')[0]).toMatchObject({ target_id: pat.id, details: { cascade: [] } });
        const [unknown, wrong] = by('auth.login.failed');
        expect(unknown).toMatchObject({
          actor_id: null,
          subject_id: null,
          address: ip,
          details: { email: ghost },
        });
        expect(wrong).toMatchObject({
          actor_id: null,
          subject_id: user.user.id,
          details: { email: user.user.email },
        });
        expect(by('auth.login.succeeded')[0]).toMatchObject({ actor_id: user.user.id, address: ip });
        // No secret is ever stored.
        const text = JSON.stringify(events);
        expect(text).not.toMatch(/cv[spi]_[A-Za-z0-9_-]{43}/);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain('wrong password!');

        // Admins only, with the admin scope.
        expectProblem(await call(g, 'GET', '/admin/audit', bearer(pat.token)), 401, 'CV_UNAUTHENTICATED');
        const plain = (
          await call(g, 'POST', '/auth/tokens', admin.headers, { name: 'plain' })
        ).json() as PatBody;
        expectProblem(
          await call(g, 'GET', '/admin/audit', bearer(plain.token)),
          403,
          'CV_INSUFFICIENT_SCOPE',
        );
        await call(g, 'PATCH', `/admin/users/${user.user.id}`, admin.headers, { role: 'user' });
        expectProblem(await call(g, 'GET', '/admin/audit', user.headers), 403, 'CV_FORBIDDEN');
      } finally {
        await g.close();
      }
    });

    it('filters by action, user and time, pages with a cursor, and is purged after the retention', async () => {
      const clock = new TestClock(Date.parse('2026-03-01T12:00:00.000Z'));
      const g = await createTestGateway(engine, {
        clock,
        env: { CHRONOVERSE_AUDIT_RETENTION: '30d', CHRONOVERSE_AUTH_SESSION_TTL: '2000h' },
      });
      try {
        const admin = await registerUser(g, uniqueEmail('admin'));
        const user = await registerUser(g);
        for (let day = 0; day < 5; day++) {
          clock.advance(DAY_MS);
          await login(g, user.user.email, 'wrong password!', freshIp());
        }
        const all = await audit(g, admin.headers, '?action=auth.login.failed');
        expect(all.events.map((e) => e.at)).toEqual([
          '2026-03-06T12:00:00.000Z',
          '2026-03-05T12:00:00.000Z',
          '2026-03-04T12:00:00.000Z',
          '2026-03-03T12:00:00.000Z',
          '2026-03-02T12:00:00.000Z',
        ]);
        const window = await audit(
          g,
          admin.headers,
          '?action=auth.login.failed&since=2026-03-03T12:00:00Z&until=2026-03-05T13:00:00%2B01:00',
        );
        expect(window.events.map((e) => e.at)).toEqual([
          '2026-03-04T12:00:00.000Z',
          '2026-03-03T12:00:00.000Z',
        ]);
        const mine = await audit(g, admin.headers, `?user=${user.user.id}`);
        expect(mine.events.every((e) => e.actor_id === user.user.id || e.subject_id === user.user.id)).toBe(
          true,
        );
        expect(mine.events.map((e) => e.action)).toEqual([
          ...Array(5).fill('auth.login.failed'),
          'user.registered',
        ]);
        // Pages of two, without repeats.
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const q: string = `?user=${user.user.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page = await audit(g, admin.headers, q);
          seen.push(...page.events.map((e) => e.id));
          cursor = page.cursor;
        } while (cursor);
        expect(seen).toEqual(mine.events.map((e) => e.id));

        const bad = async (query: string, path: string) =>
          expect(
            expectProblem(
              await call(g, 'GET', `/admin/audit${query}`, admin.headers),
              400,
              'CV_VALIDATION',
            ).errors!.map((e) => e.path),
          ).toEqual([path]);
        await bad('?since=yesterday', 'since');
        await bad('?until=2026-03-05', 'until');
        await bad('?user=someone', 'user');
        await bad('?action=DROP%20TABLE', 'action');
        await bad('?since=2026-03-05T00:00:00Z&until=2026-03-04T00:00:00Z', 'until');
        await bad('?cursor=nope', 'cursor');

        // Retention (30 days here): the housekeeping worker deletes older entries, in batches.
        clock.advance(27 * DAY_MS + 1_000);
        const housekeeping = new Housekeeping(
          { db: g.database.db, logger: createLogger('silent'), clock },
          { batchSize: 1, auditRetentionMs: g.config.audit.retentionMs },
        );
        const purged = await housekeeping.runOnce();
        // The registrations (day 0) and the failures of days 1 and 2.
        expect(purged.auditEvents).toBe(4);
        const kept = await audit(g, admin.headers, '?limit=100');
        expect(kept.events.map((e) => e.at).sort()[0]).toBe('2026-03-04T12:00:00.000Z');
        expect((await housekeeping.runOnce()).auditEvents).toBe(0);
      } finally {
        await g.close();
      }
    });
  });
});

/**
 * Authentication and account API on the real gateway, against both PGlite and PostgreSQL:
 * registration and its validation, login and its throttle, bearer and cookie (+ CSRF) auth,
 * logout, personal access tokens, the current user, the admin user list and log hygiene.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

interface UserBody {
  id: string;
  email: string;
  role: 'admin' | 'user';
  notification_preference: string;
  created_at: string;
  updated_at: string;
}
interface SessionBody {
  user: UserBody;
  token: string;
  expires_at: string;
}
interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}
interface PatBody {
  id: string;
  name: string;
  scopes: string[];
  parent_id: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  token?: string;
}

const API = '/api/v1';
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_TOKEN = /^cvs_[A-Za-z0-9_-]{43}$/;
const PAT_TOKEN = /^cvp_[A-Za-z0-9_-]{43}$/;
const DAY_MS = 86_400_000;

/** Asserts an RFC 9457 problem document with the given status and code, and returns it. */
function expectProblem(res: Response, status: number, code: string): ProblemBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as ProblemBody;
  expect(body).toMatchObject({ status, code, type: `urn:chronoverse:problem:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

/** Asserts a 400 CV_VALIDATION listing exactly these field paths (in any order). */
function expectValidation(res: Response, paths: string[]): ProblemBody {
  const body = expectProblem(res, 400, 'CV_VALIDATION');
  expect(Array.isArray(body.errors)).toBe(true);
  expect(body.errors!.map((e) => e.path).sort()).toEqual([...paths].sort());
  for (const e of body.errors!) expect(typeof e.message).toBe('string');
  return body;
}

function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

function cookieOf(res: Response, name: string) {
  const found = res.cookies.filter((c) => c.name === name);
  expect(found, `exactly one Set-Cookie for ${name}`).toHaveLength(1);
  return found[0]!;
}

/** A Set-Cookie that makes the browser drop the cookie. */
function expectCleared(res: Response, name: string): void {
  const c = cookieOf(res, name);
  const expired = c.expires !== undefined && new Date(c.expires).getTime() <= Date.now();
  const zeroAge = c.maxAge !== undefined && c.maxAge <= 0;
  expect(expired || zeroAge, `${name} is cleared: ${JSON.stringify(c)}`).toBe(true);
}

let ipCounter = 0;
/** A client address no other test uses, so IP throttle counters never leak between tests. */
function freshIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 8) & 255}.${ipCounter & 255}.${1 + (process.pid % 250)}`;
}

function randomSessionLikeToken(): string {
  return `cvs_${randomBytes(32).toString('base64url')}`;
}

describe.each(ENGINES)('auth API (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  const register = (payload: unknown, extra: Record<string, unknown> = {}) =>
    gw.app.inject({ method: 'POST', url: `${API}/auth/register`, payload: payload as object, ...extra });
  const login = (email: string, password: string, remoteAddress = freshIp()) =>
    gw.app.inject({ method: 'POST', url: `${API}/auth/login`, payload: { email, password }, remoteAddress });
  const me = (headers: Record<string, string>, g: TestGateway = gw) =>
    g.app.inject({ method: 'GET', url: `${API}/users`, headers });

  describe('register', () => {
    it('returns 201 with user, session token and expiry', async () => {
      const email = uniqueEmail('reg');
      const before = Date.now();
      const res = await register({ email, password: PASSWORD });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      // A response carrying a credential must never be cached.
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json() as SessionBody;
      expect(Object.keys(body).sort()).toEqual(['expires_at', 'token', 'user']);
      expect(body.token).toMatch(SESSION_TOKEN);
      expect(body.expires_at).toMatch(ISO_MS);
      // Default session TTL is 24h.
      const ttl = new Date(body.expires_at).getTime() - before;
      expect(ttl).toBeGreaterThan(24 * 3_600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(24 * 3_600_000 + 60_000);
      expect(Object.keys(body.user).sort()).toEqual(
        ['created_at', 'email', 'id', 'notification_preference', 'role', 'updated_at'].sort(),
      );
      expect(body.user).toMatchObject({ email, notification_preference: 'ALERTS' });
      expect(body.user.id).toMatch(UUID);
      expect(body.user.created_at).toMatch(ISO_MS);
      expect(body.user.updated_at).toMatch(ISO_MS);
      expect(res.body).not.toContain('password');
      // The token works right away.
      const who = await me(bearer(body.token));
      expect(who.statusCode).toBe(200);
      expect((who.json() as UserBody).id).toBe(body.user.id);
    });

    it('normalises the email (trim, lower-case) and logs in with any casing', async () => {
      const local = `Ann-${randomBytes(4).toString('hex')}`;
      const res = await register({ email: `  ${local}@Example.COM `, password: PASSWORD });
      expect(res.statusCode, res.body).toBe(201);
      const expected = `${local.toLowerCase()}@example.com`;
      expect((res.json() as SessionBody).user.email).toBe(expected);
      const again = await login(` ${local.toUpperCase()}@EXAMPLE.com`, PASSWORD);
      expect(again.statusCode, again.body).toBe(200);
      expect((again.json() as SessionBody).user.email).toBe(expected);
    });

    it('sets the HttpOnly session cookie and the readable CSRF cookie', async () => {
      const res = await register({ email: uniqueEmail('cookie'), password: PASSWORD });
      expect(res.statusCode).toBe(201);
      const body = res.json() as SessionBody;
      const session = cookieOf(res, 'cv_session');
      const csrf = cookieOf(res, 'cv_csrf');
      expect(session.value).toBe(body.token);
      expect(session.httpOnly).toBe(true);
      expect(session.path).toBe('/');
      expect(String(session.sameSite).toLowerCase()).toBe('lax');
      expect(new Date(session.expires!).getTime()).toBe(
        Math.floor(new Date(body.expires_at).getTime() / 1000) * 1000,
      );
      expect(csrf.httpOnly).not.toBe(true);
      expect(csrf.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(csrf.value).not.toBe(body.token);
      expect(csrf.path).toBe('/');
    });

    it('rejects a duplicate email with 409 CV_EMAIL_TAKEN, also when only the case differs', async () => {
      const email = uniqueEmail('dup');
      expect((await register({ email, password: PASSWORD })).statusCode).toBe(201);
      const same = await register({ email, password: `${PASSWORD}!` });
      expectProblem(same, 409, 'CV_EMAIL_TAKEN');
      expect(same.cookies).toHaveLength(0);
      const upper = await register({ email: ` ${email.toUpperCase()} `, password: PASSWORD });
      expectProblem(upper, 409, 'CV_EMAIL_TAKEN');
      // The original password still logs in: the duplicate did not overwrite anything.
      expect((await login(email, PASSWORD)).statusCode).toBe(200);
    });

    it('rejects a malformed email on path email', async () => {
      for (const email of ['not-an-email', 'a@', '@example.com', '', `${'a'.repeat(250)}@example.com`]) {
        const res = await register({ email, password: PASSWORD });
        expectValidation(res, ['email']);
      }
    });

    it('rejects a 9-character password on path password', async () => {
      expectValidation(await register({ email: uniqueEmail(), password: 'q8#Lm2$vX' }), ['password']);
    });

    it("rejects easily guessed passwords on path password with the estimator's advice", async () => {
      // What the probe got accepted ("password", "abcdefgh", eight spaces), and longer kin of them.
      for (const password of ['password', 'abcdefgh', ' '.repeat(8)]) {
        expectValidation(await register({ email: uniqueEmail(), password }), ['password']);
      }
      for (const password of ['passwordpassword', 'abcdefghijkl', ' '.repeat(12), '1234567890']) {
        const email = uniqueEmail('weak');
        const body = expectValidation(await register({ email, password }), ['password']);
        expect(body.errors![0]!.message).toMatch(
          /^is too easy to guess \(strength [0-2] of 4, at least 3 needed\)/,
        );
        expect((await login(email, password)).statusCode).toBe(401);
      }
      const body = expectValidation(await register({ email: uniqueEmail(), password: 'passwordpassword' }), [
        'password',
      ]);
      expect(body.errors![0]!.message).toMatch(
        /Repeated character patterns like "abcabcabc" are easy to guess/,
      );
    });

    it('counts the email against the password', async () => {
      const email = `zorblatt.quenwick-${randomBytes(3).toString('hex')}@example.com`;
      expectValidation(await register({ email, password: 'zorblattquenwick' }), ['password']);
    });

    it('rejects a 129-character password on path password', async () => {
      expectValidation(await register({ email: uniqueEmail(), password: 'x'.repeat(129) }), ['password']);
    });

    it('accepts strong passwords of exactly 10 and 128 characters', async () => {
      for (const password of ['Qv7mPz2kLw', `Zt4${'k9Qw-Lm2x'.repeat(14).slice(0, 125)}`]) {
        const email = uniqueEmail('bound');
        expect((await register({ email, password })).statusCode).toBe(201);
        expect((await login(email, password)).statusCode).toBe(200);
      }
    });

    it('rejects a non-string password on path password', async () => {
      expectValidation(await register({ email: uniqueEmail(), password: 12345678 }), ['password']);
    });

    it('rejects missing fields, each on its own path', async () => {
      expectValidation(await register({}), ['email', 'password']);
      expectValidation(await register({ email: uniqueEmail() }), ['password']);
      expectValidation(await register({ password: PASSWORD }), ['email']);
    });

    it('rejects an unknown field on its own path (no self-assigned role)', async () => {
      const email = uniqueEmail('role');
      const res = await register({ email, password: PASSWORD, role: 'admin' });
      const body = expectValidation(res, ['role']);
      expect(body.errors![0]!.message).toMatch(/not a known field/);
      // Nothing was created.
      expect((await login(email, PASSWORD)).statusCode).toBe(401);
    });

    it('rejects a body that is not a JSON object', async () => {
      for (const payload of ['[]', '"text"', '42', 'null', 'true']) {
        const res = await register(undefined, { payload, headers: { 'content-type': 'application/json' } });
        expectValidation(res, ['']);
      }
    });

    it('rejects an empty JSON body', async () => {
      const res = await register(undefined, { payload: '', headers: { 'content-type': 'application/json' } });
      expectValidation(res, ['']);
    });

    it('rejects invalid JSON with 400 CV_MALFORMED_REQUEST', async () => {
      const res = await register(undefined, {
        payload: '{"email": "a@example.com", "password":',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(res, 400, 'CV_MALFORMED_REQUEST');
    });

    it('rejects text/plain with 415 CV_UNSUPPORTED_MEDIA_TYPE', async () => {
      const email = uniqueEmail('plain');
      const res = await register(undefined, {
        payload: JSON.stringify({ email, password: PASSWORD }),
        headers: { 'content-type': 'text/plain' },
      });
      expectProblem(res, 415, 'CV_UNSUPPORTED_MEDIA_TYPE');
      expect((await login(email, PASSWORD)).statusCode).toBe(401);
    });

    it('lists every bad field of a body at once', async () => {
      const res = await register({ email: 'nope', password: 'short', nickname: 'x', admin: true });
      expectValidation(res, ['admin', 'email', 'nickname', 'password']);
    });
  });

  describe('login', () => {
    it('returns 200 with a new session token and cookies; both sessions work', async () => {
      const { token: first, user } = await registerUser(gw);
      const res = await login(user.email, PASSWORD);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as SessionBody;
      expect(body.token).toMatch(SESSION_TOKEN);
      expect(body.token).not.toBe(first);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(body.user).toEqual(user);
      expect(body.expires_at).toMatch(ISO_MS);
      expect(cookieOf(res, 'cv_session').value).toBe(body.token);
      expect(cookieOf(res, 'cv_session').httpOnly).toBe(true);
      expect(cookieOf(res, 'cv_csrf').httpOnly).not.toBe(true);
      expect((await me(bearer(first))).statusCode).toBe(200);
      expect((await me(bearer(body.token))).statusCode).toBe(200);
    });

    it('answers an unknown email and a wrong password identically', async () => {
      const { user } = await registerUser(gw);
      const wrong = await login(user.email, `${PASSWORD}-nope`);
      const unknown = await login(uniqueEmail('ghost'), PASSWORD);
      const body = expectProblem(wrong, 401, 'CV_INVALID_CREDENTIALS');
      expect(unknown.statusCode).toBe(wrong.statusCode);
      expect(unknown.headers['content-type']).toBe(wrong.headers['content-type']);
      expect(unknown.json()).toEqual(body);
      expect(unknown.body).toBe(wrong.body);
      expect(wrong.cookies).toHaveLength(0);
      expect(unknown.cookies).toHaveLength(0);
    });

    it('validates the login body (email format, unknown fields, missing password)', async () => {
      const post = (payload: object) =>
        gw.app.inject({ method: 'POST', url: `${API}/auth/login`, payload, remoteAddress: freshIp() });
      expectValidation(await post({ email: 'nope', password: PASSWORD }), ['email']);
      expectValidation(await post({ email: uniqueEmail() }), ['password']);
      expectValidation(await post({ email: uniqueEmail(), password: '' }), ['password']);
      expectValidation(await post({ email: uniqueEmail(), password: PASSWORD, remember: true }), [
        'remember',
      ]);
    });

    it('does not apply the new-password length rules to login', async () => {
      const { user } = await registerUser(gw);
      // A short wrong password is a plain 401, not a 400 that would reveal the rules.
      expectProblem(await login(user.email, 'short'), 401, 'CV_INVALID_CREDENTIALS');
    });
  });

  describe('login throttle', () => {
    let tg: TestGateway;
    const clock = new TestClock();
    beforeAll(async () => {
      tg = await createTestGateway(engine, {
        clock,
        env: {
          CHRONOVERSE_AUTH_LOGIN_FREE_FAILURES: '3',
          CHRONOVERSE_AUTH_LOGIN_DELAY: '5s',
          CHRONOVERSE_AUTH_LOGIN_MAX_FAILURES_PER_IP: '8',
        },
      });
    });
    afterAll(() => tg.close());

    const tlogin = (
      email: string,
      password: string,
      remoteAddress: string,
      headers: Record<string, string> = {},
    ) =>
      tg.app.inject({
        method: 'POST',
        url: `${API}/auth/login`,
        payload: { email, password },
        remoteAddress,
        headers,
      });

    function expectRateLimited(res: Response): number {
      expectProblem(res, 429, 'CV_RATE_LIMITED');
      const retry = res.headers['retry-after'];
      expect(typeof retry).toBe('string');
      expect(retry).toMatch(/^\d+$/);
      const seconds = Number(retry);
      expect(seconds).toBeGreaterThan(0);
      // The default window is 15 minutes.
      expect(seconds).toBeLessThanOrEqual(15 * 60);
      expect(res.cookies).toHaveLength(0);
      return seconds;
    }

    it('never locks an account out: a correct password from an address that has not failed always works', async () => {
      const { user, token } = await registerUser(tg);
      // Many failures for this email, from many addresses (as many as a botnet likes), each
      // address staying under its own limits; the casing varies (the keys use the normalised email).
      const variants = [user.email, user.email.toUpperCase(), ` ${user.email} `];
      for (let i = 0; i < 12; i += 1) {
        const res = await tlogin(variants[i % 3]!, 'wrong password!', freshIp());
        expectProblem(res, 401, 'CV_INVALID_CREDENTIALS');
      }
      // And the addresses that failed are slowed down for this email.
      const attacker = freshIp();
      for (let i = 0; i < 3; i += 1) await tlogin(user.email, 'wrong password!', attacker);
      expectRateLimited(await tlogin(user.email, PASSWORD, attacker));
      // The owner, from an address that has not failed, is never refused.
      const ok = await tlogin(user.email, PASSWORD, freshIp());
      expect(ok.statusCode, ok.body).toBe(200);
      // The throttle guards login only: existing sessions keep working.
      expect((await me(bearer(token), tg)).statusCode).toBe(200);
    });

    it('slows an (email, address) pair down after 3 failures with waits that double, and lets it in after the wait', async () => {
      const { user } = await registerUser(tg);
      const ip = freshIp();
      for (let i = 0; i < 3; i += 1) {
        expectProblem(await tlogin(user.email, `wrong ${i}`, ip), 401, 'CV_INVALID_CREDENTIALS');
      }
      // The 4th attempt waits 5 s after the 3rd, even with the right password.
      expect(expectRateLimited(await tlogin(user.email, PASSWORD, ip))).toBe(5);
      clock.advance(4_000);
      expect(expectRateLimited(await tlogin(user.email, 'wrong again', ip))).toBe(1);
      clock.advance(1_000);
      expectProblem(await tlogin(user.email, 'wrong 4', ip), 401, 'CV_INVALID_CREDENTIALS');
      // The 5th waits 10 s after the 4th.
      expect(expectRateLimited(await tlogin(user.email, PASSWORD, ip))).toBe(10);
      clock.advance(10_000);
      // Other emails from this address are not slowed down (only capped by the per-address limit).
      const other = await registerUser(tg);
      expect((await tlogin(other.user.email, PASSWORD, ip)).statusCode).toBe(200);
      const res = await tlogin(user.email, PASSWORD, ip);
      expect(res.statusCode, res.body).toBe(200);
      // A success clears the pair: three free failures again.
      for (let i = 0; i < 3; i += 1) {
        expectProblem(await tlogin(user.email, `wrong ${i}`, ip), 401, 'CV_INVALID_CREDENTIALS');
      }
      clock.advance(15 * 60_000);
    });

    it('blocks a client address after 8 failures across different emails, and only that address', async () => {
      const ip = freshIp();
      for (let i = 0; i < 8; i += 1) {
        expectProblem(await tlogin(uniqueEmail('spray'), PASSWORD, ip), 401, 'CV_INVALID_CREDENTIALS');
      }
      const { user } = await registerUser(tg);
      expectRateLimited(await tlogin(user.email, PASSWORD, ip));
      // X-Forwarded-For is not trusted by default, so it cannot dodge the per-address limit.
      expectRateLimited(await tlogin(user.email, PASSWORD, ip, { 'x-forwarded-for': '203.0.113.9' }));
      // The same account from another address is fine.
      expect((await tlogin(user.email, PASSWORD, freshIp())).statusCode).toBe(200);
      clock.advance(15 * 60_000);
      expect((await tlogin(user.email, PASSWORD, ip)).statusCode).toBe(200);
    });

    it('throttles concurrent failed logins of one address to the free failures', async () => {
      const { user } = await registerUser(tg);
      const ip = freshIp();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => tlogin(user.email, `wrong password ${i}`, ip)),
      );
      const statuses = results.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(9);
      clock.advance(15 * 60_000);
    });
  });

  describe('registration throttle', () => {
    it('limits registrations per client address (successful or not), not elsewhere', async () => {
      const rg = await createTestGateway(engine, { env: { CHRONOVERSE_AUTH_REGISTER_MAX_PER_IP: '3' } });
      try {
        const ip = freshIp();
        const reg = (email: string, remoteAddress = ip) =>
          rg.app.inject({
            method: 'POST',
            url: `${API}/auth/register`,
            payload: { email, password: PASSWORD },
            remoteAddress,
          });
        const taken = uniqueEmail('taken');
        expect((await reg(taken)).statusCode).toBe(201);
        expect((await reg(uniqueEmail())).statusCode).toBe(201);
        expectProblem(await reg(taken), 409, 'CV_EMAIL_TAKEN');
        const limited = await reg(uniqueEmail());
        expectProblem(limited, 429, 'CV_RATE_LIMITED');
        // The registration window is an hour.
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3_000);
        expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3_600);
        expect((await reg(uniqueEmail(), freshIp())).statusCode).toBe(201);
      } finally {
        await rg.close();
      }
    });
  });

  describe('bearer authentication failures', () => {
    it('answers 401 CV_UNAUTHENTICATED without credentials', async () => {
      expectProblem(await me({}), 401, 'CV_UNAUTHENTICATED');
    });

    it('answers 401 for a malformed Authorization header', async () => {
      const { token } = await registerUser(gw);
      for (const authorization of [
        'Token x',
        'Bearer',
        'Bearer ',
        `Basic ${token}`,
        `Bearer ${token} extra`,
        token,
      ]) {
        expectProblem(await me({ authorization }), 401, 'CV_UNAUTHENTICATED');
      }
    });

    it('accepts the scheme in any case', async () => {
      const { token } = await registerUser(gw);
      expect((await me({ authorization: `bearer ${token}` })).statusCode).toBe(200);
    });

    it('answers 401 for a well-formed but unknown token', async () => {
      expectProblem(await me(bearer(randomSessionLikeToken())), 401, 'CV_UNAUTHENTICATED');
      expectProblem(
        await me(bearer(`cvp_${randomBytes(32).toString('base64url')}`)),
        401,
        'CV_UNAUTHENTICATED',
      );
    });

    it('answers 401 for a token that differs from a real one in one character', async () => {
      const { token } = await registerUser(gw);
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      expectProblem(await me(bearer(token.slice(0, -1) + last)), 401, 'CV_UNAUTHENTICATED');
    });

    it('answers 401 at once for a revoked (logged-out) token', async () => {
      const { token } = await registerUser(gw);
      expect((await me(bearer(token))).statusCode).toBe(200);
      const out = await gw.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: bearer(token) });
      expect(out.statusCode, out.body).toBe(204);
      expectProblem(await me(bearer(token)), 401, 'CV_UNAUTHENTICATED');
      // Logging out again with the revoked token is itself unauthenticated.
      const again = await gw.app.inject({
        method: 'POST',
        url: `${API}/auth/logout`,
        headers: bearer(token),
      });
      expectProblem(again, 401, 'CV_UNAUTHENTICATED');
    });

    it('answers 401 once the session has expired', async () => {
      const clock = new TestClock();
      const cg = await createTestGateway(engine, { clock, env: { CHRONOVERSE_AUTH_SESSION_TTL: '1m' } });
      try {
        const reg = await cg.app.inject({
          method: 'POST',
          url: `${API}/auth/register`,
          payload: { email: uniqueEmail('ttl'), password: PASSWORD },
        });
        expect(reg.statusCode).toBe(201);
        const body = reg.json() as SessionBody;
        expect(new Date(body.expires_at).getTime()).toBe(clock.now().getTime() + 60_000);
        clock.advance(59_000);
        expect((await me(bearer(body.token), cg)).statusCode).toBe(200);
        clock.advance(61_000);
        expectProblem(await me(bearer(body.token), cg), 401, 'CV_UNAUTHENTICATED');
        // The cookie form of the same session is expired too.
        expectProblem(await me({ cookie: `cv_session=${body.token}` }, cg), 401, 'CV_UNAUTHENTICATED');
      } finally {
        await cg.close();
      }
    });

    it('expires a personal access token after expires_in_days', async () => {
      const clock = new TestClock();
      const cg = await createTestGateway(engine, { clock });
      try {
        const { headers, user } = await registerUser(cg);
        const created = await cg.app.inject({
          method: 'POST',
          url: `${API}/auth/tokens`,
          headers,
          payload: { name: 'short-lived', expires_in_days: 1 },
        });
        expect(created.statusCode).toBe(201);
        const pat = created.json() as PatBody;
        clock.advance(DAY_MS - 1_000);
        expect((await me(bearer(pat.token!), cg)).statusCode).toBe(200);
        clock.advance(2_000);
        expectProblem(await me(bearer(pat.token!), cg), 401, 'CV_UNAUTHENTICATED');
        // Expired tokens drop out of the list (asked with a fresh session: the first one's 24h are over too).
        expectProblem(await me(headers, cg), 401, 'CV_UNAUTHENTICATED');
        const fresh = await cg.app.inject({
          method: 'POST',
          url: `${API}/auth/login`,
          payload: { email: user.email, password: PASSWORD },
        });
        expect(fresh.statusCode).toBe(200);
        const list = await cg.app.inject({
          method: 'GET',
          url: `${API}/auth/tokens`,
          headers: bearer((fresh.json() as SessionBody).token),
        });
        expect(list.statusCode).toBe(200);
        expect((list.json() as { tokens: PatBody[] }).tokens).toEqual([]);
      } finally {
        await cg.close();
      }
    });
  });

  describe('cookie authentication and CSRF', () => {
    const put = (
      payload: object,
      opts: { cookies?: Record<string, string>; headers?: Record<string, string> } = {},
    ) =>
      gw.app.inject({
        method: 'PUT',
        url: `${API}/users`,
        payload,
        ...(opts.cookies ? { cookies: opts.cookies } : {}),
        headers: opts.headers ?? {},
      });

    it('authenticates a safe request with only the session cookie', async () => {
      const { user, cookies } = await registerUser(gw);
      const res = await gw.app.inject({
        method: 'GET',
        url: `${API}/users`,
        cookies: { cv_session: cookies.cv_session! },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as UserBody).id).toBe(user.id);
    });

    it('refuses a mutating cookie request without X-CSRF-Token (403 CV_CSRF)', async () => {
      const { cookies, headers } = await registerUser(gw);
      const res = await put({ notification_preference: 'NONE' }, { cookies });
      expectProblem(res, 403, 'CV_CSRF');
      // Nothing changed.
      expect((await me(headers)).json()).toMatchObject({ notification_preference: 'ALERTS' });
    });

    it('refuses a mutating cookie request with a wrong X-CSRF-Token', async () => {
      const { cookies } = await registerUser(gw);
      for (const sent of [
        'wrong',
        '',
        cookies.cv_session!,
        `${cookies.cv_csrf!}x`,
        cookies.cv_csrf!.slice(1),
      ]) {
        expectProblem(
          await put({ notification_preference: 'NONE' }, { cookies, headers: { 'x-csrf-token': sent } }),
          403,
          'CV_CSRF',
        );
      }
    });

    it('refuses a matching header when the csrf cookie is missing', async () => {
      const { cookies } = await registerUser(gw);
      const res = await put(
        { notification_preference: 'NONE' },
        { cookies: { cv_session: cookies.cv_session! }, headers: { 'x-csrf-token': cookies.cv_csrf! } },
      );
      expectProblem(res, 403, 'CV_CSRF');
    });

    it('accepts a mutating cookie request whose header equals the csrf cookie', async () => {
      const { cookies, headers } = await registerUser(gw);
      const res = await put(
        { notification_preference: 'NONE' },
        { cookies, headers: { 'x-csrf-token': cookies.cv_csrf! } },
      );
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as UserBody).notification_preference).toBe('NONE');
      expect((await me(headers)).json()).toMatchObject({ notification_preference: 'NONE' });
    });

    it("refuses user A's session with user B's csrf value", async () => {
      const a = await registerUser(gw);
      const b = await registerUser(gw);
      // B's csrf cookie and header together (a planted cookie) still fail: the value is bound to A's session.
      const planted = await put(
        { notification_preference: 'NONE' },
        {
          cookies: { cv_session: a.cookies.cv_session!, cv_csrf: b.cookies.cv_csrf! },
          headers: { 'x-csrf-token': b.cookies.cv_csrf! },
        },
      );
      expectProblem(planted, 403, 'CV_CSRF');
      // A's own csrf cookie with B's header fails too.
      const mixed = await put(
        { notification_preference: 'NONE' },
        { cookies: a.cookies, headers: { 'x-csrf-token': b.cookies.cv_csrf! } },
      );
      expectProblem(mixed, 403, 'CV_CSRF');
      expect((await me(a.headers)).json()).toMatchObject({ notification_preference: 'ALERTS' });
    });

    it('needs no CSRF header for bearer requests', async () => {
      const { headers } = await registerUser(gw);
      const res = await put({ notification_preference: 'ALL' }, { headers });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as UserBody).notification_preference).toBe('ALL');
    });

    it('lets the Authorization header win over the cookie', async () => {
      const a = await registerUser(gw);
      const b = await registerUser(gw);
      const res = await gw.app.inject({
        method: 'GET',
        url: `${API}/users`,
        cookies: a.cookies,
        headers: b.headers,
      });
      expect(res.statusCode).toBe(200);
      expect((res.json() as UserBody).id).toBe(b.user.id);
      // A bad Authorization header is not rescued by a valid cookie.
      const bad = await gw.app.inject({
        method: 'GET',
        url: `${API}/users`,
        cookies: a.cookies,
        headers: { authorization: 'Token x' },
      });
      expectProblem(bad, 401, 'CV_UNAUTHENTICATED');
    });

    it('does not accept a personal access token as the session cookie', async () => {
      const { headers } = await registerUser(gw);
      const created = await gw.app.inject({
        method: 'POST',
        url: `${API}/auth/tokens`,
        headers,
        payload: { name: 'cli' },
      });
      const pat = (created.json() as PatBody).token!;
      expectProblem(
        await gw.app.inject({ method: 'GET', url: `${API}/users`, cookies: { cv_session: pat } }),
        401,
        'CV_UNAUTHENTICATED',
      );
    });

    it('answers 401 for an unknown session cookie', async () => {
      expectProblem(
        await gw.app.inject({
          method: 'GET',
          url: `${API}/users`,
          cookies: { cv_session: randomSessionLikeToken() },
        }),
        401,
        'CV_UNAUTHENTICATED',
      );
    });
  });

  describe('logout and validate', () => {
    it('logs out with 204, clears both cookies and revokes the token', async () => {
      const { token } = await registerUser(gw);
      const res = await gw.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: bearer(token) });
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
      expectCleared(res, 'cv_session');
      expectCleared(res, 'cv_csrf');
      expect(cookieOf(res, 'cv_session').value).toBe('');
      expectProblem(await me(bearer(token)), 401, 'CV_UNAUTHENTICATED');
    });

    it('revokes only the session used to log out', async () => {
      const { token, user } = await registerUser(gw);
      const other = (await login(user.email, PASSWORD)).json() as SessionBody;
      expect(
        (await gw.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: bearer(token) }))
          .statusCode,
      ).toBe(204);
      expect((await me(bearer(other.token))).statusCode).toBe(200);
    });

    it('logs out a cookie session only with the CSRF header', async () => {
      const { cookies } = await registerUser(gw);
      const noCsrf = await gw.app.inject({ method: 'POST', url: `${API}/auth/logout`, cookies });
      expectProblem(noCsrf, 403, 'CV_CSRF');
      expect((await gw.app.inject({ method: 'GET', url: `${API}/users`, cookies })).statusCode).toBe(200);
      const res = await gw.app.inject({
        method: 'POST',
        url: `${API}/auth/logout`,
        cookies,
        headers: { 'x-csrf-token': cookies.cv_csrf! },
      });
      expect(res.statusCode, res.body).toBe(204);
      expectCleared(res, 'cv_session');
      expectCleared(res, 'cv_csrf');
      expectProblem(
        await gw.app.inject({ method: 'GET', url: `${API}/users`, cookies }),
        401,
        'CV_UNAUTHENTICATED',
      );
    });

    it('accepts logout with an empty JSON body', async () => {
      const { token } = await registerUser(gw);
      const res = await gw.app.inject({
        method: 'POST',
        url: `${API}/auth/logout`,
        headers: { ...bearer(token), 'content-type': 'application/json' },
        payload: '',
      });
      expect(res.statusCode, res.body).toBe(204);
    });

    it('validates credentials: 200 {user} with a valid token, 401 without', async () => {
      const { token, user } = await registerUser(gw);
      const res = await gw.app.inject({
        method: 'POST',
        url: `${API}/auth/validate`,
        headers: bearer(token),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ user });
      expectProblem(
        await gw.app.inject({ method: 'POST', url: `${API}/auth/validate` }),
        401,
        'CV_UNAUTHENTICATED',
      );
      expectProblem(
        await gw.app.inject({
          method: 'POST',
          url: `${API}/auth/validate`,
          headers: bearer(randomSessionLikeToken()),
        }),
        401,
        'CV_UNAUTHENTICATED',
      );
    });
  });

  describe('personal access tokens', () => {
    const createPat = (headers: Record<string, string>, payload: unknown) =>
      gw.app.inject({ method: 'POST', url: `${API}/auth/tokens`, headers, payload: payload as object });
    const listPats = (headers: Record<string, string>) =>
      gw.app.inject({ method: 'GET', url: `${API}/auth/tokens`, headers });
    const deletePat = (headers: Record<string, string>, id: string) =>
      gw.app.inject({ method: 'DELETE', url: `${API}/auth/tokens/${id}`, headers });

    it('creates a cvp_ token with the read and write scopes that expires in 90 days by default', async () => {
      const { headers } = await registerUser(gw);
      const before = Date.now();
      const res = await createPat(headers, { name: '  ci runner ' });
      const after = Date.now();
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      const pat = res.json() as PatBody;
      expect(Object.keys(pat).sort()).toEqual([
        'created_at',
        'expires_at',
        'id',
        'last_used_at',
        'name',
        'parent_id',
        'scopes',
        'token',
      ]);
      expect(pat.scopes).toEqual(['read', 'write']);
      expect(pat.parent_id).toBeNull();
      expect(pat.token).toMatch(PAT_TOKEN);
      expect(pat.id).toMatch(UUID);
      expect(pat.name).toBe('ci runner');
      expect(pat.created_at).toMatch(ISO_MS);
      expect(pat.last_used_at).toBeNull();
      const expires = new Date(pat.expires_at!).getTime();
      expect(expires).toBeGreaterThanOrEqual(before + 90 * DAY_MS - 1_000);
      expect(expires).toBeLessThanOrEqual(after + 90 * DAY_MS + 1_000);
      expect(expires - new Date(pat.created_at).getTime()).toBe(90 * DAY_MS);
      // It does not set cookies.
      expect(res.cookies).toHaveLength(0);
    });

    it('honours expires_in_days at the bounds 1 and 365', async () => {
      const { headers } = await registerUser(gw);
      for (const days of [1, 365]) {
        const res = await createPat(headers, { name: `d${days}`, expires_in_days: days });
        expect(res.statusCode, res.body).toBe(201);
        const pat = res.json() as PatBody;
        expect(new Date(pat.expires_at!).getTime() - new Date(pat.created_at).getTime()).toBe(days * DAY_MS);
      }
    });

    it('rejects expires_in_days outside 1..365 or not a whole number', async () => {
      const { headers } = await registerUser(gw);
      for (const expires_in_days of [0, -1, 366, 1.5, '30', null]) {
        expectValidation(await createPat(headers, { name: 'x', expires_in_days }), ['expires_in_days']);
      }
      // None of them was created.
      expect(((await listPats(headers)).json() as { tokens: PatBody[] }).tokens).toEqual([]);
    });

    it('validates the token name', async () => {
      const { headers } = await registerUser(gw);
      expectValidation(await createPat(headers, {}), ['name']);
      expectValidation(await createPat(headers, { name: '' }), ['name']);
      expectValidation(await createPat(headers, { name: '   ' }), ['name']);
      expectValidation(await createPat(headers, { name: 'a'.repeat(101) }), ['name']);
      expectValidation(await createPat(headers, { name: 'bad\nname' }), ['name']);
      expectValidation(await createPat(headers, { name: 'ok', scope: 'admin' }), ['scope']);
      expectValidation(await createPat(headers, { name: 7, expires_in_days: 0 }), [
        'expires_in_days',
        'name',
      ]);
      expect((await createPat(headers, { name: 'a'.repeat(100) })).statusCode).toBe(201);
    });

    it('authenticates GET /users with the token and records last use', async () => {
      const { headers, user } = await registerUser(gw);
      const pat = (await createPat(headers, { name: 'script' })).json() as PatBody;
      const res = await me(bearer(pat.token!));
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as UserBody).id).toBe(user.id);
      const listed = ((await listPats(headers)).json() as { tokens: PatBody[] }).tokens;
      expect(listed.find((t) => t.id === pat.id)?.last_used_at).toMatch(ISO_MS);
      // A PAT can do mutating requests without CSRF (it is a bearer credential).
      const upd = await gw.app.inject({
        method: 'PUT',
        url: `${API}/users`,
        headers: bearer(pat.token!),
        payload: { notification_preference: 'NONE' },
      });
      expect(upd.statusCode).toBe(200);
    });

    it('lists active tokens newest first without their secrets, only for their owner', async () => {
      const { headers } = await registerUser(gw);
      const other = await registerUser(gw);
      const first = (await createPat(headers, { name: 'first' })).json() as PatBody;
      const second = (await createPat(headers, { name: 'second', expires_in_days: 7 })).json() as PatBody;
      await createPat(other.headers, { name: 'not mine' });
      const res = await listPats(headers);
      expect(res.statusCode, res.body).toBe(200);
      const { tokens } = res.json() as { tokens: PatBody[] };
      expect(tokens.map((t) => t.id)).toEqual([second.id, first.id]);
      const { token: firstSecret, ...firstPublic } = first;
      const { token: secondSecret, ...secondPublic } = second;
      expect(tokens).toEqual([secondPublic, firstPublic]);
      for (const t of tokens) expect(t).not.toHaveProperty('token');
      expect(res.body).not.toContain(firstSecret!);
      expect(res.body).not.toContain(secondSecret!);
      expect(res.body).not.toContain('cvp_');
    });

    it('revokes a token with DELETE: 204, then 401 for it and gone from the list', async () => {
      const { headers } = await registerUser(gw);
      const keep = (await createPat(headers, { name: 'keep' })).json() as PatBody;
      const drop = (await createPat(headers, { name: 'drop' })).json() as PatBody;
      expect((await me(bearer(drop.token!))).statusCode).toBe(200);
      const res = await deletePat(headers, drop.id);
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
      expectProblem(await me(bearer(drop.token!)), 401, 'CV_UNAUTHENTICATED');
      expect((await me(bearer(keep.token!))).statusCode).toBe(200);
      const ids = ((await listPats(headers)).json() as { tokens: PatBody[] }).tokens.map((t) => t.id);
      expect(ids).toEqual([keep.id]);
      // Deleting it again is a 404.
      expectProblem(await deletePat(headers, drop.id), 404, 'CV_NOT_FOUND');
    });

    it("answers 404 for another user's token id and leaves it working", async () => {
      const owner = await registerUser(gw);
      const intruder = await registerUser(gw);
      const pat = (await createPat(owner.headers, { name: 'owned' })).json() as PatBody;
      expectProblem(await deletePat(intruder.headers, pat.id), 404, 'CV_NOT_FOUND');
      expect((await me(bearer(pat.token!))).statusCode).toBe(200);
      // A well-formed id that does not exist is a 404 too.
      expectProblem(
        await deletePat(owner.headers, '0190a6b2-0000-7000-8000-000000000000'),
        404,
        'CV_NOT_FOUND',
      );
    });

    it('answers 400 on path id for a malformed token id', async () => {
      const { headers } = await registerUser(gw);
      expectValidation(await deletePat(headers, 'not-a-uuid'), ['id']);
      expectValidation(await deletePat(headers, '123'), ['id']);
    });

    it('requires authentication for every token endpoint', async () => {
      expectProblem(await createPat({}, { name: 'x' }), 401, 'CV_UNAUTHENTICATED');
      expectProblem(await listPats({}), 401, 'CV_UNAUTHENTICATED');
      expectProblem(await deletePat({}, '0190a6b2-0000-7000-8000-000000000000'), 401, 'CV_UNAUTHENTICATED');
    });
  });

  describe('current user', () => {
    const put = (headers: Record<string, string>, payload: unknown) =>
      gw.app.inject({ method: 'PUT', url: `${API}/users`, headers, payload: payload as object });

    it('GET returns the user object with the default notification preference', async () => {
      const { headers, user } = await registerUser(gw);
      const res = await me(headers);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as UserBody;
      expect(Object.keys(body).sort()).toEqual(
        ['created_at', 'email', 'id', 'notification_preference', 'role', 'updated_at'].sort(),
      );
      expect(body).toEqual({ ...user, notification_preference: 'ALERTS' });
      expect(body.created_at).toMatch(ISO_MS);
      expect(body.updated_at).toMatch(ISO_MS);
    });

    it('PUT notification_preference ALL persists it', async () => {
      const { headers } = await registerUser(gw);
      const user = (await me(headers)).json() as UserBody;
      const res = await put(headers, { notification_preference: 'ALL' });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as UserBody;
      expect(body).toMatchObject({
        id: user.id,
        email: user.email,
        role: user.role,
        notification_preference: 'ALL',
      });
      expect(body.created_at).toBe(user.created_at);
      expect(new Date(body.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(user.updated_at).getTime());
      expect(((await me(headers)).json() as UserBody).notification_preference).toBe('ALL');
      // And back to NONE.
      expect(
        ((await put(headers, { notification_preference: 'NONE' })).json() as UserBody)
          .notification_preference,
      ).toBe('NONE');
      expect(((await me(headers)).json() as UserBody).notification_preference).toBe('NONE');
    });

    it('rejects an invalid preference on path notification_preference', async () => {
      const { headers } = await registerUser(gw);
      for (const notification_preference of ['all', 'SOME', '', 1, null]) {
        expectValidation(await put(headers, { notification_preference }), ['notification_preference']);
      }
      expect(((await me(headers)).json() as UserBody).notification_preference).toBe('ALERTS');
    });

    it('rejects unknown fields, including attempts to change email or role', async () => {
      const { headers } = await registerUser(gw);
      expectValidation(await put(headers, { role: 'admin', email: 'x@example.com' }), ['email', 'role']);
      expect(((await me(headers)).json() as UserBody).role).toBe('user');
    });

    it('requires current_password with new_password', async () => {
      const { headers, user } = await registerUser(gw);
      const body = expectValidation(await put(headers, { new_password: 'a brand new password' }), [
        'current_password',
      ]);
      expect(body.errors![0]!.message).toMatch(/required/);
      expect((await login(user.email, PASSWORD)).statusCode).toBe(200);
    });

    it('validates the new password length', async () => {
      const { headers } = await registerUser(gw);
      expectValidation(await put(headers, { current_password: PASSWORD, new_password: 'short' }), [
        'new_password',
      ]);
      expectValidation(await put(headers, { current_password: PASSWORD, new_password: 'z'.repeat(129) }), [
        'new_password',
      ]);
    });

    it('rejects a wrong current_password with 400 on path current_password and changes nothing', async () => {
      const { headers, user } = await registerUser(gw);
      const other = (await login(user.email, PASSWORD)).json() as SessionBody;
      const res = await put(headers, {
        current_password: 'not my password',
        new_password: 'a brand new password',
      });
      expectValidation(res, ['current_password']);
      expect((await login(user.email, PASSWORD)).statusCode).toBe(200);
      expect((await login(user.email, 'a brand new password')).statusCode).toBe(401);
      // No session was revoked.
      expect((await me(bearer(other.token))).statusCode).toBe(200);
    });

    it('changes the password: new one logs in, old one fails, this session survives, others are revoked', async () => {
      const { headers, user } = await registerUser(gw);
      const earlier = (await login(user.email, PASSWORD)).json() as SessionBody;
      const pat = (
        await gw.app.inject({
          method: 'POST',
          url: `${API}/auth/tokens`,
          headers,
          payload: { name: 'old pat' },
        })
      ).json() as PatBody;
      expect((await me(bearer(earlier.token))).statusCode).toBe(200);
      expect((await me(bearer(pat.token!))).statusCode).toBe(200);

      const newPassword = 'an entirely new passphrase';
      const res = await put(headers, {
        current_password: PASSWORD,
        new_password: newPassword,
        notification_preference: 'ALL',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: user.id, notification_preference: 'ALL' });
      expect(res.body).not.toContain(newPassword);

      expect((await login(user.email, newPassword)).statusCode).toBe(200);
      expectProblem(await login(user.email, PASSWORD), 401, 'CV_INVALID_CREDENTIALS');
      expect((await me(headers)).statusCode).toBe(200);
      expectProblem(await me(bearer(earlier.token)), 401, 'CV_UNAUTHENTICATED');
      expectProblem(await me(bearer(pat.token!)), 401, 'CV_UNAUTHENTICATED');
      const tokens = (
        (await gw.app.inject({ method: 'GET', url: `${API}/auth/tokens`, headers })).json() as {
          tokens: PatBody[];
        }
      ).tokens;
      expect(tokens).toEqual([]);
    });

    it('requires authentication', async () => {
      expectProblem(await put({}, { notification_preference: 'ALL' }), 401, 'CV_UNAUTHENTICATED');
    });
  });

  describe('roles and the admin user list', () => {
    let ag: TestGateway;
    let admin: Awaited<ReturnType<typeof registerUser>>;
    let second: Awaited<ReturnType<typeof registerUser>>;
    let third: Awaited<ReturnType<typeof registerUser>>;
    beforeAll(async () => {
      ag = await createTestGateway(engine);
      admin = await registerUser(ag, uniqueEmail('admin'));
      second = await registerUser(ag, uniqueEmail('second'));
      third = await registerUser(ag, uniqueEmail('third'));
    });
    afterAll(() => ag.close());

    const adminUsers = (headers: Record<string, string>, query = '') =>
      ag.app.inject({ method: 'GET', url: `${API}/admin/users${query}`, headers });

    it('makes the first user of an installation admin and later ones user', async () => {
      expect(admin.user.role).toBe('admin');
      expect(second.user.role).toBe('user');
      expect(third.user.role).toBe('user');
      expect(((await me(admin.headers, ag)).json() as UserBody).role).toBe('admin');
      expect(((await me(second.headers, ag)).json() as UserBody).role).toBe('user');
    });

    it('lists every user for an admin', async () => {
      const res = await adminUsers(admin.headers);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { users: UserBody[]; cursor: string | null };
      expect(Object.keys(body).sort()).toEqual(['cursor', 'users']);
      expect(body.cursor).toBeNull();
      expect(body.users.map((u) => u.id)).toEqual([third.user.id, second.user.id, admin.user.id]);
      for (const u of body.users) {
        expect(Object.keys(u).sort()).toEqual([
          'created_at',
          'email',
          'id',
          'notification_preference',
          'role',
          'updated_at',
        ]);
      }
      expect(res.body).not.toMatch(/password|hash|argon/i);
    });

    it('forbids a non-admin with 403 CV_FORBIDDEN', async () => {
      expectProblem(await adminUsers(second.headers), 403, 'CV_FORBIDDEN');
      expectProblem(await adminUsers({}), 401, 'CV_UNAUTHENTICATED');
    });

    it('pages with limit=1 through all users without repeats', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page += 1) {
        const query: string = `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await adminUsers(admin.headers, query);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as { users: UserBody[]; cursor: string | null };
        expect(body.users).toHaveLength(1);
        seen.push(body.users[0]!.id);
        cursor = body.cursor;
        if (cursor === null) break;
      }
      expect(cursor).toBeNull();
      expect(seen).toEqual([third.user.id, second.user.id, admin.user.id]);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('validates limit and cursor', async () => {
      expectValidation(await adminUsers(admin.headers, '?limit=0'), ['limit']);
      expectValidation(await adminUsers(admin.headers, '?limit=101'), ['limit']);
      expectValidation(await adminUsers(admin.headers, '?limit=abc'), ['limit']);
      expectValidation(await adminUsers(admin.headers, '?cursor=garbage'), ['cursor']);
    });
  });

  it('makes exactly one admin when the first registrations race', async () => {
    const rg = await createTestGateway(engine);
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          rg.app.inject({
            method: 'POST',
            url: `${API}/auth/register`,
            payload: { email: uniqueEmail('race'), password: PASSWORD },
          }),
        ),
      );
      for (const r of results) expect(r.statusCode, r.body).toBe(201);
      const roles = results.map((r) => (r.json() as SessionBody).user.role);
      expect(roles.filter((r) => r === 'admin')).toHaveLength(1);
    } finally {
      await rg.close();
    }
  });

  it('makes only one account when the same email registers twice at once', async () => {
    const email = uniqueEmail('same');
    const results = await Promise.all([
      register({ email, password: PASSWORD }),
      register({ email: email.toUpperCase(), password: PASSWORD }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expectProblem(
      results.find((r) => r.statusCode === 409)!,
      409,
      'CV_EMAIL_TAKEN',
    );
  });

  it('never writes passwords, tokens or cookie values to the logs', async () => {
    const lg = await createTestGateway(engine);
    try {
      const password = `secret-${randomBytes(8).toString('hex')}`;
      const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
      const newPassword = `renewed-${randomBytes(8).toString('hex')}`;
      const email = uniqueEmail('logs');
      const secrets: string[] = [password, wrongPassword, newPassword];

      const reg = await lg.app.inject({
        method: 'POST',
        url: `${API}/auth/register`,
        payload: { email, password },
      });
      expect(reg.statusCode).toBe(201);
      const regToken = (reg.json() as SessionBody).token;
      secrets.push(regToken, ...reg.cookies.map((c) => c.value));

      const ok = await lg.app.inject({
        method: 'POST',
        url: `${API}/auth/login`,
        payload: { email, password },
      });
      expect(ok.statusCode).toBe(200);
      const loginToken = (ok.json() as SessionBody).token;
      secrets.push(loginToken, ...ok.cookies.map((c) => c.value));

      const bad = await lg.app.inject({
        method: 'POST',
        url: `${API}/auth/login`,
        payload: { email, password: wrongPassword },
      });
      expect(bad.statusCode).toBe(401);

      const patRes = await lg.app.inject({
        method: 'POST',
        url: `${API}/auth/tokens`,
        headers: bearer(loginToken),
        payload: { name: 'log check' },
      });
      expect(patRes.statusCode).toBe(201);
      const pat = (patRes.json() as PatBody).token!;
      secrets.push(pat);

      // Use every credential once more so request logging has had every chance to see them.
      expect((await me(bearer(pat), lg)).statusCode).toBe(200);
      const csrf = ok.cookies.find((c) => c.name === 'cv_csrf')!.value;
      const cookieReq = await lg.app.inject({
        method: 'PUT',
        url: `${API}/users`,
        cookies: { cv_session: loginToken, cv_csrf: csrf },
        headers: { 'x-csrf-token': csrf },
        payload: { current_password: password, new_password: newPassword },
      });
      expect(cookieReq.statusCode).toBe(200);
      // A malformed JSON body containing a password must not be echoed into the logs either.
      const malformed = await lg.app.inject({
        method: 'POST',
        url: `${API}/auth/login`,
        headers: { 'content-type': 'application/json' },
        payload: `{"email":"${email}","password":"${password}"`,
      });
      expect(malformed.statusCode).toBe(400);

      const text = lg.logs.text;
      expect(text.length).toBeGreaterThan(0);
      expect(text).toContain('/api/v1/auth/login');
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(0);
        expect(text.includes(secret), `log contains a secret (${secret.slice(0, 6)}…)`).toBe(false);
      }
      expect(text).not.toMatch(/cv[sp]_[A-Za-z0-9_-]{43}/);
    } finally {
      await lg.close();
    }
  });
});

describe.each(ENGINES)('password checks on PUT /users (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine, { env: { CHRONOVERSE_AUTH_LOGIN_FREE_FAILURES: '3' } });
  });
  afterAll(() => gw.close());

  it('rejects a wrong current_password even without new_password', async () => {
    const u = await registerUser(gw);
    const res = await gw.app.inject({
      method: 'PUT',
      url: '/api/v1/users',
      headers: u.headers,
      payload: { notification_preference: 'ALL', current_password: 'not the password' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'current_password', message: 'is incorrect' }]);
    const after = await gw.app.inject({ method: 'GET', url: '/api/v1/users', headers: u.headers });
    expect(after.json().notification_preference).toBe('ALERTS');
  });

  it('throttles wrong current_password guesses, even in parallel', async () => {
    const u = await registerUser(gw);
    const guesses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        gw.app.inject({
          method: 'PUT',
          url: '/api/v1/users',
          headers: u.headers,
          payload: { current_password: `guess-${i}`, new_password: 'new password 123' },
        }),
      ),
    );
    const statuses = guesses.map((g) => g.statusCode).sort();
    expect(statuses.filter((s) => s === 400)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const limited = guesses.find((g) => g.statusCode === 429)!;
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

/**
 * Request authentication. Two ways in (api.md "Authentication"):
 *  1. `Authorization: Bearer <token>` — sessions or personal access tokens; no CSRF check.
 *  2. The HttpOnly session cookie; then every state-changing request must carry `X-CSRF-Token`
 *     equal to the readable csrf cookie (double submit), and that value must be the one derived
 *     from the session token, so a cookie planted by a sibling subdomain does not pass either.
 *
 * Then the credential's scopes (api.md "Token scopes"): each route needs one, decided here from
 * its path and method so a route added later is covered without opting in: /admin routes need
 * `admin` (and the admin role), /auth/tokens routes `tokens`, logout and validate none, other
 * reads `read`, other changes `write`. A session holds every scope its user's role allows.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CsrfError, ForbiddenError, InsufficientScopeError, UnauthenticatedError } from '../domain/errors.ts';
import type { TokenScope } from '../domain/user-input.ts';
import { csrfTokenFor, safeEqual } from '../platform/tokens.ts';
import type { UsersApi } from '../services/users/api.ts';
import type { Principal } from '../services/users/service.ts';

export const SESSION_COOKIE = 'cv_session';
export const CSRF_COOKIE = 'cv_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function makeAuthenticate(users: UsersApi) {
  return async function authenticate(req: FastifyRequest): Promise<void> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new UnauthenticatedError('The Authorization header must be "Bearer <token>".');
      const principal = await users.authenticate(match[1]!);
      if (!principal) throw new UnauthenticatedError();
      req.principal = principal;
      checkScope(req);
      return;
    }
    const session = req.cookies[SESSION_COOKIE];
    if (!session) throw new UnauthenticatedError();
    const principal = await users.authenticate(session);
    if (!principal || principal.tokenKind !== 'session') throw new UnauthenticatedError();
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      const cookie = req.cookies[CSRF_COOKIE];
      const expected = csrfTokenFor(session);
      if (typeof sent !== 'string' || !cookie || !safeEqual(sent, cookie) || !safeEqual(sent, expected)) {
        throw new CsrfError();
      }
    }
    req.principal = principal;
    checkScope(req);
  };
}

const ADMIN_ROUTE = /^\/api\/v1\/admin(\/|$)/;
const TOKEN_ROUTE = /^\/api\/v1\/auth\/tokens(\/|$)/;
const UNSCOPED_ROUTES = new Set(['/api/v1/auth/logout', '/api/v1/auth/validate']);
/** POSTs that only compute an answer (a body too rich for a query string): `read`, as a GET. */
const READ_POSTS = new Set(['/api/v1/schedules/preview']);

/** The scope a route needs (null: any credential will do). */
export function requiredScope(method: string, routePath: string): TokenScope | null {
  if (ADMIN_ROUTE.test(routePath)) return 'admin';
  if (TOKEN_ROUTE.test(routePath)) return 'tokens';
  if (UNSCOPED_ROUTES.has(routePath)) return null;
  if (READ_POSTS.has(routePath)) return 'read';
  return SAFE_METHODS.has(method) ? 'read' : 'write';
}

function checkScope(req: FastifyRequest): void {
  const principal = principalOf(req);
  const scope = requiredScope(req.method, req.routeOptions.url ?? req.url.split('?')[0]!);
  if (scope === null) return;
  if (scope === 'admin' && principal.user.role !== 'admin') {
    throw new ForbiddenError('This endpoint is for administrators.');
  }
  if (!principal.scopes.includes(scope)) throw new InsufficientScopeError(scope);
}

/** The authenticated principal of a request that passed `authenticate`. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new UnauthenticatedError();
  return req.principal;
}

/**
 * Whether the request acts as an administrator outside /admin routes (e.g. subscribing another
 * user): the admin role and a credential holding the `admin` scope, as requireAdmin demands.
 */
export function actsAsAdmin(principal: Principal): boolean {
  return principal.user.role === 'admin' && principal.scopes.includes('admin');
}

/** The principal of an admin route: the admin role and a credential holding the `admin` scope. */
export function requireAdmin(req: FastifyRequest): Principal {
  const principal = principalOf(req);
  if (principal.user.role !== 'admin') throw new ForbiddenError('This endpoint is for administrators.');
  if (!principal.scopes.includes('admin')) throw new InsufficientScopeError('admin');
  return principal;
}

export function setSessionCookies(reply: FastifyReply, token: string, expiresAt: Date): void {
  const common = { path: '/', sameSite: 'lax', secure: 'auto', expires: expiresAt } as const;
  reply.setCookie(SESSION_COOKIE, token, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, csrfTokenFor(token), { ...common, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}

/**
 * Opaque bearer tokens. A token is 32 random bytes, base64url, behind a prefix that says what it
 * is (`cvs_` session, `cvp_` personal access token, `cvi_` invitation) so secret scanners can recognise it. Only the
 * SHA-256 is stored. Chosen over signed JWTs because revocation must be immediate (logout,
 * password change) and a lookup by primary key is cheaper than keeping a deny-list.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'session' | 'pat';
const PREFIX: Record<TokenKind, string> = { session: 'cvs_', pat: 'cvp_' };
const SHAPE = /^cv[sp]_[A-Za-z0-9_-]{43}$/;

export function generateToken(kind: TokenKind): { token: string; hash: string } {
  const token = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** A one-time invitation secret (`cvi_…`); like tokens, only its SHA-256 is stored. */
export function generateInviteSecret(): { token: string; hash: string } {
  const token = 'cvi_' + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeToken(text: string): boolean {
  return SHAPE.test(text);
}

/** CSRF token derived from the session token: unforgeable without the (HttpOnly) session. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`csrf:${sessionToken}`).digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

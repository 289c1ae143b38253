/**
 * Response headers every answer of the gateway carries, in one onSend hook, so that a page served
 * by any route (the dashboard's index.html at `/`, `/index.html` or a deep link, another built
 * file, the API browser at /api/docs) cannot be framed, sniffed or leak its URL to other origins.
 *
 * - Every response: `X-Content-Type-Options: nosniff`; over https (`request.protocol`, which
 *   honours X-Forwarded-Proto only from a trusted proxy) `Strict-Transport-Security` for a year.
 *   Not `includeSubDomains`: other services of the domain may not serve https.
 * - HTML responses: a Content-Security-Policy with `frame-ancestors 'none'` (a route may set a
 *   stricter or nonce-carrying one first: the dashboard's index.html does), `X-Frame-Options: DENY`
 *   for browsers without CSP level 2, and `Referrer-Policy: same-origin`.
 * - API answers are per-user: `Cache-Control: no-store` under /api/v1/.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const HSTS = 'max-age=31536000';

/** HTML no route gave a policy of its own: nothing but this origin's files, never framed. */
export const DEFAULT_HTML_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The API browser (Swagger UI): its scripts are files of this origin, but React sets inline
 * style attributes, so styles need 'unsafe-inline' (scripts do not).
 */
export const API_DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function securityHeaders(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('x-content-type-options', 'nosniff');
  if (req.protocol === 'https') reply.header('strict-transport-security', HSTS);
  const path = req.url.split('?')[0]!;
  if (path.startsWith('/api/v1/')) reply.header('cache-control', 'no-store');
  const type = reply.getHeader('content-type');
  if (typeof type === 'string' && /^text\/html/i.test(type)) {
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', path.startsWith('/api/docs') ? API_DOCS_CSP : DEFAULT_HTML_CSP);
    }
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
  }
}

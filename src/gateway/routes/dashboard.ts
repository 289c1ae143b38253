/**
 * The web dashboard (web/, built by Vite into web/dist), served from the gateway's own origin so
 * the session cookie and CSRF double submit work without CORS.
 *
 * - `assets/*` are content-hashed: cached for a year, immutable. A missing asset is a 404 (never
 *   index.html: a stale tab asking for an old chunk must fail loudly, not parse HTML as JS).
 * - Every other GET that accepts HTML and is not an API or operations path gets index.html
 *   (`no-cache`), so deep links such as /workflows/<id> load the app, which routes itself.
 * - A strict Content-Security-Policy: scripts and styles only from this origin, no inline code;
 *   the one exception is a per-response style nonce, handed to react-aria through
 *   `<meta property="csp-nonce">`, for the small <style> element its press handling injects.
 * - `/index.html` is the same page as `/` (with its CSP and nonce), never the raw file; every HTML
 *   answer gets the framing, referrer and sniffing rules of security-headers.ts.
 * - A path with a `.` or `..` segment, a backslash or a NUL once decoded (`/assets/..%2f…`) is a
 *   400 CV_MALFORMED_REQUEST before any file is looked up (it used to reach @fastify/static, whose
 *   403 came out as CV_MALFORMED_REQUEST with a status docs/errors.md does not give that code).
 * - Without a build, `/` says how to make one (the API keeps working).
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpProblemError } from '../problem.ts';

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

export const dashboardCsp = (styleNonce: string) =>
  [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${styleNonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Paths that belong to the server, never to the single-page app. */
const RESERVED = /^\/(?:api(?:\/|$)|healthz$|readyz$|metrics$)/;

/** Decoded paths that could leave the build directory (or confuse the file system). */
function climbs(path: string): boolean {
  return /[\\\0]/.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..');
}

/** Browser navigations ask for text/html; fetches of data (and typos in API paths) do not. */
function acceptsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

const NOT_BUILT = `Chronoverse: the dashboard has not been built.

Build it with \`npm run build\` (it is written to web/dist), or run \`npm start\`, which builds it
when missing. The API works without it: see /api/docs.
`;

export async function dashboardRoutes(app: FastifyInstance, opts: { distDir?: string }): Promise<void> {
  const root = opts.distDir ?? DEFAULT_WEB_DIST;
  const indexFile = join(root, 'index.html');

  // preCompressed: the build writes .br/.gz beside each file (web/vite.config.ts); sent when accepted.
  await app.register(fastifyStatic, {
    root,
    serve: false,
    index: false,
    dotfiles: 'ignore',
    preCompressed: true,
  });

  // index.html is small and changes only with a build: kept in memory, re-read when its mtime moves.
  let cached: { mtimeMs: number; html: string } | null = null;
  const sendIndex = async (reply: FastifyReply) => {
    const { mtimeMs } = await stat(indexFile);
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, html: await readFile(indexFile, 'utf8') };
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('content-security-policy', dashboardCsp(nonce))
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(cached.html.replace('<head>', `<head><meta property="csp-nonce" nonce="${nonce}">`));
  };

  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    const pathname = req.url.split('?')[0]!;
    if (RESERVED.test(pathname)) return reply.callNotFound();
    if (climbs(path)) {
      throw new HttpProblemError('CV_MALFORMED_REQUEST', 'The path leaves the dashboard files.', {
        errors: [
          { path: 'url', message: 'must not contain "." or ".." segments, backslashes or NUL characters' },
        ],
      });
    }
    const built = existsSync(indexFile);
    if (path.startsWith('assets/')) {
      if (!built) return reply.callNotFound();
      return reply.header('cache-control', IMMUTABLE).sendFile(path, { cacheControl: false });
    }
    // Another file at the top level (robots.txt, icons): served when it exists, briefly cached.
    const last = path.split('/').at(-1) ?? '';
    if (built && path === 'index.html') return sendIndex(reply);
    if (built && last.includes('.') && !path.includes('/') && existsSync(join(root, path))) {
      return reply.header('cache-control', 'no-cache').sendFile(path, { cacheControl: false });
    }
    if (pathname !== '/' && !acceptsHtml(req)) return reply.callNotFound();
    if (!built)
      return reply
        .code(pathname === '/' ? 200 : 404)
        .type('text/plain; charset=utf-8')
        .send(NOT_BUILT);
    return sendIndex(reply);
  });
}

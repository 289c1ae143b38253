/**
 * What the HTTP layer refuses before any route runs, and how it says so (docs/api.md "Limits").
 *
 * Every refusal is an RFC 9457 problem+json document naming the limit it crossed (`limit`) or
 * the part that was wrong (`errors`), whichever layer found it:
 * - Node's HTTP parser, before Fastify sees a request (`clientError`): a request line or header
 *   block over `MAX_HEADER_BYTES` (414 when the request line alone is, else 431), bytes that are
 *   not HTTP (400), and a request not received in full within the body timeout (408). Node would
 *   answer these with bare or JSON bodies; this handler writes the problem document itself, then
 *   closes the connection (its framing cannot be trusted any more);
 * - Fastify's router (`frameworkErrors`): an undecodable URL (400). Its `maxParamLength` is raised
 *   to the URL limit: at its default (100) a longer path parameter made the router skip the route,
 *   and the request ended as a 404 "No route" from the dashboard's fallback; now the route's own
 *   validation names the parameter (400);
 * - our own hooks: a URL over `MAX_URL_BYTES` (414), JSON bodies (json-body.ts: 400 depth, 413).
 *
 * The body timeout is Node's `requestTimeout`: the time from the first byte of a request until its
 * last, so a client that stops half-way through its body (or its headers) no longer holds the
 * connection (it held it 144 s, then the aborted body was logged as "dependency unavailable").
 * Node checks it every `connectionsCheckingInterval`; at most one second late here.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../platform/logger.ts';
import { HttpProblemError, toProblem, type Problem } from './problem.ts';

/** Node's default, stated: request line plus headers. */
export const MAX_HEADER_BYTES = 16_384;
/** The whole request target (path and query). Longer query strings are never needed by the API. */
export const MAX_URL_BYTES = 8_192;

/** Options of Node's HTTP server for `Fastify({ http })`. */
export function httpServerOptions(bodyTimeoutMs: number) {
  return {
    requestTimeout: bodyTimeoutMs,
    // Node requires headersTimeout ≤ requestTimeout; the body timeout covers the headers too.
    headersTimeout: bodyTimeoutMs,
    maxHeaderSize: MAX_HEADER_BYTES,
    connectionsCheckingInterval: Math.min(1_000, bodyTimeoutMs),
  };
}

/** What Node hands `clientError`: `rawPacket` is the bytes its parser had (a Buffer). */
export type ClientError = Error & { code?: string; rawPacket?: unknown };

/** The problem for an error Node's HTTP parser (or its request timer) raised on a connection. */
export function clientErrorProblem(err: ClientError, bodyTimeoutMs: number): HttpProblemError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblemError(
        'CV_REQUEST_TIMEOUT',
        `The request was not received in full within ${bodyTimeoutMs} ms.`,
        { limit: { name: 'request_timeout_ms', max: bodyTimeoutMs } },
      );
    case 'HPE_HEADER_OVERFLOW': {
      // Still inside the request line when the limit hit: the URL is what is too long.
      const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : Buffer.alloc(0);
      const head = raw.subarray(0, MAX_HEADER_BYTES);
      if (head.length > 0 && !head.includes('\r\n')) {
        return new HttpProblemError('CV_URI_TOO_LONG', `The URL is longer than ${MAX_URL_BYTES} bytes.`, {
          limit: { name: 'url_bytes', max: MAX_URL_BYTES },
        });
      }
      return new HttpProblemError(
        'CV_HEADERS_TOO_LARGE',
        `The request line and headers are larger than ${MAX_HEADER_BYTES} bytes.`,
        { limit: { name: 'header_bytes', max: MAX_HEADER_BYTES } },
      );
    }
    default:
      return new HttpProblemError('CV_MALFORMED_REQUEST', 'The request is not well-formed HTTP/1.1.', {
        errors: [{ path: partOf(err.code), message: `is malformed (${err.code ?? 'parse error'})` }],
      });
  }
}

/** Which part of the request llhttp's error code is about. */
function partOf(code: string | undefined): string {
  if (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_UNEXPECTED_CONTENT_LENGTH')
    return 'Content-Length';
  if (code === 'HPE_INVALID_TRANSFER_ENCODING' || code === 'HPE_INVALID_CHUNK_SIZE')
    return 'Transfer-Encoding';
  if (code === 'HPE_INVALID_METHOD') return 'method';
  if (code === 'HPE_INVALID_URL') return 'url';
  if (code === 'HPE_INVALID_VERSION') return 'version';
  if (code?.startsWith('HPE_INVALID_HEADER') || code === 'HPE_LF_EXPECTED' || code === 'HPE_CR_EXPECTED')
    return 'headers';
  return 'request';
}

/** The raw HTTP/1.1 answer for a connection whose request never reached Fastify. */
export function rawProblemResponse(problem: Problem): string {
  const body = JSON.stringify(problem);
  return (
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
    'Content-Type: application/problem+json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'X-Content-Type-Options: nosniff\r\n' +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n' +
    `\r\n${body}`
  );
}

/** Fastify's `clientErrorHandler`: answers with a problem document, then closes the connection. */
export function makeClientErrorHandler(logger: Logger, bodyTimeoutMs: number) {
  return (err: ClientError, socket: Socket): void => {
    // A connection reset: nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { problem } = toProblem(clientErrorProblem(err, bodyTimeoutMs));
    logger.info(
      { code: problem.code, status: problem.status, reason: err.code },
      problem.status === 408
        ? 'request cut: not received in full within the body timeout'
        : 'request refused by the HTTP parser',
    );
    // As Node does: answer unless a response to this connection already started.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) socket.write(rawProblemResponse(problem));
    socket.destroySoon();
  };
}

/** Fastify's `frameworkErrors`: router errors (an undecodable URL; a parameter over the URL limit). */
export function frameworkErrorReply(
  err: Error & { code?: string },
  _req: FastifyRequest,
  reply: FastifyReply,
) {
  const mapped =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new HttpProblemError('CV_URI_TOO_LONG', `The URL is longer than ${MAX_URL_BYTES} bytes.`, {
          limit: { name: 'url_bytes', max: MAX_URL_BYTES },
        })
      : err.code === 'FST_ERR_BAD_URL'
        ? new HttpProblemError('CV_MALFORMED_REQUEST', 'The URL is not correctly percent-encoded.', {
            errors: [{ path: 'url', message: 'is not correctly percent-encoded UTF-8' }],
          })
        : err;
  const { problem, headers } = toProblem(mapped);
  return reply.code(problem.status).headers(headers).type('application/problem+json').send(problem);
}

/** onRequest: a URL over MAX_URL_BYTES is a 414 before routing goes any further. */
export async function limitUrlLength(req: FastifyRequest): Promise<void> {
  if (req.raw.url !== undefined && req.raw.url.length > MAX_URL_BYTES) {
    throw new HttpProblemError('CV_URI_TOO_LONG', `The URL is longer than ${MAX_URL_BYTES} bytes.`, {
      limit: { name: 'url_bytes', max: MAX_URL_BYTES },
    });
  }
}

/**
 * Client-side retries of failed calls, with exponential backoff and full jitter (100 ms doubling,
 * capped at 2 s), at most `retries` times, never beyond the call's deadline (the deadline covers
 * every attempt, as gRPC deadlines do).
 *
 * What is retried: only Code.Unavailable that no Chronoverse server answered on purpose (no
 * ErrorInfo detail: the service itself saying "database unavailable" is an answer, not a lost
 * call). DeadlineExceeded is never retried: the deadline is spent. ResourceExhausted is the
 * catalogue's rate limit, an answer too.
 *
 * Which calls: an Unavailable failure is ambiguous: the request may have reached the server and
 * run before the connection broke. So
 * - methods declared idempotent in the .proto (`idempotency_level` NO_SIDE_EFFECTS or IDEMPOTENT:
 *   reads, authenticate, revoke-own-token, terminate) retry on any such failure;
 * - other methods (creates, edits, cancel, delete, login, register) retry only when the request
 *   provably never left: the connection was refused or the host did not resolve. Creates carry
 *   idempotency keys only when the API client sent one, so this rule does not rely on them.
 * Streams (the raw log download) are not retried: their request iterable is consumed by the first
 * attempt, and the gateway's caller can simply download again.
 */
import { MethodOptions_IdempotencyLevel } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { isServiceAnswer } from './errors.ts';

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export function retryInterceptor(retries: number, random: () => number = Math.random): Interceptor {
  return (next) => async (req) => {
    if (req.stream) return next(req);
    const idempotent = req.method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
    for (let attempt = 0; ; attempt++) {
      try {
        return await next(req);
      } catch (err) {
        if (attempt >= retries || !retryable(err, idempotent) || req.signal.aborted) throw err;
        const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
        await sleep(Math.floor(random() * cap), req.signal);
        if (req.signal.aborted) throw err;
      }
    }
  };
}

function retryable(err: unknown, idempotent: boolean): boolean {
  if (!(err instanceof ConnectError) || err.code !== Code.Unavailable || isServiceAnswer(err)) return false;
  return idempotent || neverSent(err);
}

/** Walks the cause chain for a connection that was refused or a host that did not resolve. */
function neverSent(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

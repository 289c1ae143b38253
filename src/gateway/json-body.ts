/**
 * JSON request bodies: read, bounded and checked for depth before anything recurses over them.
 *
 * Design note (issue 16, finding 3). A body nested 10,000 levels deep (about 20 KB) used to
 * answer 500 on the workflow and webhook routes: `JSON.stringify` threw "Maximum call stack size
 * exceeded" on the way to the RPC layer. Measured on Node 24.21 (V8 13.6): `JSON.parse` is not the
 * problem (it is iterative: 1,000,000 levels parse in about 140 ms), but `JSON.stringify` and
 * `structuredClone` already throw at 10,000 levels, and zod, our own walkers, the RPC wire format
 * and the database all recurse. A depth check after `JSON.parse` would still spend the parse on a
 * hostile body and leave the next recursive step one refactoring away; so the limit is enforced
 * on the raw bytes, chunk by chunk as they arrive, before the body becomes a value:
 *
 * - one pass, no allocation: strings are skipped (a quote opens one, a backslash escapes the next
 *   byte), and `[`/`{` outside strings count a level. UTF-8 never puts these ASCII bytes inside a
 *   multi-byte character, so bytes are scanned without decoding;
 * - the answer is a 400 `CV_BODY_TOO_DEEP` naming the limit (`json_depth`), as soon as the first
 *   byte too deep arrives; the rest of the body is never read;
 * - MAX_JSON_DEPTH is 32: the deepest body any route accepts is 4 levels (a heartbeat's
 *   `payload.headers.<name>[]`), so 32 leaves room without letting anything recursive near its
 *   stack limit (JSON.stringify fails somewhere between 1,000 and 10,000 levels).
 *
 * The byte limit (413, `body_bytes`) is enforced on the same pass, with or without a
 * Content-Length, and a body cut short (client gone, or the server's body timeout) ends as an
 * aborted 400 that is logged as such, never as a dependency failure.
 */
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { HttpProblemError } from './problem.ts';

export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** The nesting depth of JSON text fed in chunks; `push` is false once it went past `max`. */
export class JsonDepthGauge {
  readonly max: number;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(max: number) {
    this.max = max;
  }

  push(chunk: Uint8Array): boolean {
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    const max = this.max;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        depth += 1;
        if (depth > max) {
          this.#depth = depth;
          return false;
        }
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
        // Unbalanced closers are the JSON parser's to report; they never make room for more depth.
        if (depth > 0) depth -= 1;
      }
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    return true;
  }
}

type ParseJson = (
  req: FastifyRequest,
  text: string,
  done: (err: Error | null, value?: unknown) => void,
) => void;

/**
 * Fastify content-type parser for `application/json` (registered without `parseAs`, so it gets
 * the request stream): enforces the route's body limit (`bodyLimitBytes` unless the route sets
 * `bodyLimit`) and `maxDepth` while reading, then hands the text
 * to `parse` (Fastify's secure JSON parser). An empty body means "no body" (PATCH, logout).
 */
export function jsonBodyParser(options: { bodyLimitBytes: number; maxDepth: number; parse: ParseJson }) {
  const { maxDepth, parse } = options;

  return (
    req: FastifyRequest,
    payload: Readable,
    done: (err: Error | null, body?: unknown) => void,
  ): void => {
    // A route may raise its own limit (`bodyLimit`: POST /workflows/bulk); others have the server's.
    const bodyLimitBytes = req.routeOptions.bodyLimit ?? options.bodyLimitBytes;
    const tooLarge = () =>
      new HttpProblemError('CV_BODY_TOO_LARGE', `The body is larger than ${bodyLimitBytes} bytes.`, {
        limit: { name: 'body_bytes', max: bodyLimitBytes },
      });
    const declared = Number(req.headers['content-length']);
    if (declared > bodyLimitBytes) return done(tooLarge());

    const gauge = new JsonDepthGauge(maxDepth);
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (err: Error | null, body?: unknown) => {
      if (settled) return;
      settled = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      done(err, body);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > bodyLimitBytes) return finish(tooLarge());
      if (!gauge.push(bytes)) {
        return finish(
          new HttpProblemError(
            'CV_BODY_TOO_DEEP',
            `The body is nested more than ${maxDepth} levels deep (arrays and objects).`,
            { limit: { name: 'json_depth', max: maxDepth } },
          ),
        );
      }
      chunks.push(bytes);
    };
    const onError = () =>
      finish(
        new HttpProblemError('CV_MALFORMED_REQUEST', 'The body was cut short.', {
          errors: [{ path: '', message: 'was not received in full' }],
          aborted: true,
        }),
      );
    const onEnd = () => {
      if (!Number.isNaN(declared) && received !== declared) {
        return finish(
          new HttpProblemError(
            'CV_MALFORMED_REQUEST',
            'The body does not have the length Content-Length announced.',
            {
              errors: [
                { path: 'Content-Length', message: `announced ${declared} bytes, the body has ${received}` },
              ],
            },
          ),
        );
      }
      const text = Buffer.concat(chunks, received).toString('utf8');
      if (text.trim() === '') return finish(null, undefined);
      parse(req, text, (err, value) => (err ? finish(notJson(text)) : finish(null, value)));
    };

    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };
}

/** Says why `text` was refused: its syntax error, or a key JSON objects must not carry. */
function notJson(text: string): HttpProblemError {
  let message: string;
  try {
    JSON.parse(text);
    // Valid JSON the secure parser refused: prototype poisoning (`__proto__`, `constructor.prototype`).
    message = 'must not use "__proto__" or "constructor.prototype" as names';
  } catch (err) {
    message = `is not valid JSON (${(err as Error).message})`;
  }
  return new HttpProblemError('CV_MALFORMED_REQUEST', 'The body is not valid JSON.', {
    errors: [{ path: '', message }],
  });
}

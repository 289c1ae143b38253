/**
 * One webhook POST behind the SSRF guard.
 *
 * The host is resolved here and every address is checked (src/domain/ip-ranges.ts) inside the
 * `lookup` that node:http/https call to connect, so the socket can only ever open to an address
 * that was vetted at that moment: a name that resolves to an internal address, or re-resolves to
 * one between a check and the connection (DNS rebinding), is refused. Literal IP hosts skip
 * `lookup` in Node, so they are checked before the request. Redirects are not followed (a 3xx
 * is an answer like any other non-2xx), the answer's body is read up to 64 KiB and discarded,
 * and one deadline covers resolving, connecting, sending and the answer.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { classifyAddress } from '../../domain/ip-ranges.ts';

export type PostOutcome =
  | { kind: 'answered'; statusCode: number }
  /** No answer: connection refused, reset, TLS failure, timeout. Worth retrying. */
  | { kind: 'failed'; error: string }
  /** Refused by the SSRF guard: retrying cannot help. */
  | { kind: 'refused'; error: string };

export interface GuardedPostParams {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateNetworks: boolean;
}

class RefusedAddressError extends Error {}

const MAX_ANSWER_BYTES = 64 * 1024;

/** A `lookup` that resolves every address and hands over only the allowed ones. */
function vettedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const allowed = allowPrivate
        ? addresses
        : addresses.filter((a) => classifyAddress(a.address)?.allowed === true);
      if (allowed.length === 0) {
        const first = addresses[0];
        const verdict = first ? classifyAddress(first.address) : null;
        const why = verdict && !verdict.allowed ? ` (${verdict.range})` : '';
        const refused = new RefusedAddressError(
          `refused: ${hostname} resolves to ${first?.address ?? 'no address'}${why}; private networks are not allowed`,
        );
        return callback(refused as NodeJS.ErrnoException, '', 4);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export function guardedPost(params: GuardedPostParams): Promise<PostOutcome> {
  let url: URL;
  try {
    url = new URL(params.url);
  } catch {
    return Promise.resolve({ kind: 'refused', error: 'refused: the URL is not valid' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve({ kind: 'refused', error: `refused: unsupported scheme ${url.protocol}` });
  }
  const literal = classifyAddress(url.hostname);
  if (literal && !literal.allowed && !params.allowPrivateNetworks) {
    return Promise.resolve({
      kind: 'refused',
      error: `refused: ${url.hostname} is an internal address (${literal.range}); private networks are not allowed`,
    });
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...params.headers, 'content-length': String(Buffer.byteLength(params.body)) },
    lookup: vettedLookup(params.allowPrivateNetworks),
    agent: false,
    signal: AbortSignal.timeout(params.timeoutMs),
  };
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const done = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = request(url, options, (res) => {
      const statusCode = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) {
          res.destroy();
          done({ kind: 'answered', statusCode });
        }
      });
      res.on('end', () => done({ kind: 'answered', statusCode }));
      res.on('error', () => done({ kind: 'answered', statusCode }));
    });
    req.on('error', (err) => {
      if (err instanceof RefusedAddressError) return done({ kind: 'refused', error: err.message });
      // AggregateError from happy eyeballs: report the refusal if that is what it was.
      const inner = (err as { errors?: unknown[] }).errors?.find((e) => e instanceof RefusedAddressError);
      if (inner instanceof RefusedAddressError) return done({ kind: 'refused', error: inner.message });
      const message =
        err.name === 'AbortError' || err.name === 'TimeoutError'
          ? `timed out after ${params.timeoutMs} ms`
          : `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`;
      done({ kind: 'failed', error: message.slice(0, 500) });
    });
    req.end(params.body);
  });
}

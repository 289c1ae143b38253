/**
 * The outbound guard: every HTTP request made on a user's behalf (heartbeats, webhooks) goes
 * through `OutboundGuard.request`, which enforces src/domain/outbound-policy.ts at connect time.
 *
 * Design note
 *
 * - Literal IP hosts (any encoding; the WHATWG URL parser has already normalised them) and the
 *   known names are decided before anything is sent. Node skips `lookup` for IP literals, so this
 *   check is the only one they get.
 * - Any other name is resolved inside the `lookup` that node:http/https call to connect, with the
 *   guard's resolver (injectable: tests answer with test addresses), and every address is decided
 *   there. The socket can only open to an address that passed at that moment, so a name that
 *   resolves, or re-resolves between a check and the connection (DNS rebinding), to a refused
 *   address never gets a connection.
 * - Redirects: with `redirects: 0` a 3xx is the answer (webhooks). Otherwise (heartbeats) each hop
 *   is a new request through the same checks, up to that many hops, with fetch's rules: 303, and
 *   301/302 after a POST, become a GET without body; credentials headers are dropped when a hop
 *   leaves the origin.
 * - A refusal is `{ kind: 'refused' }` and its `detail` is for the operator's log only: what a
 *   user's record may say is REFUSED_BY_OUTBOUND_POLICY. Nothing was dialled, so nothing about
 *   the target (open, closed, slow) can be learned from it.
 * - A second line under the policy: every socket carries a net.BlockList that Node checks right
 *   before it dials, whatever address it got. By default it holds the tier refused to everyone
 *   (link-local, the metadata addresses); tests give one that holds everything but loopback, so
 *   even a broken policy could not make a test dial out.
 * - One deadline covers resolving, connecting, every hop and the answer.
 * - The server's own listeners: the ports come from the configuration and from `addOwnPort`
 *   (a listener bound to port 0 registers the port it got); the host's own addresses are its
 *   interface addresses (os.networkInterfaces) read once.
 * - Keep-alive: connections are pooled per role (one keep-alive agent per role and scheme), so a
 *   connection opened under one role's rules (an administrator may reach private networks) never
 *   carries another role's request. A pooled socket stays on the address that passed when it
 *   opened, so reuse adds no rebinding window; new sockets go through `lookup` and the block list
 *   as before. An answer is drained (up to DRAIN_LIMIT_BYTES, else the socket is closed) so its
 *   socket can serve the next request; idle sockets close after IDLE_SOCKET_MS, under the 5 s
 *   keep-alive of common servers (Node's included), and a request that meets a reused socket the
 *   server had just closed is sent once more on a new one. Measured with `node bench/engine.ts
 *   throughput`: a connection per heartbeat cost a connect, an accept and a close each side.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  addressKey,
  METADATA_ADDRESSES,
  decideAddress,
  decideHost,
  portOf,
  type OutboundDecision,
  type OutboundRole,
  type OutboundRules,
} from '../../domain/outbound-policy.ts';

/** Resolves a host name to all of its addresses (the system resolver by default). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses: LookupAddress[]) =>
      err ? reject(err) : resolve(addresses),
    );
  });

export interface OutboundGuardOptions {
  /** Non-administrators may reach internal networks. @default false */
  allowPrivateNetworks?: boolean;
  /** Ports of this server's listeners (HTTP, RPC, operations); 0 is ignored. */
  ownPorts?: Iterable<number>;
  /** This host's addresses; default: every interface address of this machine. */
  ownAddresses?: Iterable<string>;
  /** @default systemResolver */
  resolve?: Resolver;
  /** Addresses no socket may open to, whatever the policy decided. @default alwaysRefusedBlockList() */
  blockList?: BlockList;
}

/** The addresses refused to everyone (link-local, cloud metadata), as a socket-level block list. */
export function alwaysRefusedBlockList(): BlockList {
  const list = new BlockList();
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addSubnet('::ffff:169.254.0.0', 112, 'ipv6');
  for (const address of METADATA_ADDRESSES) list.addAddress(address, address.includes(':') ? 'ipv6' : 'ipv4');
  return list;
}

export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string | string[]>;
  body: string | null;
  /** The role of the user the request is made for. */
  role: OutboundRole;
  timeoutMs: number;
  /** Cancels the request (the result is then `aborted`). */
  signal?: AbortSignal;
  /** Redirect hops to follow, each checked like the first request; 0: a 3xx is the answer. */
  redirects: number;
  /** Answer bytes read (and discarded) before finishing; 0: finish at the status line. */
  readAnswerBytes: number;
  /**
   * Keep what was read of the answer (up to readAnswerBytes, then one more chunk) with its
   * content type: a DAG heartbeat task's outputs.
   */
  keepAnswer?: boolean;
}

/** The answer's text and type, when kept (`keepAnswer`); longer than readAnswerBytes when cut. */
export interface KeptAnswer {
  body: string;
  contentType: string | null;
}

export type OutboundResult =
  | { kind: 'answered'; statusCode: number; answer?: KeptAnswer }
  /** Refused by the outbound policy before any connection; `detail` is for the operator's log. */
  | { kind: 'refused'; detail: string }
  /** No answer: `error` is safe to show (the target passed the policy). */
  | { kind: 'failed'; reason: 'timeout' | 'connection'; error: string }
  | { kind: 'aborted' };

class RefusedError extends Error {}

/**
 * One signal for a request: aborted at the deadline, or when `outer` (the job's cancel) aborts.
 * `AbortSignal.any([outer, AbortSignal.timeout(ms)])` did the same, but its composite signals
 * (followed by every listener node:http adds) were 2.8 % of a worker's CPU in the anchor harness;
 * a controller and a timer are not. The timer runs to the deadline, as AbortSignal.timeout's
 * did, so an answer still being drained then is cut off; unref'd, it holds no process open.
 */
function deadlineSignal(ms: number, outer?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean } {
  const controller = new AbortController();
  let expired = false;
  setTimeout(() => {
    expired = true;
    controller.abort(new DOMException('The operation timed out.', 'TimeoutError'));
  }, ms).unref();
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  return { signal: controller.signal, timedOut: () => expired };
}

/** One hop's result: an answer with its redirect target, or why there was none. */
type HopResult =
  | { kind: 'answered'; statusCode: number; location: string | null; answer?: KeptAnswer }
  | { kind: 'refused'; detail: string }
  | { kind: 'failed'; reason: 'connection'; error: string };

const SENSITIVE_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Answer bytes drained to keep a connection for the next request; more closes it instead. */
export const DRAIN_LIMIT_BYTES = 64 * 1024;
/** An idle pooled connection is closed after this long (servers often close theirs at 5 s). */
const IDLE_SOCKET_MS = 4_000;

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address);
}

export class OutboundGuard {
  readonly #allowPrivateNetworks: boolean;
  readonly #ownPorts: Set<number>;
  readonly #ownAddresses: Set<string>;
  readonly #resolve: Resolver;
  readonly #blockList: BlockList;
  /** Keep-alive pools per scheme and role (see the module note). */
  readonly #agents = new Map<string, HttpAgent>();

  constructor(options: OutboundGuardOptions = {}) {
    this.#allowPrivateNetworks = options.allowPrivateNetworks ?? false;
    this.#ownPorts = new Set([...(options.ownPorts ?? [])].filter((p) => p > 0));
    this.#ownAddresses = new Set(
      [...(options.ownAddresses ?? localAddresses())].flatMap((a) => addressKey(a) ?? []),
    );
    this.#resolve = options.resolve ?? systemResolver;
    this.#blockList = options.blockList ?? alwaysRefusedBlockList();
  }

  /** A listener of this server bound to `port` (e.g. after binding port 0). */
  addOwnPort(port: number): void {
    if (port > 0) this.#ownPorts.add(port);
  }

  /** Closes the pooled connections (idle ones never hold the process open: they are unref'd). */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  #agent(protocol: string, role: OutboundRole): HttpAgent {
    const key = `${protocol}${role}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      const options = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' as const };
      agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** The rules as they stand, for the create/edit checks of the same process. */
  get rules(): OutboundRules {
    return {
      allowPrivateNetworks: this.#allowPrivateNetworks,
      ownPorts: this.#ownPorts,
      ownAddresses: this.#ownAddresses,
    };
  }

  async request(req: OutboundRequest): Promise<OutboundResult> {
    const { signal, timedOut } = deadlineSignal(req.timeoutMs, req.signal);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { kind: 'failed', reason: 'connection', error: 'the URL is not valid' };
    }
    let method = req.method;
    let body = req.body;
    const headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const answer = await this.#once(url, method, headers, body, req, signal);
      if (answer.kind !== 'answered') {
        if (answer.kind === 'failed' && req.signal?.aborted) return { kind: 'aborted' };
        if (answer.kind === 'failed' && timedOut()) {
          return { kind: 'failed', reason: 'timeout', error: `no answer within ${req.timeoutMs} ms` };
        }
        return answer;
      }
      const { statusCode, location } = answer;
      if (req.redirects === 0 || location === null || ![301, 302, 303, 307, 308].includes(statusCode)) {
        return answer.answer
          ? { kind: 'answered', statusCode, answer: answer.answer }
          : { kind: 'answered', statusCode };
      }
      if (hop >= req.redirects) {
        return { kind: 'failed', reason: 'connection', error: `more than ${req.redirects} redirects` };
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return { kind: 'failed', reason: 'connection', error: 'a redirect to an invalid URL' };
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        return { kind: 'failed', reason: 'connection', error: `a redirect to a ${next.protocol} URL` };
      }
      if (
        (statusCode === 303 && method !== 'HEAD') ||
        ((statusCode === 301 || statusCode === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = null;
        for (const name of Object.keys(headers)) {
          if (/^content-(type|length|encoding|language|location)$/i.test(name)) delete headers[name];
        }
      }
      if (next.origin !== url.origin) {
        for (const name of Object.keys(headers)) {
          if (SENSITIVE_HEADERS.includes(name.toLowerCase())) delete headers[name];
        }
      }
      url = next;
    }
  }

  /** A `lookup` that resolves with the guard's resolver and hands over only allowed addresses. */
  #vettedLookup(port: number, role: OutboundRole): LookupFunction {
    return (hostname, options, callback) => {
      this.#resolve(hostname).then(
        (addresses) => {
          const family = options.family === 4 || options.family === 6 ? options.family : 0;
          const candidates = addresses.filter((a) => family === 0 || a.family === family);
          const decisions = candidates.map((a) => ({
            a,
            d: decideAddress(a.address, port, role, this.rules),
          }));
          const allowed = decisions.filter((x) => x.d.allowed).map((x) => x.a);
          if (allowed.length === 0) {
            const first = decisions.find((x) => !x.d.allowed);
            const why = first && !first.d.allowed ? `${first.a.address}: ${first.d.detail}` : 'no address';
            return callback(
              new RefusedError(`${hostname} resolves to ${why}`) as NodeJS.ErrnoException,
              '',
              4,
            );
          }
          if (options.all) {
            return (callback as (e: null, a: LookupAddress[]) => void)(
              null,
              allowed.map((a) => ({ address: a.address, family: a.family })),
            );
          }
          return callback(null, allowed[0]!.address, allowed[0]!.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 4),
      );
    };
  }

  #once(
    url: URL,
    method: string,
    headers: Record<string, string | string[]>,
    body: string | null,
    req: OutboundRequest,
    signal: AbortSignal,
    /** This hop already met a pooled socket that its server had closed. */
    resent = false,
  ): Promise<HopResult> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.resolve({
        kind: 'failed',
        reason: 'connection',
        error: `unsupported scheme ${url.protocol}`,
      });
    }
    const port = portOf(url);
    const before: OutboundDecision | { allowed: 'resolve' } = decideHost(
      url.hostname,
      port,
      req.role,
      this.rules,
    );
    if (before.allowed === false)
      return Promise.resolve({ kind: 'refused', detail: `${url.host}: ${before.detail}` });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const allHeaders: Record<string, string | string[]> = { ...headers };
    if (body !== null && !Object.keys(allHeaders).some((h) => h.toLowerCase() === 'content-length')) {
      allHeaders['content-length'] = String(Buffer.byteLength(body));
    }
    // `blockList` and `lookup` reach net.connect through the agent's createConnection for every
    // new socket; @types/node leaves `blockList` out of ClientRequestArgs.
    const options: RequestOptions & { blockList: BlockList } = {
      method,
      headers: allHeaders,
      lookup: this.#vettedLookup(port, req.role),
      blockList: this.#blockList,
      agent: this.#agent(url.protocol, req.role),
      signal,
    };
    return new Promise((resolve) => {
      let settled = false;
      const done = (outcome: HopResult) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const request = send(url, options, (res: IncomingMessage) => {
        const statusCode = res.statusCode ?? 0;
        const location = typeof res.headers.location === 'string' ? res.headers.location : null;
        const answered = { kind: 'answered' as const, statusCode, location };
        if (req.readAnswerBytes <= 0) {
          // The status decides; the rest is drained so the socket serves the next request.
          let drained = 0;
          res.on('data', (chunk: Buffer) => {
            drained += chunk.length;
            if (drained > DRAIN_LIMIT_BYTES) res.destroy();
          });
          res.on('error', () => undefined);
          return done(answered);
        }
        let read = 0;
        const chunks: Buffer[] = [];
        const kept = () =>
          req.keepAnswer
            ? {
                ...answered,
                answer: {
                  body: Buffer.concat(chunks).toString('utf8'),
                  contentType:
                    typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : null,
                },
              }
            : answered;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (req.keepAnswer) chunks.push(chunk);
          if (read > req.readAnswerBytes) {
            res.destroy();
            done(kept());
          }
        });
        res.on('end', () => done(kept()));
        res.on('error', () => done(kept()));
        res.on('close', () => done(kept()));
      });
      request.on('error', (err) => {
        if (!resent && request.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
          // The server closed the pooled connection as we sent: nothing reached it; once more.
          if (settled) return;
          settled = true;
          resolve(this.#once(url, method, headers, body, req, signal, true));
          return;
        }
        const refused =
          err instanceof RefusedError
            ? err
            : // AggregateError of happy eyeballs: a refusal if that is what it was.
              (err as { errors?: unknown[] }).errors?.find((e) => e instanceof RefusedError);
        if (refused instanceof RefusedError) return done({ kind: 'refused', detail: refused.message });
        if ((err as NodeJS.ErrnoException).code === 'ERR_IP_BLOCKED') {
          return done({ kind: 'refused', detail: `the block list stopped a dial: ${err.message}` });
        }
        const code = (err as NodeJS.ErrnoException).code;
        done({
          kind: 'failed',
          reason: 'connection',
          error: `${code ?? err.name}: ${err.message}`.slice(0, 500),
        });
      });
      request.end(body ?? undefined);
    });
  }
}

/**
 * Service identity: who is calling a service, proven per call. Outgoing calls carry
 * `authorization: Bearer <JWT>` signed with the installation's Ed25519 key (EdDSA): iss
 * 'chronoverse', sub the calling role(s), aud the callee's service type name
 * ('chronoverse.users.v1.UsersService'), 60 s lifetime. A token for one service is refused by
 * another, and a stolen one expires quickly. Tokens are cached per audience and re-signed 15 s
 * before expiry, so signing costs nothing per call.
 *
 * Servers verify signature, algorithm, issuer, audience (the service being called) and expiry
 * (30 s of clock skew), remember a token that passed until it expires (`ServiceTokenVerifier`),
 * and refuse anything else, notably a user session token or PAT that leaked
 * into the header, with Code.Unauthenticated. The gRPC health service is exempt: probes carry no
 * credentials and it reveals nothing but serving status.
 *
 * Keys (config `rpc.servicePrivateKey` / `rpc.servicePublicKey`): PKCS#8 and SPKI PEM; the public
 * key defaults to the private key's half; with neither, an ephemeral pair is made, valid only inside
 * this process (all-in-one). Only a process that calls services needs the private key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { jwtVerify, SignJWT } from 'jose';

export const ISSUER = 'chronoverse';
const TOKEN_TTL_S = 60;
const REFRESH_BEFORE_S = 15;
const CLOCK_TOLERANCE_S = 30;
/** Services reachable without a service token. */
const PUBLIC_SERVICES = new Set(['grpc.health.v1.Health']);

export interface ServiceKeys {
  /** Signs outgoing calls; null in a process that only serves. */
  privateKey: KeyObject | null;
  publicKey: KeyObject;
}

/** PEM as configured: env files often carry it on one line with `\n` escapes. */
function pem(text: string): string {
  return text.trim().replace(/\\n/g, '\n');
}

export function loadServiceKeys(params: { privateKeyPem: string; publicKeyPem: string }): ServiceKeys {
  const privateKey = params.privateKeyPem.trim() ? createPrivateKey(pem(params.privateKeyPem)) : null;
  if (privateKey && privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('CHRONOVERSE_SERVICE_PRIVATE_KEY must be an Ed25519 key (chronoverse keys generate)');
  }
  const publicKey = params.publicKeyPem.trim()
    ? createPublicKey(pem(params.publicKeyPem))
    : privateKey
      ? createPublicKey(privateKey)
      : null;
  if (publicKey && publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('CHRONOVERSE_SERVICE_PUBLIC_KEY must be an Ed25519 key (chronoverse keys generate)');
  }
  if (publicKey) return { privateKey, publicKey };
  const pair = generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** A fresh pair as PEM, for `chronoverse keys generate`. */
export function generateServiceKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const pair = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Signs (and caches) the caller's token for each callee. */
export class ServiceTokenSigner {
  readonly #key: KeyObject;
  readonly #subject: string;
  readonly #now: () => number;
  readonly #cache = new Map<string, { token: Promise<string>; refreshAt: number }>();

  constructor(key: KeyObject, subject: string, now: () => number = Date.now) {
    this.#key = key;
    this.#subject = subject;
    this.#now = now;
  }

  token(audience: string): Promise<string> {
    const nowS = Math.floor(this.#now() / 1000);
    const cached = this.#cache.get(audience);
    if (cached && nowS < cached.refreshAt) return cached.token;
    const token = new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(this.#subject)
      .setAudience(audience)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + TOKEN_TTL_S)
      .sign(this.#key);
    this.#cache.set(audience, { token, refreshAt: nowS + TOKEN_TTL_S - REFRESH_BEFORE_S });
    token.catch(() => this.#cache.delete(audience));
    return token;
  }
}

/** Client interceptor: every call carries the caller's token for the service it calls. */
export function identityClientInterceptor(signer: ServiceTokenSigner): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${await signer.token(req.service.typeName)}`);
    return next(req);
  };
}

/** Verified tokens a server remembers (one per caller process and service: a few dozen). */
const VERIFIED_CACHE_MAX = 1_000;

/**
 * Checks service tokens, remembering the ones that passed. A caller sends the same token for 45 s
 * (the signer's cache), so every call after the first is a map lookup instead of an EdDSA
 * verification through WebCrypto, which was 6 % of the jobs service's CPU at 100 manual runs/s
 * (`bench/distributed.ts pickup 100 10`, `--cpu-prof`). Equivalent to verifying every time: the
 * public key never changes in a process, the entry is keyed by token and audience, and it ends
 * when the token's own validity (exp + clock tolerance) does. A token that failed is not
 * remembered (it costs a verification each time, as before).
 */
export class ServiceTokenVerifier {
  readonly #publicKey: KeyObject;
  readonly #now: () => number;
  /** `audience token` → until when (ms) it stays valid. */
  readonly #verified = new Map<string, number>();
  #signatureChecks = 0;

  constructor(publicKey: KeyObject, now: () => number = Date.now) {
    this.#publicKey = publicKey;
    this.#now = now;
  }

  /** Signature verifications done so far (the rest were answered from memory). */
  get signatureChecks(): number {
    return this.#signatureChecks;
  }

  /** Whether `token` is a valid service token for `audience` now. */
  async verify(token: string, audience: string): Promise<boolean> {
    const key = `${audience} ${token}`;
    const now = this.#now();
    const until = this.#verified.get(key);
    if (until !== undefined) {
      if (now < until) return true;
      this.#verified.delete(key);
    }
    this.#signatureChecks += 1;
    let exp: number;
    try {
      const { payload } = await jwtVerify(token, this.#publicKey, {
        issuer: ISSUER,
        audience,
        algorithms: ['EdDSA'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(now),
      });
      exp = payload.exp!;
    } catch {
      return false;
    }
    // Map order is insertion order: the oldest entry goes first.
    if (this.#verified.size >= VERIFIED_CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, (exp + CLOCK_TOLERANCE_S) * 1000);
    return true;
  }
}

/** Server interceptor: refuses a call without a valid token for the service it targets. */
export function identityServerInterceptor(
  publicKey: KeyObject,
  verifier = new ServiceTokenVerifier(publicKey),
): Interceptor {
  return (next) => async (req) => {
    if (PUBLIC_SERVICES.has(req.service.typeName)) return next(req);
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(
      req.header.get('authorization') ?? '',
    );
    if (!match) throw new ConnectError('a service token is required', Code.Unauthenticated);
    // Why it failed (expired, wrong audience, bad signature) is not the caller's business.
    if (!(await verifier.verify(match[1]!, req.service.typeName))) {
      throw new ConnectError('the service token is not valid for this service', Code.Unauthenticated);
    }
    return next(req);
  };
}

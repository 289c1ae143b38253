/**
 * Client transports. The same client classes run over both:
 * - `createRemoteTransport`: gRPC over HTTP/2 to `http://host:port` (h2c) or `https://…` (TLS,
 *   verified against the CA bundle; with a certificate and key the client also proves itself: mTLS);
 * - `createInMemoryTransport`: Connect's router transport over services in this process, still
 *   through serialisation, identity and error mapping, so the all-in-one profile exercises exactly
 *   what the distributed one does.
 * Both apply the call deadline (`timeoutMs`, over all attempts) and the retry policy (./retry.ts).
 */
import { readFileSync } from 'node:fs';
import { createRouterTransport, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { identityClientInterceptor, type ServiceTokenSigner } from './identity.ts';
import { serverSetup, type ServiceRegistration } from './registration.ts';
import { retryInterceptor } from './retry.ts';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ConnectError } from '@connectrpc/connect';
import { headersSetter } from '../telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../telemetry/tracing.ts';
import { tracingServerInterceptor, type InternalErrorLogger } from './server-interceptors.ts';
import type { KeyObject } from 'node:crypto';

export interface CallPolicy {
  /** Deadline of one call, all retries included. */
  timeoutMs: number;
  /** Retries after a retryable failure (./retry.ts). */
  retries: number;
  signer: ServiceTokenSigner;
}

export interface ClientTls {
  /** PEM CA bundle the server is verified against (empty: the system's). */
  caFile: string;
  /** This client's certificate and key, for mTLS (empty: none). */
  certFile: string;
  keyFile: string;
}

export interface ClosableTransport {
  transport: Transport;
  close(): void;
}

function clientInterceptors(policy: CallPolicy): Interceptor[] {
  // Tracing outermost (one client span per call, retries included); then retry: each attempt is
  // signed again (from the cache).
  return [
    tracingClientInterceptor(),
    retryInterceptor(policy.retries),
    identityClientInterceptor(policy.signer),
  ];
}

/**
 * The client span of a call; its context goes out as the W3C `traceparent` request header, from
 * which the server interceptor (./server-interceptors.ts) continues the trace in the service.
 */
export function tracingClientInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!tracingEnabled()) return next(req);
    const span = tracer().startSpan(`${req.service.typeName}/${req.method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': req.service.typeName,
        'rpc.method': req.method.name,
      },
    });
    const ctx = trace.setSpan(context.active(), span);
    propagation.inject(ctx, req.header, headersSetter);
    try {
      return await context.with(ctx, () => next(req));
    } catch (err) {
      span.setAttribute('rpc.grpc.status_code', err instanceof ConnectError ? err.code : 2);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  };
}

export function createRemoteTransport(url: string, policy: CallPolicy, tls?: ClientTls): ClosableTransport {
  const secure = url.startsWith('https:');
  const nodeOptions =
    secure && tls
      ? {
          ...(tls.caFile !== '' ? { ca: readFileSync(tls.caFile) } : {}),
          ...(tls.certFile !== '' && tls.keyFile !== ''
            ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
            : {}),
        }
      : {};
  // Our own session manager, so close() can end the connection (a transport has no close).
  const sessionManager = new Http2SessionManager(url, { idleConnectionTimeoutMs: 60_000 }, nodeOptions);
  const transport = createGrpcTransport({
    baseUrl: url,
    sessionManager,
    defaultTimeoutMs: policy.timeoutMs,
    interceptors: clientInterceptors(policy),
  });
  return { transport, close: () => sessionManager.abort() };
}

export function createInMemoryTransport(
  services: readonly ServiceRegistration[],
  server: { publicKey: KeyObject; onInternalError: InternalErrorLogger },
  policy: CallPolicy,
): Transport {
  const { routes, interceptors } = serverSetup({ services, ...server });
  return createRouterTransport(routes, {
    transport: { defaultTimeoutMs: policy.timeoutMs, interceptors: clientInterceptors(policy) },
    router: { interceptors: [tracingServerInterceptor(), ...interceptors] },
  });
}

/**
 * The gRPC server of the service roles: HTTP/2 (h2c, or TLS when a certificate and key are given;
 * with a CA bundle it also requires client certificates signed by it: mTLS), serving the registered
 * services and grpc.health.v1 through Connect's Node adapter. gRPC and Connect protocols are
 * enabled (grpc-web is not: no browser talks to it).
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { KeyObject } from 'node:crypto';
import { tracingServerInterceptor, type InternalErrorLogger } from './server-interceptors.ts';
import { serverSetup, type ServiceRegistration } from './registration.ts';

export interface RpcTlsFiles {
  /** PEM certificate and key of this server; both empty = plaintext h2c. */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle; when set, clients must present a certificate it signed. */
  caFile: string;
}

export interface RpcServerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  tls?: RpcTlsFiles;
  services: readonly ServiceRegistration[];
  publicKey: KeyObject;
  onInternalError: InternalErrorLogger;
}

export interface RpcServer {
  readonly port: number;
  /** http://host:port or https://host:port, for clients. */
  readonly url: string;
  close(): Promise<void>;
}

/** How long in-flight calls get to finish on close before their sessions are destroyed. */
const CLOSE_GRACE_MS = 5_000;

export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const shutdown = new AbortController();
  const { routes, interceptors, health } = serverSetup(options);
  const handler = connectNodeAdapter({
    routes,
    interceptors: [tracingServerInterceptor(), ...interceptors],
    grpc: true,
    connect: true,
    grpcWeb: false,
    shutdownSignal: shutdown.signal,
  });
  const tls = options.tls && options.tls.certFile !== '' ? options.tls : undefined;
  if (options.tls && !tls && options.tls.keyFile !== '') {
    throw new Error('RPC TLS needs both a certificate file and a key file');
  }
  const server = tls
    ? http2.createSecureServer(
        {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.caFile !== ''
            ? { ca: readFileSync(tls.caFile), requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handler,
      )
    : http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    port,
    url,
    async close() {
      health.shutdown();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: clients open new sessions elsewhere; running calls may finish within the grace.
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        shutdown.abort();
        for (const session of sessions) session.destroy();
      }, CLOSE_GRACE_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

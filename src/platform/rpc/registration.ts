/** A service an RPC server or in-memory router serves: its type name and how to mount it. */
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import type { KeyObject } from 'node:crypto';
import { HealthStatus } from './health.ts';
import { identityServerInterceptor } from './identity.ts';
import { errorServerInterceptor, type InternalErrorLogger } from './server-interceptors.ts';

export interface ServiceRegistration {
  /** e.g. 'chronoverse.users.v1.UsersService'. */
  typeName: string;
  register(router: ConnectRouter): void;
}

/** Everything a server mounts: the services, plus health, behind identity and error mapping. */
export function serverSetup(params: {
  services: readonly ServiceRegistration[];
  publicKey: KeyObject;
  onInternalError: InternalErrorLogger;
}): { routes: (router: ConnectRouter) => void; interceptors: Interceptor[]; health: HealthStatus } {
  const health = new HealthStatus(params.services.map((s) => s.typeName));
  return {
    routes: (router) => {
      for (const s of params.services) s.register(router);
      health.register(router);
    },
    // Identity first (outermost): nothing runs, not even error mapping, for an unproven caller.
    interceptors: [
      identityServerInterceptor(params.publicKey),
      errorServerInterceptor(params.onInternalError),
    ],
    health,
  };
}

/**
 * The standard gRPC health service (grpc.health.v1.Health), served by every RPC server: each
 * registered service and the server as a whole ("") are SERVING until the server stops.
 */
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../../gen/grpc/health/v1/health_pb.js';

export class HealthStatus {
  readonly #statuses = new Map<string, Status>();
  readonly #watchers = new Set<() => void>();

  constructor(serviceNames: readonly string[]) {
    for (const name of ['', ...serviceNames]) this.#statuses.set(name, Status.SERVING);
  }

  /** Marks everything NOT_SERVING (the server is stopping) and tells watchers. */
  shutdown(): void {
    for (const name of this.#statuses.keys()) this.#statuses.set(name, Status.NOT_SERVING);
    for (const wake of this.#watchers) wake();
  }

  get(service: string): Status | undefined {
    return this.#statuses.get(service);
  }

  all(): Map<string, Status> {
    return this.#statuses;
  }

  register(router: ConnectRouter): void {
    router.service(Health, {
      check: (req) => {
        const status = this.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return { status };
      },
      list: () => ({
        statuses: Object.fromEntries([...this.all()].map(([name, status]) => [name, { status }])),
      }),
      watch: (req, ctx) => this.#watch(req.service, ctx),
    });
  }

  async *#watch(service: string, ctx: HandlerContext) {
    let last: Status | undefined;
    while (!ctx.signal.aborted) {
      const status = this.get(service) ?? Status.SERVICE_UNKNOWN;
      if (status !== last) yield { status };
      last = status;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#watchers.delete(wake);
          ctx.signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#watchers.add(wake);
        ctx.signal.addEventListener('abort', wake, { once: true });
      });
    }
  }
}

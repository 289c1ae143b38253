/**
 * The operations endpoints of a process that runs no gateway (schedulers, executors, relays,
 * service roles): `/healthz` (the process is alive), `/readyz` (every dependency it uses
 * answers) and `/metrics` (Prometheus), for load balancers and Kubernetes probes. The gateway serves the same two on its port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export async function startOpsServer(params: {
  host: string;
  port: number;
  readiness: ReadinessCheck;
  metrics: Registry;
}): Promise<{ url: string; close: () => Promise<void> }> {
  const app: FastifyInstance = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) =>
    reply.type(params.metrics.contentType).send(await params.metrics.metrics()),
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await params.readiness();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
  await app.listen({ host: params.host, port: params.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : params.port;
  return {
    url: `http://${params.host.includes(':') ? `[${params.host}]` : params.host}:${port}`,
    close: () => app.close(),
  };
}

/** Runs every check with a deadline; a check that throws or hangs counts as not ready. */
export function readinessOf(
  checks: Record<string, () => Promise<boolean>>,
  timeoutMs = 2_000,
): ReadinessCheck {
  return async () => {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        });
        try {
          return [name, await Promise.race([check().catch(() => false), timeout])] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return Object.fromEntries(entries);
  };
}

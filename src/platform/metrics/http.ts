/**
 * Gateway request durations. The route label is Fastify's route pattern
 * (`/api/v1/workflows/:workflow_id`), never the raw URL, and every request no route matched
 * shares the one value `unmatched`: the series count stays bounded by the routes we declare.
 */
import { Histogram, type Registry } from 'prom-client';

export const UNMATCHED_ROUTE = 'unmatched';

export interface HttpMetrics {
  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void;
}

export function registerHttpMetrics(registry: Registry): HttpMetrics {
  const duration = new Histogram({
    name: 'chronoverse_http_request_duration_seconds',
    help: 'Gateway HTTP requests, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    observe: (method, route, statusCode, seconds) =>
      duration.observe({ method, route: route ?? UNMATCHED_ROUTE, status_code: String(statusCode) }, seconds),
  };
}

/**
 * OpenTelemetry tracing of a process.
 *
 * Design note.
 * - One provider per process, installed by `chronoverse start` before anything runs
 *   (`initTracing`): service.name `chronoverse`, the process's roles and pid as resource attributes,
 *   W3C trace context propagation, AsyncLocalStorage for the active context. Spans leave through
 *   OTLP/HTTP (JSON) when an endpoint is configured; tests pass their own exporter.
 * - Without an endpoint nothing is installed: the API stays the no-op it is by default, and
 *   `tracingEnabled()` lets hot paths (bus, relay, executor) skip even the header work. The cost
 *   of tracing off is a boolean test per message or job.
 * - The tracer is looked up on every use (`tracer()`), not cached in a module: tests install and
 *   remove providers in one process, and a cached proxy would keep pointing at the first one.
 * - This module needs only `@opentelemetry/api`; the SDK (provider, exporter, about 250 modules)
 *   is in ./tracing-sdk.ts, which `chronoverse start` imports only when an endpoint is set.
 */
import { SpanStatusCode, trace, type SpanKind, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export const TRACER_NAME = 'chronoverse';
/** Resource attribute naming the roles a process runs ("gateway", "executor,scheduler", "all"). */
export const ATTR_ROLES = 'chronoverse.roles';

let enabled = false;

/** True while a provider is installed: instrumentation does its work only then. */
export function tracingEnabled(): boolean {
  return enabled;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** A child span of the active one around `run`, an error status when it throws (tracing off: just `run`). */
export async function inSpan<T>(name: string, kind: SpanKind, run: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return run();
  return tracer().startActiveSpan(name, { kind }, async (span) => {
    try {
      return await run();
    } catch (err) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}

export interface TracingOptions {
  /** OTLP/HTTP base URL (`http://collector:4318`); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Full traces URL; wins over `endpoint`. */
  tracesEndpoint?: string;
  /** Extra request headers of the exporter (`key=value,key2=value2`, e.g. an API key). */
  headers?: string;
  /** Fraction of new traces sampled (parent-based: a sampled parent is always followed). */
  sampleRatio?: number;
  /** Instead of OTLP (tests: an in-memory exporter). Spans are handed over as they end. */
  exporter?: SpanExporter;
  roles: readonly string[];
  version: string;
  /** Extra resource attributes (tests name their engines apart). */
  attributes?: Record<string, string | number>;
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Flushes pending spans (bounded by the exporter's timeout) and uninstalls the provider. */
  shutdown(): Promise<void>;
}

/** Where spans go: the full traces URL, else `<endpoint>/v1/traces`, else '' (tracing off). */
export function tracesUrl(options: Pick<TracingOptions, 'endpoint' | 'tracesEndpoint'>): string {
  return options.tracesEndpoint && options.tracesEndpoint !== ''
    ? options.tracesEndpoint
    : options.endpoint && options.endpoint !== ''
      ? `${options.endpoint.replace(/\/+$/, '')}/v1/traces`
      : '';
}

/** The handle when nothing is installed. */
export const TRACING_OFF: TracingHandle = { enabled: false, shutdown: async () => {} };

/** For ./tracing-sdk.ts: a provider was installed (true) or removed (false). */
export function setTracingEnabled(value: boolean): void {
  enabled = value;
}

/** `k=v,k2=v2` (the OTEL_EXPORTER_OTLP_HEADERS format, values URL-encoded). */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    headers[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return headers;
}

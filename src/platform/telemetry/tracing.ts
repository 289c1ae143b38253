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
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

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

export function initTracing(options: TracingOptions): TracingHandle {
  const url =
    options.tracesEndpoint && options.tracesEndpoint !== ''
      ? options.tracesEndpoint
      : options.endpoint && options.endpoint !== ''
        ? `${options.endpoint.replace(/\/+$/, '')}/v1/traces`
        : '';
  if (!options.exporter && url === '') return { enabled: false, shutdown: async () => {} };
  if (enabled) throw new Error('tracing is already initialised in this process');

  let processor: SpanProcessor;
  if (options.exporter) {
    processor = new SimpleSpanProcessor(options.exporter);
  } else {
    processor = new BatchSpanProcessor(
      new OTLPTraceExporter({ url, headers: parseHeaders(options.headers ?? '') }),
      { maxQueueSize: 8192, maxExportBatchSize: 512, scheduledDelayMillis: 1000 },
    );
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'chronoverse',
      [ATTR_SERVICE_VERSION]: options.version,
      [ATTR_ROLES]: options.roles.length > 0 ? options.roles.join(',') : 'all',
      'process.pid': process.pid,
      ...options.attributes,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  return {
    enabled: true,
    async shutdown() {
      if (!enabled) return;
      enabled = false;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
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

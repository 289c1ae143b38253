/**
 * The OpenTelemetry SDK side of ./tracing.ts: installs the provider and the OTLP/HTTP exporter.
 * Kept apart so that a process without an endpoint never loads the SDK (see ./tracing.ts).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  ATTR_ROLES,
  parseHeaders,
  setTracingEnabled,
  tracesUrl,
  tracingEnabled,
  TRACING_OFF,
  type TracingHandle,
  type TracingOptions,
} from './tracing.ts';

export function initTracing(options: TracingOptions): TracingHandle {
  const url = tracesUrl(options);
  if (!options.exporter && url === '') return TRACING_OFF;
  if (tracingEnabled()) throw new Error('tracing is already initialised in this process');

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
  setTracingEnabled(true);
  return {
    enabled: true,
    async shutdown() {
      if (!tracingEnabled()) return;
      setTracingEnabled(false);
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

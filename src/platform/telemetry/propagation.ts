/**
 * Carrying trace context across the boundaries OpenTelemetry has no instrumentation for: outbox
 * rows (`headers` column), bus messages (Kafka record headers), jobs (`jobs.trace_context`) and
 * Connect calls (request headers). Always the W3C `traceparent`/`tracestate` pair.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { tracingEnabled } from './tracing.ts';

/** The active (or given) context as carrier headers; `{}` when tracing is off or no span is active. */
export function contextHeaders(ctx: Context = context.active()): Record<string, string> {
  if (!tracingEnabled()) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context of carrier headers (ROOT when they carry none). */
export function contextFromHeaders(headers: Record<string, unknown> | null | undefined): Context {
  if (!tracingEnabled() || !headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, recordGetter);
}

/** `jobs.trace_context`: the headers as JSON, or null when there is nothing to carry. */
export function serializeContext(ctx: Context = context.active()): string | null {
  const headers = contextHeaders(ctx);
  return headers.traceparent ? JSON.stringify(headers) : null;
}

export function contextFromJson(text: string | null | undefined): Context {
  if (!tracingEnabled() || !text) return ROOT_CONTEXT;
  try {
    return contextFromHeaders(JSON.parse(text) as Record<string, unknown>);
  } catch {
    return ROOT_CONTEXT;
  }
}

/** The trace id of the active span, if a sampled one is active (log lines, tests). */
export function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  return span?.spanContext().traceId;
}

const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    return typeof v === 'string' ? v : undefined;
  },
};

/** Fetch-style `Headers` (Connect requests). */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

export const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * Consumer spans: every delivered message gets a `process <topic>` span (kind CONSUMER) whose
 * parent is the context in its headers (the relay's publish span), so each consumer group
 * continues the trace of the change that wrote the outbox row. Applied by both buses to every
 * handler at `subscribe`, so consumers need nothing of their own.
 *
 * A handler takes a batch; it runs inside its message's span when the batch holds one message.
 * With several, each message's span still covers the handling of the batch, and a handler that
 * writes per message may continue that message's trace with `messageContext(message)`.
 */
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { contextFromHeaders } from '../telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../telemetry/tracing.ts';
import type { BusHandler, BusMessage } from './bus.ts';

const contexts = new WeakMap<BusMessage, Context>();

/** The context of a message's consumer span while its handler runs (ROOT outside, or tracing off). */
export function messageContext(message: BusMessage): Context {
  return contexts.get(message) ?? ROOT_CONTEXT;
}

export function tracedHandler(
  params: { system: 'kafka' | 'in-process'; topic: string; group: string },
  handler: BusHandler,
): BusHandler {
  return async (messages) => {
    if (!tracingEnabled() || messages.length === 0) return handler(messages);
    const spans: Span[] = [];
    for (const m of messages) {
      const parent = contextFromHeaders(m.headers);
      const span = tracer().startSpan(
        `process ${params.topic}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': params.system,
            'messaging.operation.type': 'process',
            'messaging.destination.name': params.topic,
            'messaging.consumer.group.name': params.group,
            'messaging.message.id': m.id,
            'messaging.batch.message_count': messages.length,
            'chronoverse.event_type': m.type,
          },
        },
        parent,
      );
      spans.push(span);
      contexts.set(m, trace.setSpan(parent, span));
    }
    const run = messages.length === 1 ? contexts.get(messages[0]!)! : context.active();
    try {
      await context.with(run, () => handler(messages));
    } catch (err) {
      for (const span of spans) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
      }
      throw err;
    } finally {
      for (const span of spans) span.end();
      for (const m of messages) contexts.delete(m);
    }
  };
}

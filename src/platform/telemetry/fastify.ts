/**
 * Gateway instrumentation through Fastify hooks: one SERVER span per request, named after the
 * route pattern (`POST /api/v1/workflows/:workflow_id/jobs/run`), continuing an incoming W3C
 * `traceparent`; and the request duration histogram (../metrics/http.ts).
 *
 * The span is made current in `preHandler`: Fastify calls the remaining hooks and the handler
 * from the `done` callback, so they run inside `context.with` and everything the handler starts
 * (service calls, their client spans) inherits it. Earlier (onRequest) would not be enough: the
 * body is parsed on the socket's own async context in between.
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { registerHttpMetrics, UNMATCHED_ROUTE } from '../metrics/http.ts';
import { tracer, tracingEnabled } from './tracing.ts';

interface RequestTrace {
  start: bigint;
  span: Span | null;
  ctx: Context | null;
}

export function instrumentGateway<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  registry?: Registry,
): void {
  const http = registry ? registerHttpMetrics(registry) : null;
  const traces = new WeakMap<object, RequestTrace>();

  app.addHook('onRequest', (req, _reply, done) => {
    const entry: RequestTrace = { start: process.hrtime.bigint(), span: null, ctx: null };
    if (tracingEnabled()) {
      const route = req.routeOptions.url;
      const parent = propagation.extract(context.active(), req.headers);
      entry.span = tracer().startSpan(
        `${req.method} ${route ?? UNMATCHED_ROUTE}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': req.method,
            'http.route': route ?? UNMATCHED_ROUTE,
            'url.path': req.url.split('?')[0]!,
          },
        },
        parent,
      );
      entry.ctx = trace.setSpan(parent, entry.span);
    }
    traces.set(req, entry);
    if (entry.ctx) context.with(entry.ctx, done);
    else done();
  });

  app.addHook('preHandler', (req, _reply, done) => {
    const ctx = traces.get(req)?.ctx;
    if (ctx) context.with(ctx, done);
    else done();
  });

  app.addHook('onResponse', (req, reply, done) => {
    const entry = traces.get(req);
    if (entry) {
      const status = reply.statusCode;
      http?.observe(
        req.method,
        req.routeOptions.url,
        status,
        Number(process.hrtime.bigint() - entry.start) / 1e9,
      );
      if (entry.span) {
        entry.span.setAttribute('http.response.status_code', status);
        if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
        entry.span.end();
      }
    }
    done();
  });
}

/**
 * Server interceptor that turns whatever a service throws into the ConnectError the client can
 * rebuild (./errors.ts), including errors raised while a response stream is being produced.
 * Without it the router would turn a plain Error into Code.Internal carrying its message.
 */
import { ConnectError, type Interceptor } from '@connectrpc/connect';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { headersGetter } from '../telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../telemetry/tracing.ts';
import { toConnectError } from './errors.ts';

export type InternalErrorLogger = (err: unknown, procedure: string) => void;

export function errorServerInterceptor(onInternal: InternalErrorLogger): Interceptor {
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const convert = (err: unknown) => {
      const { error, internal } = toConnectError(err);
      if (internal) onInternal(err, procedure);
      return error;
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (err) {
            throw convert(err);
          }
        })(),
      };
    } catch (err) {
      throw convert(err);
    }
  };
}

/**
 * The server span of a call, a child of the caller's span (W3C `traceparent` request header, put
 * there by the client interceptor of ./transport.ts). Outermost, so the handler and everything it
 * writes (outbox rows, jobs) run inside it. A streaming call's span ends with its response head.
 */
export function tracingServerInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!tracingEnabled()) return next(req);
    const parent = propagation.extract(context.active(), req.header, headersGetter);
    const span = tracer().startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': req.service.typeName,
          'rpc.method': req.method.name,
        },
      },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => next(req));
    } catch (err) {
      const code = err instanceof ConnectError ? err.code : 2;
      span.setAttribute('rpc.grpc.status_code', code);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  };
}

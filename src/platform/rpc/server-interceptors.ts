/**
 * Server interceptor that turns whatever a service throws into the ConnectError the client can
 * rebuild (./errors.ts), including errors raised while a response stream is being produced.
 * Without it the router would turn a plain Error into Code.Internal carrying its message.
 */
import type { Interceptor } from '@connectrpc/connect';
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

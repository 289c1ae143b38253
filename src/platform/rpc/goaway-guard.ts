/**
 * Works around connect-es issue #1768 (fix proposed in PR #1769, not released): when a service
 * closes an idle HTTP/2 connection gracefully (GOAWAY, e.g. while it restarts), connect-node's
 * session manager destroys the connection with a ConnectError that Node raises as an 'error'
 * event after the manager removed its listeners — an uncaught exception that would kill the
 * calling process (a gateway) although no call failed. That one error is harmless: the next call
 * opens a new connection. Everything else keeps Node's behaviour: report and exit 1.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '../logger.ts';

const DEFERRED_GOAWAY = 'received GOAWAY without any open streams';

export function isDeferredGoawayError(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Canceled && err.rawMessage === DEFERRED_GOAWAY;
}

export function guardAgainstDeferredGoaway(logger: Logger): void {
  process.on('uncaughtException', (err) => {
    if (isDeferredGoawayError(err)) {
      logger.debug('a service closed an idle gRPC connection (GOAWAY); the next call reconnects');
      return;
    }
    process.stderr.write(
      `uncaught exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}

/** Runs one client call and rethrows its failure as the error the service itself would throw. */
import { fromRpcError } from './errors.ts';

export function rpcCall(serviceName: string) {
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw fromRpcError(err, serviceName);
    }
  };
}

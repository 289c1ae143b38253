/**
 * Container runtime errors, counted by operation: a wrapper around the runtime that the executor
 * and the workflow worker share, so every call is seen once. An image that does not exist is the
 * user's error, not the runtime's, and is not counted; a failing ping is (the runtime is down).
 */
import { Counter, type Registry } from 'prom-client';
import { ImageNotFoundError, type ContainerRuntime } from '../containers/runtime.ts';

export function instrumentContainerRuntime(runtime: ContainerRuntime, registry: Registry): ContainerRuntime {
  const errors = new Counter({
    name: 'chronoverse_container_runtime_errors_total',
    help: 'Failed container runtime calls, by operation (ping, ensure_image, run, remove)',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  for (const operation of ['ping', 'ensure_image', 'run', 'remove']) errors.inc({ operation }, 0);
  const counted = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ImageNotFoundError)) errors.inc({ operation });
      throw err;
    }
  };
  return {
    ping: async () => {
      const up = await runtime.ping();
      if (!up) errors.inc({ operation: 'ping' });
      return up;
    },
    ensureImage: (image) => counted('ensure_image', () => runtime.ensureImage(image)),
    run: (spec, onLines, signal) => counted('run', () => runtime.run(spec, onLines, signal)),
    removeContainers: (jobIds, upToAttempt) =>
      counted('remove', () => runtime.removeContainers(jobIds, upToAttempt)),
  };
}

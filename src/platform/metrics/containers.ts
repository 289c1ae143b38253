/**
 * Container runtime errors, counted by operation: a wrapper around the runtime that the executor
 * and the workflow worker share, so every call is seen once. An image that does not exist is the
 * user's error, not the runtime's, and is not counted; a failing ping is (the runtime is down). An
 * error a `run` hook threw is the hook's, not the runtime's, and is not counted either (unless it
 * is a ContainerRuntimeUnavailableError, e.g. from the archive calls the hook made).
 */
import { Counter, type Registry } from 'prom-client';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type ContainerHooks,
  type ContainerRuntime,
} from '../containers/runtime.ts';

export function instrumentContainerRuntime(runtime: ContainerRuntime, registry: Registry): ContainerRuntime {
  const errors = new Counter({
    name: 'chronoverse_container_runtime_errors_total',
    help: 'Failed container runtime calls, by operation (ping, ensure_image, run, remove)',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  for (const operation of ['ping', 'ensure_image', 'run', 'remove']) errors.inc({ operation }, 0);
  /** Errors thrown by hooks (objects only: a thrown primitive cannot be told apart; it is counted). */
  const hookErrors = new WeakSet<object>();
  const counted = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const hooks = typeof err === 'object' && err !== null && hookErrors.has(err);
      if (
        !(err instanceof ImageNotFoundError) &&
        (!hooks || err instanceof ContainerRuntimeUnavailableError)
      ) {
        errors.inc({ operation });
      }
      throw err;
    }
  };
  const marked = <A extends unknown[]>(hook: ((...args: A) => Promise<void>) | undefined) =>
    hook &&
    (async (...args: A) => {
      try {
        await hook(...args);
      } catch (err) {
        if (typeof err === 'object' && err !== null) hookErrors.add(err);
        throw err;
      }
    });
  const watched = (hooks: ContainerHooks | undefined): ContainerHooks | undefined =>
    hooks && {
      ...(hooks.beforeStart ? { beforeStart: marked(hooks.beforeStart.bind(hooks)) } : {}),
      ...(hooks.afterExit ? { afterExit: marked(hooks.afterExit.bind(hooks)) } : {}),
    };
  return {
    ping: async () => {
      const up = await runtime.ping();
      if (!up) errors.inc({ operation: 'ping' });
      return up;
    },
    ensureImage: (image) => counted('ensure_image', () => runtime.ensureImage(image)),
    run: (spec, onLines, signal, hooks) =>
      counted('run', () =>
        hooks === undefined
          ? runtime.run(spec, onLines, signal)
          : runtime.run(spec, onLines, signal, watched(hooks)),
      ),
    removeContainers: (jobIds, upToAttempt) =>
      counted('remove', () => runtime.removeContainers(jobIds, upToAttempt)),
  };
}

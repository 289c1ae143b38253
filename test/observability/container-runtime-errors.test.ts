/**
 * instrumentContainerRuntime and the `run` hooks: the hooks reach the runtime, and an error a hook
 * threw is the hook's, not the runtime's (not counted), unless it is a runtime failure itself.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ContainerRuntimeUnavailableError,
  type ContainerHandle,
  type ContainerRuntime,
} from '../../src/platform/containers/runtime.ts';
import { instrumentContainerRuntime } from '../../src/platform/metrics/containers.ts';

const handle: ContainerHandle = {
  id: 'c1',
  putArchive: async () => {},
  getArchive: async () => null,
};

/** A runtime whose `run` calls the hooks as the real one does (and fails when told to). */
function fakeRuntime(failure?: Error): ContainerRuntime {
  return {
    ping: async () => true,
    ensureImage: async () => {},
    removeContainers: async () => 0,
    async run(_spec, _onLines, _signal, hooks) {
      if (failure) throw failure;
      await hooks?.beforeStart?.(handle);
      const outcome = { kind: 'exited', exitCode: 0, killed: false, oomKilled: false } as const;
      await hooks?.afterExit?.(handle, outcome);
      return outcome;
    },
  };
}

async function runErrors(registry: Registry): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find(
    (m) => m.name === 'chronoverse_container_runtime_errors_total',
  );
  return metric?.values.find((v) => v.labels.operation === 'run')?.value ?? NaN;
}

const run = (runtime: ContainerRuntime, hooks?: Parameters<ContainerRuntime['run']>[3]) =>
  runtime.run({} as Parameters<ContainerRuntime['run']>[0], () => {}, new AbortController().signal, hooks);

describe('instrumentContainerRuntime: run hooks', () => {
  it('passes the hooks through, with the handle and the outcome', async () => {
    const registry = new Registry();
    const calls: string[] = [];
    const outcome = await run(instrumentContainerRuntime(fakeRuntime(), registry), {
      async beforeStart(container) {
        calls.push(`before ${container.id}`);
      },
      async afterExit(container, result) {
        calls.push(`after ${container.id} ${result.kind}`);
      },
    });
    expect(outcome.kind).toBe('exited');
    expect(calls).toEqual(['before c1', 'after c1 exited']);
    expect(await runErrors(registry)).toBe(0);
  });

  it("does not count a hook's own error, counts a runtime failure inside a hook and outside", async () => {
    const registry = new Registry();
    const runtime = instrumentContainerRuntime(fakeRuntime(), registry);
    const own = new Error('upload failed');
    await expect(
      run(runtime, {
        async afterExit() {
          throw own;
        },
      }),
    ).rejects.toBe(own);
    expect(await runErrors(registry)).toBe(0);

    const down = new ContainerRuntimeUnavailableError('engine down');
    await expect(
      run(runtime, {
        async beforeStart() {
          throw down;
        },
      }),
    ).rejects.toBe(down);
    expect(await runErrors(registry)).toBe(1);

    const other = new Registry();
    const failing = instrumentContainerRuntime(fakeRuntime(new ContainerRuntimeUnavailableError('x')), other);
    await expect(run(failing)).rejects.toBeInstanceOf(ContainerRuntimeUnavailableError);
    expect(await runErrors(other)).toBe(1);
  });
});

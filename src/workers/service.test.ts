import { describe, expect, it } from 'vitest';
import { Lifecycle, service, type Service } from './service.ts';

function recorder() {
  const calls: string[] = [];
  const errors: Array<{ module: unknown; message: string }> = [];
  const logger = {
    error: (obj: { module?: unknown; err?: Error }) =>
      void errors.push({ module: obj.module, message: obj.err?.message ?? '' }),
  } as never;
  const make = (
    name: string,
    phase: number,
    opts: { failStart?: boolean; failStop?: boolean } = {},
  ): Service => ({
    name,
    phase,
    start: async () => {
      calls.push(`start ${name}`);
      if (opts.failStart) throw new Error(`${name} cannot start`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} cannot stop`);
    },
  });
  return { calls, errors, lifecycle: new Lifecycle(logger), make };
}

describe('Lifecycle', () => {
  it('starts by phase, table order within a phase, and stops in reverse', async () => {
    const { calls, lifecycle, make } = recorder();
    lifecycle.add(
      make('relay', 5),
      make('executor', 3),
      make('db', 0),
      make('worker', 3),
      make('gateway', 6),
    );
    await lifecycle.start();
    expect(lifecycle.started).toEqual(['db', 'executor', 'worker', 'relay', 'gateway']);
    await lifecycle.stop();
    expect(calls).toEqual([
      'start db',
      'start executor',
      'start worker',
      'start relay',
      'start gateway',
      'stop gateway',
      'stop relay',
      'stop worker',
      'stop executor',
      'stop db',
    ]);
    await lifecycle.stop(); // safe twice: nothing stops again
    expect(calls).toHaveLength(10);
  });

  it('starts in several steps and stops everything in reverse', async () => {
    const { calls, lifecycle, make } = recorder();
    lifecycle.add(make('redis', 0), make('db', 0));
    await lifecycle.start();
    lifecycle.add(make('scheduler', 5), make('consumer', 1));
    await lifecycle.start();
    await lifecycle.stop();
    expect(calls.filter((c) => c.startsWith('stop'))).toEqual([
      'stop scheduler',
      'stop consumer',
      'stop db',
      'stop redis',
    ]);
  });

  it('refuses a service of a phase that already passed', async () => {
    const { calls, lifecycle, make } = recorder();
    lifecycle.add(make('gateway', 6));
    await lifecycle.start();
    lifecycle.add(make('db', 0));
    await expect(lifecycle.start()).rejects.toThrow(/db \(phase 0\) added after phase 6/);
    expect(calls).toEqual(['start gateway']);
  });

  it('logs a failed stop and still stops the others', async () => {
    const { calls, errors, lifecycle, make } = recorder();
    lifecycle.add(make('db', 0), make('executor', 3, { failStop: true }), make('gateway', 6));
    await lifecycle.start();
    await lifecycle.stop();
    expect(calls.filter((c) => c.startsWith('stop'))).toEqual(['stop gateway', 'stop executor', 'stop db']);
    expect(errors).toEqual([{ module: 'executor', message: 'executor cannot stop' }]);
  });

  it('on a failed start, stops only what started, in reverse', async () => {
    const { calls, lifecycle, make } = recorder();
    lifecycle.add(
      make('db', 0),
      make('rpc', 2, { failStart: true }),
      make('consumer', 1),
      make('gateway', 6),
    );
    await expect(lifecycle.start()).rejects.toThrow('rpc cannot start');
    expect(lifecycle.started).toEqual(['db', 'consumer']);
    await lifecycle.stop();
    expect(calls).toEqual(['start db', 'start consumer', 'start rpc', 'stop consumer', 'stop db']);
  });

  it('adapts a worker, runOnce included', async () => {
    let rounds = 0;
    const s = service('scheduler', 5, { start() {}, stop: async () => {}, runOnce: async () => ++rounds });
    expect(s).toMatchObject({ name: 'scheduler', phase: 5 });
    await s.runOnce!();
    expect(rounds).toBe(1);
    expect(service('x', 0, { start() {}, stop() {} }).runOnce).toBeUndefined();
  });
});

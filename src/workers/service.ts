/**
 * One lifecycle for every background piece of a process (issue 17): a `Service` is started once
 * and stopped once; a `Lifecycle` starts services by phase (lower first, the order they were
 * added within a phase) and stops them in the exact reverse of the order they started. A service
 * that failed to stop is logged and the others still stop. Each role adds its services in
 * src/cli/role-services.ts; src/cli/runtime.ts starts them.
 *
 * Services subscribe to the bus and to events in `start()` and unsubscribe in `stop()`: a
 * constructor only builds, so nothing of a service runs before the lifecycle starts it.
 */
import type { Logger } from '../platform/logger.ts';

export interface Service {
  readonly name: string;
  /** Start phase: lower phases start first and stop last. */
  readonly phase: number;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** One round of the service's work now, where it has rounds (tests, maintenance commands). */
  runOnce?(): Promise<unknown>;
}

/** A worker with the usual start/stop (and maybe runOnce) as a Service. */
export function service(
  name: string,
  phase: number,
  worker: { start(): Promise<void> | void; stop(): Promise<void> | void; runOnce?(): Promise<unknown> },
): Service {
  return {
    name,
    phase,
    start: () => worker.start(),
    stop: () => worker.stop(),
    ...(worker.runOnce ? { runOnce: () => worker.runOnce!() } : {}),
  };
}

export class Lifecycle {
  readonly #logger: Pick<Logger, 'error'>;
  readonly #pending: Service[] = [];
  readonly #started: Service[] = [];

  constructor(logger: Pick<Logger, 'error'>) {
    this.#logger = logger;
  }

  /** Adds services to start at the next `start()`. */
  add(...services: Service[]): void {
    this.#pending.push(...services);
  }

  /** Names of the started services, in start order. */
  get started(): string[] {
    return this.#started.map((s) => s.name);
  }

  /**
   * Starts the services added since the last call, by phase. A service whose start throws is
   * not stopped (it did not start); the error is thrown and `stop()` stops those started before.
   * May be called again with more services (src/cli/infrastructure.ts opens the connections
   * first), never with one of a phase below a started one's.
   */
  async start(): Promise<void> {
    const batch = orderOf(this.#pending.splice(0));
    const highest = this.#started.at(-1)?.phase ?? -Infinity;
    const early = batch.find((s) => s.phase < highest);
    if (early)
      throw new Error(`service ${early.name} (phase ${early.phase}) added after phase ${highest} started`);
    for (const s of batch) {
      await s.start();
      this.#started.push(s);
    }
  }

  /** Stops the started services in reverse start order; safe twice. */
  async stop(): Promise<void> {
    this.#pending.length = 0;
    while (this.#started.length > 0) {
      const s = this.#started.pop()!;
      try {
        await s.stop();
      } catch (err) {
        this.#logger.error({ err, module: s.name }, 'module failed to stop');
      }
    }
  }
}

/** By phase, the order given within a phase (a stable sort). */
export function orderOf(services: readonly Service[]): Service[] {
  return services
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.phase - b.s.phase || a.i - b.i)
    .map(({ s }) => s);
}

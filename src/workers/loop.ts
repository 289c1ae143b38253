/**
 * The anatomy every background worker shares (River's startstop): `start()` runs `run()` in a
 * loop; `run` returns how long to sleep before the next round; `wake()` cuts a sleep short (an
 * in-process notification); `stop()` is safe twice and before `start`, and waits for the round
 * in progress. An error in a round is logged and retried after a short pause, never thrown.
 */
import type { Logger } from '../platform/logger.ts';

export class Loop {
  readonly #name: string;
  readonly #logger: Logger;
  readonly #run: () => Promise<number>;
  #running: Promise<void> | null = null;
  #stopping = false;
  #wakeUp: (() => void) | null = null;
  #woken = false;

  constructor(params: { name: string; logger: Logger; run: () => Promise<number> }) {
    this.#name = params.name;
    this.#logger = params.logger;
    this.#run = params.run;
  }

  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#running = this.#main();
  }

  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp?.();
    await this.#running;
    this.#running = null;
  }

  async #main(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      let sleepMs: number;
      try {
        sleepMs = await this.#run();
      } catch (err) {
        this.#logger.error({ err, loop: this.#name }, 'background loop round failed');
        sleepMs = 1_000;
      }
      if (this.#stopping || this.#woken || sleepMs <= 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleepMs);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = null;
    }
  }
}

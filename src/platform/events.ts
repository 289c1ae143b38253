/**
 * The process-wide typed event map (graphile-worker's WorkerEventMap habit): wake-ups between
 * in-process roles and observable milestones. Metrics, logs and tests subscribe; tests await
 * `events.next('scheduler:tick:completed')` instead of sleeping. Emission never throws into the
 * emitting loop.
 */
import { EventEmitter, once } from 'node:events';

export interface ChronoverseEventMap {
  /** Outbox rows were committed: the relay should look now. */
  'outbox:written': { count: number };
  /** Workflow schedules changed (create, edit, build, terminate): the scheduler should re-plan. */
  'schedules:changed': { workflowId: string };
  /** Jobs may be claimable now (tick created some, a job finished, a dispatch arrived). */
  'jobs:runnable': { count: number };
  /** A running job was canceled: an executor running it here stops it at once. */
  'job:cancel-requested': { jobId: string };
  'scheduler:tick:completed': {
    claimed: number;
    created: number;
    skipped: number;
    skippedOverlap: number;
    canceled: number;
    lagMs: number;
  };
  'relay:batch:published': { count: number };
  'executor:job:claimed': { jobId: string; workflowId: string; attempt: number };
  'executor:job:finished': { jobId: string; status: string };
  'executor:lease:lost': { jobId: string };
  /** A run ended here, whatever its outcome, and every line it printed is stored. */
  'executor:job:released': { jobId: string };
  'workflow:build:finished': { workflowId: string; status: 'COMPLETED' | 'FAILED' };
  'workflow:build:waiting': { workflowId: string };
  /** Webhook deliveries became due (created, redelivered, pinged): the sender should look now. */
  'webhooks:deliveries:due': { count: number };
  /** Emails were queued: the email sender should look now. */
  'email:deliveries:due': { count: number };
  /** Notifications of this user were committed: their SSE streams should look now. */
  'notification:created': { userId: string };
}

export type EventName = keyof ChronoverseEventMap;

/** Called for every emitted event, whatever its name (see `Events.observe`). */
export type EventObserver = (name: EventName, payload: unknown) => void;

export class Events {
  readonly #emitter = new EventEmitter({ captureRejections: false });
  readonly #observers = new Set<EventObserver>();
  readonly #interestWatchers = new Set<(name: EventName, interested: boolean) => void>();

  constructor() {
    // Every SSE stream listens for its job's status changes: the count grows with followers, not leaks.
    this.#emitter.setMaxListeners(0);
    // Interest: a name gains its first listener or loses its last, through `on`, `next` or
    // anything else that adds to the emitter. 'newListener' runs before the listener is added,
    // 'removeListener' after it is gone.
    this.#emitter.on('newListener', (name: string | symbol) => {
      if (typeof name === 'string' && !META_EVENTS.has(name) && this.#emitter.listenerCount(name) === 0) {
        this.#interestChanged(name as EventName, true);
      }
    });
    this.#emitter.on('removeListener', (name: string | symbol) => {
      if (typeof name === 'string' && !META_EVENTS.has(name) && this.#emitter.listenerCount(name) === 0) {
        this.#interestChanged(name as EventName, false);
      }
    });
  }

  emit<K extends EventName>(name: K, payload: ChronoverseEventMap[K]): void {
    try {
      this.#emitter.emit(name, payload);
    } catch {
      // A failing listener must not break the loop that emitted.
    }
    for (const observe of this.#observers) {
      try {
        observe(name, payload);
      } catch {
        // Likewise an observer.
      }
    }
  }

  on<K extends EventName>(name: K, listener: (payload: ChronoverseEventMap[K]) => void): () => void {
    this.#emitter.on(name, listener);
    return () => this.#emitter.off(name, listener);
  }

  /**
   * Sees every emitted event without being a listener: `interested` does not count it. The
   * Redis event bridge forwards through it, so that a process listens to another's events only
   * when something in it wants them.
   */
  observe(observer: EventObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Whether anything in this process listens to `name` now. */
  interested(name: EventName): boolean {
    return this.#emitter.listenerCount(name) > 0;
  }

  /** Calls `watcher` when a name gets its first listener (true) or loses its last (false). */
  watchInterest(watcher: (name: EventName, interested: boolean) => void): () => void {
    this.#interestWatchers.add(watcher);
    return () => this.#interestWatchers.delete(watcher);
  }

  /** The next occurrence of `name` matching `filter` (for tests and wake-ups). */
  async next<K extends EventName>(
    name: K,
    options: { filter?: (payload: ChronoverseEventMap[K]) => boolean; signal?: AbortSignal } = {},
  ): Promise<ChronoverseEventMap[K]> {
    for (;;) {
      const [payload] = (await once(this.#emitter, name, { signal: options.signal })) as [
        ChronoverseEventMap[K],
      ];
      if (!options.filter || options.filter(payload)) return payload;
    }
  }

  #interestChanged(name: EventName, interested: boolean): void {
    for (const watcher of this.#interestWatchers) {
      try {
        watcher(name, interested);
      } catch {
        // A failing watcher must not break the listener being added or removed.
      }
    }
  }
}

/** The emitter's own bookkeeping events, which are not ours. */
const META_EVENTS = new Set(['newListener', 'removeListener']);

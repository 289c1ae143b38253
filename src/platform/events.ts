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

export class Events {
  readonly #emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    // Every SSE stream listens for its job's status changes: the count grows with followers, not leaks.
    this.#emitter.setMaxListeners(0);
  }

  emit<K extends EventName>(name: K, payload: ChronoverseEventMap[K]): void {
    try {
      this.#emitter.emit(name, payload);
    } catch {
      // A failing listener must not break the loop that emitted.
    }
  }

  on<K extends EventName>(name: K, listener: (payload: ChronoverseEventMap[K]) => void): () => void {
    this.#emitter.on(name, listener);
    return () => this.#emitter.off(name, listener);
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
}

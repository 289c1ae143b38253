/**
 * Live log fan-out: lines of running jobs, pushed to whoever follows them (SSE clients). In
 * memory within one process (`InMemoryLiveLogs`, the embedded profile); the distributed profile
 * uses Redis pub/sub behind the same interface (src/platform/redis/live-logs.ts). Persistence is
 * the log store's job; this only carries lines already numbered, at most once: a follower that
 * needs every line re-reads gaps from the database (see src/gateway/routes/logs.ts).
 */
export interface LiveLogLine {
  sequence_num: number;
  stream: 'stdout' | 'stderr';
  timestamp: string;
  message: string;
}

export type LiveLogListener = (lines: LiveLogLine[]) => void;

export interface LiveLogSubscribeOptions {
  /**
   * Called when the feed may have lost lines of this job (it resubscribed after an outage):
   * the follower should re-read what it has not seen from the database.
   */
  onResync?: () => void;
}

export interface LiveLogs {
  /** Hands numbered lines to this job's followers. Never blocks and never throws. */
  publish(jobId: string, lines: LiveLogLine[]): void;
  /** Follows one job's lines; returns the unsubscribe function. */
  subscribe(jobId: string, listener: LiveLogListener, options?: LiveLogSubscribeOptions): () => void;
}

/** In one process: nothing is ever lost, so `onResync` is never called. */
export class InMemoryLiveLogs implements LiveLogs {
  readonly #listeners = new Map<string, Set<LiveLogListener>>();

  publish(jobId: string, lines: LiveLogLine[]): void {
    for (const listener of this.#listeners.get(jobId) ?? []) {
      try {
        listener(lines);
      } catch {
        // One slow or broken follower must not affect the job or the others.
      }
    }
  }

  subscribe(jobId: string, listener: LiveLogListener): () => void {
    let set = this.#listeners.get(jobId);
    if (!set) this.#listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(jobId);
    };
  }
}

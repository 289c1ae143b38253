/**
 * Live log fan-out: lines of running jobs, pushed to whoever follows them (SSE clients). In
 * memory within one process; the distributed profile replaces it with Redis pub/sub behind the
 * same interface. Persistence is the log store's job; this only carries lines already numbered.
 */
export interface LiveLogLine {
  sequence_num: number;
  stream: 'stdout' | 'stderr';
  timestamp: string;
  message: string;
}

export type LiveLogListener = (lines: LiveLogLine[]) => void;

export class LiveLogs {
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

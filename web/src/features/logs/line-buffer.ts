/**
 * The viewer's lines: sorted by sequence_num, each number once. Lines come from the SSE stream
 * (replayed stored lines, then live ones; after a reconnect the server resumes after Last-Event-ID,
 * but a line can still arrive twice, e.g. a reconnect racing a batch) or from pages of the logs API,
 * in any order. Appending in order is the hot path (100,000 lines): amortised O(1), no copy; an
 * out-of-order line is placed by binary search. Mutable on purpose: React reads it through
 * `version` (useSyncExternalStore), so a 100k-line job is never copied per batch.
 */
import type { LogLine } from './types.ts';

export interface LogSnapshot {
  /** The buffer's (mutable) array: read it, never keep it across versions. */
  readonly lines: readonly LogLine[];
  readonly version: number;
}

export class LogBuffer {
  #lines: LogLine[] = [];
  #version = 0;
  #snapshot: LogSnapshot = { lines: this.#lines, version: 0 };
  readonly #listeners = new Set<() => void>();

  /** The lines, ordered by sequence_num. Do not mutate. */
  get lines(): readonly LogLine[] {
    return this.#lines;
  }

  /** Increases whenever lines change. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#lines.length;
  }

  /** The highest sequence number held, or -1. */
  get lastSequence(): number {
    return this.#lines.at(-1)?.sequence_num ?? -1;
  }

  /** Adds lines (any order, duplicates ignored); returns how many were new. */
  add(batch: readonly LogLine[]): number {
    const lines = this.#lines;
    let added = 0;
    for (const line of batch) {
      const last = lines.at(-1);
      if (!last || line.sequence_num > last.sequence_num) {
        lines.push(line);
        added++;
        continue;
      }
      // Binary search for the first line with sequence_num >= line's.
      let lo = 0;
      let hi = lines.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (lines[mid]!.sequence_num < line.sequence_num) lo = mid + 1;
        else hi = mid;
      }
      if (lines[lo]?.sequence_num === line.sequence_num) continue;
      lines.splice(lo, 0, line);
      added++;
    }
    if (added > 0) this.#changed();
    return added;
  }

  clear(): void {
    if (this.#lines.length === 0) return;
    this.#lines = [];
    this.#changed();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** For useSyncExternalStore: a new object whenever the lines change. */
  getSnapshot = (): LogSnapshot => this.#snapshot;

  #changed(): void {
    this.#version++;
    this.#snapshot = { lines: this.#lines, version: this.#version };
    for (const l of this.#listeners) l();
  }
}

/**
 * One clock for every process: the database server's (issue 17). Fire times, deadlines and
 * missed-fire ages are compared in the processes (scheduler, detector, services) while leases,
 * retries and the claim's "due" compare with the database's `now()`; on several machines a
 * scheduler whose clock ran 5 s fast fired 5 s early and its runs then waited for the claim, and
 * one running slow fired late. This clock reads the database's time through the process's own:
 * `now()` is `Date.now()` plus an offset measured with `SELECT clock_timestamp()` (the sample with
 * the shortest round trip of a few, half of it counted as the way back, as NTP does) and measured
 * again every minute. No query per `now()`: the scheduler asks several times per tick.
 *
 * Embedded (PGlite in this process) the two clocks are one: the runtime keeps the system clock.
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { DB } from './schema.ts';

export interface ClockSample {
  /** The database's time as read. */
  databaseMs: number;
  /** Local time when the query was sent and when its answer arrived. */
  sentMs: number;
  receivedMs: number;
}

/**
 * The offset (database − local, ms) a set of samples gives, and its uncertainty (half the round
 * trip of the sample used). Pure; null without samples.
 */
export function offsetOf(samples: readonly ClockSample[]): { offsetMs: number; errorMs: number } | null {
  let best: ClockSample | null = null;
  for (const s of samples) {
    if (best === null || s.receivedMs - s.sentMs < best.receivedMs - best.sentMs) best = s;
  }
  if (best === null) return null;
  const half = (best.receivedMs - best.sentMs) / 2;
  return { offsetMs: best.databaseMs - (best.sentMs + half), errorMs: half };
}

export class DatabaseClock implements Clock {
  #offsetMs = 0;
  #measured = 0;

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  /** Database minus local time, as last measured (0 before the first measurement). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /**
   * Measures the offset again (3 samples). A new estimate within the uncertainty of the one in
   * use is ignored, so that round-trip noise does not make `now()` step back and forth by a
   * millisecond every minute. Returns the offset in use.
   */
  async sync(db: Kysely<DB>, samples = 3): Promise<number> {
    const taken: ClockSample[] = [];
    for (let i = 0; i < samples; i++) {
      const sentMs = Date.now();
      const { rows } = await sql<{ ms: number }>`
        SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`.execute(db);
      taken.push({ databaseMs: Number(rows[0]!.ms), sentMs, receivedMs: Date.now() });
    }
    const measured = offsetOf(taken)!;
    const first = this.#measured === 0;
    if (first || Math.abs(measured.offsetMs - this.#offsetMs) > Math.max(measured.errorMs, 1)) {
      this.#offsetMs = Math.round(measured.offsetMs);
    }
    this.#measured++;
    return this.#offsetMs;
  }
}

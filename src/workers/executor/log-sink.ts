/**
 * Job log sink: buffers captured lines per job and writes them in batches (one statement per
 * job per flush), then publishes them to live followers with their sequence numbers.
 *
 * jobLogsInsertBatch: the statement reserves a range of `jobs.next_sequence_num` and inserts the
 * lines with `unnest` in one go, so sequence numbers are unique and increasing per job across
 * streams and attempts, even if two sinks ever wrote for the same job. Lines of a workflow whose
 * log retention is off are only streamed live, never stored.
 */
import { sql, type Kysely } from 'kysely';
import type { CapturedLine } from '../../platform/containers/runtime.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { LiveLogs, LiveLogLine } from '../../platform/live-logs.ts';
import type { Logger } from '../../platform/logger.ts';

export interface LogSinkConfig {
  /** Flush a job's buffer at this many lines. @default 1000 */
  maxBatchLines: number;
  /** Flush at least this often while lines arrive. @default 50 */
  flushIntervalMs: number;
  /** Lines buffered or being stored above which the producer is asked to wait. @default 10000 */
  highWaterLines: number;
}

export const LOG_SINK_DEFAULTS: LogSinkConfig = {
  maxBatchLines: 1000,
  flushIntervalMs: 50,
  highWaterLines: 10_000,
};

export class JobLogWriter {
  readonly #db: Kysely<DB>;
  readonly #live: LiveLogs;
  readonly #logger: Logger;
  readonly #config: LogSinkConfig;
  readonly #job: { id: string; workflowId: string; attempt: number; retain: boolean };
  #buffer: CapturedLine[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #nextLocalSeq = 0;
  #unstored = 0;

  constructor(
    deps: { db: Kysely<DB>; live: LiveLogs; logger: Logger },
    job: { id: string; workflowId: string; attempt: number; retain: boolean },
    config: Partial<LogSinkConfig> = {},
  ) {
    this.#db = deps.db;
    this.#live = deps.live;
    this.#logger = deps.logger;
    this.#job = job;
    this.#config = { ...LOG_SINK_DEFAULTS, ...config };
  }

  /**
   * Buffers lines. Returns a promise when more than `highWaterLines` are not stored yet: the caller
   * stops reading the container's output until it settles (backpressure), so memory stays bounded
   * however fast a container writes.
   */
  write(lines: CapturedLine[]): void | Promise<void> {
    this.#buffer.push(...lines);
    if (this.#buffer.length >= this.#config.maxBatchLines) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#config.flushIntervalMs);
    if (this.#unstored + this.#buffer.length > this.#config.highWaterLines) return this.#flushing;
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#buffer;
    this.#buffer = [];
    this.#unstored += batch.length;
    this.#flushing = this.#flushing.then(async () => {
      if (batch.length > 0) await this.#store(batch);
      this.#unstored -= batch.length;
    });
    return this.#flushing;
  }

  async #store(batch: CapturedLine[]): Promise<void> {
    if (!this.#job.retain) {
      // Not stored: number them locally so live followers still see an increasing sequence.
      const lines = batch.map((l) => toLive(l, this.#nextLocalSeq++));
      this.#live.publish(this.#job.id, lines);
      return;
    }
    try {
      const n = batch.length;
      const { rows } = await sql<{ start: number }>`
        WITH seq AS (
          UPDATE jobs SET next_sequence_num = next_sequence_num + ${n}, log_lines = log_lines + ${n}
          WHERE id = ${this.#job.id}
          RETURNING next_sequence_num - ${n} AS start
        ), ins AS (
          INSERT INTO job_logs (job_id, workflow_id, sequence_num, attempt, stream, "timestamp", message)
          SELECT ${this.#job.id}, ${this.#job.workflowId}, seq.start + l.ord - 1, ${this.#job.attempt}, l.stream, l.ts, l.message
          FROM seq, unnest(${batch.map((l) => l.stream)}::text[], ${batch.map((l) => l.timestamp.toISOString())}::timestamptz[],
                           ${batch.map((l) => storable(l.message))}::text[]) WITH ORDINALITY AS l(stream, ts, message, ord)
        )
        SELECT start FROM seq`.execute(this.#db);
      const start = rows[0]?.start;
      if (start === undefined) return; // the job was deleted meanwhile
      this.#live.publish(
        this.#job.id,
        batch.map((l, i) => toLive(l, start + i)),
      );
    } catch (err) {
      this.#logger.error({ err, jobId: this.#job.id, lines: batch.length }, 'storing job log lines failed');
    }
  }
}

function toLive(line: CapturedLine, sequence: number): LiveLogLine {
  return {
    sequence_num: sequence,
    stream: line.stream,
    timestamp: line.timestamp.toISOString(),
    message: storable(line.message),
  };
}

/** PostgreSQL text cannot hold NUL: the line is kept, each NUL becomes U+FFFD. */
function storable(message: string): string {
  return message.includes('\u0000') ? message.replaceAll('\u0000', '\uFFFD') : message;
}

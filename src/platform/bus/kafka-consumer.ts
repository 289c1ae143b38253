/**
 * One consumer group member of one topic, supervised.
 *
 * Design note.
 * - Sessions: a session is a `Consumer` plus its message stream. Whatever breaks it (the broker
 *   goes away, a fetch fails, the group must be rejoined and cannot be), the session is dropped
 *   and a new one is made after a backoff; the process never sees the error. The group then
 *   restarts from the committed offsets (a new group starts at the earliest retained offset, so
 *   messages published before the first start are not skipped).
 * - Commit after handling: offsets are committed only for messages whose handler resolved (or
 *   that were parked). Anything in flight when a session or the process ends is delivered again,
 *   to this member or to whichever member owns the partition next: at-least-once.
 * - Batches: messages are taken from the stream in fetch order (per partition, offset order) and
 *   split into waves holding at most one message per key (the n-th message of every key goes in
 *   wave n), so per-key order holds and a handler may apply a batch in any order (bus.ts).
 * - Failure: a wave that throws is retried message by message (isolating the bad one); each
 *   message gets `maxHandleAttempts` tries with exponential backoff, then it is parked
 *   (parking.ts) and the partition moves on. A record that does not decode is parked at once.
 *   While parking itself fails (the database is down) nothing is committed and it is retried.
 * - Rebalances: messages of partitions no longer assigned are dropped before handling (their new
 *   owner reads them from the committed offset); an offset below one already handled here is a
 *   refetch after a rejoin and is skipped.
 */
import { isConnectionFailure } from '../db/connection-errors.ts';
import { Consumer, type Message } from '@platformatic/kafka';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { OutboxTopic } from '../../services/outbox.ts';
import type { BusHandler, BusMessage } from './bus.ts';
import { decodeMessage, headersAsText, UndecodableMessageError } from './kafka-codec.ts';
import { parkMessages, type ParkedRecord } from './parking.ts';

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export interface SubscriptionOptions {
  brokers: string[];
  clientId: string;
  /** The bus topic (unprefixed) and its Kafka name. */
  topic: OutboxTopic;
  kafkaTopic: string;
  /** The bus group (unprefixed, stored when parking) and its Kafka group id. */
  group: string;
  kafkaGroup: string;
  handler: BusHandler;
  db: Kysely<DB>;
  logger: Logger;
  maxHandleAttempts: number;
  /** First retry delay of a failing message; doubles per attempt, capped at `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Messages handed to one round of waves. */
  maxBatch: number;
  /** Group session timeout: how long a vanished member keeps its partitions. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

interface Item {
  raw: RawMessage;
  message: BusMessage;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
const CLOSE_TIMEOUT_MS = 10_000;

export class KafkaSubscription {
  readonly #o: SubscriptionOptions;
  readonly #log: Logger;
  #closing = false;
  #running: Promise<void> | null = null;
  /** Wakes the processing loop (new messages, stream end) and cuts backoff sleeps short. */
  #wake: (() => void) | null = null;
  readonly #abort = new AbortController();
  /** Next offset to handle per partition: lower ones were handled by this member already. */
  readonly #next = new Map<number, bigint>();
  /** The consumer of the running session, for lag reads. */
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | null = null;

  constructor(options: SubscriptionOptions) {
    this.#o = options;
    this.#log = options.logger.child({ topic: options.topic, group: options.group });
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#supervise();
  }

  /**
   * Messages of the partitions this member holds that are not committed yet: the high watermark
   * minus the committed offset, summed over them (the library's `getLag`, one ListOffsets
   * request). Null while no session runs. Summed over the group's members, the group's lag.
   */
  async lag(): Promise<number | null> {
    const consumer = this.#consumer;
    if (!consumer) return null;
    const lags = await consumer.getLag({ topics: [this.#o.kafkaTopic] });
    let total = 0n;
    for (const partitions of lags.values()) for (const l of partitions) if (l > 0n) total += l;
    return Number(total);
  }

  /** Finishes the batch being handled (no new attempts start), commits it, leaves the group. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
  }

  async #supervise(): Promise<void> {
    let failures = 0;
    while (!this.#closing) {
      let healthy = false;
      try {
        healthy = await this.#session();
      } catch (err) {
        if (failures === 0 || failures % 20 === 0) {
          this.#log.warn({ err: errorInfo(err), failures }, 'kafka consumer session failed; reconnecting');
        }
      }
      if (this.#closing) break;
      failures = healthy ? 0 : failures + 1;
      await this.#sleep(Math.min(RECONNECT_MIN_MS * 2 ** Math.min(failures, 5), RECONNECT_MAX_MS));
    }
  }

  /** One consumer session; resolves true when it ran (joined and consumed) before ending. */
  async #session(): Promise<boolean> {
    const o = this.#o;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: `${o.clientId}-${o.group}`,
      bootstrapBrokers: o.brokers,
      groupId: o.kafkaGroup,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(o.sessionTimeoutMs * 2, 10_000),
      maxWaitTime: 1000,
      timeout: 10_000,
      connectTimeout: 3000,
      retries: 3,
      retryDelay: 250,
      highWaterMark: 1024,
    });
    this.#consumer = consumer;
    let failure: unknown = null;
    let ended = false;
    const signal = () => this.#wake?.();
    consumer.on('error', (err: unknown) => {
      failure ??= err;
      signal();
    });
    let stream: Awaited<ReturnType<typeof consumer.consume>> | null = null;
    try {
      stream = await consumer.consume({
        topics: [o.kafkaTopic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
      });
      const queue: RawMessage[] = [];
      let paused = false;
      const s = stream;
      s.on('data', (m: RawMessage) => {
        queue.push(m);
        if (!paused && queue.length >= o.maxBatch * 4) {
          paused = true;
          s.pause();
        }
        signal();
      });
      s.on('error', (err: unknown) => {
        failure ??= err;
        signal();
      });
      s.on('close', () => {
        ended = true;
        signal();
      });
      this.#log.debug('kafka consumer joined');
      let ran = false;
      while (!this.#closing && failure === null && !ended) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = null;
          continue;
        }
        const chunk = queue.splice(0, o.maxBatch);
        if (paused && queue.length < o.maxBatch) {
          paused = false;
          s.resume();
        }
        await this.#process(consumer, chunk);
        ran = true;
      }
      if (failure !== null && !this.#closing) throw failure;
      return ran;
    } finally {
      this.#consumer = null;
      await this.#dispose(consumer, stream);
    }
  }

  async #dispose(
    consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    stream: { close(): Promise<void> } | null,
  ): Promise<void> {
    const closing = (async () => {
      if (stream) await stream.close().catch(() => {});
      // Leaves the group (the partitions move at once, no session timeout to wait for).
      await consumer.close().catch(() => forceClose(consumer));
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closing,
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Handles a chunk of fetched messages and commits them; leaves them uncommitted if closing. */
  async #process(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>, chunk: RawMessage[]): Promise<void> {
    const assigned = new Set(
      consumer.assignments?.find((a) => a.topic === this.#o.kafkaTopic)?.partitions ?? [],
    );
    for (const p of [...this.#next.keys()]) if (!assigned.has(p)) this.#next.delete(p);
    const fresh = chunk.filter(
      (m) => assigned.has(m.partition) && m.offset >= (this.#next.get(m.partition) ?? -1n),
    );
    if (fresh.length === 0) return;

    const items: Item[] = [];
    const undecodable: ParkedRecord[] = [];
    for (const raw of fresh) {
      const headers = headersAsText(raw.headers);
      try {
        items.push({ raw, message: decodeMessage(this.#o.topic, raw.key, raw.value, headers) });
      } catch (err) {
        if (!(err instanceof UndecodableMessageError)) throw err;
        undecodable.push(this.#parked(raw, headers, null, `undecodable: ${err.message}`, 0));
      }
    }
    if (undecodable.length > 0 && !(await this.#park(undecodable))) return;

    for (const wave of waves(items)) {
      if (!(await this.#deliver(wave))) return; // closing: nothing of this chunk is committed
    }

    // Commit the next offset of each partition (the last message's own commit carries its
    // leader epoch). A failed commit only means a redelivery later.
    const last = new Map<number, RawMessage>();
    for (const m of fresh) last.set(m.partition, m);
    for (const [partition, m] of last) this.#next.set(partition, m.offset + 1n);
    await Promise.all(
      [...last.values()].map(async (m) => {
        try {
          await m.commit();
        } catch (err) {
          this.#log.warn(
            { err: errorInfo(err), partition: m.partition, offset: String(m.offset) },
            'kafka offset commit failed; the messages may be delivered again',
          );
        }
      }),
    );
  }

  /** Delivers one wave; false when closing interrupted it. */
  async #deliver(wave: Item[]): Promise<boolean> {
    const { handler, maxHandleAttempts } = this.#o;
    let batchError: unknown = null;
    if (wave.length > 1) {
      if (this.#closing) return false;
      try {
        await handler(wave.map((i) => i.message));
        return true;
      } catch (err) {
        batchError = err;
      }
    }
    for (const item of wave) {
      let attempts = batchError === null || isConnectionFailure(batchError as { code?: string }) ? 0 : 1;
      let lastError: unknown = batchError;
      for (;;) {
        if (attempts >= maxHandleAttempts) {
          const record = this.#parked(
            item.raw,
            headersAsText(item.raw.headers),
            item.message.type,
            errorText(lastError),
            attempts,
          );
          if (!(await this.#park([record]))) return false;
          break;
        }
        if (attempts > 0) {
          this.#log.debug(
            { messageId: item.message.id, attempts, err: errorInfo(lastError) },
            'bus handler failed; retrying',
          );
          await this.#sleep(this.#backoff(attempts));
        }
        if (this.#closing) return false;
        try {
          await handler([item.message]);
          break;
        } catch (err) {
          // A lost database says nothing about the message: wait for it without counting an
          // attempt, or a PostgreSQL restart would park every message in flight as poison.
          if (!isConnectionFailure(err as { code?: string })) attempts += 1;
          else this.#log.warn({ err: errorInfo(err) }, 'bus handler lost its database; retrying');
          lastError = err;
          if (attempts === 0) await this.#sleep(this.#o.retryMaxMs > 2_000 ? 2_000 : this.#o.retryMaxMs);
        }
      }
    }
    return true;
  }

  /** Stores parked records, retrying while the database fails; false when closing interrupted it. */
  async #park(records: ParkedRecord[]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await parkMessages(this.#o.db, records);
        for (const r of records) {
          this.#log.error(
            {
              partition: r.partition,
              offset: String(r.offset),
              key: r.key,
              type: r.eventType,
              attempts: r.attempts,
              error: r.error,
            },
            'bus message parked',
          );
        }
        return true;
      } catch (err) {
        this.#log.warn({ err: errorInfo(err), attempt }, 'parking a bus message failed; retrying');
        await this.#sleep(this.#backoff(attempt));
        if (this.#closing) return false;
      }
    }
  }

  #parked(
    raw: RawMessage,
    headers: Record<string, string>,
    eventType: string | null,
    error: string,
    attempts: number,
  ): ParkedRecord {
    return {
      topic: this.#o.topic,
      group: this.#o.group,
      partition: raw.partition,
      offset: raw.offset,
      key: raw.key?.toString('utf8') ?? '',
      value: raw.value ?? null,
      headers,
      eventType,
      error,
      attempts,
    };
  }

  #backoff(attempt: number): number {
    return Math.min(this.#o.retryBaseMs * 2 ** (attempt - 1), this.#o.retryMaxMs);
  }

  /** Sleeps, or less when closing. */
  async #sleep(ms: number): Promise<void> {
    if (this.#abort.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** Closes a client even when the broker is gone; never rejects. */
export function forceClose(client: {
  close(force: boolean, callback: (error?: Error | null) => void): void;
}): Promise<void> {
  return new Promise((resolve) => {
    try {
      client.close(true, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Splits messages into waves with at most one message per key, keeping each key's order. */
export function waves<T extends { message: { key: string } }>(items: readonly T[]): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const n = seen.get(item.message.key) ?? 0;
    seen.set(item.message.key, n + 1);
    (out[n] ??= []).push(item);
  }
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function errorInfo(err: unknown): { message: string; code?: unknown } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code === undefined ? { message: err.message } : { message: err.message, code };
  }
  return { message: String(err) };
}

/**
 * Outbox relay: publishes committed outbox rows to the bus, then marks them PUBLISHED.
 *
 * Order: a batch takes only the oldest pending row of each (topic, key), so events of one key are
 * published strictly in insertion order, across batches and retries. Failure: a batch that fails
 * is retried row by row; a row that keeps failing is rescheduled with exponential backoff and,
 * after `maxAttempts`, parked as DEAD (visible, re-drivable) so it never blocks its key forever.
 * Several relays may run: each claims its batch (see `runOnce`), so a row is published by one.
 * Wake-up: `outbox:written` events from this process, else a poll every `pollIntervalMs`.
 * Delivery is at-least-once (a crash between publish and the PUBLISHED update redelivers).
 * Tracing: each row gets a `publish <topic>` span (kind PRODUCER) whose parent is the context the
 * writer stored in the row's headers; the message carries the publish span's context onward.
 */
import { sql, type Kysely } from 'kysely';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Bus, BusMessage } from '../../platform/bus/bus.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import type { Logger } from '../../platform/logger.ts';
import type { OutboxTopic } from '../../services/outbox.ts';
import { contextFromHeaders, contextHeaders } from '../../platform/telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../../platform/telemetry/tracing.ts';
import { Loop } from '../loop.ts';

export interface OutboxRelayConfig {
  /** Rows per batch. @default 500 */
  batchSize: number;
  /** Fallback poll when no wake-up arrives. @default 500 */
  pollIntervalMs: number;
  /** Attempts before a row is parked as DEAD. @default 10 */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, capped at 5 minutes. @default 1000 */
  retryBaseMs: number;
  /** How long a claimed batch stays hidden from other relays. @default 60000 */
  claimLeaseMs: number;
}

export const OUTBOX_RELAY_DEFAULTS: OutboxRelayConfig = {
  batchSize: 500,
  pollIntervalMs: 500,
  maxAttempts: 10,
  retryBaseMs: 1000,
  claimLeaseMs: 60_000,
};

interface OutboxRow {
  id: number;
  topic: OutboxTopic;
  key: string;
  event_type: string;
  payload: Record<string, unknown>;
  headers: Record<string, unknown> | null;
  attempts: number;
}

export class OutboxRelay {
  readonly #db: Kysely<DB>;
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #events: Events;
  readonly #config: OutboxRelayConfig;
  readonly #loop: Loop;
  #unsubscribe: (() => void) | null = null;

  constructor(
    deps: { db: Kysely<DB>; bus: Bus; logger: Logger; events: Events },
    config: Partial<OutboxRelayConfig> = {},
  ) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#logger = deps.logger;
    this.#events = deps.events;
    this.#config = { ...OUTBOX_RELAY_DEFAULTS, ...config };
    if (this.#config.batchSize < 1) throw new Error('batchSize must be at least 1');
    this.#loop = new Loop({
      name: 'outbox-relay',
      logger: deps.logger,
      run: async () =>
        (await this.runOnce()).published >= this.#config.batchSize ? 0 : this.#config.pollIntervalMs,
    });
  }

  start(): void {
    this.#unsubscribe ??= this.#events.on('outbox:written', () => this.#loop.wake());
    this.#loop.start();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#loop.stop();
  }

  /** Publishes one batch; returns how many rows were published, retried and parked. */
  async runOnce(): Promise<{ published: number; failed: number; dead: number }> {
    // Claim the head of each key's queue among due rows (outbox_key_order_idx): pushing
    // next_attempt_at out by a lease hides the rows from other relays, and while a head is
    // claimed the rows behind it are no heads, so several relays keep per-key order. A relay
    // that dies mid-batch delays its rows by the lease; they are then published again
    // (at-least-once, as everywhere on the bus).
    const claimed = await this.#db.transaction().execute(async (trx) => {
      // Pin the ordered index scan of outbox_pending_idx. With a few hundred rows pending the
      // planner chose a bitmap scan, which visits every entry of the index, dead ones included,
      // and never marks them dead: after a burst of 20,000 events (their rows PUBLISHED, their
      // entries not yet vacuumed) each claim of 2 rows read 20,497 entries and 4,105 heap pages,
      // 8–15 ms, every round, until autovacuum came by (auto_explain, the anchor harness's pickup
      // phase). The ordered scan stops at the LIMIT and marks the dead entries it passes as such.
      await sql`SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)`.execute(
        trx,
      );
      return sql<OutboxRow>`
      UPDATE outbox SET next_attempt_at = now() + make_interval(secs => ${this.#config.claimLeaseMs / 1000})
      WHERE id IN (
        SELECT o.id
        FROM outbox o
        WHERE o.status = 'PENDING'
          AND o.next_attempt_at <= now()
          AND NOT EXISTS (
            SELECT 1 FROM outbox e
            WHERE e.topic = o.topic AND e.key = o.key AND e.status = 'PENDING' AND e.id < o.id)
        ORDER BY o.id
        LIMIT ${this.#config.batchSize}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, topic, key, event_type, payload, headers, attempts`.execute(trx);
    });
    const rows = claimed.rows.sort((a, b) => Number(a.id) - Number(b.id));
    if (rows.length === 0) return { published: 0, failed: 0, dead: 0 };

    const published: number[] = [];
    const failed: Array<{ row: OutboxRow; error: unknown }> = [];
    const spans = tracingEnabled() ? new Map(rows.map((r) => [r.id, publishSpan(r, rows.length)])) : null;
    const messageOf = (row: OutboxRow) => toMessage(row, spans?.get(row.id));
    try {
      await this.#bus.publish(rows.map(messageOf));
      published.push(...rows.map((r) => r.id));
    } catch {
      // Isolate the failing rows: deliver one by one.
      for (const row of rows) {
        try {
          await this.#bus.publish([messageOf(row)]);
          published.push(row.id);
        } catch (error) {
          failed.push({ row, error });
        }
      }
    }
    if (spans) {
      for (const { row, error } of failed) {
        spans.get(row.id)?.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
      }
      for (const span of spans.values()) span.end();
    }
    if (published.length > 0) {
      await sql`UPDATE outbox SET status = 'PUBLISHED', published_at = now()
                WHERE id = ANY(${published}::bigint[])`.execute(this.#db);
      this.#events.emit('relay:batch:published', { count: published.length });
    }
    let dead = 0;
    for (const { row, error } of failed) {
      const attempts = row.attempts + 1;
      const isDead = attempts >= this.#config.maxAttempts;
      if (isDead) dead += 1;
      const delayMs = Math.min(this.#config.retryBaseMs * 2 ** (attempts - 1), 300_000);
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn(
        {
          outboxId: row.id,
          topic: row.topic,
          type: row.event_type,
          attempts,
          dead: isDead,
          err: { message },
        },
        isDead ? 'outbox row parked as DEAD' : 'outbox row failed; will retry',
      );
      await sql`UPDATE outbox
                SET attempts = ${attempts}, last_error = ${message.slice(0, 4000)},
                    status = ${isDead ? 'DEAD' : 'PENDING'},
                    next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
                WHERE id = ${row.id}`.execute(this.#db);
    }
    return { published: published.length, failed: failed.length, dead };
  }
}

function publishSpan(row: OutboxRow, batch: number): Span {
  return tracer().startSpan(
    `publish ${row.topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.operation.type': 'send',
        'messaging.destination.name': row.topic,
        'messaging.message.id': String(row.id),
        'messaging.batch.message_count': batch,
        'chronoverse.event_type': row.event_type,
        'chronoverse.outbox.attempts': row.attempts,
      },
    },
    contextFromHeaders(row.headers),
  );
}

function toMessage(row: OutboxRow, span?: Span): BusMessage {
  const message: BusMessage = {
    id: String(row.id),
    topic: row.topic,
    key: row.key,
    type: row.event_type,
    payload: row.payload,
  };
  // Context written beside the event (W3C trace context) travels as Kafka record headers; with a
  // publish span, the consumers become its children.
  const carried = span
    ? { ...row.headers, ...contextHeaders(trace.setSpan(ROOT_CONTEXT, span)) }
    : row.headers;
  const headers = Object.entries(carried ?? {}).filter(([, v]) => typeof v === 'string');
  if (headers.length > 0) message.headers = Object.fromEntries(headers) as Record<string, string>;
  return message;
}

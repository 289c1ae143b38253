/**
 * Writing outbox rows: always inside the transaction of the change they announce. One
 * multi-row INSERT per call; the relay publishes them after commit (src/workers/outbox-relay).
 * Rows carry the active trace context in `headers` unless the event names its own, so the relay's
 * publish span and the consumers continue the trace of the request or job that wrote them.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../platform/db/schema.ts';
import { contextHeaders } from '../platform/telemetry/propagation.ts';

export type OutboxTopic = 'workflows' | 'jobs' | 'job_logs' | 'analytics' | 'notifications';

export interface OutboxEvent {
  topic: OutboxTopic;
  /** Partition/order key: events with one key are published in insertion order. */
  key: string;
  type: string;
  payload: Record<string, unknown>;
  /** Context that travels beside the event (W3C `traceparent`/`tracestate`): Kafka record headers. */
  headers?: Record<string, string>;
}

export async function writeOutbox(trx: Transaction<DB>, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const active = JSON.stringify(contextHeaders());
  await trx
    .insertInto('outbox')
    .values(
      events.map((e) => ({
        topic: e.topic,
        key: e.key,
        event_type: e.type,
        payload: JSON.stringify(e.payload),
        headers: e.headers ? JSON.stringify(e.headers) : active,
      })),
    )
    .execute();
}

/**
 * Parking: where a consumer group puts a message it gives up on (bus_parked_messages), with the
 * raw bytes as received, so nothing is lost and an operator can re-drive it. One row per
 * (topic, group, partition, offset): parking again after a crash changes nothing.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { newId } from '../ids.ts';

export interface ParkedRecord {
  topic: string;
  group: string;
  partition: number;
  offset: bigint;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
  eventType: string | null;
  error: string;
  attempts: number;
}

export async function parkMessages(db: Kysely<DB>, records: readonly ParkedRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db
    .insertInto('bus_parked_messages')
    .values(
      records.map((r) => ({
        id: newId(),
        topic: r.topic,
        consumer_group: r.group,
        kafka_partition: r.partition,
        kafka_offset: r.offset.toString(),
        key: r.key,
        value: r.value,
        headers: JSON.stringify(r.headers),
        event_type: r.eventType,
        error: r.error.slice(0, 4000),
        attempts: r.attempts,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['topic', 'consumer_group', 'kafka_partition', 'kafka_offset']).doNothing(),
    )
    .execute();
}

/** The outbox relay over Kafka: every row reaches every group, exactly once after de-duplication. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import type { KafkaBus } from '../../src/platform/bus/kafka-bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { OutboxRelay } from '../../src/workers/outbox-relay/relay.ts';
import { countRows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { makeBus, uniquePrefix } from './kafka-fixtures.ts';

const ROWS = 2000;
const KEYS = 100;

describe('outbox relay over KafkaBus', () => {
  let database: Database;
  const buses: KafkaBus[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await database.close();
  });

  it(`delivers every row of a ${ROWS}-row outbox exactly once per group after dedupe, in key order`, async () => {
    const db = database.db;
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload)
      SELECT 'jobs', 'key-' || (i % ${KEYS}), 'DISPATCH', jsonb_build_object('n', i)
      FROM generate_series(1, ${ROWS}) i`.execute(db);

    const prefix = uniquePrefix();
    const deliveries = new Map<string, number>();
    const order = new Map<string, number[]>();
    // Idempotent consumers, as the workers are: the event id is recorded once per consumer.
    const consumer = (group: string) => async (batch: BusMessage[]) => {
      deliveries.set(group, (deliveries.get(group) ?? 0) + batch.length);
      for (const m of batch) {
        const k = `${group}/${m.key}`;
        order.set(k, [...(order.get(k) ?? []), Number(m.id)]);
      }
      await db
        .insertInto('processed_events')
        .values(batch.map((m) => ({ consumer: group, event_id: m.id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    };
    // Two processes in group "a" (partitions shared), one in group "b".
    for (const groups of [['a', 'b'], ['a']]) {
      const bus = makeBus(inject('kafkaBrokers'), db, prefix, { partitions: 6 });
      for (const group of groups) bus.subscribe({ topic: 'jobs', group, handler: consumer(group) });
      buses.push(bus);
    }
    await Promise.all(buses.map((b) => b.start()));

    const relay = new OutboxRelay(
      { db, bus: buses[0]!, logger: createLogger('silent'), events: new Events() },
      { batchSize: 500 },
    );
    let published = 0;
    while (published < ROWS) {
      const r = await relay.runOnce();
      expect(r.failed).toBe(0);
      published += r.published;
    }
    expect(await countRows(db, 'outbox')).toBe(ROWS);

    const { rows: pending } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM outbox WHERE status <> 'PUBLISHED'`.execute(db);
    expect(pending[0]!.n).toBe(0);

    for (const group of ['a', 'b']) {
      await waitFor(async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM processed_events WHERE consumer = ${group}`.execute(db);
        return rows[0]!.n === ROWS;
      }, 60_000);
      const { rows: missing } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM outbox o
        WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = ${group} AND p.event_id = o.id::text)`.execute(
        db,
      );
      expect(missing[0]!.n).toBe(0);
      expect(deliveries.get(group)).toBeGreaterThanOrEqual(ROWS);
    }
    // Per key, ids arrive increasing (a redelivery may repeat a suffix, never reorder).
    for (const ids of order.values()) {
      const firsts = ids.filter((id, i) => ids.indexOf(id) === i);
      expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
    }
  }, 120_000);
});

/**
 * The outbox relay on both engines: per-key order, several relays racing without publishing a
 * row twice or out of order, and a row that keeps failing parked as DEAD without blocking others.
 * The bus is a recorder (the Kafka bus has its own suite against a real broker).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage, Unsubscribe } from '../../src/platform/bus/bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { writeOutbox } from '../../src/services/outbox.ts';
import { OutboxRelay } from '../../src/workers/outbox-relay/relay.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';

const logger = createLogger('silent');

class RecordingBus implements Bus {
  readonly published: BusMessage[] = [];
  failKeys = new Set<string>();
  subscribe(): Unsubscribe {
    return async () => {};
  }
  async publish(messages: BusMessage[]): Promise<void> {
    // Yield so racing relays interleave.
    await new Promise((r) => setImmediate(r));
    if (messages.some((m) => this.failKeys.has(m.key))) throw new Error('broker said no');
    this.published.push(...messages);
  }
}

async function insertRows(database: Database, rows: Array<{ key: string; n: number }>) {
  await database.db
    .insertInto('outbox')
    .values(
      rows.map((r) => ({
        topic: 'workflows' as const,
        key: r.key,
        event_type: 'T',
        payload: JSON.stringify({ n: r.n }),
      })),
    )
    .execute();
}

describe.each(ENGINES)('outbox relay (%s)', (engine) => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    await sql`DELETE FROM outbox`.execute(database.db);
  });

  it('publishes every row once, in order per key, with three relays racing', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => ({ key: `k${i % 7}`, n: i }));
    await insertRows(database, rows);
    const bus = new RecordingBus();
    const relays = Array.from(
      { length: 3 },
      () => new OutboxRelay({ db: database.db, bus, logger, events: new Events() }, { batchSize: 50 }),
    );
    for (let round = 0; round < 400; round++) {
      const results = await Promise.all(relays.map((r) => r.runOnce()));
      if (results.every((r) => r.published === 0)) break;
    }
    const ns = bus.published.map((m) => (m.payload as { n: number }).n);
    expect(ns.length).toBe(600);
    expect(new Set(ns).size).toBe(600);
    for (let k = 0; k < 7; k++) {
      const ofKey = bus.published.filter((m) => m.key === `k${k}`).map((m) => (m.payload as { n: number }).n);
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
    const { rows: left } = await sql<{
      n: string;
    }>`SELECT count(*) AS n FROM outbox WHERE status <> 'PUBLISHED'`.execute(database.db);
    expect(Number(left[0]!.n)).toBe(0);
  });

  it('carries the headers written beside an event (trace context) to the bus', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await database.db
      .transaction()
      .execute((trx) =>
        writeOutbox(trx, [{ topic: 'jobs', key: 'k', type: 'T', payload: {}, headers: { traceparent } }]),
      );
    await insertRows(database, [{ key: 'plain', n: 1 }]);
    const bus = new RecordingBus();
    await new OutboxRelay({ db: database.db, bus, logger, events: new Events() }).runOnce();
    expect(bus.published.map((m) => [m.key, m.headers])).toEqual([
      ['k', { traceparent }],
      ['plain', undefined],
    ]);
  });

  it('parks a row that keeps failing as DEAD, holds its key behind it meanwhile, and lets other keys flow', async () => {
    await insertRows(database, [
      { key: 'bad', n: 1 },
      { key: 'bad', n: 2 },
      { key: 'good', n: 3 },
    ]);
    const bus = new RecordingBus();
    bus.failKeys.add('bad');
    const relay = new OutboxRelay(
      { db: database.db, bus, logger, events: new Events() },
      { maxAttempts: 3, retryBaseMs: 1 },
    );
    const first = await relay.runOnce();
    expect(first).toMatchObject({ published: 1, failed: 1, dead: 0 });
    expect(bus.published.map((m) => m.key)).toEqual(['good']);
    // Rounds until the bad key's rows are parked (their retry delays are 1 ms, 2 ms, …).
    await waitFor(async () => {
      await relay.runOnce();
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM outbox WHERE key = 'bad' AND status = 'DEAD'`.execute(database.db);
      return rows[0]!.n === 2;
    }, 10_000);
    const { rows } = await sql<{ n: number; status: string; attempts: number }>`
      SELECT (payload->>'n')::int AS n, status, attempts FROM outbox ORDER BY id`.execute(database.db);
    // n=1 is DEAD after 3 attempts; n=2 was then the head of its key and failed on its own.
    expect(rows[0]).toMatchObject({ n: 1, status: 'DEAD', attempts: 3 });
    expect(rows[1]).toMatchObject({ n: 2, status: 'DEAD', attempts: 3 });
    expect(rows[2]).toMatchObject({ n: 3, status: 'PUBLISHED' });
  });
});

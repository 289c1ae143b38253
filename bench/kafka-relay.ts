/**
 * Outbox relay throughput over Kafka: N outbox rows (K keys) published by the real relay through
 * KafkaBus, then consumed by one consumer group that records them in processed_events.
 *
 *   node bench/kafka-relay.ts [rows=20000] [keys=1000]
 *
 * Environment: BENCH_KAFKA_BROKERS (default: a private broker started with scripts/kafka-env.sh),
 * BENCH_PG_URL (default: in-memory PGlite). Prints its figures; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { BusMessage } from '../src/platform/bus/bus.ts';
import { KafkaBus } from '../src/platform/bus/kafka-bus.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { Events } from '../src/platform/events.ts';
import { createLogger } from '../src/platform/logger.ts';
import { OutboxRelay } from '../src/workers/outbox-relay/relay.ts';
import { KafkaBroker } from '../test/helpers/kafka-broker.ts';

const rows = Number(process.argv[2] ?? 20_000);
const keys = Number(process.argv[3] ?? 1000);

let broker: KafkaBroker | null = null;
let brokers = process.env.BENCH_KAFKA_BROKERS ?? '';
if (!brokers) {
  const t = performance.now();
  broker = await KafkaBroker.start();
  brokers = broker.brokers;
  console.log(`broker started in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const database = await openDatabase({
  url: process.env.BENCH_PG_URL ?? '',
  dataDir: process.env.BENCH_PG_URL ? '' : 'memory://',
  poolSize: process.env.BENCH_PG_URL ? 10 : 1,
});
await migrate(database.db);
const db = database.db;
await sql`DELETE FROM outbox`.execute(db);
await sql`
  INSERT INTO outbox (topic, key, event_type, payload)
  SELECT 'jobs', 'key-' || (i % ${keys}), 'DISPATCH', jsonb_build_object('n', i)
  FROM generate_series(1, ${rows}) i`.execute(db);

const logger = createLogger('warn');
const bus = new KafkaBus({
  brokers: [brokers],
  clientId: 'cv-bench',
  topicPrefix: `bench${randomBytes(3).toString('hex')}.`,
  partitions: 6,
  replicationFactor: 1,
  maxHandleAttempts: 5,
  db,
  logger,
});
let consumed = 0;
let consumedAll: () => void = () => {};
const done = new Promise<void>((resolve) => (consumedAll = resolve));
bus.subscribe({
  topic: 'jobs',
  group: 'bench',
  handler: async (batch: BusMessage[]) => {
    await db
      .insertInto('processed_events')
      .values(batch.map((m) => ({ consumer: 'bench', event_id: m.id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    consumed += batch.length;
    if (consumed >= rows) consumedAll();
  },
});
await bus.start();

const relay = new OutboxRelay({ db, bus, logger, events: new Events() }, { batchSize: 500 });
const t0 = performance.now();
let published = 0;
while (published < rows) published += (await relay.runOnce()).published;
const t1 = performance.now();
await done;
const t2 = performance.now();
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
console.log(
  `${rows} rows, ${keys} keys: relay published in ${(t1 - t0).toFixed(0)} ms (${rate(rows, t1 - t0)} rows/s); ` +
    `all consumed after ${(t2 - t0).toFixed(0)} ms (${rate(rows, t2 - t0)} msgs/s end to end)`,
);
await bus.close();
await database.close();
await broker?.destroy();

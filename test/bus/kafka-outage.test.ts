/** The broker goes away and comes back (its own broker: the shared one stays up for the others). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../../src/platform/bus/kafka-bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { KafkaBroker } from '../helpers/kafka-broker.ts';
import { makeBus, message, Recorder, uniquePrefix } from './kafka-fixtures.ts';

describe('KafkaBus through a broker outage', () => {
  let database: Database;
  let broker: KafkaBroker;
  let bus: KafkaBus | undefined;

  beforeAll(async () => {
    [database, broker] = await Promise.all([createTestDatabase('pglite'), KafkaBroker.start()]);
  }, 120_000);
  afterAll(async () => {
    await bus?.close();
    await Promise.all([database?.close(), broker?.destroy()]);
  });

  it('rejects publishes while the broker is down, then publishing and consumption resume', async () => {
    bus = makeBus(broker.brokers, database.db, uniquePrefix(), { requestTimeoutMs: 2000 });
    const recorder = new Recorder();
    bus.subscribe({ topic: 'jobs', group: 'outage', handler: recorder.handler });
    await bus.start();
    const before = message('k1');
    await bus.publish([before]);
    await recorder.waitForIds([before.id]);

    await broker.stop();
    const down = Date.now();
    await expect(bus.publish([message('k2')])).rejects.toThrow();
    // Stay down about 5 s, publishing now and then (each attempt must fail, none may hang).
    while (Date.now() - down < 5000) {
      await expect(bus.publish([message('k3')])).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 500));
    }
    await broker.start();

    const after = message('k4');
    await waitFor(async () => {
      try {
        await bus!.publish([after]);
        return true;
      } catch {
        return false;
      }
    }, 60_000);
    await recorder.waitForIds([after.id], 60_000);
    // The process is alive and the consumer still works for later messages too.
    const later = message('k5');
    await bus.publish([later]);
    await recorder.waitForIds([later.id], 30_000);
  }, 180_000);
});

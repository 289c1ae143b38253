/**
 * Notifications across processes: the consumer runs in one "process" (its own Events), the
 * gateway a client follows in another, both bridged over a private Redis (src/platform/redis/
 * event-bridge.ts) and sharing one database. The gateway's safety poll is an hour, so a pushed
 * notification can only have come through the bridged `notification:created` wake-up.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection, RedisSubscriber } from '../../src/platform/redis/connection.ts';
import { EventBridge } from '../../src/platform/redis/event-bridge.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, registerUser, type TestGateway } from '../helpers/harness.ts';
import { sseEvents, type SseEvent } from '../helpers/sse.ts';
import { createNotificationsGateway, insertWorkflow, workflowFact } from './fixtures.ts';

const logger = createLogger('silent');

async function bridged(name: string, prefix: string) {
  const events = new Events();
  const url = inject('redisUrl');
  const publisher = new RedisConnection({ url, keyPrefix: prefix, name, logger });
  const subscriber = new RedisSubscriber({ url, keyPrefix: prefix, name: `${name}-sub`, logger });
  expect(await publisher.waitReady()).toBe(true);
  expect(await subscriber.waitReady()).toBe(true);
  const bridge = new EventBridge({ events, publisher, subscriber, logger });
  bridge.start();
  return {
    events,
    publisher,
    bridge,
    async close() {
      bridge.stop();
      await subscriber.close();
      await publisher.close();
    },
  };
}

describe('notifications SSE across processes (event bridge)', () => {
  const prefix = `n${Date.now().toString(36)}:`;
  let database: Database;
  let a: Awaited<ReturnType<typeof bridged>>;
  let b: Awaited<ReturnType<typeof bridged>>;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    a = await bridged('consumer', prefix);
    b = await bridged('gateway', prefix);
    await waitFor(async () => {
      const reply = (await a.publisher.client.pubsub('NUMSUB', a.bridge.interestChannel)) as [string, number];
      return Number(reply[1]) === 2;
    }, 5_000);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
  });

  it('a notification created by a consumer elsewhere is pushed to the gateway’s stream', async () => {
    const gw = await createNotificationsGateway('postgres', {
      database,
      events: b.events,
      pollMs: 3_600_000,
    });
    const consumer = new NotificationsConsumer({
      db: database.db,
      events: a.events,
      logger,
      bus: new InProcessBus(),
    });
    try {
      await gw.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
      const user = await registerUser(gw as unknown as TestGateway);
      await gw.app.inject({
        method: 'PUT',
        url: '/api/v1/users',
        headers: user.headers,
        payload: { notification_preference: 'ALL' },
      });
      const abort = new AbortController();
      const res = await fetch(`${base}/api/v1/notifications/events`, {
        headers: user.headers,
        signal: abort.signal,
      });
      const it = sseEvents(res.body!)[Symbol.asyncIterator]();
      // The stream listens to notification:created in b: a publishes it once b has announced that.
      await waitFor(async () => a.bridge.publishes('notification:created'), 5_000);
      try {
        const wf = await insertWorkflow(database, user.user.id, 'elsewhere');
        expect(
          await consumer.handle([
            workflowFact('BUILD_COMPLETED', { workflow_id: wf, user_id: user.user.id }),
          ]),
        ).toBe(1);
        let ev: SseEvent;
        do ev = (await it.next()).value as SseEvent;
        while (ev.event === 'comment');
        expect(ev.event).toBe('notification');
        expect(JSON.parse(ev.data)).toMatchObject({ kind: 'SUCCESS', entity_id: wf });
      } finally {
        abort.abort();
      }
    } finally {
      await gw.close();
    }
  });
});

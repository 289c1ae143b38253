/**
 * EventBridge on a real redis-server: each whitelisted event emitted in one process is emitted
 * once in the other and never echoed back; `jobs:runnable` and observation events stay local;
 * `outbox:written` bursts are coalesced; junk on the channels is ignored; an event is published
 * only while another process listens to it.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Events, type ChronoverseEventMap, type EventName } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection, RedisSubscriber } from '../../src/platform/redis/connection.ts';
import {
  BRIDGED_EVENTS,
  EventBridge,
  type BridgedEvent,
  type EventBridgeConfig,
} from '../../src/platform/redis/event-bridge.ts';
import { waitFor } from '../helpers/fixtures.ts';

const logger = createLogger('silent');
const ALL_EVENTS: EventName[] = [
  'outbox:written',
  'schedules:changed',
  'jobs:runnable',
  'job:cancel-requested',
  'scheduler:tick:completed',
  'relay:batch:published',
  'executor:job:claimed',
  'executor:job:finished',
  'executor:lease:lost',
  'executor:job:released',
  'workflow:build:finished',
  'workflow:build:waiting',
  'webhooks:deliveries:due',
  'email:deliveries:due',
  'notification:created',
];

const SAMPLES: { [K in EventName]: ChronoverseEventMap[K] } = {
  'outbox:written': { count: 3 },
  'schedules:changed': { workflowId: 'wf-1' },
  'jobs:runnable': { count: 1 },
  'job:cancel-requested': { jobId: 'job-1' },
  'scheduler:tick:completed': {
    claimed: 1,
    created: 1,
    skipped: 0,
    skippedOverlap: 0,
    canceled: 0,
    lagMs: 1,
  },
  'relay:batch:published': { count: 1 },
  'executor:job:claimed': { jobId: 'job-1', workflowId: 'wf-1', attempt: 2 },
  'executor:job:finished': { jobId: 'job-1', status: 'COMPLETED' },
  'executor:lease:lost': { jobId: 'job-1' },
  'executor:job:released': { jobId: 'job-1' },
  'workflow:build:finished': { workflowId: 'wf-1', status: 'FAILED' },
  'workflow:build:waiting': { workflowId: 'wf-1' },
  'webhooks:deliveries:due': { count: 2 },
  'email:deliveries:due': { count: 1 },
  'notification:created': { userId: '0190a0a0-0000-7000-8000-000000000001' },
};

async function processOn(
  url: string,
  prefix: string,
  name: string,
  options: { listenTo?: EventName[]; config?: Partial<EventBridgeConfig> } = {},
) {
  const events = new Events();
  const publisher = new RedisConnection({ url, keyPrefix: prefix, name, logger });
  const subscriber = new RedisSubscriber({ url, keyPrefix: prefix, name: `${name}-sub`, logger });
  expect(await publisher.waitReady()).toBe(true);
  expect(await subscriber.waitReady()).toBe(true);
  const bridge = new EventBridge(
    { events, publisher, subscriber, logger },
    { coalesceMs: 20, ...options.config },
  );
  bridge.start();
  /** Every event this process's bus saw, in order (of the events it listens to). */
  const seen: { name: EventName; payload: unknown }[] = [];
  for (const name of options.listenTo ?? ALL_EVENTS)
    events.on(name, (payload) => seen.push({ name, payload }));
  return {
    events,
    publisher,
    bridge,
    seen,
    async close() {
      bridge.stop();
      await subscriber.close();
      await publisher.close();
    },
  };
}

async function numSub(conn: RedisConnection, channel: string): Promise<number> {
  const reply = (await conn.client.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('EventBridge', () => {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let a: Awaited<ReturnType<typeof processOn>>;
  let b: Awaited<ReturnType<typeof processOn>>;

  beforeAll(async () => {
    a = await processOn(inject('redisUrl'), prefix, 'a');
    b = await processOn(inject('redisUrl'), prefix, 'b');
    // Both listen to every event: each is subscribed to every channel and publishes every name.
    await waitFor(async () => {
      for (const name of BRIDGED_EVENTS) {
        if ((await numSub(a.publisher, a.bridge.channelOf(name))) !== 2) return false;
      }
      return BRIDGED_EVENTS.every((name) => a.bridge.publishes(name) && b.bridge.publishes(name));
    }, 5_000);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('delivers each whitelisted event to the other process once, and not back to its sender', async () => {
    expect([...BRIDGED_EVENTS].sort()).toEqual(
      [
        'outbox:written',
        'schedules:changed',
        'job:cancel-requested',
        'executor:job:claimed',
        'executor:job:finished',
        'executor:job:released',
        'workflow:build:finished',
        'webhooks:deliveries:due',
        'email:deliveries:due',
        'notification:created',
      ].sort(),
    );
    a.seen.length = 0;
    b.seen.length = 0;
    for (const name of ALL_EVENTS) a.events.emit(name, SAMPLES[name] as never);
    const expected = BRIDGED_EVENTS.map((name) => ({ name, payload: SAMPLES[name] }));
    await waitFor(async () => b.seen.length >= expected.length, 5_000);
    // A marker round trip: anything else in flight from A would have arrived before it.
    a.events.emit('schedules:changed', { workflowId: 'marker' });
    await waitFor(async () =>
      b.seen.some((e) => (e.payload as { workflowId?: string }).workflowId === 'marker'),
    );
    b.seen.pop();
    expect(b.seen.map((e) => e.name).sort()).toEqual(expected.map((e) => e.name).sort());
    for (const e of expected) expect(b.seen).toContainEqual(e);
    // A saw its own emissions once each (no echo from B, no second copy from Redis).
    expect(a.seen.map((e) => e.name)).toEqual([...ALL_EVENTS, 'schedules:changed']);
  });

  it('coalesces a burst of outbox:written into few messages with the summed count', async () => {
    b.seen.length = 0;
    for (let i = 0; i < 100; i++) a.events.emit('outbox:written', { count: 2 });
    await waitFor(
      async () =>
        b.seen
          .filter((e) => e.name === 'outbox:written')
          .reduce((n, e) => n + (e.payload as { count: number }).count, 0) === 200,
      5_000,
    );
    const wakeUps = b.seen.filter((e) => e.name === 'outbox:written').length;
    expect(wakeUps).toBeGreaterThanOrEqual(1);
    expect(wakeUps).toBeLessThan(100);
  });

  it('ignores junk and malformed payloads on the channels', async () => {
    b.seen.length = 0;
    const junk: Array<[BridgedEvent, string]> = [
      ['schedules:changed', 'not json'],
      ['schedules:changed', '42'],
      ['schedules:changed', JSON.stringify({ p: [{ workflowId: 'x' }] })], // no origin
      ['schedules:changed', JSON.stringify({ o: 'someone', p: { workflowId: 'x' } })], // not a list
      ['executor:job:claimed', JSON.stringify({ o: 'someone', p: [{ jobId: 'j' }] })],
      ['workflow:build:finished', JSON.stringify({ o: 'someone', p: [{ workflowId: 'w', status: 'NOPE' }] })],
      ['outbox:written', JSON.stringify({ o: 'someone', p: [{ count: -1 }] })],
    ];
    for (const [name, message] of junk) await a.publisher.client.publish(a.bridge.channelOf(name), message);
    for (const message of ['not json', JSON.stringify({ o: 'someone', listen: 'all' })]) {
      await a.publisher.client.publish(a.bridge.interestChannel, message);
    }
    await a.publisher.client.publish(
      a.bridge.channelOf('executor:job:released'),
      JSON.stringify({ o: 'someone', p: [{ jobId: 'ok', extra: 1 }] }),
    );
    await waitFor(async () => b.seen.length > 0, 5_000);
    expect(b.seen).toEqual([{ name: 'executor:job:released', payload: { jobId: 'ok' } }]);
  });

  it('sends the events of one turn of the event loop as one message, each emitted on the other side', async () => {
    const listener = new RedisSubscriber({
      url: inject('redisUrl'),
      keyPrefix: prefix,
      name: 'counter-sub',
      logger,
    });
    expect(await listener.waitReady()).toBe(true);
    const messages: string[] = [];
    const released = a.bridge.channelOf('executor:job:released');
    const unsubscribe = listener.subscribe(released, (m) => messages.push(m));
    await waitFor(async () => (await numSub(a.publisher, released)) === 3, 5_000);
    b.seen.length = 0;
    for (let i = 0; i < 100; i++) a.events.emit('executor:job:released', { jobId: `job-${i}` });
    await waitFor(async () => b.seen.length >= 100, 5_000);
    expect(b.seen.map((e) => (e.payload as { jobId: string }).jobId)).toEqual(
      Array.from({ length: 100 }, (_, i) => `job-${i}`),
    );
    expect(messages).toHaveLength(1);
    // Junk inside a batch is skipped item by item; the good items still arrive.
    b.seen.length = 0;
    await a.publisher.client.publish(
      released,
      JSON.stringify({ o: 'someone', p: [{}, { job: 'j' }, { jobId: 'in-batch' }] }),
    );
    await waitFor(async () => b.seen.length > 0, 5_000);
    expect(b.seen).toEqual([{ name: 'executor:job:released', payload: { jobId: 'in-batch' } }]);
    unsubscribe();
    await listener.close();
  });

  it('stops forwarding after stop()', async () => {
    const c = await processOn(inject('redisUrl'), prefix, 'c');
    const channel = a.bridge.channelOf('schedules:changed');
    await waitFor(async () => (await numSub(a.publisher, channel)) === 3, 5_000);
    c.bridge.stop();
    await waitFor(async () => (await numSub(a.publisher, channel)) === 2, 5_000);
    b.seen.length = 0;
    c.events.emit('schedules:changed', { workflowId: 'from-c' });
    a.events.emit('schedules:changed', { workflowId: 'from-a' });
    await waitFor(async () => b.seen.length > 0, 5_000);
    expect(b.seen).toEqual([{ name: 'schedules:changed', payload: { workflowId: 'from-a' } }]);
    expect(c.seen.map((e) => (e.payload as { workflowId: string }).workflowId)).toEqual(['from-c']);
    await c.close();
  });

  it('publishes an event only while another process listens to it', async () => {
    // Its own prefix: x and y listen to schedules:changed only (the marker), a watcher sees
    // every message on their channels without being a subscriber (PSUBSCRIBE: NUMSUB ignores it).
    const own = `${prefix}interest-${randomBytes(3).toString('hex')}:`;
    const config = { interestRefreshMs: 50, lingerMs: 50 };
    const x = await processOn(inject('redisUrl'), own, 'x', { listenTo: ['schedules:changed'], config });
    const y = await processOn(inject('redisUrl'), own, 'y', { listenTo: ['schedules:changed'], config });
    const watcher = new Redis(inject('redisUrl'));
    const published: string[] = [];
    watcher.on('pmessage', (_pattern: string, channel: string) => published.push(channel.slice(own.length)));
    await watcher.psubscribe(`${own}events:*`);
    const claimed = { jobId: 'job-1', workflowId: 'wf-1', attempt: 1 };
    /** x emits `claimed`, then a marker y listens to; resolves when y has the marker. */
    const emitClaimed = async (marker: string) => {
      x.events.emit('executor:job:claimed', claimed);
      x.events.emit('schedules:changed', { workflowId: marker });
      await waitFor(async () =>
        y.seen.some((e) => (e.payload as { workflowId?: string }).workflowId === marker),
      );
    };
    try {
      await waitFor(
        async () => x.bridge.publishes('schedules:changed') && !x.bridge.publishes('executor:job:claimed'),
      );

      // Nobody listens to executor:job:claimed: not published (the marker behind it arrived).
      await emitClaimed('m1');
      expect(published.filter((c) => c === 'events:executor:job:claimed')).toEqual([]);
      expect(y.bridge.listens('executor:job:claimed')).toBe(false);

      // y starts listening: it subscribes and announces, x publishes from then on.
      const heard: unknown[] = [];
      const stopListening = y.events.on('executor:job:claimed', (p) => heard.push(p));
      await waitFor(async () => x.bridge.publishes('executor:job:claimed'), 5_000);
      await emitClaimed('m2');
      await waitFor(async () => heard.length === 1);
      expect(heard).toEqual([claimed]);

      // y stops listening: after the linger it unsubscribes, and x's next refresh stops publishing.
      stopListening();
      await waitFor(
        async () => !y.bridge.listens('executor:job:claimed') && !x.bridge.publishes('executor:job:claimed'),
        5_000,
      );
      const before = published.filter((c) => c === 'events:executor:job:claimed').length;
      await emitClaimed('m3');
      expect(published.filter((c) => c === 'events:executor:job:claimed')).toHaveLength(before);
      expect(heard).toHaveLength(1);
    } finally {
      watcher.disconnect();
      await x.close();
      await y.close();
    }
  });
});

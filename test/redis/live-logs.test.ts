/**
 * RedisLiveLogs on a real redis-server: lines published by one process's instance reach the
 * followers of another's (two connections pairs = two "gateways"), one Redis subscription per job
 * per process whatever the number of followers, nothing is thrown or queued while Redis is down,
 * and followers are told to resync after the subscriber reconnects.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LiveLogLine } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection, RedisSubscriber } from '../../src/platform/redis/connection.ts';
import { RedisLiveLogs } from '../../src/platform/redis/live-logs.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const logger = createLogger('silent');

function line(n: number, message = `line ${n}`): LiveLogLine {
  return {
    sequence_num: n,
    stream: n % 2 ? 'stderr' : 'stdout',
    timestamp: new Date().toISOString(),
    message,
  };
}

/** One process's Redis side: a command connection, a subscriber and the live feed over them. */
async function processOn(url: string, prefix: string, name: string) {
  const publisher = new RedisConnection({ url, keyPrefix: prefix, name, logger, maxBackoffMs: 200 });
  const subscriber = new RedisSubscriber({
    url,
    keyPrefix: prefix,
    name: `${name}-sub`,
    logger,
    maxBackoffMs: 200,
  });
  expect(await publisher.waitReady()).toBe(true);
  expect(await subscriber.waitReady()).toBe(true);
  const live = new RedisLiveLogs({ publisher, subscriber, logger });
  return {
    publisher,
    subscriber,
    live,
    async close() {
      live.close();
      await subscriber.close();
      await publisher.close();
    },
  };
}

async function numSub(conn: RedisConnection, channel: string): Promise<number> {
  const reply = (await conn.client.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('RedisLiveLogs', () => {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let a: Awaited<ReturnType<typeof processOn>>;
  let b: Awaited<ReturnType<typeof processOn>>;

  beforeAll(async () => {
    a = await processOn(inject('redisUrl'), prefix, 'gateway-a');
    b = await processOn(inject('redisUrl'), prefix, 'gateway-b');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('carries lines published in one process to the followers in another, in order', async () => {
    const jobId = randomBytes(8).toString('hex');
    const got1: LiveLogLine[] = [];
    const got2: LiveLogLine[] = [];
    const off1 = b.live.subscribe(jobId, (lines) => got1.push(...lines));
    const off2 = b.live.subscribe(jobId, (lines) => got2.push(...lines));
    const channel = b.live.channel(jobId);
    expect(channel).toBe(`${prefix}live:${jobId}`);
    // Two followers of one job in one process: one Redis subscription.
    await waitFor(async () => (await numSub(a.publisher, channel)) === 1, 5_000);
    expect(b.live.followedJobs).toBe(1);

    const sent = Array.from({ length: 500 }, (_, i) => line(i));
    for (let i = 0; i < sent.length; i += 50) a.live.publish(jobId, sent.slice(i, i + 50));
    await waitFor(async () => got1.length === 500 && got2.length === 500, 5_000);
    expect(got1).toEqual(sent);
    expect(got2).toEqual(sent);

    // Unsubscribing one follower keeps the subscription; the last one drops it.
    off1();
    off1(); // twice is harmless
    a.live.publish(jobId, [line(500)]);
    await waitFor(async () => got2.length === 501, 5_000);
    expect(got1).toHaveLength(500);
    expect(await numSub(a.publisher, channel)).toBe(1);
    off2();
    expect(b.live.followedJobs).toBe(0);
    await waitFor(async () => (await numSub(a.publisher, channel)) === 0, 5_000);
  });

  it('splits big batches into several messages, in order', async () => {
    const jobId = randomBytes(8).toString('hex');
    const got: LiveLogLine[] = [];
    const off = b.live.subscribe(jobId, (lines) => got.push(...lines));
    await waitFor(async () => (await numSub(a.publisher, b.live.channel(jobId))) === 1, 5_000);
    const big = Array.from({ length: 40 }, (_, i) => line(i, 'x'.repeat(64 * 1024)));
    a.live.publish(jobId, big);
    await waitFor(async () => got.length === 40, 5_000);
    expect(got.map((l) => l.sequence_num)).toEqual(big.map((l) => l.sequence_num));
    off();
  });

  it('ignores malformed messages on a job channel', async () => {
    const jobId = randomBytes(8).toString('hex');
    const got: LiveLogLine[] = [];
    const off = b.live.subscribe(jobId, (lines) => got.push(...lines));
    const channel = b.live.channel(jobId);
    await waitFor(async () => (await numSub(a.publisher, channel)) === 1, 5_000);
    for (const junk of [
      'nope',
      '{}',
      '[]',
      '[{"sequence_num":"1"}]',
      JSON.stringify([{ ...line(1), stream: 'x' }]),
    ]) {
      await a.publisher.client.publish(channel, junk);
    }
    a.live.publish(jobId, [line(7)]);
    await waitFor(async () => got.length === 1, 5_000);
    expect(got).toEqual([line(7)].map((l) => ({ ...l, timestamp: got[0]!.timestamp })));
    off();
  });
});

describe('RedisLiveLogs across a Redis restart', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('drops lines while Redis is down without throwing, then resyncs followers and carries lines again', async () => {
    const a = await processOn(server.url, 'cv:', 'executor');
    const b = await processOn(server.url, 'cv:', 'gateway');
    try {
      const jobId = randomBytes(8).toString('hex');
      const got: number[] = [];
      let resyncs = 0;
      const off = b.live.subscribe(jobId, (lines) => got.push(...lines.map((l) => l.sequence_num)), {
        onResync: () => (resyncs += 1),
      });
      await waitFor(async () => (await numSub(a.publisher, b.live.channel(jobId))) === 1, 5_000);
      const resyncsBefore = resyncs;
      a.live.publish(jobId, [line(0)]);
      await waitFor(async () => got.length === 1, 5_000);

      await server.stop();
      await waitFor(async () => !a.publisher.ready && !b.subscriber.ready, 5_000);
      expect(await a.publisher.ping()).toBe(false);
      // Never throws, never queues: these are lost from the live feed.
      expect(() => a.live.publish(jobId, [line(1), line(2)])).not.toThrow();

      await server.start();
      await waitFor(async () => resyncs > resyncsBefore, 10_000);
      await waitFor(async () => a.publisher.ready, 10_000);
      expect(await a.publisher.ping()).toBe(true);
      a.live.publish(jobId, [line(3)]);
      await waitFor(async () => got.length === 2, 5_000);
      expect(got).toEqual([0, 3]);
      off();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

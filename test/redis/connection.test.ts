/**
 * Redis connections against a private redis-server that is stopped and started again: the
 * readiness probe follows it, commands fail fast while it is away (no queue), the outage is logged
 * once (not per retry), reconnection is automatic, and the subscriber resubscribes its channels
 * and calls its reconnect hooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.ts';
import { openRedis } from '../../src/platform/redis/connection.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { LogCapture } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';

describe('Redis connections', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('is not opened without a URL (in memory)', () => {
    expect(openRedis({ url: '', keyPrefix: 'cv:' }, createLogger('silent'))).toBeNull();
  });

  it('survives an outage: probe false, commands fail fast, one warning, reconnects and resubscribes', async () => {
    const logs = new LogCapture();
    const redis = openRedis({ url: server.url, keyPrefix: 'cv:' }, createLogger('info', logs), 'probe')!;
    try {
      expect(await redis.connection.waitReady()).toBe(true);
      expect(await redis.subscriber.waitReady()).toBe(true);
      expect(await redis.ping()).toBe(true);
      const messages: string[] = [];
      let reconnects = 0;
      redis.subscriber.onReconnected(() => (reconnects += 1));
      redis.subscriber.subscribe('cv:probe', (m) => messages.push(m));
      await waitFor(async () => {
        await redis.connection.client.publish('cv:probe', 'one');
        return messages.length > 0;
      }, 5_000);

      let retries = 0;
      redis.connection.client.on('reconnecting', () => (retries += 1));
      await server.stop();
      await waitFor(async () => !redis.connection.ready && !redis.subscriber.ready, 5_000);
      expect(await redis.ping()).toBe(false);
      await expect(redis.connection.client.get('x')).rejects.toThrow();
      await waitFor(async () => retries >= 3, 10_000); // several reconnect attempts
      const lost = logs.lines.filter((l) => l.includes('redis connection lost'));
      expect(lost).toHaveLength(2); // one per connection, not one per retry

      await server.start();
      await waitFor(async () => redis.ping(), 10_000);
      await waitFor(async () => reconnects > 0, 10_000);
      messages.length = 0;
      await redis.connection.client.publish('cv:probe', 'two');
      await waitFor(async () => messages.includes('two'), 5_000);
      expect(logs.lines.filter((l) => l.includes('redis connection restored'))).toHaveLength(2);
      // The key prefix applies to keys, not to channel names.
      await redis.connection.client.set('k', 'v');
      expect(await redis.connection.client.keys('*')).toEqual(['cv:k']);
    } finally {
      await redis.close();
    }
  });
});

/**
 * Server-Sent Events through two gateway replicas sharing one database and one Redis (a private
 * redis-server, restarted in the middle): "executor" code (the real JobLogWriter) writes a job's
 * lines with gateway A's process objects (its RedisLiveLogs and Events), clients follow the job on
 * gateway B and on gateway A, and each gets every line exactly once, in order, then `end`,
 * including the lines written while Redis was down (re-read from the database) and the ones
 * published right after it came back. Status changes reach B through the event bridge.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { RedisConnection, RedisSubscriber } from '../../src/platform/redis/connection.ts';
import { EventBridge } from '../../src/platform/redis/event-bridge.ts';
import { RedisLiveLogs } from '../../src/platform/redis/live-logs.ts';
import { JobLogWriter } from '../../src/workers/executor/log-sink.ts';
import { insertWorkflows, waitFor, snapshotOf } from '../helpers/fixtures.ts';
import { createTestDatabase, createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const logger = createLogger('silent');

interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Parses an SSE body as it arrives. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event: SseEvent = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) event.event = 'comment';
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) event.data += line.slice(6);
        else if (line.startsWith('id: ')) event.id = line.slice(4);
      }
      yield event;
    }
  }
}

/** One gateway process: its bus, Redis connections, live feed, event bridge and gateway. */
async function gatewayProcess(database: Database, redisUrl: string, name: string) {
  const events = new Events();
  const publisher = new RedisConnection({ url: redisUrl, keyPrefix: 'cv:', name, logger, maxBackoffMs: 200 });
  const subscriber = new RedisSubscriber({
    url: redisUrl,
    keyPrefix: 'cv:',
    name: `${name}-sub`,
    logger,
    maxBackoffMs: 200,
  });
  expect(await publisher.waitReady()).toBe(true);
  expect(await subscriber.waitReady()).toBe(true);
  const live = new RedisLiveLogs({ publisher, subscriber, logger });
  const bridge = new EventBridge({ events, publisher, subscriber, logger });
  bridge.start();
  const gw = await createTestGateway('pglite', { database, events, live });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
  return {
    events,
    publisher,
    subscriber,
    live,
    gw,
    baseUrl,
    async close() {
      await gw.app.close(); // not gw.close(): the database is shared
      bridge.stop();
      live.close();
      await subscriber.close();
      await publisher.close();
    },
  };
}

/** Follows a job's event stream to the server's end; resolves with what it got. */
async function follow(baseUrl: string, path: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 60_000);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    for await (const event of sseEvents(res.body!)) events.push(event);
    return events;
  } finally {
    clearTimeout(timer);
  }
}

describe('SSE across two gateways over Redis', () => {
  let server: RedisServer;
  let database: Database;
  let a: Awaited<ReturnType<typeof gatewayProcess>>;
  let b: Awaited<ReturnType<typeof gatewayProcess>>;

  beforeAll(async () => {
    server = await RedisServer.start();
    database = await createTestDatabase('pglite');
    a = await gatewayProcess(database, server.url, 'gateway-a');
    b = await gatewayProcess(database, server.url, 'gateway-b');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.close();
    await server?.destroy();
  });

  it('every line once and in order on both gateways, across a Redis restart', async () => {
    const alice = await registerUser(a.gw as TestGateway);
    const [workflowId] = await insertWorkflows(database.db, [
      { userId: alice.user.id, kind: 'CONTAINER', payload: { image: 'x' }, nextRunAt: null },
    ]);
    const jobId = newId();
    const now = new Date();
    await database.db
      .insertInto('jobs')
      .values({
        id: jobId,
        workflow_id: workflowId!,
        user_id: alice.user.id,
        workflow_generation: 1,
        ...snapshotOf(workflowId!),
        trigger: 'MANUAL',
        status: 'RUNNING',
        scheduled_at: now,
        started_at: now,
        attempts: 1,
        lease_owner: 'test-executor',
        lease_expires_at: new Date(now.getTime() + 600_000),
      })
      .execute();

    const path = `/api/v1/workflows/${workflowId}/jobs/${jobId}/events`;
    const onB = follow(b.baseUrl, path, alice.headers);
    const onA = follow(a.baseUrl, path, alice.headers);
    // Both streams follow the job live before the first line (one subscription per gateway).
    await waitFor(async () => a.live.followedJobs === 1 && b.live.followedJobs === 1, 10_000);

    // The executor's sink, in gateway A's process: stores each batch, then publishes it.
    const writer = new JobLogWriter(
      { db: database.db, live: a.live, logger },
      {
        id: jobId,
        workflowId: workflowId!,
        attempt: 1,
        retain: true,
      },
    );
    let n = 0;
    const writeLines = async (count: number, batch: number) => {
      for (let i = 0; i < count; i += batch) {
        writer.write(
          Array.from({ length: batch }, () => ({
            stream: 'stdout' as const,
            timestamp: new Date(),
            message: `line ${n++}`,
          })),
        );
        await writer.flush();
        await sleep(5);
      }
    };

    await writeLines(100, 10);
    await server.stop();
    await waitFor(async () => !a.publisher.ready && !b.subscriber.ready, 5_000);
    await writeLines(100, 10); // stored, lost from the live feed
    await server.start();
    await waitFor(async () => a.publisher.ready && b.subscriber.ready, 10_000);
    await writeLines(100, 10);

    // Finished by "the executor" in A's process: the event reaches B through the bridge.
    await database.db
      .updateTable('jobs')
      .set({ status: 'COMPLETED', completed_at: new Date(), lease_owner: null, lease_expires_at: null })
      .where('id', '=', jobId)
      .execute();
    a.events.emit('executor:job:finished', { jobId, status: 'COMPLETED' });
    a.events.emit('executor:job:released', { jobId });

    for (const events of [await onB, await onA]) {
      const logs = events.filter((e) => e.event === 'log');
      expect(logs.map((e) => Number(e.id))).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(logs.map((e) => (JSON.parse(e.data) as { message: string }).message)).toEqual(
        Array.from({ length: 300 }, (_, i) => `line ${i}`),
      );
      expect(events.at(-1)?.event).toBe('end');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: 'COMPLETED' });
    }
    // Both streams are gone: no subscription left on either gateway.
    await waitFor(async () => a.live.followedJobs === 0 && b.live.followedJobs === 0, 5_000);
  });

  it('a line written while the subscription was down reaches the client without a later line', async () => {
    const alice = await registerUser(b.gw as TestGateway);
    const [workflowId] = await insertWorkflows(database.db, [
      { userId: alice.user.id, kind: 'CONTAINER', payload: { image: 'x' }, nextRunAt: null },
    ]);
    const jobId = newId();
    const now = new Date();
    await database.db
      .insertInto('jobs')
      .values({
        id: jobId,
        workflow_id: workflowId!,
        user_id: alice.user.id,
        workflow_generation: 1,
        ...snapshotOf(workflowId!),
        trigger: 'MANUAL',
        status: 'RUNNING',
        scheduled_at: now,
        started_at: now,
        attempts: 1,
        lease_owner: 'test-executor',
        lease_expires_at: new Date(now.getTime() + 600_000),
      })
      .execute();
    const writer = new JobLogWriter(
      { db: database.db, live: a.live, logger },
      {
        id: jobId,
        workflowId: workflowId!,
        attempt: 1,
        retain: true,
      },
    );
    const controller = new AbortController();
    const res = await fetch(`${b.baseUrl}/api/v1/workflows/${workflowId}/jobs/${jobId}/events`, {
      headers: { ...alice.headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const ids: number[] = [];
    const reading = (async () => {
      for await (const event of sseEvents(res.body!)) if (event.event === 'log') ids.push(Number(event.id));
    })().catch(() => {});
    await waitFor(async () => b.live.followedJobs === 1, 10_000);
    writer.write([{ stream: 'stderr', timestamp: new Date(), message: 'before' }]);
    await writer.flush();
    await waitFor(async () => ids.length === 1, 10_000);
    await server.stop();
    await waitFor(async () => !b.subscriber.ready, 5_000);
    writer.write([{ stream: 'stderr', timestamp: new Date(), message: 'during' }]);
    await writer.flush();
    await server.start();
    await waitFor(async () => ids.length === 2, 10_000);
    expect(ids).toEqual([0, 1]);
    controller.abort();
    await reading;
    await waitFor(async () => b.live.followedJobs === 0, 5_000);
  });
});

/**
 * The notifications service over RPC, on the in-memory transport and on a real HTTP/2 loopback
 * server: the client returns exactly what the class returns (same values, same key order), and
 * a validation failure is the same error on both sides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { toProblem } from '../../src/gateway/problem.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import type { NotificationsApi } from '../../src/services/notifications/api.ts';
import { NotificationsService } from '../../src/services/notifications/service.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { logger, loopbackClients, memoryClients, realServices } from '../rpc/fixtures.ts';
import { insertUserWith, insertWorkflow, jobFinished, workflowFact } from './fixtures.ts';

const same = (a: unknown, b: unknown) => expect(JSON.stringify(b)).toBe(JSON.stringify(a));

describe.each(['memory', 'loopback'] as const)('notifications RPC over the %s transport', (mode) => {
  let database: Database;
  let service: NotificationsService;
  let client: NotificationsApi;
  let close: () => Promise<void>;
  let user: string;
  let ids: string[];

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    service = new NotificationsService(database.db, { now: () => new Date() });
    const local = { ...realServices(database), notifications: service };
    if (mode === 'memory') {
      const clients = memoryClients(local);
      client = clients.notifications!;
      close = async () => clients.close();
    } else {
      const loopback = await loopbackClients(local);
      client = loopback.clients.notifications!;
      close = loopback.close;
    }
    user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'rpc');
    const consumer = new NotificationsConsumer({
      db: database.db,
      events: new Events(),
      logger,
      bus: new InProcessBus(),
    });
    await consumer.handle([
      ...Array.from({ length: 4 }, () => jobFinished({ workflow_id: wf, user_id: user, status: 'FAILED' })),
      workflowFact('BUILD_STARTED', { workflow_id: wf, user_id: user, kind: 'CONTAINER', image: 'alpine:3' }),
    ]);
    ids = (await service.after(user, null, 100)).map((n) => n.id);
    expect(ids).toHaveLength(5);
    await service.markRead(user, { ids: [ids[0]!] });
  });
  afterAll(async () => {
    await close?.();
    await database?.close();
  });

  it('list, after and latestId return what the class returns', async () => {
    for (const options of [
      { unread: true, limit: 20 },
      { unread: false, limit: 2 },
      { unread: false, limit: 2, cursor: (await service.list(user, { unread: false, limit: 2 })).cursor! },
    ]) {
      same(await service.list(user, options), await client.list(user, options));
    }
    same(await service.after(user, null, 3), await client.after(user, null, 3));
    same(await service.after(user, ids[2]!, 10), await client.after(user, ids[2]!, 10));
    expect(await client.latestId(user)).toBe(ids.at(-1));
    expect(await client.latestId(newId())).toBeNull();
    expect(await client.list(newId(), { unread: true, limit: 5 })).toEqual({
      notifications: [],
      cursor: null,
      unread_count: 0,
    });
  });

  it('markRead: same answers; a bad request is the same ValidationError', async () => {
    expect(await client.markRead(user, { ids: [ids[1]!, newId()] })).toEqual({ updated: 1 });
    expect(await client.markRead(user, { ids: [ids[1]!] })).toEqual({ updated: 0 });
    const failure = async (p: Promise<unknown>) =>
      p.then(
        () => new Error('expected a failure'),
        (e: unknown) => e,
      );
    const direct = await failure(service.markRead(user, { ids: ['nope'] }));
    const remote = await failure(client.markRead(user, { ids: ['nope'] }));
    expect(remote).toBeInstanceOf(ValidationError);
    expect(toProblem(remote)).toEqual(toProblem(direct));
    expect(await client.markRead(user, { all: true })).toEqual({ updated: 3 });
  });
});

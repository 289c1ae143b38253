/**
 * The webhooks RPC over the in-memory router transport and over a real HTTP/2 loopback server:
 * the client returns exactly what the in-process service returns (same values, same key order)
 * and throws the same errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/gateway/problem.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import type { WebhooksApi } from '../../src/services/webhooks/api.ts';
import { WebhooksService } from '../../src/services/webhooks/service.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { loopbackClients, memoryClients, realServices } from '../rpc/fixtures.ts';

const same = (a: unknown, b: unknown) => expect(JSON.stringify(b)).toBe(JSON.stringify(a));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe.each(['memory', 'loopback'] as const)('webhooks RPC over the %s transport', (mode) => {
  let database: Database;
  let service: WebhooksService;
  let client: WebhooksApi;
  let close: () => Promise<void>;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    service = new WebhooksService(database.db, { now: () => new Date() }, { allowPrivateNetworks: false });
    userId = await insertUser(database.db);
    const local = { ...realServices(database), webhooks: service };
    if (mode === 'memory') {
      const clients = memoryClients(local);
      client = clients.webhooks!;
      close = async () => clients.close();
    } else {
      const loopback = await loopbackClients(local);
      client = loopback.clients.webhooks!;
      close = loopback.close;
    }
  });
  afterAll(async () => {
    await close?.();
    await database?.close();
  });

  it('returns what the service returns, for every call', async () => {
    const created = await client.create(userId, {
      url: 'https://example.com/h',
      event_types: ['job.failed'],
      description: 'x',
    });
    expect(created.secret).toMatch(/^whsec_/);
    same(await service.get(userId, created.id), await client.get(userId, created.id));
    const noDescription = await client.create(userId, { url: 'https://example.com/n', event_types: ['*'] });
    expect(noDescription.description).toBeNull();
    same(await service.list(userId, { limit: 1 }), await client.list(userId, { limit: 1 }));
    const page = await service.list(userId, { limit: 1 });
    same(
      await service.list(userId, { limit: 1, cursor: page.cursor! }),
      await client.list(userId, { limit: 1, cursor: page.cursor! }),
    );
    const updated = await client.update(userId, created.id, { enabled: false });
    same(await service.get(userId, created.id), updated);
    const rotated = await client.update(userId, created.id, { rotate_secret: true, enabled: true });
    expect(rotated.secret).toMatch(/^whsec_/);

    const ping = await client.ping(userId, created.id);
    same((await service.listDeliveries(userId, created.id, { limit: 10 })).deliveries[0], ping);
    same(
      await service.listDeliveries(userId, created.id, { limit: 10, status: 'PENDING' }),
      await client.listDeliveries(userId, created.id, { limit: 10, status: 'PENDING' }),
    );
    // A delivery with an attempt, a status code and an error, as the sender leaves it.
    await database.db
      .insertInto('webhook_delivery_attempts')
      .values({
        delivery_id: ping.id,
        attempt: 1,
        started_at: new Date(),
        status_code: null,
        error: 'ECONNREFUSED',
        duration_ms: 3,
      })
      .execute();
    await database.db
      .updateTable('webhook_deliveries')
      .set({ attempts: 1, last_status_code: 502, last_error: 'HTTP 502' })
      .where('id', '=', ping.id)
      .execute();
    same(
      await service.getDelivery(userId, created.id, ping.id),
      await client.getDelivery(userId, created.id, ping.id),
    );
    const redelivered = await client.redeliver(userId, created.id, ping.id);
    expect(redelivered.status).toBe('PENDING');
    await client.delete(userId, created.id);
    await expect(service.get(userId, created.id)).rejects.toThrow();
  });

  it('throws the errors the service throws', async () => {
    // Thunks: each pair is started only when it is awaited (no unhandled rejections).
    const cases: [() => Promise<unknown>, () => Promise<unknown>][] = [
      [() => service.get(userId, newId()), () => client.get(userId, newId())],
      [
        () => service.create(userId, { url: 'http://10.1.1.1', event_types: [] }),
        () => client.create(userId, { url: 'http://10.1.1.1', event_types: [] }),
      ],
      [() => service.create(userId, undefined), () => client.create(userId, undefined)],
      [
        () => service.list(userId, { limit: 5, cursor: 'bad' }),
        () => client.list(userId, { limit: 5, cursor: 'bad' }),
      ],
      [() => service.redeliver(userId, newId(), newId()), () => client.redeliver(userId, newId(), newId())],
    ];
    for (const [direct, remote] of cases) {
      const [a, b] = [await failure(direct()), await failure(remote())];
      expect(toProblem(b)).toEqual(toProblem(a));
      expect((b as object).constructor).toBe((a as object).constructor);
    }
    const off = await service.create(userId, {
      url: 'https://example.com/o',
      event_types: ['*'],
      enabled: false,
    });
    const [a, b] = [await failure(service.ping(userId, off.id)), await failure(client.ping(userId, off.id))];
    expect(toProblem(b)).toEqual(toProblem(a));
    expect(toProblem(b).problem.status).toBe(412);
  });
});

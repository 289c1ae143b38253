/**
 * The admin bus routes (DEAD outbox rows, parked messages) through the real gateway: the routes
 * reach BusAdminService through its RPC client (test/helpers/harness.ts), as a gateway without a
 * database reaches the jobs role, on a real database.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import type { RepublishRecord } from '../../src/services/bus-admin/service.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';

describe.each(ENGINES)('admin bus routes (%s)', (engine) => {
  let gw: TestGateway;
  let database: Database;
  let app: TestGateway['app'];
  let admin: Record<string, string>;
  let user: Record<string, string>;
  const republished: RepublishRecord[] = [];

  beforeAll(async () => {
    gw = await createTestGateway(engine, {
      republish: async (r) => {
        if (r.key === 'unavailable') throw new Error('broker down');
        republished.push(r);
      },
    });
    ({ app, database } = gw);
    // The first account of an installation is an administrator.
    const first = await registerUser(gw);
    expect(first.user.role).toBe('admin');
    admin = first.headers;
    user = (await registerUser(gw)).headers;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('lists DEAD outbox rows newest first with a cursor, and re-drives one (404 unless DEAD)', async () => {
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, attempts, last_error)
      SELECT 'jobs', 'k' || i, 'DISPATCH', '{}'::jsonb, 'DEAD', 10, 'boom ' || i FROM generate_series(1, 3) i`.execute(
      database.db,
    );
    await sql`INSERT INTO outbox (topic, key, event_type, payload) VALUES ('jobs', 'live', 'DISPATCH', '{}')`.execute(
      database.db,
    );
    const page1 = await app.inject({ url: '/api/v1/admin/outbox/dead?limit=2', headers: admin });
    expect(page1.statusCode).toBe(200);
    const body1 = page1.json() as { rows: Array<{ id: string; key: string }>; cursor: string };
    expect(body1.rows.map((r) => r.key)).toEqual(['k3', 'k2']);
    const page2 = await app.inject({
      url: `/api/v1/admin/outbox/dead?limit=2&cursor=${body1.cursor}`,
      headers: admin,
    });
    expect(page2.json()).toMatchObject({
      rows: [{ key: 'k1', attempts: 10, last_error: 'boom 1' }],
      cursor: null,
    });

    const id = body1.rows[0]!.id;
    const redrive = await app.inject({
      method: 'POST',
      url: `/api/v1/admin/outbox/${id}/redrive`,
      headers: admin,
    });
    expect(redrive.statusCode).toBe(200);
    expect(redrive.json()).toMatchObject({ id, key: 'k3', attempts: 0, last_error: null });
    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/admin/outbox/${id}/redrive`,
      headers: admin,
    });
    expect(again.statusCode).toBe(404);
    expect(again.headers['content-type']).toContain('application/problem+json');
    const bad = await app.inject({ method: 'POST', url: '/api/v1/admin/outbox/abc/redrive', headers: admin });
    expect(bad.statusCode).toBe(400);
    const badCursor = await app.inject({ url: '/api/v1/admin/outbox/dead?cursor=nope', headers: admin });
    expect(badCursor.statusCode).toBe(400);
  });

  it('lists parked messages (filter by redriven) and re-drives one through the bus', async () => {
    const ids = [newId(), newId(), newId()];
    for (const [i, id] of ids.entries()) {
      await database.db
        .insertInto('bus_parked_messages')
        .values({
          id,
          topic: 'workflows',
          consumer_group: 'workflow-worker',
          kafka_partition: 1,
          kafka_offset: 40 + i,
          key: i === 2 ? 'unavailable' : `wf-${i}`,
          value: Buffer.from(`{"type":"BUILD","payload":{"n":${i}}}`),
          headers: JSON.stringify({ id: String(100 + i), type: 'BUILD' }),
          event_type: 'BUILD',
          error: 'handler failed',
          attempts: 5,
        })
        .execute();
    }
    const list = await app.inject({ url: '/api/v1/admin/bus/parked?redriven=false', headers: admin });
    expect(list.statusCode).toBe(200);
    const items = (list.json() as { messages: Array<{ id: string }> }).messages;
    expect(items.map((p) => p.id)).toEqual([...ids].reverse());
    expect(items[2]).toMatchObject({
      group: 'workflow-worker',
      partition: 1,
      offset: '40',
      redriven_at: null,
    });

    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/admin/bus/parked/${ids[0]}/redrive`,
      headers: admin,
    });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { redriven_at: string | null }).redriven_at).not.toBeNull();
    expect(republished.at(-1)).toMatchObject({
      topic: 'workflows',
      key: 'wf-0',
      headers: { id: '100', type: 'BUILD' },
    });
    expect(republished.at(-1)!.value!.toString()).toBe('{"type":"BUILD","payload":{"n":0}}');

    const redriven = await app.inject({ url: '/api/v1/admin/bus/parked?redriven=true', headers: admin });
    expect((redriven.json() as { messages: Array<{ id: string }> }).messages.map((p) => p.id)).toEqual([
      ids[0],
    ]);

    const down = await app.inject({
      method: 'POST',
      url: `/api/v1/admin/bus/parked/${ids[2]}/redrive`,
      headers: admin,
    });
    expect(down.statusCode).toBe(503);
    const missing = await app.inject({
      method: 'POST',
      url: `/api/v1/admin/bus/parked/${newId()}/redrive`,
      headers: admin,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('is for administrators only', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/admin/outbox/dead'],
      ['POST', '/api/v1/admin/outbox/1/redrive'],
      ['GET', '/api/v1/admin/bus/parked'],
      ['POST', `/api/v1/admin/bus/parked/${newId()}/redrive`],
    ] as const) {
      expect((await app.inject({ method, url, headers: user })).statusCode).toBe(403);
      expect((await app.inject({ method, url })).statusCode).toBe(401);
    }
  });
});

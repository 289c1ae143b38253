import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { Housekeeping } from '../../src/workers/housekeeping/housekeeping.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';
import { insertAudit } from '../../src/services/users/audit.ts';

describe.each(ENGINES)('housekeeping (%s)', (engine) => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(() => database.close());

  it('deletes old published outbox rows, old dedupe records and expired keys, in batches, and keeps the rest', async () => {
    const userId = await insertUser(database.db);
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, published_at)
      SELECT 'jobs', 'k' || i, 'DISPATCH', '{}'::jsonb, 'PUBLISHED', now() - interval '2 hours' FROM generate_series(1, 25) i`.execute(
      database.db,
    );
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, published_at) VALUES
        ('jobs', 'recent', 'DISPATCH', '{}', 'PUBLISHED', now()),
        ('jobs', 'pending', 'DISPATCH', '{}', 'PENDING', NULL),
        ('jobs', 'dead', 'DISPATCH', '{}', 'DEAD', NULL)`.execute(database.db);
    await sql`
      INSERT INTO processed_events (consumer, event_id, created_at) VALUES
        ('c', 'old', now() - interval '30 days'), ('c', 'new', now())`.execute(database.db);
    await sql`
      INSERT INTO idempotency_keys (user_id, operation, key, request_hash, response_status, response_body, expires_at) VALUES
        (${userId}, 'op', 'expired', 'h', 201, '{}', now() - interval '1 minute'),
        (${userId}, 'op', 'live', 'h', 201, '{}', now() + interval '1 hour')`.execute(database.db);

    const housekeeping = new Housekeeping(
      { db: database.db, logger: createLogger('silent') },
      { batchSize: 10 },
    );
    expect(await housekeeping.runOnce()).toEqual({
      outbox: 25,
      processedEvents: 1,
      idempotencyKeys: 1,
      auditEvents: 0,
    });
    const { rows: left } = await sql<{ key: string }>`select key from outbox order by key`.execute(
      database.db,
    );
    expect(left.map((r) => r.key)).toEqual(['dead', 'pending', 'recent']);
    const { rows: events } = await sql<{ event_id: string }>`select event_id from processed_events`.execute(
      database.db,
    );
    expect(events.map((e) => e.event_id)).toEqual(['new']);
    const { rows: keys } = await sql<{ key: string }>`select key from idempotency_keys`.execute(database.db);
    expect(keys.map((k) => k.key)).toEqual(['live']);
    expect(await housekeeping.runOnce()).toEqual({
      outbox: 0,
      processedEvents: 0,
      idempotencyKeys: 0,
      auditEvents: 0,
    });
  });

  it('deletes audit entries older than the retention by the clock, in batches, and keeps the rest', async () => {
    const clock = new TestClock(Date.parse('2026-05-01T00:00:00.000Z'));
    const day = 86_400_000;
    for (const age of [100, 95, 91, 90, 10]) {
      await insertAudit(database.db, new Date(clock.now().getTime() - age * day), {
        action: 'auth.login.failed',
        actor_id: null,
        subject_id: null,
        address: '198.51.100.1',
        target_type: null,
        target_id: null,
        details: { age },
      });
    }
    const housekeeping = new Housekeeping(
      { db: database.db, logger: createLogger('silent'), clock },
      { batchSize: 2, auditRetentionMs: 90 * day },
    );
    expect((await housekeeping.runOnce()).auditEvents).toBe(3);
    const { rows } = await sql<{
      age: number;
    }>`select (details->>'age')::int as age from audit_events order by at`.execute(database.db);
    expect(rows.map((r) => r.age)).toEqual([90, 10]);
    clock.advance(day);
    expect((await housekeeping.runOnce()).auditEvents).toBe(1);
  });
});

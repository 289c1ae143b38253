/**
 * A bulk create of 10,000 workflows over a real gRPC connection (the distributed profile): the
 * 10,000 created workflows come back in order, and a refusal naming 10,000 bad items keeps every
 * issue with its index and field (they travel in the error's details, which gRPC carries in
 * trailers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { loopbackClients, realServices } from './fixtures.ts';

const item = (i: number, runAt: string) => ({
  name: `w${i}`,
  kind: 'HEARTBEAT',
  payload: { endpoint: 'https://api.example.com/health' },
  schedule: { type: 'once', run_at: runAt },
});

describe('bulk create over gRPC', () => {
  let database: Database;
  let loopback: Awaited<ReturnType<typeof loopbackClients>>;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    loopback = await loopbackClients(realServices(database));
  });
  afterAll(async () => {
    await loopback?.close();
    await database?.close();
  });

  it('10,000 created, in order', async () => {
    const userId = await insertUser(database.db);
    // An administrator: no max_workflows (a user's default is 500).
    await database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', userId).execute();
    const result = await loopback.clients.workflows.createMany(userId, {
      workflows: Array.from({ length: 10_000 }, (_, i) => item(i, '2099-01-01T00:00:00Z')),
    });
    expect(result.status).toBe(201);
    expect(result.body.map((w) => w.name)).toEqual(Array.from({ length: 10_000 }, (_, i) => `w${i}`));
  }, 60_000);

  it('10,000 bad items, every one named by index and field', async () => {
    const userId = await insertUser(database.db);
    const err = await loopback.clients.workflows
      .createMany(userId, {
        workflows: Array.from({ length: 10_000 }, (_, i) => item(i, '2001-01-01T00:00:00Z')),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const issues = (err as ValidationError).issues;
    expect(issues).toHaveLength(10_000);
    expect(issues[9_999]).toEqual({
      path: 'workflows.9999.schedule.run_at',
      message: 'must be in the future',
      index: 9_999,
      field: 'schedule.run_at',
    });
  }, 60_000);
});

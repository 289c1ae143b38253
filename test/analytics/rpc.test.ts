/**
 * The analytics RPC over the in-memory router transport and a real HTTP/2 loopback server: the
 * client returns exactly what the in-process service returns (same values, same key order) and
 * the same errors (404, 400 with every field).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/gateway/problem.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import type { AnalyticsApi } from '../../src/services/analytics/api.ts';
import { AnalyticsService } from '../../src/services/analytics/service.ts';
import { AnalyticsProcessor } from '../../src/workers/analytics-processor/processor.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, TestClock } from '../helpers/harness.ts';
import { logger, loopbackClients, memoryClients, realServices } from '../rpc/fixtures.ts';
import { asMessages, BASE, knownSequence } from './sequence.ts';

const same = (a: unknown, b: unknown) => expect(JSON.stringify(b)).toBe(JSON.stringify(a));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe.each(['memory', 'loopback'] as const)('analytics RPC over the %s transport', (mode) => {
  let database: Database;
  let service: AnalyticsService;
  let client: AnalyticsApi;
  let close: () => Promise<void>;
  let userId: string;
  let workflowId: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    service = new AnalyticsService(database.db, new TestClock(BASE + 3 * 3_600_000));
    userId = await insertUser(database.db);
    [workflowId] = (await insertWorkflows(database.db, [{ userId, nextRunAt: null }])) as [string];
    await new AnalyticsProcessor({ db: database.db, logger }).handle(
      asMessages(knownSequence(userId, workflowId)),
    );
    const local = { ...realServices(database), analytics: service };
    if (mode === 'memory') {
      const clients = memoryClients(local);
      client = clients.analytics!;
      close = async () => clients.close();
    } else {
      const loopback = await loopbackClients(local);
      client = loopback.clients.analytics!;
      close = loopback.close;
    }
  });
  afterAll(async () => {
    await close();
    await database.close();
  });

  it('returns what the service returns', async () => {
    same(await service.user(userId), await client.user(userId));
    same(await service.workflow(userId, workflowId), await client.workflow(userId, workflowId));
    const options = { bucket: 'hour' as const, from: '2021-01-01T08:00:00Z', to: '2021-01-01T13:00:00Z' };
    same(
      await service.timeseries(userId, workflowId, options),
      await client.timeseries(userId, workflowId, options),
    );
    same(
      await service.timeseries(userId, null, { bucket: 'day' }),
      await client.timeseries(userId, null, { bucket: 'day' }),
    );
    // Nulls survive the wire (a user with nothing yet).
    const other = await insertUser(database.db);
    same(await service.user(other), await client.user(other));
  });

  it('throws the errors the service throws', async () => {
    const bad = { bucket: 'hour' as const, from: 'x', to: '2021-01-01T00:00:00Z' };
    const missing = newId();
    // Thunks: a rejected promise waiting in a list would be reported as unhandled.
    const cases: [() => Promise<unknown>, () => Promise<unknown>][] = [
      [() => service.workflow(userId, missing), () => client.workflow(userId, missing)],
      [() => service.timeseries(userId, workflowId, bad), () => client.timeseries(userId, workflowId, bad)],
    ];
    for (const [direct, remote] of cases) {
      const [a, b] = [await failure(direct()), await failure(remote())];
      expect(toProblem(b)).toEqual(toProblem(a));
      expect((b as object).constructor).toBe((a as object).constructor);
    }
  });
});

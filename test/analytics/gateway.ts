/**
 * A gateway with the analytics routes, over the real services through the in-memory RPC
 * transport (the client, wire mapping and server side of every call), on a fresh database.
 * test/helpers/harness.ts builds the same gateway without analytics.
 */
import { loadConfig } from '../../src/config/load.ts';
import { buildGateway } from '../../src/gateway/app.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database, Engine } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadServiceKeys } from '../../src/platform/rpc/identity.ts';
import { createServiceClients } from '../../src/platform/rpc/wiring.ts';
import { AnalyticsService } from '../../src/services/analytics/service.ts';
import { BusAdminService } from '../../src/services/bus-admin/service.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { LogsService } from '../../src/services/logs/service.ts';
import { UsersService } from '../../src/services/users/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { createTestDatabase, LogCapture, type TestGateway } from '../helpers/harness.ts';

export interface AnalyticsGateway {
  app: TestGateway['app'];
  database: Database;
  close(): Promise<void>;
}

export async function createAnalyticsGateway(
  engine: Engine,
  options: { clock?: Clock; database?: Database; events?: Events } = {},
): Promise<AnalyticsGateway> {
  const config = loadConfig({}, {});
  const database = options.database ?? (await createTestDatabase(engine));
  const clock = options.clock ?? { now: () => new Date() };
  const logger = createLogger('info', new LogCapture());
  const events = options.events ?? new Events();
  const ttl = { idempotencyTtlMs: config.workflows.idempotencyTtlMs };
  const clients = createServiceClients({
    rpc: config.rpc,
    keys: loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' }),
    caller: 'gateway',
    local: {
      users: new UsersService(database.db, clock, config.auth),
      workflows: new WorkflowsService(database.db, clock, ttl, events),
      jobs: new JobsService(database.db, clock, events, ttl),
      logs: new LogsService(database.db, clock),
      busAdmin: new BusAdminService({ db: database.db, events }),
      analytics: new AnalyticsService(database.db, clock),
    },
    logger,
  });
  const app = await buildGateway(
    {
      logger,
      users: clients.users,
      workflows: clients.workflows,
      jobs: clients.jobs,
      logs: clients.logs,
      live: new InMemoryLiveLogs(),
      events,
      busAdmin: clients.busAdmin,
      analytics: clients.analytics!,
      readiness: async () => ({ database: await database.ping() }),
    },
    { bodyLimitBytes: config.server.bodyLimitBytes, trustProxy: false, version: 'test' },
  );
  await app.ready();
  return {
    app,
    database,
    async close() {
      await app.close();
      clients.close();
      if (!options.database) await database.close();
    },
  };
}

/** Real services on a real database, served over RPC: in memory and on an HTTP/2 loopback server. */
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/load.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadServiceKeys } from '../../src/platform/rpc/identity.ts';
import { createServiceClients, startRpcServer, type LocalServices } from '../../src/platform/rpc/wiring.ts';
import { BusAdminService } from '../../src/services/bus-admin/service.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { LogsService } from '../../src/services/logs/service.ts';
import { QuotasService } from '../../src/services/quotas/service.ts';
import { UsersService } from '../../src/services/users/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { LogCapture } from '../helpers/harness.ts';

export const config = loadConfig({}, {});
export const keys = loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' });
export const logCapture = new LogCapture();
export const logger = createLogger('info', logCapture);

export function realServices(database: Database) {
  const clock = { now: () => new Date() };
  const events = new Events();
  const ttl = { idempotencyTtlMs: config.workflows.idempotencyTtlMs };
  return {
    users: new UsersService(database.db, clock, config.auth),
    workflows: new WorkflowsService(database.db, clock, ttl, events),
    quotas: new QuotasService(database.db, clock),
    jobs: new JobsService(database.db, clock, events, ttl),
    logs: new LogsService(database.db, clock),
    // A bus that refuses records keyed 'unavailable' and accepts the rest.
    busAdmin: new BusAdminService({
      db: database.db,
      republish: async (r) => {
        if (r.key === 'unavailable') throw new Error('broker down');
      },
      events,
    }),
  };
}

export function memoryClients(local: LocalServices, rpc = config.rpc) {
  return createServiceClients({ rpc, keys, caller: 'gateway', local, logger });
}

/** A loopback server for `local` and clients of it (every URL pointing there). */
export async function loopbackClients(local: LocalServices, rpc: Partial<typeof config.rpc> = {}) {
  const server = await startRpcServer({
    rpc: { ...config.rpc, host: '127.0.0.1', port: 0, ...rpc },
    keys,
    services: local,
    logger,
  });
  const clients = createServiceClients({
    rpc: {
      ...config.rpc,
      ...rpc,
      usersUrl: server.url,
      workflowsUrl: server.url,
      jobsUrl: server.url,
      notificationsUrl: server.url,
      analyticsUrl: server.url,
    },
    keys,
    caller: 'gateway',
    local: {},
    logger,
  });
  return {
    server,
    clients,
    async close() {
      clients.close();
      await server.close();
    },
  };
}

/** Marks a workflow built (the workflow worker's job), so jobs can run. */
export async function markBuilt(database: Database, workflowId: string): Promise<void> {
  await database.db
    .updateTable('workflows')
    .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
    .where('id', '=', workflowId)
    .execute();
}

export async function insertLogLines(database: Database, jobId: string, workflowId: string, n: number) {
  for (let i = 0; i < n; i++) {
    await sql`INSERT INTO job_logs (job_id, workflow_id, sequence_num, attempt, stream, "timestamp", message)
      VALUES (${jobId}, ${workflowId}, ${i}, 1, ${i % 2 ? 'stderr' : 'stdout'}, now(), ${`line ${i} Ünïcode ✓`})`.execute(
      database.db,
    );
  }
  await database.db.updateTable('jobs').set({ next_sequence_num: n }).where('id', '=', jobId).execute();
}

/**
 * Notifications test fixtures: the real gateway with the notifications routes over the real
 * services (through their RPC clients on the in-memory transport, as one process runs them), the
 * real consumer on the same database and event map, and facts shaped as the engine writes them.
 */
import { loadConfig } from '../../src/config/load.ts';
import type { JobFinishedPayload, WorkflowFacts } from '../../src/domain/events.ts';
import { buildGateway } from '../../src/gateway/app.ts';
import { InProcessBus, type BusMessage } from '../../src/platform/bus/bus.ts';
import type { Database, Engine } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadServiceKeys } from '../../src/platform/rpc/identity.ts';
import { createServiceClients } from '../../src/platform/rpc/wiring.ts';
import { BusAdminService } from '../../src/services/bus-admin/service.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { LogsService } from '../../src/services/logs/service.ts';
import { NotificationsService } from '../../src/services/notifications/service.ts';
import { UsersService } from '../../src/services/users/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { createTestDatabase, LogCapture } from '../helpers/harness.ts';

export async function createNotificationsGateway(
  engine: Engine,
  options: {
    pollMs?: number;
    /** Shared with another "process" (left open on close). */
    database?: Database;
    events?: Events;
  } = {},
) {
  const config = loadConfig({}, {});
  const database = options.database ?? (await createTestDatabase(engine));
  const clock = { now: () => new Date() };
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const events = options.events ?? new Events();
  const users = new UsersService(database.db, clock, config.auth);
  const notifications = new NotificationsService(database.db, clock);
  const clients = createServiceClients({
    rpc: config.rpc,
    keys: loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' }),
    caller: 'gateway',
    local: {
      users,
      workflows: new WorkflowsService(database.db, clock, { idempotencyTtlMs: 60_000 }, events),
      jobs: new JobsService(database.db, clock, events, { idempotencyTtlMs: 60_000 }),
      logs: new LogsService(database.db, clock),
      busAdmin: new BusAdminService({ db: database.db, events }),
      notifications,
    },
    logger,
  });
  if (!clients.notifications) throw new Error('no notifications client');
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
      notifications: clients.notifications,
      readiness: async () => ({ database: await database.ping() }),
    },
    {
      bodyLimitBytes: config.server.bodyLimitBytes,
      trustProxy: false,
      version: 'test',
      // Long by default: a pushed notification then can only have come from the wake-up.
      notificationPollMs: options.pollMs ?? 3_600_000,
    },
  );
  await app.ready();
  const bus = new InProcessBus();
  const consumer = new NotificationsConsumer({ db: database.db, events, logger, bus });
  return {
    app,
    database,
    events,
    logs,
    consumer,
    /** The service class itself (the gateway reaches it over RPC). */
    notifications,
    async close() {
      await app.close();
      clients.close();
      if (!options.database) await database.close();
    },
  };
}

export type NotificationsGateway = Awaited<ReturnType<typeof createNotificationsGateway>>;

/** A JOB_FINISHED message as the engine publishes it on `analytics`. */
export function jobFinished(
  p: Pick<JobFinishedPayload, 'workflow_id' | 'user_id'> & Partial<JobFinishedPayload>,
  messageId = newId(),
): BusMessage {
  const payload: JobFinishedPayload = {
    job_id: newId(),
    generation: 1,
    status: 'COMPLETED',
    trigger: 'AUTOMATIC',
    attempts: 1,
    scheduled_at: '2026-11-23T10:00:00+00:00',
    started_at: '2026-11-23T10:00:00.2+00:00',
    completed_at: '2026-11-23T10:00:01+00:00',
    exit_code: null,
    http_status_code: 200,
    error_code: null,
    error_message: null,
    log_lines: 0,
    bulk: false,
    ...p,
  };
  return {
    id: messageId,
    topic: 'analytics',
    key: payload.workflow_id,
    type: 'JOB_FINISHED',
    payload: payload as unknown as Record<string, unknown>,
  };
}

/** A workflow fact as the engine publishes it on `notifications`. */
export function workflowFact<T extends keyof WorkflowFacts>(
  type: T,
  p: Pick<WorkflowFacts[T], 'workflow_id' | 'user_id'> & Partial<WorkflowFacts[T]>,
  messageId = newId(),
): BusMessage {
  const defaults = {
    generation: 1,
    name: 'site up',
    kind: 'HEARTBEAT',
    at: '2026-11-23T10:00:00.000Z',
    ...(type === 'BUILD_STARTED' ? { image: null } : {}),
    ...(type === 'BUILD_FAILED' ? { reason: 'image not found' } : {}),
    ...(type === 'WORKFLOW_TERMINATED'
      ? { reason: 'auto', consecutive_failures: 3, max_consecutive_failures: 3 }
      : {}),
  };
  return {
    id: messageId,
    topic: 'notifications',
    key: p.workflow_id,
    type,
    payload: { ...defaults, ...p },
  };
}

/** A user with a preference, inserted directly. */
export async function insertUserWith(
  database: Database,
  preference: 'ALL' | 'ALERTS' | 'NONE',
): Promise<string> {
  const id = newId();
  await database.db
    .insertInto('users')
    .values({
      id,
      email: `${id}@example.com`,
      password_hash: 'x',
      role: 'user',
      notification_preference: preference,
    })
    .execute();
  return id;
}

/** A workflow row (for the name lookup of job facts). */
export async function insertWorkflow(database: Database, userId: string, name: string): Promise<string> {
  const id = newId();
  await database.db
    .insertInto('workflows')
    .values({
      id,
      user_id: userId,
      name,
      kind: 'HEARTBEAT',
      payload: JSON.stringify({ endpoint: 'http://127.0.0.1:9/' }),
      schedule_type: 'interval',
      interval_minutes: 60,
      max_consecutive_job_failures_allowed: 3,
      log_retention: false,
      next_run_at: null,
    })
    .execute();
  return id;
}

export async function notificationsOf(database: Database, userId: string) {
  return database.db
    .selectFrom('notifications')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
}

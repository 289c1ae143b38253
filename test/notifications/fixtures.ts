/**
 * Notifications test fixtures: the real gateway with the notifications routes over the real
 * services (through their RPC clients on the in-memory transport, as one process runs them), the
 * real consumer on the same database and event map, and facts shaped as the engine writes them.
 */
import type { JobFinishedPayload, WorkflowFacts } from '../../src/domain/events.ts';
import { InProcessBus, type BusMessage } from '../../src/platform/bus/bus.ts';
import type { Database, Engine } from '../../src/platform/db/database.ts';
import type { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { createTestGateway } from '../helpers/harness.ts';

export async function createNotificationsGateway(
  engine: Engine,
  options: {
    pollMs?: number;
    /** Shared with another "process" (left open on close). */
    database?: Database;
    events?: Events;
    /** What the subscriptions service says of email. */
    emailEnabled?: boolean;
  } = {},
) {
  const gw = await createTestGateway(engine, {
    ...(options.emailEnabled !== undefined ? { emailEnabled: options.emailEnabled } : {}),
    ...(options.database ? { database: options.database } : {}),
    ...(options.events ? { events: options.events } : {}),
    // Long by default: a pushed notification then can only have come from the wake-up.
    notificationPollMs: options.pollMs ?? 3_600_000,
  });
  const logger = createLogger('info', gw.logs);
  const consumer = new NotificationsConsumer({
    db: gw.database.db,
    events: gw.events,
    logger,
    bus: new InProcessBus(),
  });
  return { ...gw, consumer };
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

/**
 * Creating webhook deliveries: what a fact becomes (event type, dedupe key, body) and the one
 * batched statement that stores them.
 *
 * The dedupe key is the fact's natural identity, never the bus message id: a job reaches a final
 * status once (`job:<job id>`), a build is started/completed/failed once per workflow generation,
 * and a termination is identified by its generation and time (an edit re-activates a workflow
 * without a new generation when nothing needs rebuilding, so it can be terminated again). With
 * UNIQUE (webhook_id, dedupe_key) a redelivered fact inserts nothing.
 */
import { sql, type Kysely } from 'kysely';
import type {
  JobFinishedPayload,
  TaskFinishedPayload,
  WorkflowEventType,
  WorkflowFacts,
} from '../../domain/events.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { DeliveryEventType, WebhookEventType } from './input.ts';

export interface DeliveryEvent {
  userId: string;
  type: DeliveryEventType;
  dedupeKey: string;
  /** When it happened (RFC 3339): the body's `created_at`. */
  at: string;
  data: Record<string, unknown>;
}

const WORKFLOW_EVENT: Record<WorkflowEventType, WebhookEventType> = {
  BUILD_STARTED: 'build.started',
  BUILD_COMPLETED: 'build.completed',
  BUILD_FAILED: 'build.failed',
  WORKFLOW_TERMINATED: 'workflow.terminated',
  SCHEDULE_MISSED: 'schedule.missed',
};

/** The webhook event of a `JOB_FINISHED` fact; null for bulk cancellations (the workflow's event tells). */
export function jobFinishedEvent(p: JobFinishedPayload): DeliveryEvent | null {
  if (p.bulk) return null;
  const { bulk: _bulk, ...data } = p;
  return {
    userId: p.user_id,
    type: `job.${p.status.toLowerCase()}` as WebhookEventType,
    dedupeKey: `job:${p.job_id}`,
    at: new Date(p.completed_at).toISOString(),
    data,
  };
}

/**
 * The webhook event of a `TASK_FINISHED` fact (a DAG task instance ended: ran, skipped, failed
 * before it started, or canceled with its run); null for tasks canceled in bulk with their runs
 * (a backfill's cancel, a terminate), as for jobs.
 */
export function taskFinishedEvent(p: TaskFinishedPayload): DeliveryEvent | null {
  if (p.bulk) return null;
  const { bulk: _bulk, ...data } = p;
  return {
    userId: p.user_id,
    type: 'task.finished',
    dedupeKey: `task:${p.job_id}`,
    at: new Date(p.completed_at).toISOString(),
    data,
  };
}

/** The webhook event of a workflow lifecycle fact (topic `notifications`); null for an unknown type. */
export function workflowFactEvent(type: string, payload: Record<string, unknown>): DeliveryEvent | null {
  if (!Object.hasOwn(WORKFLOW_EVENT, type)) return null;
  const p = payload as unknown as WorkflowFacts[WorkflowEventType];
  const eventType = WORKFLOW_EVENT[type as WorkflowEventType];
  const at = new Date(p.at).toISOString();
  const identity = `${p.workflow_id}:${p.generation}`;
  return {
    userId: p.user_id,
    type: eventType,
    dedupeKey:
      type === 'WORKFLOW_TERMINATED'
        ? `${eventType}:${identity}:${at}`
        : type === 'SCHEDULE_MISSED'
          ? // One per incident, whatever the generation.
            `${eventType}:${(payload as { incident_id?: unknown }).incident_id as string}`
          : `${eventType}:${identity}`,
    at,
    data: { ...payload },
  };
}

/** The document POSTed, as text: stored and signed byte for byte. */
export function deliveryBody(deliveryId: string, event: Pick<DeliveryEvent, 'type' | 'at' | 'data'>): string {
  return JSON.stringify({ id: deliveryId, type: event.type, created_at: event.at, data: event.data });
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  userId: string;
  eventType: DeliveryEventType;
  dedupeKey: string;
  body: string;
}

/**
 * webhookDeliveriesInsert: every delivery of a batch in one INSERT … SELECT FROM unnest, due now;
 * an existing (webhook_id, dedupe_key) is left alone. Returns how many were new.
 */
export async function insertDeliveries(
  db: Kysely<DB>,
  rows: readonly NewDelivery[],
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await sql`
    INSERT INTO webhook_deliveries (id, webhook_id, user_id, event_type, dedupe_key, body, status, next_attempt_at, created_at)
    SELECT d.id, d.webhook_id, d.user_id, d.event_type, d.dedupe_key, d.body, 'PENDING', ${now}::timestamptz, ${now}::timestamptz
    FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.webhookId)}::uuid[],
                ${rows.map((r) => r.userId)}::uuid[], ${rows.map((r) => r.eventType)}::text[],
                ${rows.map((r) => r.dedupeKey)}::text[], ${rows.map((r) => r.body)}::text[])
      AS d(id, webhook_id, user_id, event_type, dedupe_key, body)
    ON CONFLICT (webhook_id, dedupe_key) DO NOTHING`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

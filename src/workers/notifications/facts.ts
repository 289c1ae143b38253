/**
 * Reading the facts the notification channels act on (in-app notifications, emails): parsing a
 * bus batch, and what a batch's facts lack, looked up once per batch.
 *
 * - Topics: `analytics` (JOB_FINISHED) and `notifications` (BUILD_STARTED, BUILD_COMPLETED,
 *   BUILD_FAILED, WORKFLOW_TERMINATED). Other types on these topics are not ours and are skipped;
 *   a malformed fact is logged and skipped (it can never succeed; redelivering it would only hold
 *   up the facts behind it).
 * - factContext: the current names of the job facts' workflows (deleted ones are absent) and
 *   which completed jobs recovered (src/domain/subscriptions.ts): two statements per batch.
 */
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { JOB_FINISHED, MISSED_FIRE_CAUSES, WORKFLOW_EVENT_TYPES } from '../../domain/events.ts';
import { JOB_TRIGGERS } from '../../domain/job-state.ts';
import { WORKFLOW_KINDS } from '../../domain/workflow-input.ts';
import type { NotificationFact } from '../../domain/notification-content.ts';
import {
  jobEvents,
  workflowFactEvents,
  type SubscriptionChannel,
  type SubscriptionEvent,
  type SubscriptionRule,
} from '../../domain/subscriptions.ts';
import type { BusMessage } from '../../platform/bus/bus.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/logger.ts';

const uuid = z.uuid();
const text = z.string().max(10_000);
const FactBase = z.object({
  workflow_id: uuid,
  user_id: uuid,
  generation: z.number().int(),
  name: text,
  kind: z.enum(WORKFLOW_KINDS),
  at: z.string().min(1).max(64),
});
const FACT_SCHEMAS = {
  JOB_FINISHED: z.object({
    job_id: uuid,
    workflow_id: uuid,
    user_id: uuid,
    generation: z.number().int(),
    status: z.enum(['COMPLETED', 'FAILED', 'CANCELED']),
    trigger: z.enum(JOB_TRIGGERS),
    attempts: z.number().int(),
    scheduled_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string(),
    exit_code: z.number().int().nullable(),
    http_status_code: z.number().int().nullable(),
    error_code: text.nullable(),
    error_message: text.nullable(),
    log_lines: z.number().int(),
    bulk: z.boolean(),
  }),
  BUILD_STARTED: FactBase.extend({ image: text.nullable() }),
  BUILD_COMPLETED: FactBase,
  BUILD_FAILED: FactBase.extend({ reason: text }),
  WORKFLOW_TERMINATED: FactBase.extend({
    reason: z.enum(['manual', 'auto']),
    consecutive_failures: z.number().int(),
    max_consecutive_failures: z.number().int(),
  }),
  SCHEDULE_MISSED: FactBase.extend({
    incident_id: uuid,
    cause: z.enum(MISSED_FIRE_CAUSES),
    due_at: z.string().min(1).max(64),
    reason: text,
  }),
} as const;

const WORKFLOW_TYPES: readonly string[] = WORKFLOW_EVENT_TYPES;

/** A fact as read from the bus: a job fact before its workflow name is looked up. */
export type ParsedFact =
  | { type: 'JOB_FINISHED'; payload: Extract<NotificationFact, { type: 'JOB_FINISHED' }>['payload'] }
  | Exclude<NotificationFact, { type: 'JOB_FINISHED' }>;

/** The batch's facts that notification channels act on, in order; malformed ones logged and left out. */
export function parseFacts(batch: readonly BusMessage[], logger: Logger): ParsedFact[] {
  const facts: ParsedFact[] = [];
  for (const m of batch) {
    const ours =
      (m.topic === 'analytics' && m.type === JOB_FINISHED) ||
      (m.topic === 'notifications' && WORKFLOW_TYPES.includes(m.type));
    if (!ours) continue;
    const parsed = FACT_SCHEMAS[m.type as keyof typeof FACT_SCHEMAS].safeParse(m.payload);
    if (!parsed.success) {
      logger.warn(
        { messageId: m.id, topic: m.topic, type: m.type, issues: parsed.error.issues.slice(0, 5) },
        'skipping a malformed fact: no notification for it',
      );
      continue;
    }
    facts.push({ type: m.type, payload: parsed.data } as ParsedFact);
  }
  return facts;
}

export interface FactContext {
  /** Current names of the job facts' workflows (deleted ones absent). */
  names: Map<string, string>;
  /** Ids of the batch's completed jobs whose workflow's previous finished job had failed. */
  recovered: Set<string>;
}

/** What the batch's job facts lack: one statement for names, one for recoveries (when needed). */
export async function factContext(db: Kysely<DB>, facts: readonly ParsedFact[]): Promise<FactContext> {
  const jobs = facts.flatMap((f) => (f.type === 'JOB_FINISHED' && !f.payload.bulk ? [f.payload] : []));
  if (jobs.length === 0) return { names: new Map(), recovered: new Set() };
  const ids = [...new Set(jobs.map((j) => j.workflow_id))];
  const completed = jobs.filter((j) => j.status === 'COMPLETED').map((j) => j.job_id);
  const [rows, recovered] = await Promise.all([
    db.selectFrom('workflows').select(['id', 'name']).where('id', 'in', ids).execute(),
    recoveredJobs(db, completed),
  ]);
  return { names: new Map(rows.map((r) => [r.id, r.name])), recovered };
}

/**
 * jobsRecovered: of these completed jobs, those whose workflow's previous COMPLETED or FAILED job
 * (by id: UUIDv7, creation order; canceled ones skipped) FAILED. One statement for the batch; each
 * probe walks jobs_workflow_id_idx (workflow_id, id DESC) backwards from the job and stops at the
 * first finished one.
 */
async function recoveredJobs(db: Kysely<DB>, jobIds: readonly string[]): Promise<Set<string>> {
  if (jobIds.length === 0) return new Set();
  const { rows } = await sql<{ id: string }>`
    SELECT j.id FROM jobs j
    WHERE j.id = ANY(${[...jobIds]}::uuid[])
      AND (SELECT p.status FROM jobs p
           WHERE p.workflow_id = j.workflow_id AND p.id < j.id AND p.status IN ('COMPLETED', 'FAILED')
             AND p.run_id IS NULL
           ORDER BY p.id DESC LIMIT 1) = 'FAILED'`.execute(db);
  return new Set(rows.map((r) => r.id));
}

/** The subscription events a parsed fact is. */
export function eventsOf(fact: ParsedFact, context: FactContext): SubscriptionEvent[] {
  return fact.type === 'JOB_FINISHED'
    ? jobEvents(fact.payload, context.recovered.has(fact.payload.job_id))
    : workflowFactEvents(fact.type);
}

/** The fact with what the content mapping needs (a job fact's workflow name). */
export function withName(fact: ParsedFact, context: FactContext): NotificationFact {
  return fact.type === 'JOB_FINISHED'
    ? { ...fact, workflowName: context.names.get(fact.payload.workflow_id) ?? null }
    : fact;
}

/**
 * The subscriptions on `channel` to the batch's workflows themselves, whoever holds them: the
 * owners' and those of other users an administrator subscribed (otherSubscribers picks the
 * latter). One statement on notification_subscriptions_workflow_idx.
 */
export async function workflowSubscriptions(
  db: Kysely<DB>,
  channel: Exclude<SubscriptionChannel, 'WEBHOOK'>,
  facts: readonly ParsedFact[],
): Promise<SubscriptionRule[]> {
  const ids = [...new Set(facts.map((f) => f.payload.workflow_id))];
  if (ids.length === 0) return [];
  return db
    .selectFrom('notification_subscriptions')
    .select(['user_id', 'workflow_id', 'channel', 'events'])
    .where('workflow_id', 'in', ids)
    .where('channel', '=', channel)
    .execute();
}

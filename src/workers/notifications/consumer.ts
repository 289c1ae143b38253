/**
 * The notifications consumer (group `notifications`): turns the engine's facts into in-app
 * notifications, exactly once each.
 *
 * - Topics: `analytics` (JOB_FINISHED; a job canceled with its workflow, `bulk`, makes none: the
 *   workflow's own fact tells the user) and `notifications` (BUILD_STARTED, BUILD_COMPLETED,
 *   BUILD_FAILED, WORKFLOW_TERMINATED). Other types on these topics are not ours and are skipped.
 * - Content is the pure mapping of src/domain/notification-content.ts; the only thing looked up
 *   is the workflow name of job facts (one SELECT per batch that has any).
 * - Exactly once: every notification carries the fact's natural identity as its dedupe key and
 *   the batch is one INSERT … ON CONFLICT (user_id, dedupe_key) DO NOTHING (./sql.ts), so a
 *   redelivered batch, the same fact under another message id, or two consumers racing on it
 *   create one row. The user's preference is applied in that same statement.
 * - After the insert committed, `notification:created` is emitted once per user who got
 *   something, waking their SSE streams (in other processes through the Redis event bridge).
 * - A malformed fact is logged and skipped (it can never succeed; redelivering it would only
 *   hold up the facts behind it); a database error throws, and the batch is redelivered.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { JOB_FINISHED, WORKFLOW_EVENT_TYPES } from '../../domain/events.ts';
import { notificationFor, type NotificationFact } from '../../domain/notification-content.ts';
import type { Bus, BusMessage } from '../../platform/bus/bus.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { notificationsInsertBatch, type NotificationInsert } from './sql.ts';

export const NOTIFICATIONS_GROUP = 'notifications';

const uuid = z.uuid();
const text = z.string().max(10_000);
const FactBase = z.object({
  workflow_id: uuid,
  user_id: uuid,
  generation: z.number().int(),
  name: text,
  kind: z.enum(['HEARTBEAT', 'CONTAINER']),
  at: z.string().min(1).max(64),
});
const FACT_SCHEMAS = {
  JOB_FINISHED: z.object({
    job_id: uuid,
    workflow_id: uuid,
    user_id: uuid,
    generation: z.number().int(),
    status: z.enum(['COMPLETED', 'FAILED', 'CANCELED']),
    trigger: z.enum(['AUTOMATIC', 'MANUAL']),
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
} as const;

const WORKFLOW_TYPES: readonly string[] = WORKFLOW_EVENT_TYPES;

export class NotificationsConsumer {
  readonly #db: Kysely<DB>;
  readonly #events: Events;
  readonly #logger: Logger;

  constructor(deps: { db: Kysely<DB>; events: Events; logger: Logger; bus: Bus }) {
    this.#db = deps.db;
    this.#events = deps.events;
    this.#logger = deps.logger;
    for (const topic of ['analytics', 'notifications'] as const) {
      deps.bus.subscribe({
        topic,
        group: NOTIFICATIONS_GROUP,
        handler: async (batch) => void (await this.handle(batch)),
      });
    }
  }

  /** Creates the batch's notifications; returns how many were new. */
  async handle(batch: BusMessage[]): Promise<number> {
    const facts = this.#parse(batch);
    if (facts.length === 0) return 0;
    const names = await this.#workflowNames(facts);
    const rows = new Map<string, NotificationInsert>();
    for (const parsed of facts) {
      const fact: NotificationFact =
        parsed.type === 'JOB_FINISHED'
          ? { ...parsed, workflowName: names.get(parsed.payload.workflow_id) ?? null }
          : parsed;
      const content = notificationFor(fact);
      if (!content) continue;
      const key = `${content.user_id}\u0000${content.dedupe_key}`;
      if (!rows.has(key)) rows.set(key, { id: newId(), ...content });
    }
    const created = await notificationsInsertBatch(this.#db, [...rows.values()]);
    for (const userId of new Set(created.map((c) => c.user_id))) {
      this.#events.emit('notification:created', { userId });
    }
    return created.length;
  }

  #parse(batch: BusMessage[]): ParsedFact[] {
    const facts: ParsedFact[] = [];
    for (const m of batch) {
      const ours =
        (m.topic === 'analytics' && m.type === JOB_FINISHED) ||
        (m.topic === 'notifications' && WORKFLOW_TYPES.includes(m.type));
      if (!ours) continue;
      const parsed = FACT_SCHEMAS[m.type as keyof typeof FACT_SCHEMAS].safeParse(m.payload);
      if (!parsed.success) {
        this.#logger.warn(
          { messageId: m.id, topic: m.topic, type: m.type, issues: parsed.error.issues.slice(0, 5) },
          'skipping a malformed fact: no notification for it',
        );
        continue;
      }
      facts.push({ type: m.type, payload: parsed.data } as ParsedFact);
    }
    return facts;
  }

  /** The current names of the workflows of the batch's job facts (deleted ones are absent). */
  async #workflowNames(facts: ParsedFact[]): Promise<Map<string, string>> {
    const ids = [
      ...new Set(
        facts.flatMap((f) => (f.type === 'JOB_FINISHED' && !f.payload.bulk ? [f.payload.workflow_id] : [])),
      ),
    ];
    if (ids.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom('workflows')
      .select(['id', 'name'])
      .where('id', 'in', ids)
      .execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}

/** A fact as read from the bus: a job fact before its workflow name is looked up. */
type ParsedFact =
  | { type: 'JOB_FINISHED'; payload: Extract<NotificationFact, { type: 'JOB_FINISHED' }>['payload'] }
  | Exclude<NotificationFact, { type: 'JOB_FINISHED' }>;

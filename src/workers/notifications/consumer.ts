/**
 * The notifications consumer (group `notifications`): turns the engine's facts into in-app
 * notifications, exactly once each.
 *
 * - Topics: `analytics` (JOB_FINISHED; a job canceled with its workflow, `bulk`, makes none: the
 *   workflow's own fact tells the user) and `notifications` (BUILD_STARTED, BUILD_COMPLETED,
 *   BUILD_FAILED, WORKFLOW_TERMINATED). Other types on these topics are not ours and are skipped.
 * - Content is the pure mapping of src/domain/notification-content.ts; what job facts lack (the
 *   workflow's name, whether the job recovered) is looked up once per batch (./facts.ts).
 * - Who gets it: the owner by their IN_APP subscription to the workflow, else their all-workflows
 *   one, else their global preference (src/domain/subscriptions.ts), applied in the insert itself;
 *   and every other user with an IN_APP subscription to the workflow itself (an administrator
 *   subscribed them) whose events take the fact, without a deep link (forSubscriber). Those
 *   subscriptions are read in one statement per batch, alongside the facts' context.
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
import { asRecovered, forSubscriber, notificationFor } from '../../domain/notification-content.ts';
import { otherSubscribers, subscribed } from '../../domain/subscriptions.ts';
import type { NotificationContent } from '../../domain/notification-content.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { eventsOf, factContext, parseFacts, withName, workflowSubscriptions } from './facts.ts';
import { notificationsInsertBatch, type NotificationInsert } from './sql.ts';

export const NOTIFICATIONS_GROUP = 'notifications';

export class NotificationsConsumer {
  readonly #db: Kysely<DB>;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #bus: Bus;
  #unsubscribe: Unsubscribe[] | null = null;

  constructor(deps: { db: Kysely<DB>; events: Events; logger: Logger; bus: Bus }) {
    this.#db = deps.db;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#bus = deps.bus;
  }

  /** Joins group `notifications` on both topics. */
  start(): void {
    this.#unsubscribe ??= (['analytics', 'notifications'] as const).map((topic) =>
      this.#bus.subscribe({
        topic,
        group: NOTIFICATIONS_GROUP,
        handler: async (batch) => void (await this.handle(batch)),
      }),
    );
  }

  /** Leaves both groups once their batches in hand are handled; safe twice and before start. */
  async stop(): Promise<void> {
    const unsubscribe = this.#unsubscribe ?? [];
    this.#unsubscribe = null;
    await Promise.all(unsubscribe.map((u) => u()));
  }

  /** Creates the batch's notifications; returns how many were new. */
  async handle(batch: BusMessage[]): Promise<number> {
    const facts = parseFacts(batch, this.#logger);
    if (facts.length === 0) return 0;
    const [context, subscribers] = await Promise.all([
      factContext(this.#db, facts),
      workflowSubscriptions(this.#db, 'IN_APP', facts),
    ]);
    const rows = new Map<string, NotificationInsert>();
    const add = (content: NotificationContent, workflowId: string, events: string[], owner: boolean) => {
      const key = `${content.user_id}\u0000${content.dedupe_key}`;
      if (!rows.has(key)) rows.set(key, { id: newId(), ...content, workflow_id: workflowId, events, owner });
    };
    for (const parsed of facts) {
      const found = notificationFor(withName(parsed, context));
      if (!found) continue;
      const events = eventsOf(parsed, context);
      const content = events.includes('job.recovered') ? asRecovered(found) : found;
      const workflowId = parsed.payload.workflow_id;
      add(content, workflowId, events, true);
      for (const rule of otherSubscribers(subscribers, content.user_id, 'IN_APP', workflowId)) {
        if (subscribed(rule.events, events))
          add(forSubscriber(content, rule.user_id), workflowId, events, false);
      }
    }
    const created = await notificationsInsertBatch(this.#db, [...rows.values()]);
    for (const userId of new Set(created.map((c) => c.user_id))) {
      this.#events.emit('notification:created', { userId });
    }
    return created.length;
  }
}

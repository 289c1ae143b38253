/**
 * Webhook consumer (group `webhooks`, on two topics): turns facts into deliveries.
 *
 * - `analytics` JOB_FINISHED → job.completed / job.failed / job.canceled (bulk cancellations on
 *   terminate or edit are skipped: the workflow's own event tells the user); TASK_FINISHED →
 *   task.finished (a DAG task instance ended, skipped and canceled ones too; not those canceled
 *   in bulk);
 * - `notifications` BUILD_STARTED / BUILD_COMPLETED / BUILD_FAILED / WORKFLOW_TERMINATED →
 *   build.* / workflow.terminated; SCHEDULE_MISSED → schedule.missed.
 * - Which endpoint gets a fact about workflow W (issue 14, docs/notifications.md): per endpoint,
 *   the user's WEBHOOK subscription to W targeting it, else their all-workflows one targeting it,
 *   else the endpoint's own `event_types` (src/domain/subscriptions.ts decidingSubscription). The
 *   subscription replaces the endpoint's filter for that scope (so `events: []` mutes W on it);
 *   it never adds a second delivery: one per (endpoint, fact), by the dedupe key. Endpoints of
 *   other users get W's facts only through their own WEBHOOK subscription to W itself targeting
 *   them (an administrator subscribed them; the target is always the subscriber's own endpoint).
 *
 * One round trip for the batch's endpoints (enabled webhooks of the batch's users) and one
 * INSERT … ON CONFLICT DO NOTHING for its deliveries, keyed by the fact's natural identity, so a
 * redelivered fact creates nothing (src/services/webhooks/deliveries.ts). After the commit the
 * sender is woken (`webhooks:deliveries:due`).
 */
import type { Kysely } from 'kysely';
import {
  JOB_FINISHED,
  TASK_FINISHED,
  type JobFinishedPayload,
  type TaskFinishedPayload,
} from '../../domain/events.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { decidingSubscription, otherSubscribers, subscribed } from '../../domain/subscriptions.ts';
import {
  deliveryBody,
  insertDeliveries,
  jobFinishedEvent,
  taskFinishedEvent,
  workflowFactEvent,
  type DeliveryEvent,
  type NewDelivery,
} from '../../services/webhooks/deliveries.ts';

export const WEBHOOKS_GROUP = 'webhooks';

export class WebhookConsumer {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #bus: Bus;
  #unsubscribe: Unsubscribe[] | null = null;

  constructor(deps: { db: Kysely<DB>; clock: Clock; events: Events; logger: Logger; bus: Bus }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#bus = deps.bus;
  }

  /** Joins group `webhooks` on both topics. */
  start(): void {
    const handler = async (batch: BusMessage[]) => void (await this.handle(batch));
    // The Kafka bus gives each (group, topic) its own consumer group (kafkaGroupName).
    this.#unsubscribe ??= (['analytics', 'notifications'] as const).map((topic) =>
      this.#bus.subscribe({ topic, group: WEBHOOKS_GROUP, handler }),
    );
  }

  /** Leaves both groups once their batches in hand are handled; safe twice and before start. */
  async stop(): Promise<void> {
    const unsubscribe = this.#unsubscribe ?? [];
    this.#unsubscribe = null;
    await Promise.all(unsubscribe.map((u) => u()));
  }

  /** Creates the deliveries of a batch of facts; returns how many were new. */
  async handle(batch: BusMessage[]): Promise<number> {
    const facts: DeliveryEvent[] = [];
    for (const m of batch) {
      // By type, not topic: each fact type lives on one topic only.
      const event =
        m.type === JOB_FINISHED
          ? jobFinishedEvent(m.payload as unknown as JobFinishedPayload)
          : m.type === TASK_FINISHED
            ? taskFinishedEvent(m.payload as unknown as TaskFinishedPayload)
            : workflowFactEvent(m.type, m.payload);
      if (event) facts.push(event);
    }
    if (facts.length === 0) return 0;
    const workflowIds = [
      ...new Set(facts.flatMap((f) => (typeof f.data.workflow_id === 'string' ? [f.data.workflow_id] : []))),
    ];
    // The owners' endpoints, and those other users subscribed to the batch's workflows.
    const hooks = await this.#db
      .selectFrom('webhooks')
      .select(['id', 'user_id', 'event_types'])
      .where((eb) =>
        eb.or([
          eb('user_id', 'in', [...new Set(facts.map((f) => f.userId))]),
          ...(workflowIds.length === 0
            ? []
            : [
                eb(
                  'id',
                  'in',
                  eb
                    .selectFrom('notification_subscriptions')
                    .select('target')
                    .where('channel', '=', 'WEBHOOK')
                    .where('workflow_id', 'in', workflowIds)
                    .where('target', 'is not', null)
                    .$narrowType<{ target: string }>(),
                ),
              ]),
        ]),
      )
      .where('enabled', '=', true)
      .execute();
    if (hooks.length === 0) return 0;
    const rules = await this.#db
      .selectFrom('notification_subscriptions')
      .select(['user_id', 'workflow_id', 'channel', 'target', 'events'])
      .where('user_id', 'in', [...new Set(hooks.map((h) => h.user_id))])
      .where('channel', '=', 'WEBHOOK')
      .execute();
    const rows: NewDelivery[] = [];
    for (const fact of facts) {
      const workflowId = typeof fact.data.workflow_id === 'string' ? fact.data.workflow_id : null;
      for (const hook of hooks) {
        let events: readonly string[];
        if (hook.user_id === fact.userId) {
          const rule =
            workflowId === null || rules.length === 0
              ? null
              : decidingSubscription(rules, fact.userId, 'WEBHOOK', workflowId, hook.id);
          events = rule ? rule.events : hook.event_types;
        } else {
          // Another user's endpoint: only their subscription to this workflow targeting it.
          const rule =
            workflowId === null
              ? undefined
              : otherSubscribers(rules, fact.userId, 'WEBHOOK', workflowId).find(
                  (r) => r.user_id === hook.user_id && r.target === hook.id,
                );
          if (!rule) continue;
          events = rule.events;
        }
        if (!subscribed(events, [fact.type])) continue;
        const id = newId();
        rows.push({
          id,
          webhookId: hook.id,
          userId: hook.user_id,
          eventType: fact.type,
          dedupeKey: fact.dedupeKey,
          body: deliveryBody(id, fact),
        });
      }
    }
    const created = await insertDeliveries(this.#db, rows, this.#clock.now());
    if (created > 0) {
      this.#logger.debug({ created }, 'webhook deliveries created');
      this.#events.emit('webhooks:deliveries:due', { count: created });
    }
    return created;
  }
}

/**
 * Email consumer (group `emails`, on the `analytics` and `notifications` topics): turns facts
 * into queued emails for the users whose EMAIL subscription takes them.
 *
 * - Who: for a fact about workflow W of user U, U's EMAIL subscription to W, else U's
 *   all-workflows one (src/domain/subscriptions.ts); no subscription, no email (email is opt-in).
 *   A subscription names events; `events: []` mutes. Bulk cancellations have no event. Also every
 *   other user with an EMAIL subscription to W itself (an administrator subscribed them), by its
 *   events, to their own address, without links into W (its pages are 404s for them).
 * - What: the in-app notification's content rendered as an email (src/domain/email-content.ts),
 *   links made absolute with the public URL; rendered now and stored, so a retry sends the same.
 * - Once: the row's dedupe key is the notification's (the fact's natural identity) and the batch
 *   is one INSERT … ON CONFLICT (user_id, dedupe_key) DO NOTHING: a redelivered fact, or the
 *   same fact under another message id, queues nothing.
 * - Statements per batch: the facts' context (./notifications/facts.ts), the EMAIL
 *   subscriptions of the facts' owners and to the facts' workflows, with addresses (one JOIN),
 *   the insert. After the commit the sender is
 *   woken (`email:deliveries:due`).
 */
import { sql, type Kysely } from 'kysely';
import { renderEmail } from '../../domain/email-content.ts';
import { asRecovered, forSubscriber, notificationFor } from '../../domain/notification-content.ts';
import {
  decidingSubscription,
  otherSubscribers,
  subscribed,
  type SubscriptionRule,
} from '../../domain/subscriptions.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { eventsOf, factContext, parseFacts, withName } from '../notifications/facts.ts';

export const EMAIL_GROUP = 'emails';

export interface EmailConsumerConfig {
  /** The dashboard's address, for absolute links (CHRONOVERSE_PUBLIC_URL). */
  publicUrl: string;
}

interface EmailRow {
  id: string;
  user_id: string;
  workflow_id: string;
  event_type: string;
  dedupe_key: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
}

type Rule = SubscriptionRule & { email: string };

export class EmailConsumer {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #config: EmailConsumerConfig;
  readonly #bus: Bus;
  #unsubscribe: Unsubscribe[] | null = null;

  constructor(
    deps: { db: Kysely<DB>; clock: Clock; events: Events; logger: Logger; bus: Bus },
    config: EmailConsumerConfig,
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#config = config;
    this.#bus = deps.bus;
  }

  /** Joins group `emails` on both topics. */
  start(): void {
    const handler = async (batch: BusMessage[]) => void (await this.handle(batch));
    this.#unsubscribe ??= (['analytics', 'notifications'] as const).map((topic) =>
      this.#bus.subscribe({ topic, group: EMAIL_GROUP, handler }),
    );
  }

  /** Leaves both groups once their batches in hand are handled; safe twice and before start. */
  async stop(): Promise<void> {
    const unsubscribe = this.#unsubscribe ?? [];
    this.#unsubscribe = null;
    await Promise.all(unsubscribe.map((u) => u()));
  }

  /** Queues the batch's emails; returns how many were new. */
  async handle(batch: BusMessage[]): Promise<number> {
    const facts = parseFacts(batch, this.#logger);
    if (facts.length === 0) return 0;
    const rules = await this.#rules(
      [...new Set(facts.map((f) => f.payload.user_id))],
      [...new Set(facts.map((f) => f.payload.workflow_id))],
    );
    if (rules.length === 0) return 0;
    const context = await factContext(this.#db, facts);
    const rows = new Map<string, EmailRow>();
    for (const fact of facts) {
      const { user_id: ownerId, workflow_id: workflowId } = fact.payload;
      const events = eventsOf(fact, context);
      const owned = decidingSubscription(rules, ownerId, 'EMAIL', workflowId);
      const recipients = [
        ...(owned ? [{ rule: owned, owner: true }] : []),
        ...otherSubscribers(rules, ownerId, 'EMAIL', workflowId).map((rule) => ({ rule, owner: false })),
      ];
      for (const { rule, owner } of recipients) {
        if (!subscribed(rule.events, events)) continue;
        const found = notificationFor(withName(fact, context));
        if (!found) continue;
        const recovered = events.includes('job.recovered');
        const own = recovered ? asRecovered(found) : found;
        const content = owner ? own : forSubscriber(own, rule.user_id);
        const workflowName =
          fact.type === 'JOB_FINISHED' ? (context.names.get(workflowId) ?? null) : fact.payload.name;
        const event = recovered && rule.events.includes('job.recovered') ? 'job.recovered' : events[0]!;
        const message = renderEmail({
          content,
          event,
          publicUrl: this.#config.publicUrl,
          workflowName,
          workflowPath: owner ? `/workflows/${workflowId}` : null,
        });
        const key = `${rule.user_id}\u0000${content.dedupe_key}`;
        if (rows.has(key)) continue;
        rows.set(key, {
          id: newId(),
          user_id: rule.user_id,
          workflow_id: workflowId,
          event_type: event,
          dedupe_key: content.dedupe_key,
          to_address: rule.email,
          subject: message.subject,
          text_body: message.text,
          html_body: message.html,
        });
      }
    }
    const created = await insertEmails(this.#db, [...rows.values()], this.#clock.now());
    if (created > 0) {
      this.#logger.debug({ created }, 'emails queued');
      this.#events.emit('email:deliveries:due', { count: created });
    }
    return created;
  }

  /**
   * The EMAIL subscriptions of these owners and, whoever holds them, to these workflows, each with
   * the subscriber's address (one JOIN).
   */
  async #rules(ownerIds: string[], workflowIds: string[]): Promise<Rule[]> {
    const rows = await this.#db
      .selectFrom('notification_subscriptions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.user_id', 's.workflow_id', 's.channel', 's.events', 'u.email'])
      .where((eb) => eb.or([eb('s.user_id', 'in', ownerIds), eb('s.workflow_id', 'in', workflowIds)]))
      .where('s.channel', '=', 'EMAIL')
      .execute();
    return rows;
  }
}

/**
 * emailDeliveriesInsert: a batch's emails in one INSERT … SELECT FROM unnest, due now; an
 * existing (user_id, dedupe_key) is left alone. Returns how many were new.
 */
export async function insertEmails(db: Kysely<DB>, rows: readonly EmailRow[], now: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const col = <K extends keyof EmailRow>(k: K) => rows.map((r) => r[k]);
  const result = await sql`
    INSERT INTO email_deliveries (id, user_id, workflow_id, event_type, dedupe_key, to_address, subject,
                                  text_body, html_body, status, next_attempt_at, created_at)
    SELECT e.id, e.user_id, e.workflow_id, e.event_type, e.dedupe_key, e.to_address, e.subject,
           e.text_body, e.html_body, 'PENDING', ${now}::timestamptz, ${now}::timestamptz
    FROM unnest(${col('id')}::uuid[], ${col('user_id')}::uuid[], ${col('workflow_id')}::uuid[],
                ${col('event_type')}::text[], ${col('dedupe_key')}::text[], ${col('to_address')}::text[],
                ${col('subject')}::text[], ${col('text_body')}::text[], ${col('html_body')}::text[])
      AS e(id, user_id, workflow_id, event_type, dedupe_key, to_address, subject, text_body, html_body)
    JOIN users u ON u.id = e.user_id
    -- Conflict-key order, so consumers inserting the same facts at once cannot deadlock (see
    -- src/workers/notifications/sql.ts, where id order did on PostgreSQL).
    ORDER BY e.user_id, e.dedupe_key
    ON CONFLICT (user_id, dedupe_key) DO NOTHING`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

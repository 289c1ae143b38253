/**
 * Webhooks service: per-user endpoints (CRUD), their delivery history, redelivery on demand and
 * test pings. Owns the `webhooks` and `webhook_deliveries` tables (the consumer and the sender in
 * src/workers/webhooks write deliveries too). Served by the notifications role.
 *
 * Ownership: every query is scoped by user id; another user's webhook or delivery is "not found".
 * The signing secret is returned only by the call that set it (create, rotation); afterwards
 * only its last 4 characters (`secret_hint`).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { NotFoundError, PreconditionFailedError } from '../../domain/errors.ts';
import type { OutboundRole } from '../../domain/outbound-policy.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import type { DeliveryListFilters, PageFilters, WebhooksApi } from './api.ts';
import {
  toAttemptView,
  toDeliveryView,
  toWebhookView,
  type DeliveryDetailView,
  type DeliveryView,
  type WebhookView,
} from './codec.ts';
import { deliveryBody, insertDeliveries } from './deliveries.ts';
import {
  normalizeEventTypes,
  validateWebhookCreate,
  validateWebhookUpdate,
  type UrlPolicy,
} from './input.ts';

export type WebhooksServiceConfig = UrlPolicy;

/** A generated signing secret: `whsec_` + 32 base64url characters (192 random bits). */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

export class WebhooksService implements WebhooksApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: WebhooksServiceConfig;
  readonly #events: Events | null;

  constructor(db: Kysely<DB>, clock: Clock, config: WebhooksServiceConfig, events: Events | null = null) {
    this.#db = db;
    this.#clock = clock;
    this.#config = config;
    this.#events = events;
  }

  async create(userId: string, body: unknown): Promise<WebhookView> {
    const input = validateWebhookCreate(body, this.#config, await this.#roleOf(userId));
    const now = this.#clock.now();
    const row = await this.#db
      .insertInto('webhooks')
      .values({
        id: newId(),
        user_id: userId,
        url: input.url,
        secret: input.secret ?? generateSecret(),
        event_types: normalizeEventTypes(input.event_types),
        description: input.description ?? null,
        enabled: input.enabled ?? true,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toWebhookView(row, true);
  }

  /** The caller's role now (the outbound policy depends on it); an account that is gone is a user. */
  async #roleOf(userId: string): Promise<OutboundRole> {
    const row = await this.#db.selectFrom('users').select('role').where('id', '=', userId).executeTakeFirst();
    return row?.role === 'admin' ? 'admin' : 'user';
  }

  async list(
    userId: string,
    filters: PageFilters,
  ): Promise<{ webhooks: WebhookView[]; cursor: string | null }> {
    let q = this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(filters.limit + 1);
    if (filters.cursor !== undefined) q = q.where('id', '<', decodeCursor(filters.cursor));
    const rows = await q.execute();
    const page = rows.slice(0, filters.limit);
    return {
      webhooks: page.map((r) => toWebhookView(r)),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  async get(userId: string, webhookId: string): Promise<WebhookView> {
    return toWebhookView(await this.#owned(userId, webhookId));
  }

  async update(userId: string, webhookId: string, body: unknown): Promise<WebhookView> {
    const input = validateWebhookUpdate(body, this.#config, await this.#roleOf(userId));
    const secret = input.rotate_secret === true ? generateSecret() : input.secret;
    const row = await this.#db
      .updateTable('webhooks')
      .set({
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.event_types !== undefined ? { event_types: normalizeEventTypes(input.event_types) } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
        ...(secret !== undefined ? { secret } : {}),
        updated_at: this.#clock.now(),
      })
      .where('id', '=', webhookId)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Webhook');
    return toWebhookView(row, secret !== undefined);
  }

  /** Deletes the webhook with its deliveries and their history. */
  async delete(userId: string, webhookId: string): Promise<void> {
    const deleted = await this.#db
      .deleteFrom('webhooks')
      .where('id', '=', webhookId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw new NotFoundError('Webhook');
  }

  async listDeliveries(
    userId: string,
    webhookId: string,
    filters: DeliveryListFilters,
  ): Promise<{ deliveries: DeliveryView[]; cursor: string | null }> {
    await this.#owned(userId, webhookId);
    let q = this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .limit(filters.limit + 1);
    if (filters.cursor !== undefined) q = q.where('id', '<', decodeCursor(filters.cursor));
    if (filters.status !== undefined) q = q.where('status', '=', filters.status);
    const rows = await q.execute();
    const page = rows.slice(0, filters.limit);
    return {
      deliveries: page.map(toDeliveryView),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  async getDelivery(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryDetailView> {
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', deliveryId)
      .where('webhook_id', '=', webhookId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Delivery');
    const attempts = await this.#db
      .selectFrom('webhook_delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('attempt')
      .execute();
    return { ...toDeliveryView(row), body: JSON.parse(row.body), history: attempts.map(toAttemptView) };
  }

  /**
   * Due now, whatever its status: a FAILED or SUCCEEDED delivery becomes PENDING again. Its retry
   * window is still counted from its creation, so past the maximum age a failing redelivery is
   * tried once and is FAILED again.
   */
  async redeliver(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryView> {
    const webhook = await this.#owned(userId, webhookId);
    if (!webhook.enabled) throw new PreconditionFailedError('The webhook is disabled; enable it first.');
    const now = this.#clock.now();
    const row = await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'PENDING', next_attempt_at: now, completed_at: null })
      .where('id', '=', deliveryId)
      .where('webhook_id', '=', webhookId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Delivery');
    this.#events?.emit('webhooks:deliveries:due', { count: 1 });
    return toDeliveryView(row);
  }

  async ping(userId: string, webhookId: string): Promise<DeliveryView> {
    const webhook = await this.#owned(userId, webhookId);
    if (!webhook.enabled) throw new PreconditionFailedError('The webhook is disabled; enable it first.');
    const now = this.#clock.now();
    const id = newId();
    await insertDeliveries(
      this.#db,
      [
        {
          id,
          webhookId,
          userId,
          eventType: 'ping',
          dedupeKey: `ping:${id}`,
          body: deliveryBody(id, {
            type: 'ping',
            at: now.toISOString(),
            data: { webhook_id: webhookId, message: 'A test event from Chronoverse.' },
          }),
        },
      ],
      now,
    );
    this.#events?.emit('webhooks:deliveries:due', { count: 1 });
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return toDeliveryView(row);
  }

  async #owned(userId: string, webhookId: string) {
    const row = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', webhookId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Webhook');
    return row;
  }
}

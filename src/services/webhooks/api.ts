/**
 * What the gateway needs of the webhooks service (served by the notifications role).
 * `WebhooksService` implements it in process; the generic adapter over its .proto (src/platform/rpc/service-adapter.ts)
 * over RPC, returning the very same objects.
 */
import type { DeliveryDetailView, DeliveryView, WebhookView } from './codec.ts';
import type { DeliveryStatus } from './input.ts';

export interface PageFilters {
  cursor?: string;
  limit: number;
}

export interface DeliveryListFilters extends PageFilters {
  status?: DeliveryStatus;
}

export interface WebhooksApi {
  /** `body` as received (validated by the service). The answer carries the secret, once. */
  create(userId: string, body: unknown): Promise<WebhookView>;
  list(userId: string, filters: PageFilters): Promise<{ webhooks: WebhookView[]; cursor: string | null }>;
  get(userId: string, webhookId: string): Promise<WebhookView>;
  /** Absent fields keep their value; the answer carries the secret only when it changed. */
  update(userId: string, webhookId: string, body: unknown): Promise<WebhookView>;
  delete(userId: string, webhookId: string): Promise<void>;
  listDeliveries(
    userId: string,
    webhookId: string,
    filters: DeliveryListFilters,
  ): Promise<{ deliveries: DeliveryView[]; cursor: string | null }>;
  getDelivery(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryDetailView>;
  /** A new attempt now, whatever the delivery's status. */
  redeliver(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryView>;
  /** Queues a `ping` test event for the webhook. */
  ping(userId: string, webhookId: string): Promise<DeliveryView>;
}

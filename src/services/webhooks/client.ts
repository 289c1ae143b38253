/** WebhooksApi over RPC: the same objects WebhooksService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { DeliveryStatusSchema, WebhooksService } from '../../gen/chronoverse/webhooks/v1/webhooks_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import { toEnum } from '../../platform/rpc/codec.ts';
import { bodyToWire } from '../workflows/wire.ts';
import type { DeliveryListFilters, PageFilters, WebhooksApi } from './api.ts';
import type { DeliveryDetailView, DeliveryView, WebhookView } from './codec.ts';
import { deliveryDetailFromWire, deliveryFromWire, webhookFromWire } from './wire.ts';

export class WebhooksClient implements WebhooksApi {
  readonly #rpc: Client<typeof WebhooksService>;
  readonly #call = rpcCall('notifications');

  constructor(transport: Transport) {
    this.#rpc = createClient(WebhooksService, transport);
  }

  create(userId: string, body: unknown): Promise<WebhookView> {
    return this.#call(async () =>
      webhookFromWire((await this.#rpc.createWebhook({ userId, bodyJson: bodyToWire(body) })).webhook),
    );
  }

  list(userId: string, f: PageFilters): Promise<{ webhooks: WebhookView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listWebhooks({ userId, limit: f.limit, cursor: f.cursor });
      return { webhooks: res.webhooks.map(webhookFromWire), cursor: res.cursor ?? null };
    });
  }

  get(userId: string, webhookId: string): Promise<WebhookView> {
    return this.#call(async () =>
      webhookFromWire((await this.#rpc.getWebhook({ userId, webhookId })).webhook),
    );
  }

  update(userId: string, webhookId: string, body: unknown): Promise<WebhookView> {
    return this.#call(async () =>
      webhookFromWire(
        (await this.#rpc.updateWebhook({ userId, webhookId, bodyJson: bodyToWire(body) })).webhook,
      ),
    );
  }

  delete(userId: string, webhookId: string): Promise<void> {
    return this.#call(async () => void (await this.#rpc.deleteWebhook({ userId, webhookId })));
  }

  listDeliveries(
    userId: string,
    webhookId: string,
    f: DeliveryListFilters,
  ): Promise<{ deliveries: DeliveryView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listDeliveries({
        userId,
        webhookId,
        limit: f.limit,
        cursor: f.cursor,
        status: f.status !== undefined ? toEnum(DeliveryStatusSchema, f.status) : undefined,
      });
      return { deliveries: res.deliveries.map(deliveryFromWire), cursor: res.cursor ?? null };
    });
  }

  getDelivery(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryDetailView> {
    return this.#call(async () =>
      deliveryDetailFromWire(await this.#rpc.getDelivery({ userId, webhookId, deliveryId })),
    );
  }

  redeliver(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryView> {
    return this.#call(async () =>
      deliveryFromWire((await this.#rpc.redeliver({ userId, webhookId, deliveryId })).delivery),
    );
  }

  ping(userId: string, webhookId: string): Promise<DeliveryView> {
    return this.#call(async () =>
      deliveryFromWire((await this.#rpc.pingWebhook({ userId, webhookId })).delivery),
    );
  }
}

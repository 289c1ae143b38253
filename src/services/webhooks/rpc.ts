/** chronoverse.webhooks.v1.WebhooksService served by a WebhooksApi (the in-process WebhooksService). */
import { DeliveryStatusSchema, WebhooksService } from '../../gen/chronoverse/webhooks/v1/webhooks_pb.js';
import { fromEnum } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import { bodyFromWire } from '../workflows/wire.ts';
import type { DeliveryListFilters, PageFilters, WebhooksApi } from './api.ts';
import { DELIVERY_STATUSES } from './input.ts';
import { deliveryDetailToWire, deliveryToWire, webhookToWire } from './wire.ts';

export function webhooksRpc(webhooks: WebhooksApi): ServiceRegistration {
  return {
    typeName: WebhooksService.typeName,
    register: (router) =>
      router.service(WebhooksService, {
        createWebhook: async (req) => ({
          webhook: webhookToWire(await webhooks.create(req.userId, bodyFromWire(req.bodyJson))),
        }),
        listWebhooks: async (req) => {
          const filters: PageFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          const page = await webhooks.list(req.userId, filters);
          return {
            webhooks: page.webhooks.map(webhookToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getWebhook: async (req) => ({
          webhook: webhookToWire(await webhooks.get(req.userId, req.webhookId)),
        }),
        updateWebhook: async (req) => ({
          webhook: webhookToWire(
            await webhooks.update(req.userId, req.webhookId, bodyFromWire(req.bodyJson)),
          ),
        }),
        deleteWebhook: async (req) => {
          await webhooks.delete(req.userId, req.webhookId);
          return {};
        },
        listDeliveries: async (req) => {
          const filters: DeliveryListFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          if (req.status !== undefined)
            filters.status = fromEnum(DeliveryStatusSchema, req.status, DELIVERY_STATUSES);
          const page = await webhooks.listDeliveries(req.userId, req.webhookId, filters);
          return {
            deliveries: page.deliveries.map(deliveryToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getDelivery: async (req) =>
          deliveryDetailToWire(await webhooks.getDelivery(req.userId, req.webhookId, req.deliveryId)),
        redeliver: async (req) => ({
          delivery: deliveryToWire(await webhooks.redeliver(req.userId, req.webhookId, req.deliveryId)),
        }),
        pingWebhook: async (req) => ({
          delivery: deliveryToWire(await webhooks.ping(req.userId, req.webhookId)),
        }),
      }),
  };
}

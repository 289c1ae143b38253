/** Webhook and delivery views ↔ chronoverse.webhooks.v1 messages. Bodies travel as JSON text. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  DeliveryStatusSchema,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryAttemptSchema,
  type DeliveryDetail,
  type DeliveryDetailSchema,
  type DeliverySchema,
  type Webhook,
  type WebhookSchema,
} from '../../gen/chronoverse/webhooks/v1/webhooks_pb.js';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import type { DeliveryAttemptView, DeliveryDetailView, DeliveryView, WebhookView } from './codec.ts';
import { DELIVERY_STATUSES } from './input.ts';

export function webhookToWire(w: WebhookView): MessageInitShape<typeof WebhookSchema> {
  return {
    id: w.id,
    url: w.url,
    eventTypes: w.event_types,
    ...(w.description !== null ? { description: w.description } : {}),
    enabled: w.enabled,
    secretHint: w.secret_hint,
    createdAt: toTimestamp(w.created_at),
    updatedAt: toTimestamp(w.updated_at),
    ...(w.secret !== undefined ? { secret: w.secret } : {}),
  };
}

export function webhookFromWire(m: Webhook | undefined): WebhookView {
  const w = required(m, 'webhook');
  return {
    id: w.id,
    url: w.url,
    event_types: [...w.eventTypes],
    description: w.description ?? null,
    enabled: w.enabled,
    secret_hint: w.secretHint,
    created_at: fromTimestamp(w.createdAt),
    updated_at: fromTimestamp(w.updatedAt),
    ...(w.secret !== undefined ? { secret: w.secret } : {}),
  };
}

export function deliveryToWire(d: DeliveryView): MessageInitShape<typeof DeliverySchema> {
  return {
    id: d.id,
    webhookId: d.webhook_id,
    eventType: d.event_type,
    status: toEnum(DeliveryStatusSchema, d.status),
    attempts: d.attempts,
    ...(d.last_status_code !== null ? { lastStatusCode: d.last_status_code } : {}),
    ...(d.last_error !== null ? { lastError: d.last_error } : {}),
    createdAt: toTimestamp(d.created_at),
    nextAttemptAt: toOptionalTimestamp(d.next_attempt_at),
    completedAt: toOptionalTimestamp(d.completed_at),
  };
}

export function deliveryFromWire(m: Delivery | undefined): DeliveryView {
  const d = required(m, 'delivery');
  return {
    id: d.id,
    webhook_id: d.webhookId,
    event_type: d.eventType,
    status: fromEnum(DeliveryStatusSchema, d.status, DELIVERY_STATUSES),
    attempts: d.attempts,
    last_status_code: d.lastStatusCode ?? null,
    last_error: d.lastError ?? null,
    created_at: fromTimestamp(d.createdAt),
    next_attempt_at: fromOptionalTimestamp(d.nextAttemptAt),
    completed_at: fromOptionalTimestamp(d.completedAt),
  };
}

function attemptToWire(a: DeliveryAttemptView): MessageInitShape<typeof DeliveryAttemptSchema> {
  return {
    attempt: a.attempt,
    startedAt: toTimestamp(a.started_at),
    ...(a.status_code !== null ? { statusCode: a.status_code } : {}),
    ...(a.error !== null ? { error: a.error } : {}),
    durationMs: a.duration_ms,
  };
}

function attemptFromWire(a: DeliveryAttempt): DeliveryAttemptView {
  return {
    attempt: a.attempt,
    started_at: fromTimestamp(a.startedAt),
    status_code: a.statusCode ?? null,
    error: a.error ?? null,
    duration_ms: a.durationMs,
  };
}

export function deliveryDetailToWire(d: DeliveryDetailView): MessageInitShape<typeof DeliveryDetailSchema> {
  const { body, history, ...delivery } = d;
  return {
    delivery: deliveryToWire(delivery),
    bodyJson: JSON.stringify(body),
    history: history.map(attemptToWire),
  };
}

export function deliveryDetailFromWire(m: DeliveryDetail): DeliveryDetailView {
  return {
    ...deliveryFromWire(m.delivery),
    body: JSON.parse(m.bodyJson) as unknown,
    history: m.history.map(attemptFromWire),
  };
}

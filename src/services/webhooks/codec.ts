/** Webhook and delivery rows → the API's objects (docs/api.md "Webhooks"). */
import type { Selectable } from 'kysely';
import type {
  WebhookDeliveriesTable,
  WebhookDeliveryAttemptsTable,
  WebhooksTable,
} from '../../platform/db/schema.ts';
import type { DeliveryStatus } from './input.ts';

export interface WebhookView {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  /** The last 4 characters of the signing secret, to tell secrets apart. */
  secret_hint: string;
  created_at: string;
  updated_at: string;
  /** Only in the answer that created or changed the secret: shown once. */
  secret?: string;
}

export interface DeliveryView {
  id: string;
  webhook_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  /** When the next attempt is due (PENDING only). */
  next_attempt_at: string | null;
  completed_at: string | null;
}

export interface DeliveryAttemptView {
  attempt: number;
  started_at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface DeliveryDetailView extends DeliveryView {
  /** The document sent, as JSON. */
  body: unknown;
  /** Every attempt, oldest first. */
  history: DeliveryAttemptView[];
}

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

export function toWebhookView(row: Selectable<WebhooksTable>, showSecret = false): WebhookView {
  return {
    id: row.id,
    url: row.url,
    event_types: row.event_types,
    description: row.description,
    enabled: row.enabled,
    secret_hint: row.secret.slice(-4),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    ...(showSecret ? { secret: row.secret } : {}),
  };
}

export function toDeliveryView(row: Selectable<WebhookDeliveriesTable>): DeliveryView {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: iso(row.created_at),
    next_attempt_at: row.status === 'PENDING' ? isoOrNull(row.next_attempt_at) : null,
    completed_at: isoOrNull(row.completed_at),
  };
}

export function toAttemptView(row: Selectable<WebhookDeliveryAttemptsTable>): DeliveryAttemptView {
  return {
    attempt: row.attempt,
    started_at: iso(row.started_at),
    status_code: row.status_code,
    error: row.error,
    duration_ms: row.duration_ms,
  };
}

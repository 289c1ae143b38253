/**
 * What the gateway needs of the subscriptions service (notification subscriptions and the email
 * history), served by the notifications role. `SubscriptionsService` implements it in process;
 * the generic adapter over its .proto (src/platform/rpc/service-adapter.ts)
 * over RPC, returning the very same objects.
 */
import type { SubscriptionChannel } from '../../domain/subscriptions.ts';
import type { EmailDeliveryStatus } from '../../platform/db/schema.ts';

export interface SubscriptionView {
  id: string;
  /** The subscriber (an administrator may subscribe another user to a workflow). */
  user_id: string;
  /** Null: every workflow of the user, now and later. */
  workflow_id: string | null;
  channel: SubscriptionChannel;
  /** WEBHOOK: the id of the user's webhook endpoint it sends to; null for the other channels. */
  target: string | null;
  events: string[];
  created_at: string;
  updated_at: string;
}

/** What decides, per channel, for one workflow. */
export interface EffectiveView {
  channel: SubscriptionChannel;
  /** WORKFLOW: its own subscription; ALL_WORKFLOWS: the all-workflows one; DEFAULT: neither. */
  source: 'WORKFLOW' | 'ALL_WORKFLOWS' | 'DEFAULT';
  events: string[];
  /** WEBHOOK: one entry per endpoint of the user (its id); DEFAULT there is the endpoint's event_types. */
  target: string | null;
}

export interface SubscriptionList {
  subscriptions: SubscriptionView[];
  /** Whether this installation sends email (CHRONOVERSE_SMTP_URL is set). */
  email_enabled: boolean;
  /** For one workflow only: what decides on each channel. */
  effective?: EffectiveView[];
}

export const EMAIL_STATUSES = ['PENDING', 'SENT', 'FAILED'] as const satisfies readonly EmailDeliveryStatus[];
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

export interface EmailView {
  id: string;
  workflow_id: string | null;
  event_type: string;
  to: string;
  subject: string;
  status: EmailStatus;
  attempts: number;
  /** The SMTP server's last answer when not sent (or the connection error). */
  last_error: string | null;
  created_at: string;
  next_attempt_at: string | null;
  completed_at: string | null;
}

export interface EmailAttemptView {
  attempt: number;
  started_at: string;
  /** The SMTP reply code; null when no answer came. */
  smtp_code: number | null;
  response: string | null;
  duration_ms: number;
}

export interface EmailDetailView extends EmailView {
  /** The plain-text body sent. */
  text: string;
  history: EmailAttemptView[];
}

export interface EmailListFilters {
  limit: number;
  cursor?: string;
  status?: EmailStatus;
}

/**
 * `admin` (every method that takes it): the caller acts as an administrator (the admin role and a
 * credential holding the `admin` scope), so any workflow and any user's subscription to it.
 */
export interface SubscriptionsApi {
  /**
   * `workflowId` null: every subscription of the user; else those that apply to it (404 if not
   * theirs), and for an administrator everyone's subscriptions to it.
   */
  list(userId: string, workflowId: string | null, admin?: boolean): Promise<SubscriptionList>;
  /**
   * Creates or replaces (same subscriber, channel and scope) a subscription; `body` as received
   * (its `user_id` names another subscriber: administrators only, 403 otherwise).
   */
  put(
    userId: string,
    workflowId: string | null,
    body: unknown,
    admin?: boolean,
  ): Promise<{ subscription: SubscriptionView; created: boolean }>;
  /** `workflowId` given: the subscription must be that workflow's (an administrator's: anyone's). */
  delete(userId: string, workflowId: string | null, subscriptionId: string, admin?: boolean): Promise<void>;
  listEmails(
    userId: string,
    filters: EmailListFilters,
  ): Promise<{ emails: EmailView[]; cursor: string | null }>;
  getEmail(userId: string, emailId: string): Promise<EmailDetailView>;
}

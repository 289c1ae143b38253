/** Subscription and email views ↔ chronoverse.notifications.v1 subscription messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  EffectiveSourceSchema,
  EmailStatusSchema,
  SubscriptionChannelSchema,
  type Effective,
  type EffectiveSchema,
  type Email,
  type EmailAttempt,
  type EmailAttemptSchema,
  type EmailSchema,
  type Subscription,
  type SubscriptionSchema,
} from '../../gen/chronoverse/notifications/v1/subscriptions_pb.js';
import { SUBSCRIPTION_CHANNELS } from '../../domain/subscriptions.ts';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import {
  EMAIL_STATUSES,
  type EffectiveView,
  type EmailAttemptView,
  type EmailView,
  type SubscriptionView,
} from './subscriptions-api.ts';

const SOURCES = ['WORKFLOW', 'ALL_WORKFLOWS', 'DEFAULT'] as const;

export function subscriptionToWire(s: SubscriptionView): MessageInitShape<typeof SubscriptionSchema> {
  return {
    id: s.id,
    userId: s.user_id,
    ...(s.workflow_id !== null ? { workflowId: s.workflow_id } : {}),
    channel: toEnum(SubscriptionChannelSchema, s.channel),
    ...(s.target !== null ? { target: s.target } : {}),
    events: s.events,
    createdAt: toTimestamp(s.created_at),
    updatedAt: toTimestamp(s.updated_at),
  };
}

export function subscriptionFromWire(m: Subscription | undefined): SubscriptionView {
  const s = required(m, 'subscription');
  return {
    id: s.id,
    user_id: s.userId,
    workflow_id: s.workflowId ?? null,
    channel: fromEnum(SubscriptionChannelSchema, s.channel, SUBSCRIPTION_CHANNELS),
    target: s.target ?? null,
    events: [...s.events],
    created_at: fromTimestamp(s.createdAt),
    updated_at: fromTimestamp(s.updatedAt),
  };
}

export function effectiveToWire(e: EffectiveView): MessageInitShape<typeof EffectiveSchema> {
  return {
    channel: toEnum(SubscriptionChannelSchema, e.channel),
    source: toEnum(EffectiveSourceSchema, e.source),
    events: e.events,
    ...(e.target !== null ? { target: e.target } : {}),
  };
}

export function effectiveFromWire(e: Effective): EffectiveView {
  return {
    channel: fromEnum(SubscriptionChannelSchema, e.channel, SUBSCRIPTION_CHANNELS),
    source: fromEnum(EffectiveSourceSchema, e.source, SOURCES),
    events: [...e.events],
    target: e.target ?? null,
  };
}

export function emailToWire(e: EmailView): MessageInitShape<typeof EmailSchema> {
  return {
    id: e.id,
    ...(e.workflow_id !== null ? { workflowId: e.workflow_id } : {}),
    eventType: e.event_type,
    to: e.to,
    subject: e.subject,
    status: toEnum(EmailStatusSchema, e.status),
    attempts: e.attempts,
    ...(e.last_error !== null ? { lastError: e.last_error } : {}),
    createdAt: toTimestamp(e.created_at),
    nextAttemptAt: toOptionalTimestamp(e.next_attempt_at),
    completedAt: toOptionalTimestamp(e.completed_at),
  };
}

export function emailFromWire(m: Email | undefined): EmailView {
  const e = required(m, 'email');
  return {
    id: e.id,
    workflow_id: e.workflowId ?? null,
    event_type: e.eventType,
    to: e.to,
    subject: e.subject,
    status: fromEnum(EmailStatusSchema, e.status, EMAIL_STATUSES),
    attempts: e.attempts,
    last_error: e.lastError ?? null,
    created_at: fromTimestamp(e.createdAt),
    next_attempt_at: fromOptionalTimestamp(e.nextAttemptAt),
    completed_at: fromOptionalTimestamp(e.completedAt),
  };
}

export function emailAttemptToWire(a: EmailAttemptView): MessageInitShape<typeof EmailAttemptSchema> {
  return {
    attempt: a.attempt,
    startedAt: toTimestamp(a.started_at),
    ...(a.smtp_code !== null ? { smtpCode: a.smtp_code } : {}),
    ...(a.response !== null ? { response: a.response } : {}),
    durationMs: a.duration_ms,
  };
}

export function emailAttemptFromWire(a: EmailAttempt): EmailAttemptView {
  return {
    attempt: a.attempt,
    started_at: fromTimestamp(a.startedAt),
    smtp_code: a.smtpCode ?? null,
    response: a.response ?? null,
    duration_ms: a.durationMs,
  };
}

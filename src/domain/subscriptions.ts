/**
 * Subscriptions: who is told what, on which channel (issue 14). Pure: the consumers
 * (src/workers/notifications, src/workers/email) load a batch's subscriptions and ask here.
 *
 * - A subscription is (user, channel, scope, events): scope is one workflow or, with no
 *   workflow, every workflow of the user (now and later). One per (user, channel, scope).
 * - Which one decides for a fact about workflow W: the user's subscription to W on that channel,
 *   else their all-workflows one, else the default: IN_APP follows the user's global
 *   `notification_preference` (what happened before subscriptions existed), EMAIL sends nothing.
 *   The most specific wins outright, so `events: []` on one workflow mutes it on that channel
 *   even when an all-workflows subscription would have matched.
 * - Event names are the webhooks' (job.failed, build.failed, workflow.terminated…) plus
 *   `job.recovered`: a job that completed while the workflow's previous finished job (canceled
 *   ones aside) had failed — the "it works again" message on-call users ask for. A recovered job
 *   is also `job.completed`; a subscription to either gets one message.
 * - A bulk cancellation (terminate, edit) has no event: the workflow's own fact tells the user.
 * - Subscribers who do not own W (an administrator subscribed them; a user subscribes only
 *   themselves): only their subscription to W itself decides, by its events. Their all-workflows
 *   subscription and the defaults (preference, an endpoint's event_types) are about their own
 *   workflows and take nothing of W. The subscription grants no access to W.
 */
import type { JobFinishedPayload, WorkflowEventType } from './events.ts';

export const SUBSCRIPTION_CHANNELS = ['IN_APP', 'EMAIL', 'WEBHOOK'] as const;
export type SubscriptionChannel = (typeof SUBSCRIPTION_CHANNELS)[number];

export const SUBSCRIPTION_EVENTS = [
  'job.completed',
  'job.failed',
  'job.canceled',
  'job.recovered',
  'build.started',
  'build.completed',
  'build.failed',
  'workflow.terminated',
  'schedule.missed',
] as const;
export type SubscriptionEvent = (typeof SUBSCRIPTION_EVENTS)[number];

/** Every event, in a subscription's `events`. */
export const ALL_EVENTS = '*';

const WORKFLOW_FACT_EVENT: Record<WorkflowEventType, SubscriptionEvent> = {
  BUILD_STARTED: 'build.started',
  BUILD_COMPLETED: 'build.completed',
  BUILD_FAILED: 'build.failed',
  WORKFLOW_TERMINATED: 'workflow.terminated',
  SCHEDULE_MISSED: 'schedule.missed',
};

/** The events a job fact is; `recovered` says whether the previous finished job had failed. */
export function jobEvents(
  p: Pick<JobFinishedPayload, 'status' | 'bulk'>,
  recovered: boolean,
): SubscriptionEvent[] {
  if (p.bulk) return [];
  switch (p.status) {
    case 'COMPLETED':
      return recovered ? ['job.completed', 'job.recovered'] : ['job.completed'];
    case 'FAILED':
      return ['job.failed'];
    case 'CANCELED':
      return ['job.canceled'];
  }
}

export function workflowFactEvents(type: WorkflowEventType): SubscriptionEvent[] {
  return [WORKFLOW_FACT_EVENT[type]];
}

export interface SubscriptionRule {
  user_id: string;
  workflow_id: string | null;
  channel: SubscriptionChannel;
  /** WEBHOOK: the user's webhook endpoint it sends to; null (or absent) for the other channels. */
  target?: string | null;
  events: readonly string[];
}

/**
 * Events a WEBHOOK subscription cannot name: `job.recovered` is worked out for messages to people
 * (in-app, email); a webhook receives the `job.completed` itself and can tell from its history.
 */
export const NOT_FOR_WEBHOOKS: readonly SubscriptionEvent[] = ['job.recovered'];

/**
 * The subscription that decides for `userId` on `channel` about `workflowId` (its own, else the
 * all-workflows one), or null: the channel's default applies. WEBHOOK decides per endpoint
 * (`target`): the default of an endpoint is its own `event_types`.
 */
export function decidingSubscription<T extends SubscriptionRule>(
  rules: readonly T[],
  userId: string,
  channel: SubscriptionChannel,
  workflowId: string,
  target: string | null = null,
): T | null {
  let all: T | null = null;
  for (const r of rules) {
    if (r.user_id !== userId || r.channel !== channel) continue;
    if (channel === 'WEBHOOK' && r.target !== target) continue;
    if (r.workflow_id === workflowId) return r;
    if (r.workflow_id === null) all = r;
  }
  return all;
}

/** Whether a subscription's `events` takes a fact that is `factEvents`. */
export function subscribed(events: readonly string[], factEvents: readonly string[]): boolean {
  if (factEvents.length === 0) return false;
  return events.includes(ALL_EVENTS) || factEvents.some((e) => events.includes(e));
}

/** `events` as stored: known names only (checked by the caller), without repeats, in catalogue order. */
export function normalizeEvents(events: readonly string[]): string[] {
  if (events.includes(ALL_EVENTS)) return [ALL_EVENTS];
  return SUBSCRIPTION_EVENTS.filter((e) => events.includes(e));
}

/**
 * The subscriptions on `channel` of users other than `ownerId` to workflow `workflowId` itself:
 * who, besides the owner, is told about its facts (each decides by its own events).
 */
export function otherSubscribers<T extends SubscriptionRule>(
  rules: readonly T[],
  ownerId: string,
  channel: SubscriptionChannel,
  workflowId: string,
): T[] {
  return rules.filter((r) => r.channel === channel && r.workflow_id === workflowId && r.user_id !== ownerId);
}

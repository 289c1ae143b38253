/** Notification subscriptions of one workflow (docs/api.md "Subscriptions", docs/notifications.md). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client.ts';
import type { ResponseOf, Schemas, User } from './types.ts';

export type WorkflowSubscriptions = ResponseOf<'/api/v1/workflows/{id}/subscriptions', 'get'>;
export type Subscription = WorkflowSubscriptions['subscriptions'][number];
/** What decides on a channel for this workflow; the list answer carries them for one workflow only. */
export type Effective = NonNullable<WorkflowSubscriptions['effective']>[number];
export type SubscriptionChannel = Subscription['channel'];
/** The channels without a target, one form each on the workflow page. */
export const SUBSCRIPTION_CHANNELS = ['IN_APP', 'EMAIL'] as const satisfies readonly SubscriptionChannel[];

export const SUBSCRIPTION_EVENTS = [
  'job.failed',
  'job.recovered',
  'job.completed',
  'job.canceled',
  'build.started',
  'build.completed',
  'build.failed',
  'workflow.terminated',
  'schedule.missed',
] as const;

/** `job.recovered` is for people: the API refuses it on WEBHOOK (a webhook gets job.completed). */
export const WEBHOOK_EVENTS = SUBSCRIPTION_EVENTS.filter((e) => e !== 'job.recovered');

export type Webhook = Schemas['Webhook'];
type WebhookPage = ResponseOf<'/api/v1/webhooks', 'get'>;
type UserPage = ResponseOf<'/api/v1/admin/users', 'get'>;

/** What POST /workflows/{id}/subscriptions takes. */
export interface SubscriptionBody {
  channel: SubscriptionChannel;
  events: string[];
  /** WEBHOOK: one of the subscriber's webhooks. */
  target?: string;
  /** Another user (administrators only). */
  user_id?: string;
}

const key = (workflowId: string) => ['subscriptions', workflowId] as const;
const path = (workflowId: string) => `/workflows/${encodeURIComponent(workflowId)}/subscriptions`;

export function useWorkflowSubscriptions(workflowId: string) {
  return useQuery({
    queryKey: key(workflowId),
    queryFn: ({ signal }) => api.get<WorkflowSubscriptions>(path(workflowId), { signal }),
  });
}

/** Creates or replaces the workflow's own subscription on a channel. */
export function useSaveSubscription(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SubscriptionBody) => api.post<Subscription>(path(workflowId), body),
    onSuccess: () => void client.invalidateQueries({ queryKey: key(workflowId) }),
  });
}

/**
 * Deletes one of the workflow's subscriptions: the caller's own (the all-workflows one or the
 * default decides again), or, for an administrator, anyone's.
 */
export function useDeleteSubscription(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) =>
      api.delete<void>(`${path(workflowId)}/${encodeURIComponent(subscriptionId)}`),
    onSuccess: () => void client.invalidateQueries({ queryKey: key(workflowId) }),
  });
}

/** The caller's webhook endpoints (the first 100, newest first): the targets a WEBHOOK subscription may name. */
export function useMyWebhooks() {
  return useQuery({
    queryKey: ['webhooks', 'targets'] as const,
    queryFn: ({ signal }) => api.get<WebhookPage>('/webhooks', { signal, query: { limit: 100 } }),
  });
}

/**
 * The installation's accounts (the first 100, newest first), for an administrator's "subscribe
 * someone else" picker; not asked for otherwise (`enabled`), the route being administrators' only.
 */
export function useInstallationUsers(enabled: boolean) {
  return useQuery({
    queryKey: ['admin', 'users', 'picker'] as const,
    queryFn: ({ signal }) => api.get<UserPage>('/admin/users', { signal, query: { limit: 100 } }),
    enabled,
  });
}

export type { User };

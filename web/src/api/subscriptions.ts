/** Notification subscriptions of one workflow (docs/api.md "Subscriptions", docs/notifications.md). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client.ts';

export const SUBSCRIPTION_CHANNELS = ['IN_APP', 'EMAIL'] as const;
export type SubscriptionChannel = (typeof SUBSCRIPTION_CHANNELS)[number];

export const SUBSCRIPTION_EVENTS = [
  'job.failed',
  'job.recovered',
  'job.completed',
  'job.canceled',
  'build.started',
  'build.completed',
  'build.failed',
  'workflow.terminated',
] as const;

export interface Subscription {
  id: string;
  workflow_id: string | null;
  channel: SubscriptionChannel;
  events: string[];
  created_at: string;
  updated_at: string;
}

export interface Effective {
  channel: SubscriptionChannel;
  source: 'WORKFLOW' | 'ALL_WORKFLOWS' | 'DEFAULT';
  events: string[];
}

export interface WorkflowSubscriptions {
  subscriptions: Subscription[];
  email_enabled: boolean;
  effective: Effective[];
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
    mutationFn: (body: { channel: SubscriptionChannel; events: string[] }) =>
      api.post<Subscription>(path(workflowId), body),
    onSuccess: () => void client.invalidateQueries({ queryKey: key(workflowId) }),
  });
}

/** Deletes the workflow's own subscription: the all-workflows one or the default decides again. */
export function useDeleteSubscription(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) =>
      api.delete<void>(`${path(workflowId)}/${encodeURIComponent(subscriptionId)}`),
    onSuccess: () => void client.invalidateQueries({ queryKey: key(workflowId) }),
  });
}

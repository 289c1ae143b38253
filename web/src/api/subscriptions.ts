/** Notification subscriptions of one workflow (docs/api.md "Subscriptions", docs/notifications.md). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client.ts';
import type { ResponseOf } from './types.ts';

export type WorkflowSubscriptions = ResponseOf<'/api/v1/workflows/{id}/subscriptions', 'get'>;
export type Subscription = WorkflowSubscriptions['subscriptions'][number];
/** What decides on a channel for this workflow; the list answer carries them for one workflow only. */
export type Effective = NonNullable<WorkflowSubscriptions['effective']>[number];
export type SubscriptionChannel = Subscription['channel'];
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

/**
 * Analytics hooks: totals (all workflows or one) and the time series. Shapes follow
 * src/gateway/routes/analytics.ts (docs/api.md "Notifications and analytics"): series buckets are
 * UTC, `to` is exclusive, and every bucket is present.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client.ts';
import type { QueryOf, Schemas } from './types.ts';

export type Percentiles = Schemas['Percentiles'];

/**
 * `GET /analytics` (all workflows) or `GET /analytics/{workflow_id}` (one, with `workflow_id`).
 * `total_job_execution_duration` is in seconds, summed over finished jobs; `jobs_by_status` counts
 * final statuses from the aggregates and PENDING/QUEUED/RUNNING live; `success_rate` is
 * COMPLETED / (COMPLETED + FAILED), 0..1, null before any job completed or failed; the percentiles
 * cover jobs finished since `percentiles_since` (a 30-day window).
 */
export type Analytics = Schemas['Analytics'] | Schemas['WorkflowAnalytics'];

export const TIMESERIES_BUCKETS = ['hour', 'day'] as const satisfies readonly NonNullable<
  QueryOf<'/api/v1/analytics/timeseries'>['bucket']
>[];
export type TimeseriesBucket = (typeof TIMESERIES_BUCKETS)[number];

export type TimeseriesPoint = Schemas['TimeseriesPoint'];

export interface TimeseriesParams {
  workflowId?: string | undefined;
  from: string;
  to: string;
  bucket: TimeseriesBucket;
}

/** Analytics refresh this often while a page shows them. */
export const ANALYTICS_REFRESH_MS = 30_000;

const base = (workflowId: string | undefined) =>
  workflowId ? `/analytics/${encodeURIComponent(workflowId)}` : '/analytics';

/** `GET /analytics/{workflow_id}/tasks`: a DAG workflow's figures per task over 30 days. */
export type TaskAnalytics = Schemas['TaskAnalytics'];
export type TaskFigures = Schemas['TaskFigures'];

export const analyticsKeys = {
  all: ['analytics'] as const,
  tasks: (workflowId: string) => ['analytics', 'tasks', workflowId] as const,
  totals: (workflowId: string | undefined) => ['analytics', 'totals', workflowId ?? null] as const,
  timeseries: (params: TimeseriesParams) => ['analytics', 'timeseries', params] as const,
};

export function useAnalytics(workflowId?: string) {
  return useQuery({
    queryKey: analyticsKeys.totals(workflowId),
    queryFn: ({ signal }) => api.get<Analytics>(base(workflowId), { signal }),
    refetchInterval: ANALYTICS_REFRESH_MS,
  });
}

export function useTaskAnalytics(workflowId: string) {
  return useQuery({
    queryKey: analyticsKeys.tasks(workflowId),
    queryFn: ({ signal }) => api.get<TaskAnalytics>(`${base(workflowId)}/tasks`, { signal }),
    refetchInterval: ANALYTICS_REFRESH_MS,
  });
}

export function useTimeseries(params: TimeseriesParams) {
  return useQuery({
    queryKey: analyticsKeys.timeseries(params),
    queryFn: ({ signal }) =>
      api.get<TimeseriesPoint[]>(`${base(params.workflowId)}/timeseries`, {
        query: { from: params.from, to: params.to, bucket: params.bucket },
        signal,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: ANALYTICS_REFRESH_MS,
  });
}

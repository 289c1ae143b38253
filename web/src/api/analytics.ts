/**
 * Analytics hooks: totals (all workflows or one) and the time series. Shapes follow
 * src/gateway/routes/analytics.ts (docs/api.md "Notifications and analytics"): series buckets are
 * UTC, `to` is exclusive, and every bucket is present.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client.ts';
import type { JobState } from './types.ts';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Analytics {
  total_workflows: number;
  total_jobs: number;
  total_joblogs: number;
  /** Seconds, summed over finished jobs. */
  total_job_execution_duration: number;
  /** Final statuses from the aggregates; PENDING/QUEUED/RUNNING counted live. */
  jobs_by_status: Record<JobState, number>;
  /** COMPLETED / (COMPLETED + FAILED), 0..1; null before any job completed or failed. */
  success_rate: number | null;
  /** Percentiles over jobs finished since `percentiles_since` (a 30-day window). */
  duration_ms: Percentiles;
  fire_lag_ms: Percentiles;
  percentiles_since: string;
  /** Present on `GET /analytics/{workflow_id}`. */
  workflow_id?: string;
}

export const TIMESERIES_BUCKETS = ['hour', 'day'] as const;
export type TimeseriesBucket = (typeof TIMESERIES_BUCKETS)[number];

export interface TimeseriesPoint {
  ts: string;
  completed: number;
  failed: number;
  canceled: number;
  avg_duration_ms: number | null;
  avg_fire_lag_ms: number | null;
}

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

export const analyticsKeys = {
  all: ['analytics'] as const,
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

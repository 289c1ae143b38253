/** Analytics views ↔ chronoverse.analytics.v1 messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  BucketSchema,
  type AnalyticsSummary as SummaryMessage,
  type AnalyticsSummarySchema,
  type Percentiles as PercentilesMessage,
  type PercentilesSchema,
  type TimeseriesPoint as PointMessage,
  type GetTaskAnalyticsResponse as TaskAnalyticsMessage,
  type GetTaskAnalyticsResponseSchema,
  type TimeseriesPointSchema,
} from '../../gen/chronoverse/analytics/v1/analytics_pb.js';
import { fromEnum, fromTimestamp, required, toEnum, toTimestamp } from '../../platform/rpc/codec.ts';
import {
  ANALYTICS_BUCKETS,
  type AnalyticsBucket,
  type AnalyticsSummary,
  type Percentiles,
  type TaskAnalytics,
  type TimeseriesPoint,
} from './types.ts';

const big = (n: number | null): bigint | undefined => (n === null ? undefined : BigInt(n));
const num = (n: bigint | undefined): number | null => (n === undefined ? null : Number(n));

function percentilesToWire(p: Percentiles): MessageInitShape<typeof PercentilesSchema> {
  return { p50: big(p.p50), p95: big(p.p95), p99: big(p.p99) };
}

function percentilesFromWire(m: PercentilesMessage | undefined): Percentiles {
  const p = required(m, 'percentiles');
  return { p50: num(p.p50), p95: num(p.p95), p99: num(p.p99) };
}

export function summaryToWire(
  s: AnalyticsSummary,
  workflowId?: string,
): MessageInitShape<typeof AnalyticsSummarySchema> {
  const j = s.jobs_by_status;
  return {
    workflowId,
    totalWorkflows: BigInt(s.total_workflows),
    totalJobs: BigInt(s.total_jobs),
    totalJoblogs: BigInt(s.total_joblogs),
    totalJobExecutionDuration: s.total_job_execution_duration,
    jobsByStatus: {
      pending: BigInt(j.PENDING),
      queued: BigInt(j.QUEUED),
      running: BigInt(j.RUNNING),
      completed: BigInt(j.COMPLETED),
      failed: BigInt(j.FAILED),
      canceled: BigInt(j.CANCELED),
    },
    successRate: s.success_rate ?? undefined,
    durationMs: percentilesToWire(s.duration_ms),
    fireLagMs: percentilesToWire(s.fire_lag_ms),
    percentilesSince: toTimestamp(s.percentiles_since),
  };
}

export function summaryFromWire(m: SummaryMessage): AnalyticsSummary {
  const j = required(m.jobsByStatus, 'jobs by status');
  return {
    total_workflows: Number(m.totalWorkflows),
    total_jobs: Number(m.totalJobs),
    total_joblogs: Number(m.totalJoblogs),
    total_job_execution_duration: m.totalJobExecutionDuration,
    jobs_by_status: {
      PENDING: Number(j.pending),
      QUEUED: Number(j.queued),
      RUNNING: Number(j.running),
      COMPLETED: Number(j.completed),
      FAILED: Number(j.failed),
      CANCELED: Number(j.canceled),
    },
    success_rate: m.successRate ?? null,
    duration_ms: percentilesFromWire(m.durationMs),
    fire_lag_ms: percentilesFromWire(m.fireLagMs),
    percentiles_since: fromTimestamp(m.percentilesSince),
  };
}

export function pointToWire(p: TimeseriesPoint): MessageInitShape<typeof TimeseriesPointSchema> {
  return {
    ts: toTimestamp(p.ts),
    completed: BigInt(p.completed),
    failed: BigInt(p.failed),
    canceled: BigInt(p.canceled),
    avgDurationMs: big(p.avg_duration_ms),
    avgFireLagMs: big(p.avg_fire_lag_ms),
  };
}

export function pointFromWire(m: PointMessage): TimeseriesPoint {
  return {
    ts: fromTimestamp(m.ts),
    completed: Number(m.completed),
    failed: Number(m.failed),
    canceled: Number(m.canceled),
    avg_duration_ms: num(m.avgDurationMs),
    avg_fire_lag_ms: num(m.avgFireLagMs),
  };
}

export const bucketToWire = (b: AnalyticsBucket) => toEnum(BucketSchema, b);
export const bucketFromWire = (n: number) => fromEnum(BucketSchema, n, ANALYTICS_BUCKETS);

export function taskAnalyticsToWire(
  a: TaskAnalytics,
): MessageInitShape<typeof GetTaskAnalyticsResponseSchema> {
  return {
    workflowId: a.workflow_id,
    since: toTimestamp(a.since),
    tasks: a.tasks.map((t) => ({
      name: t.name,
      runs: BigInt(t.runs),
      instances: BigInt(t.instances),
      completed: BigInt(t.completed),
      failed: BigInt(t.failed),
      attempts: BigInt(t.attempts),
      successRate: t.success_rate ?? undefined,
      durationMs: percentilesToWire(t.duration_ms),
      lastFinishedAt: toTimestamp(t.last_finished_at),
    })),
  };
}

export function taskAnalyticsFromWire(m: TaskAnalyticsMessage): TaskAnalytics {
  return {
    workflow_id: m.workflowId,
    since: fromTimestamp(m.since),
    tasks: m.tasks.map((t) => ({
      name: t.name,
      runs: Number(t.runs),
      instances: Number(t.instances),
      completed: Number(t.completed),
      failed: Number(t.failed),
      attempts: Number(t.attempts),
      success_rate: t.successRate ?? null,
      duration_ms: percentilesFromWire(t.durationMs),
      last_finished_at: fromTimestamp(t.lastFinishedAt),
    })),
  };
}

/**
 * What the gateway needs of the analytics service. `AnalyticsService` implements it in process;
 * the generic adapter over its .proto (src/platform/rpc/service-adapter.ts) over RPC, returning
 * the very same objects.
 */
import type {
  AnalyticsSummary,
  TaskAnalytics,
  TimeseriesOptions,
  TimeseriesPoint,
  WorkflowAnalytics,
} from './types.ts';

export interface AnalyticsApi {
  /** Every workflow of the user, deleted ones included. */
  user(userId: string): Promise<AnalyticsSummary>;
  /** One workflow: 404 unless it is the user's (or was: figures outlive a deleted workflow). */
  workflow(userId: string, workflowId: string): Promise<WorkflowAnalytics>;
  /**
   * Finished jobs per UTC hour or day, zero-filled, oldest first; one workflow (404 unless the
   * user's) or all of them (`workflowId` null). Validates the range (400 listing every field).
   */
  timeseries(
    userId: string,
    workflowId: string | null,
    options: TimeseriesOptions,
  ): Promise<TimeseriesPoint[]>;
  /** A DAG workflow's figures per task over the percentile window: 404 as `workflow`. */
  tasks(userId: string, workflowId: string): Promise<TaskAnalytics>;
}

/** The analytics views, exactly as the HTTP API returns them (snake_case, JSON nulls). */

export const ANALYTICS_BUCKETS = ['hour', 'day'] as const;
export type AnalyticsBucket = (typeof ANALYTICS_BUCKETS)[number];

export interface JobsByStatus {
  PENDING: number;
  QUEUED: number;
  RUNNING: number;
  COMPLETED: number;
  FAILED: number;
  CANCELED: number;
}

/** Nearest-rank percentiles in milliseconds; null when no job was measured. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface AnalyticsSummary {
  total_workflows: number;
  /** The sum of jobs_by_status. */
  total_jobs: number;
  /** Log lines of finished jobs. */
  total_joblogs: number;
  /** Seconds (millisecond precision) from start to end, summed over finished jobs that started. */
  total_job_execution_duration: number;
  jobs_by_status: JobsByStatus;
  /** COMPLETED / (COMPLETED + FAILED), 0…1; null when none completed or failed. */
  success_rate: number | null;
  duration_ms: Percentiles;
  /** started_at − scheduled_at. */
  fire_lag_ms: Percentiles;
  /** Percentiles cover the jobs finished since then (a rolling window). */
  percentiles_since: string;
}

export interface WorkflowAnalytics extends AnalyticsSummary {
  workflow_id: string;
}

export interface TimeseriesOptions {
  /** RFC 3339; default: `to` minus 24 buckets (hour) or 30 buckets (day). Rounded down to its bucket. */
  from?: string;
  /** RFC 3339, exclusive; default: the end of the current bucket. */
  to?: string;
  bucket: AnalyticsBucket;
}

export interface TimeseriesPoint {
  /** Start of the UTC bucket. */
  ts: string;
  completed: number;
  failed: number;
  canceled: number;
  /** Null when no job of the bucket started. */
  avg_duration_ms: number | null;
  avg_fire_lag_ms: number | null;
}

/** One task of a DAG workflow: its instances that ran and ended in the window. */
export interface TaskFigures {
  name: string;
  /** Runs in which it ran at least one instance. */
  runs: number;
  /** Instances that ended (a fan-out has one per item). */
  instances: number;
  completed: number;
  failed: number;
  /** Attempts over all its instances: retries are attempts − instances. */
  attempts: number;
  /** completed / instances, 0…1; null when none ended. */
  success_rate: number | null;
  /** completed_at − started_at of each instance (its attempts and retry waits included). */
  duration_ms: Percentiles;
  last_finished_at: string;
}

/** A DAG workflow's tasks, by name, over the instances finished since `since`. */
export interface TaskAnalytics {
  workflow_id: string;
  tasks: TaskFigures[];
  since: string;
}

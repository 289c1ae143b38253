/**
 * The executor's series. Created per registry (a test runs several engines in one process) and
 * handed to the executor, which reports what it sees; nothing here is global.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ExecutorMetrics {
  /** A job's first attempt started `lagSeconds` after it was due. */
  jobStarted(kind: string, lagSeconds: number): void;
  /** A job reached a final status (COMPLETED, FAILED, CANCELED) through this executor. */
  jobFinished(kind: string, status: string): void;
}

/** Seconds: from 10 ms (a manual run picked up at once) to 10 minutes (a saturated fleet). */
export const FIRE_LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

export function registerExecutorMetrics(
  registry: Registry,
  slots: () => { busy: number; total: number },
): ExecutorMetrics {
  const finished = new Counter({
    name: 'chronoverse_jobs_finished_total',
    help: 'Jobs this executor finished, by final status and workflow kind (jobs canceled before they started are counted by the analytics API, not here)',
    labelNames: ['status', 'kind'] as const,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'chronoverse_job_fire_lag_seconds',
    help: 'Delay from a job being due (scheduled_at) to its first attempt starting, by workflow kind',
    labelNames: ['kind'] as const,
    buckets: FIRE_LAG_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'chronoverse_executor_slots_busy',
    help: 'Jobs this executor is running now',
    registers: [registry],
    collect() {
      this.set(slots().busy);
    },
  });
  new Gauge({
    name: 'chronoverse_executor_slots_total',
    help: 'Jobs this executor runs at most at once (CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY + CHRONOVERSE_EXECUTOR_CONTAINER_CONCURRENCY)',
    registers: [registry],
    collect() {
      this.set(slots().total);
    },
  });
  // Every series exists from the first scrape (rate() and alerts need no first event).
  for (const kind of ['HEARTBEAT', 'CONTAINER']) {
    lag.zero({ kind });
    for (const status of ['COMPLETED', 'FAILED', 'CANCELED']) finished.inc({ status, kind }, 0);
  }
  return {
    jobStarted: (kind, lagSeconds) => lag.observe({ kind }, Math.max(0, lagSeconds)),
    jobFinished: (kind, status) => finished.inc({ status, kind }),
  };
}

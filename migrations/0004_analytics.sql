-- Analytics aggregates (src/workers/analytics-processor): what the JOB_FINISHED facts need beyond
-- the tables of 0001.
--
-- analytics_job_durations holds one row per finished job and is also the de-duplication record:
-- the processor inserts with ON CONFLICT (job_id) DO NOTHING and adds to the totals and buckets
-- only what that insert returned, so a replayed fact changes nothing. A job that never started
-- (canceled while pending) has no duration and no fire lag.
ALTER TABLE analytics_job_durations ALTER COLUMN duration_ms DROP NOT NULL;
ALTER TABLE analytics_job_durations ADD COLUMN trigger text NOT NULL DEFAULT 'AUTOMATIC'
  CHECK (trigger IN ('AUTOMATIC', 'MANUAL'));
ALTER TABLE analytics_job_durations ADD CONSTRAINT analytics_job_durations_status_check
  CHECK (status IN ('COMPLETED', 'FAILED', 'CANCELED'));

-- Percentiles read (owner, finished_at range) and only the two measures: covering indexes make
-- them index-only scans (bench/analytics.ts, docs/performance.md "Analytics").
DROP INDEX analytics_job_durations_user_idx;
DROP INDEX analytics_job_durations_workflow_idx;
CREATE INDEX analytics_job_durations_user_idx ON analytics_job_durations (user_id, finished_at)
  INCLUDE (duration_ms, fire_lag_ms);
CREATE INDEX analytics_job_durations_workflow_idx ON analytics_job_durations (workflow_id, finished_at)
  INCLUDE (duration_ms, fire_lag_ms);

-- Averages per bucket need how many jobs had a duration / a fire lag (not every finished job
-- started).
ALTER TABLE analytics_job_buckets ADD COLUMN duration_count integer NOT NULL DEFAULT 0;
ALTER TABLE analytics_job_buckets ADD COLUMN fire_lag_count integer NOT NULL DEFAULT 0;
-- The user-level time series (all workflows) reads a bucket range per user.
CREATE INDEX analytics_job_buckets_user_bucket_idx ON analytics_job_buckets (user_id, bucket);

ALTER TABLE analytics_workflow_totals ADD COLUMN duration_count bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_workflow_totals ADD COLUMN fire_lag_ms_total bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_workflow_totals ADD COLUMN fire_lag_count bigint NOT NULL DEFAULT 0;

-- Jobs in flight are counted live (PENDING, QUEUED, RUNNING by owner and workflow); this partial
-- index holds only those rows, so it stays small however many jobs finished.
CREATE INDEX jobs_in_flight_idx ON jobs (user_id, workflow_id, status)
  WHERE status IN ('PENDING', 'QUEUED', 'RUNNING');

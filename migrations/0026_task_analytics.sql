-- Per-task figures of DAG runs (issue 12): one row per task instance that ran and ended
-- COMPLETED or FAILED, from the TASK_FINISHED facts the completer writes. As with
-- analytics_job_durations, the primary key is the de-duplication record (a redelivered fact
-- inserts nothing), there is no foreign key (figures outlive a deleted workflow), and the
-- per-task view reads one workflow's rows of a rolling window: (workflow_id, finished_at) with
-- what it aggregates included, an index-only scan.
CREATE TABLE analytics_task_durations (
  job_id      uuid PRIMARY KEY,
  user_id     uuid NOT NULL,
  workflow_id uuid NOT NULL,
  run_id      uuid NOT NULL,
  task_name   text NOT NULL,
  status      text NOT NULL CHECK (status IN ('COMPLETED', 'FAILED')),
  attempts    integer NOT NULL,
  -- Null when the instance has no start time (it never started an attempt).
  duration_ms integer,
  finished_at timestamptz NOT NULL
);

CREATE INDEX analytics_task_durations_workflow_idx ON analytics_task_durations (workflow_id, finished_at)
  INCLUDE (task_name, run_id, status, attempts, duration_ms);

-- Multi-task workflows (issue 12): a DAG run is a job row (kind DAG) and each of its task
-- instances is a job row too, with `run_id` pointing at the run. Task rows go through the same
-- claim, lease, log, artifact and completion path as a single-task job; the run row holds no
-- lease while its tasks run (nothing executes it), and the transaction that completes a task
-- resolves the run (src/workers/executor/dag-runs.ts): the next tasks are inserted QUEUED in it.
--
-- Why rows in `jobs` and not a table of their own: every executor statement (claim with quotas
-- and per-kind slots, renewal, rescue, hand-back, batched completion), the log store, artifacts
-- and cancellation already work on job ids; a second table would need a second copy of each.
-- What is per run (overlap, the failure policy, facts, lists, quotas on runs) reads run rows
-- only: `run_id IS NULL`, which the per-workflow indexes below now include in their predicates.

-- ─── kinds and states ─────────────────────────────────────────────────────────────────────
ALTER TABLE workflows DROP CONSTRAINT workflows_kind_check;
ALTER TABLE workflows ADD CONSTRAINT workflows_kind_check CHECK (kind IN ('HEARTBEAT', 'CONTAINER', 'DAG'));
-- A DAG's container tasks have logs to keep; a heartbeat has none.
ALTER TABLE workflows DROP CONSTRAINT workflows_check3;
ALTER TABLE workflows ADD CONSTRAINT workflows_log_retention_kind CHECK (kind <> 'HEARTBEAT' OR NOT log_retention);

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('HEARTBEAT', 'CONTAINER', 'DAG'));
-- SKIPPED: a task whose condition was false (task rows only); final like COMPLETED.
ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'SKIPPED'));
ALTER TABLE jobs DROP CONSTRAINT jobs_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_completed_when_final
  CHECK ((completed_at IS NOT NULL) = (status IN ('COMPLETED', 'FAILED', 'CANCELED', 'SKIPPED')));
-- A lease only while RUNNING, and every RUNNING job holds one, but for a DAG run once started:
-- it is claimed with a lease like any job, then drops it (its tasks hold theirs).
ALTER TABLE jobs DROP CONSTRAINT jobs_check1;
ALTER TABLE jobs ADD CONSTRAINT jobs_lease_while_running
  CHECK ((lease_owner IS NULL OR status = 'RUNNING') AND (status <> 'RUNNING' OR lease_owner IS NOT NULL OR kind = 'DAG'));

-- ─── task rows ────────────────────────────────────────────────────────────────────────────
ALTER TABLE jobs ADD COLUMN run_id uuid REFERENCES jobs (id) ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN task_name text;
-- The instance of a fan-out (for_each), 0-based; NULL for a plain task.
ALTER TABLE jobs ADD COLUMN task_index integer CHECK (task_index >= 0);
-- The item of a fan-out instance ({{item}}), as JSON.
ALTER TABLE jobs ADD COLUMN task_item jsonb;
-- What a finished task set (`::output k=v`, a heartbeat's status and JSON body); ≤ 64 KiB.
ALTER TABLE jobs ADD COLUMN outputs jsonb;
-- A task's retry policy (src/domain/task-retry.ts, `on` and backoff); NULL: the job's own rule.
ALTER TABLE jobs ADD COLUMN retry_policy jsonb;
-- A DAG run's fan-outs once expanded: { "<task>": <instance count> } (run rows only).
ALTER TABLE jobs ADD COLUMN dag_state jsonb;
ALTER TABLE jobs ADD CONSTRAINT jobs_task_of_run CHECK ((run_id IS NULL) = (task_name IS NULL));

-- Each task instance of a run exists once: the resolver inserts ON CONFLICT DO NOTHING, so a
-- resolution repeated after a crash adds nothing. Also the lookup of a run's tasks.
CREATE UNIQUE INDEX jobs_run_task_uq ON jobs (run_id, task_name, COALESCE(task_index, -1))
  WHERE run_id IS NOT NULL;

-- ─── per-workflow indexes: runs only ──────────────────────────────────────────────────────
-- The tasks of a run run side by side under their run, which is the one RUNNING job of its
-- workflow; the scheduler's tick guard and the claim's sibling probe are about runs.
DROP INDEX jobs_automatic_tick_uq;
CREATE UNIQUE INDEX jobs_automatic_tick_uq ON jobs (workflow_id, scheduled_at)
  WHERE trigger = 'AUTOMATIC' AND run_id IS NULL;
DROP INDEX jobs_one_running_per_workflow;
CREATE UNIQUE INDEX jobs_one_running_per_workflow ON jobs (workflow_id)
  WHERE status = 'RUNNING' AND run_id IS NULL;
DROP INDEX jobs_workflow_active_idx;
CREATE INDEX jobs_workflow_active_idx ON jobs (workflow_id, scheduled_at, id)
  WHERE status IN ('PENDING', 'QUEUED', 'RUNNING') AND run_id IS NULL;

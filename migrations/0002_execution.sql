-- Execution engine: queue order within a workflow and the no-overlap guarantee.

-- Jobs of one workflow never overlap: at most one RUNNING job per workflow. The claim statement
-- already skips workflows with a running job; this index is the guard against two executors
-- claiming siblings in concurrent transactions.
CREATE UNIQUE INDEX jobs_one_running_per_workflow ON jobs (workflow_id) WHERE status = 'RUNNING';

-- The claim's "is there an earlier runnable or a running sibling?" probes.
CREATE INDEX jobs_workflow_active_idx ON jobs (workflow_id, scheduled_at, id)
  WHERE status IN ('PENDING', 'QUEUED', 'RUNNING');

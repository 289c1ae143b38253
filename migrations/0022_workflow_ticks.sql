-- The tick ledger (issue 13; docs/api.md "Tick ledger"; GET /workflows/{id}/ticks): one row per
-- (workflow, nominal fire time) saying what became of it and why. Written by the scheduler in the
-- transaction of the tick that handles the fire time (src/workers/scheduler/scheduler.ts), and by
-- a resume for the fire times of a pause the scheduler did not get to (src/services/workflows).
--
-- The primary key (workflow_id, nominal_at) is both the guard and the read path:
-- - a fire time is recorded once: two racing schedulers cannot both claim a workflow (FOR UPDATE
--   SKIP LOCKED), and a retried or repeated write is an INSERT … ON CONFLICT DO NOTHING;
-- - `GET …/ticks?from=&to=` is a range scan of it in nominal order.
-- A row is never inserted twice, but its outcome may change once, later: a run that was STARTED
-- and then ended by the scheduler's deadline sweep becomes MISSED_DEADLINE, one canceled by a later
-- fire time under CANCEL_OTHER becomes CANCELED_OTHER (the row keeps its job_id). Keeping one row
-- per fire time with its final outcome is what the ledger promises ("exactly once").
--
-- job_id has no foreign key: the ledger is kept for the log retention period whatever happens to
-- the job rows, and a key would cost a lookup per inserted row on the scheduler's hot path.
--
-- scheduled_at: the nominal time plus the workflow's deterministic jitter (the run's start time for
-- STARTED and BUFFERED; what it would have been for the others). A summary row (a tick that would
-- record more than 1,000 fire times, e.g. a minutely schedule after a month without a scheduler,
-- src/domain/catch-up.ts MAX_LEDGER_TICKS) stands at the first fire time it summarises and says
-- how many it stands for in its reason.
--
-- DST_SKIPPED, DST_DOUBLED and NOT_BUILT are accepted for the DST policy and build work to come;
-- nothing writes them yet, nor TERMINATED.
CREATE TABLE workflow_ticks (
  workflow_id  uuid        NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  nominal_at   timestamptz NOT NULL,
  scheduled_at timestamptz NOT NULL,
  outcome      text        NOT NULL CHECK (outcome IN (
                 'STARTED', 'SKIPPED_OVERLAP', 'BUFFERED', 'CANCELED_OTHER', 'MISSED_DEADLINE',
                 'CAUGHT_UP', 'SKIPPED_CATCH_UP', 'PAUSED', 'TERMINATED',
                 'DST_SKIPPED', 'DST_DOUBLED', 'NOT_BUILT')),
  job_id       uuid,
  reason       text,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (workflow_id, nominal_at)
);

-- Retention (src/workers/log-retention): rows older than the log retention period are deleted in
-- batches by recorded_at. Rows arrive in recorded_at order, so a BRIN index finds the old ones
-- for next to nothing on every insert (a B-tree would be one more index write per fire time on
-- the scheduler's hot path). Not partitioned like job_logs: the rows are small (~100 bytes; a
-- million ticks is ~150 MB with the key), and daily partitions would need the partition key in
-- the primary key and partitions made ahead, for a delete that runs once an hour.
CREATE INDEX workflow_ticks_recorded_at_brin ON workflow_ticks USING brin (recorded_at);

-- The scheduler also claims paused workflows whose next fire time is due, to record it as PAUSED
-- and move past it (the ledger of a pause is written while it lasts). Only paused workflows are
-- in this index, so the extra claim of every tick reads an empty or tiny index.
CREATE INDEX workflows_paused_due_idx ON workflows (next_run_at)
  WHERE next_run_at IS NOT NULL AND terminated_at IS NULL AND paused_at IS NOT NULL AND build_status = 'COMPLETED';

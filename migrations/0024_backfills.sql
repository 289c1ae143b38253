-- Backfills and the ALLOW_ALL overlap policy (issue 13; docs/scheduling.md "Backfill").
--
-- A backfill runs a workflow's fire times of a past range [range_from, range_to) as jobs with
-- trigger BACKFILL. Its fire times are computed once, when it is created (the schedule may change
-- afterwards; the backfill runs what was asked), and kept in the row: `nominal_times` as the
-- schedule names them, `scheduled_times` with the workflow's jitter. Jobs are created lazily, at
-- most `max_parallel` unfinished at once: the transaction that completes one of its jobs (the
-- executor's completer) locks the backfill row, counts its unfinished jobs and creates the next
-- ones (src/services/backfills/feed.ts); the scheduler's tick sweeps RUNNING backfills as a
-- fallback (jobs canceled by hand, a crash between two statements). `next_index` is how many
-- fire times have a job.
--
-- No row in the tick ledger: the ledger is one entry per nominal fire time of the live schedule
-- (primary key (workflow_id, nominal_at)); a backfill is its own record of what it ran.
CREATE TABLE backfills (
  id              uuid        PRIMARY KEY,
  workflow_id     uuid        NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  range_from      timestamptz NOT NULL,
  range_to        timestamptz NOT NULL CHECK (range_to > range_from),
  overlap         text        NOT NULL CHECK (overlap IN ('ALLOW_ALL', 'BUFFER_ALL')),
  max_parallel    integer     NOT NULL CHECK (max_parallel BETWEEN 1 AND 100),
  nominal_times   timestamptz[] NOT NULL,
  scheduled_times timestamptz[] NOT NULL,
  next_index      integer     NOT NULL DEFAULT 0 CHECK (next_index >= 0),
  status          text        NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'COMPLETED', 'CANCELED')),
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  CHECK (cardinality(nominal_times) = cardinality(scheduled_times)),
  CHECK ((finished_at IS NULL) = (status = 'RUNNING'))
);
-- GET /workflows/{id}/backfills, newest first (UUIDv7 ids).
CREATE INDEX backfills_workflow_idx ON backfills (workflow_id, id DESC);
-- The scheduler's fallback sweep: only RUNNING backfills are in it.
CREATE INDEX backfills_running_idx ON backfills (id) WHERE status = 'RUNNING';

ALTER TABLE jobs DROP CONSTRAINT jobs_trigger_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_trigger_check CHECK (trigger IN ('AUTOMATIC', 'MANUAL', 'BACKFILL'));
ALTER TABLE analytics_job_durations DROP CONSTRAINT analytics_job_durations_trigger_check;
ALTER TABLE analytics_job_durations ADD CONSTRAINT analytics_job_durations_trigger_check
  CHECK (trigger IN ('AUTOMATIC', 'MANUAL', 'BACKFILL'));

-- The backfill a job runs a fire time of (no foreign key: jobs and backfills both go with their
-- workflow, and a key would cost a lookup per inserted job).
ALTER TABLE jobs ADD COLUMN backfill_id uuid;
-- A fire time of a backfill has one job: the feeder inserts ON CONFLICT DO NOTHING. Also the
-- backfill's progress counts (one range scan per backfill).
CREATE UNIQUE INDEX jobs_backfill_fire_uq ON jobs (backfill_id, scheduled_at) WHERE backfill_id IS NOT NULL;

-- A run that may run beside the workflow's other runs: created under overlap ALLOW_ALL (the
-- workflow's policy, or a backfill's). The claim neither waits for its siblings nor makes them
-- wait for it, and it is left out of the one-running-per-workflow guard. A constant default: no
-- table rewrite.
ALTER TABLE jobs ADD COLUMN concurrent boolean NOT NULL DEFAULT false;
DROP INDEX jobs_one_running_per_workflow;
CREATE UNIQUE INDEX jobs_one_running_per_workflow ON jobs (workflow_id)
  WHERE status = 'RUNNING' AND run_id IS NULL AND NOT concurrent;
DROP INDEX jobs_workflow_active_idx;
CREATE INDEX jobs_workflow_active_idx ON jobs (workflow_id, scheduled_at, id)
  WHERE status IN ('PENDING', 'QUEUED', 'RUNNING') AND run_id IS NULL AND NOT concurrent;

-- Schedule policies (issue 13, src/domain/schedule-policy.ts): overlap, catch-up and jitter of a
-- recurring schedule, as the API shows them (`schedule.policy`). NULL means the defaults, which are
-- the behaviour before policies existed (BUFFER_ALL, LATEST, no jitter): existing rows need no
-- backfill, and the scheduler's common case reads no JSON.
ALTER TABLE workflows ADD COLUMN schedule_policy jsonb;

-- The starting deadline of an automatic job (schedule.policy.starting_deadline_seconds): the
-- instant after which it is not started. The claim passes over a job past it, and the scheduler
-- ends such jobs CANCELED with error MISSED_DEADLINE, finding them on this index: only jobs that
-- have a deadline and are still waiting are in it, so the sweep each round reads next to nothing.
ALTER TABLE jobs ADD COLUMN start_by timestamptz;
CREATE INDEX jobs_start_by_idx ON jobs (start_by) WHERE start_by IS NOT NULL AND status IN ('PENDING', 'QUEUED');

-- Schedule policies (issue 13, src/domain/schedule-policy.ts): overlap, catch-up and jitter of a
-- recurring schedule, as the API shows them (`schedule.policy`). NULL means the defaults, which are
-- the behaviour before policies existed (BUFFER_ALL, LATEST, no jitter): existing rows need no
-- backfill, and the scheduler's common case reads no JSON.
ALTER TABLE workflows ADD COLUMN schedule_policy jsonb;

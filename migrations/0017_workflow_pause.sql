-- Pause and resume (issue 13; docs/api.md "Pause and resume"). `paused_at` exists since 0001 and
-- the scheduler's claim and workflows_due_idx already leave paused workflows out; this adds what a
-- pause says and the option to pause instead of terminating at the failure limit.
--
-- pause_note: why it is paused, as the user wrote it (at most 500 characters, src/domain/pause.ts)
-- or as the failure policy wrote it ("paused after 3 consecutive failures"). A note only exists on
-- a paused workflow: resume clears both together.
ALTER TABLE workflows ADD COLUMN pause_note text;
ALTER TABLE workflows ADD CONSTRAINT workflows_pause_note_paused
  CHECK (pause_note IS NULL OR paused_at IS NOT NULL);
ALTER TABLE workflows ADD CONSTRAINT workflows_pause_note_length CHECK (char_length(pause_note) <= 500);

-- pause_on_failure: reaching max_consecutive_job_failures_allowed pauses the workflow (it can be
-- resumed as it is) instead of terminating it (an edit re-activates it, which rebuilds it).
ALTER TABLE workflows ADD COLUMN pause_on_failure boolean NOT NULL DEFAULT false;

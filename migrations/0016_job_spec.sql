-- A job runs the definition it was created with (issue 17): its kind and payload are copied from
-- the workflow when the job is created (the scheduler's tick, a manual run, a retry), so an edit
-- applies to jobs created after it and never changes a job that is already queued or retrying.
-- Before, the claim read `workflows.payload` when it started each attempt.
--
-- The kind is on the job too, so that the claim's per-kind slots and the container quota read the
-- job row they already hold instead of probing `workflows` per candidate.
ALTER TABLE jobs ADD COLUMN kind text CHECK (kind IN ('HEARTBEAT', 'CONTAINER'));
ALTER TABLE jobs ADD COLUMN spec jsonb;

-- Existing jobs get their workflow's definition as it is now: the one queued jobs would have run.
UPDATE jobs j SET kind = w.kind, spec = w.payload FROM workflows w WHERE w.id = j.workflow_id;

ALTER TABLE jobs ALTER COLUMN kind SET NOT NULL;
ALTER TABLE jobs ALTER COLUMN spec SET NOT NULL;

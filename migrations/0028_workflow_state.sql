-- The workflow's state as one column (issue 17): the lifecycle's states (src/domain/workflow-status.ts,
-- the API's `status`), written by every change of the lifecycle through guarded UPDATEs
-- (`WHERE state IN (…)` from the machine) instead of being derived from four columns by precedence.
-- terminated_at, completed_at and paused_at stay as the facts of when; build_status stays as the
-- build's own progress.
ALTER TABLE workflows ADD COLUMN state text;

-- Backfill with the precedence the API used: terminated > completed (a once schedule that ran) >
-- the build's outcome > paused > active.
UPDATE workflows SET state = CASE
  WHEN terminated_at IS NOT NULL THEN 'TERMINATED'
  WHEN completed_at IS NOT NULL THEN 'COMPLETED'
  WHEN build_status IN ('QUEUED', 'STARTED') THEN 'BUILDING'
  WHEN build_status IN ('FAILED', 'CANCELED') THEN 'BUILD_FAILED'
  WHEN paused_at IS NOT NULL THEN 'PAUSED'
  ELSE 'ACTIVE'
END;

ALTER TABLE workflows ALTER COLUMN state SET NOT NULL;
-- A new workflow's build is queued with it (build_status defaults to QUEUED).
ALTER TABLE workflows ALTER COLUMN state SET DEFAULT 'BUILDING';
ALTER TABLE workflows ADD CONSTRAINT workflows_state_valid
  CHECK (state IN ('BUILDING', 'ACTIVE', 'PAUSED', 'BUILD_FAILED', 'TERMINATED', 'COMPLETED'));
-- The facts agree with the state (together these admit exactly the state the precedence above
-- gives, src/domain/workflow-status.test.ts): a write that moved one without the other fails here.
ALTER TABLE workflows ADD CONSTRAINT workflows_state_terminated
  CHECK ((state = 'TERMINATED') = (terminated_at IS NOT NULL));
ALTER TABLE workflows ADD CONSTRAINT workflows_state_completed
  CHECK ((state = 'COMPLETED') = (completed_at IS NOT NULL AND terminated_at IS NULL));
ALTER TABLE workflows ADD CONSTRAINT workflows_state_built
  CHECK (state NOT IN ('ACTIVE', 'PAUSED') OR build_status = 'COMPLETED');
ALTER TABLE workflows ADD CONSTRAINT workflows_state_paused
  CHECK (state NOT IN ('ACTIVE', 'PAUSED') OR (state = 'PAUSED') = (paused_at IS NOT NULL));
ALTER TABLE workflows ADD CONSTRAINT workflows_state_building
  CHECK (state <> 'BUILDING' OR build_status IN ('QUEUED', 'STARTED'));
ALTER TABLE workflows ADD CONSTRAINT workflows_state_build_failed
  CHECK (state <> 'BUILD_FAILED' OR build_status IN ('FAILED', 'CANCELED'));

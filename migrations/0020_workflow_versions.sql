-- Immutable workflow versions (issue 12, docs/api.md "Versions"). Every create and every edit that
-- changes a workflow's definition records a new version (1, 2, …); a run records the version it ran.
--
-- The definition is what shapes a run: kind, payload, schedule (with its policy) and the options an
-- edit can change that act on runs (failure limit, pause on failure, log retention). The name and the
-- labels are not part of it: renaming or relabelling makes no version.
--
-- It is computed by one SQL function, used by this backfill and by the service (src/services/workflows/
-- versions.ts), so that "same definition" means the same thing for both and an edit that changes
-- nothing makes no version. A later change of what a definition holds replaces the function (CREATE
-- OR REPLACE) in its own migration. Times are written as JavaScript's toISOString() writes them,
-- whatever the session's TimeZone.
CREATE FUNCTION workflow_definition(w workflows) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'kind', w.kind,
    'payload', w.payload,
    'schedule_type', w.schedule_type,
    'interval_minutes', w.interval_minutes,
    'cron_expression', w.cron_expression,
    'timezone', w.timezone,
    'run_at', to_char(w.run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'schedule_policy', w.schedule_policy,
    'max_consecutive_job_failures_allowed', w.max_consecutive_job_failures_allowed,
    'pause_on_failure', w.pause_on_failure,
    'log_retention', w.log_retention
  )
$$;

CREATE TABLE workflow_versions (
  workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  version int NOT NULL CHECK (version >= 1),
  -- workflow_definition() of the workflow when this version was made; never updated.
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  -- Who made it (the owner today; kept apart for shared workflows later). NULL once that user is gone.
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  PRIMARY KEY (workflow_id, version)
);

-- The current version: the one a run created now copies.
ALTER TABLE workflows ADD COLUMN version int NOT NULL DEFAULT 1;

-- The version a run ran. NULL only for rows written outside the services (tests' raw inserts);
-- the scheduler, run now and retry always set it.
ALTER TABLE jobs ADD COLUMN workflow_version int;

-- Existing workflows get version 1, their definition as it is now; their jobs ran it (as far as we
-- know: before this migration nothing recorded more).
INSERT INTO workflow_versions (workflow_id, version, definition, created_at, created_by)
SELECT w.id, 1, workflow_definition(w), w.updated_at, w.user_id FROM workflows w;
UPDATE jobs SET workflow_version = 1;

-- Artifact retention per workflow (issue 14): `artifact_retention` in a CONTAINER payload or a
-- DAG's payload ("7d"). The executor fixes each artifact's end when it stores it, from the
-- retention of the workflow version that ran (as GitLab CI's `expire_in`): a later edit applies
-- to the artifacts kept after it. NULL: the installation's CHRONOVERSE_ARTIFACTS_RETENTION, read
-- by the housekeeping at each run, so changing it applies to those artifacts at once.
ALTER TABLE artifacts ADD COLUMN expires_at timestamptz;

-- The retention sweep's second half (src/workers/housekeeping/artifacts.ts): the rows whose own
-- end has passed, oldest end first. Rows without one are found by artifacts_created_idx.
CREATE INDEX artifacts_expires_idx ON artifacts (expires_at) WHERE expires_at IS NOT NULL;

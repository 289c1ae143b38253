-- Artifacts (issue 14): files a CONTAINER job declared (`payload.artifacts`), copied out of its
-- container after each attempt and kept in the artifact store (src/platform/artifacts). A row is
-- written only after its object is stored, so a row always has its object; an object may briefly
-- lack its row (a crash between the two), which the housekeeping janitor removes.
--
-- The rows go with their job (and so with their workflow and user); the service that deletes a
-- workflow deletes the objects too, and the janitor catches any it could not.
CREATE TABLE artifacts (
  id           uuid PRIMARY KEY,
  job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  workflow_id  uuid NOT NULL,
  user_id      uuid NOT NULL,
  attempt      integer NOT NULL CHECK (attempt >= 1),
  -- The task of a DAG run that produced it; 'main' for a single-task workflow.
  task         text NOT NULL DEFAULT 'main',
  name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  size         bigint NOT NULL CHECK (size >= 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content_type text NOT NULL,
  storage_key  text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, task, attempt, name)
);

-- The API lists a job's artifacts; the retention sweep deletes the oldest first.
CREATE INDEX artifacts_job_idx ON artifacts (job_id, created_at);
CREATE INDEX artifacts_created_idx ON artifacts (created_at);

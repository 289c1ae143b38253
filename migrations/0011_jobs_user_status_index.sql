-- `GET /jobs` (the jobs of all a user's workflows, newest first, optionally by status): one
-- ordered walk of (user_id, status, id DESC) per status, merged (src/services/jobs/list-all.ts,
-- with the plans measured by bench/job-lists.ts). Without it PostgreSQL walks jobs_pkey backwards
-- and filters, reading every other user's newer jobs first, and all of them for a status the user
-- has none of.
-- A plain CREATE INDEX: migrations run in one transaction, where CONCURRENTLY is not allowed. On a
-- large jobs table, create it CONCURRENTLY by hand before upgrading (IF NOT EXISTS then skips it).
CREATE INDEX IF NOT EXISTS jobs_user_status_idx ON jobs (user_id, status, id DESC);

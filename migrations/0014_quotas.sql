-- Quotas (issue 16): per-user limits an administrator sets, and what enforcing them reads.
-- src/domain/quotas.ts has the design note; docs/operations.md "Quotas" the operator's view.

-- ─── per-user values ────────────────────────────────────────────────────────────────────
-- A row only for a user an administrator gave values of their own; a NULL column (or no row) is
-- the default for the user's role (CHRONOVERSE_QUOTA_*; administrators: no limit). 0 = no limit.
CREATE TABLE user_quotas (
  user_id                   uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  max_workflows             integer CHECK (max_workflows BETWEEN 0 AND 1000000),
  runs_per_minute           integer CHECK (runs_per_minute BETWEEN 0 AND 100000),
  min_schedule_seconds      integer CHECK (min_schedule_seconds BETWEEN 0 AND 86400),
  max_concurrent_containers integer CHECK (max_concurrent_containers BETWEEN 0 AND 10000),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  updated_by                uuid REFERENCES users (id) ON DELETE SET NULL
);

-- ─── runs per minute ────────────────────────────────────────────────────────────────────
-- The manual runs and retries a user asked for in the last minute (src/services/quotas/enforce.ts):
-- one range scan of this user's newest MANUAL jobs, whatever the size of the jobs table.
CREATE INDEX jobs_user_manual_created_idx ON jobs (user_id, created_at) WHERE trigger = 'MANUAL';

-- ─── concurrent containers ──────────────────────────────────────────────────────────────
-- A RUNNING CONTAINER job of a user with a container quota holds one of the user's slots,
-- 1..quota, given by the executor's claim (src/workers/executor/sql.ts). Two executors claiming
-- for the same user at once cannot both take the same slot: the loser gets 23505 and claims again
-- next round, as with jobs_one_running_per_workflow. The index is also how the claim counts what
-- each user runs now. A job leaving RUNNING leaves the index; its slot number is not cleared.
ALTER TABLE jobs ADD COLUMN container_slot integer CHECK (container_slot >= 1);
CREATE UNIQUE INDEX jobs_container_slot_uq ON jobs (user_id, container_slot)
  WHERE status = 'RUNNING' AND container_slot IS NOT NULL;

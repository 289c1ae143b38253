-- Missed-fire incidents (issue 13; docs/scheduling.md "Missed-fire alerts"): a workflow whose due
-- fire time has not started within CHRONOVERSE_SCHEDULER_MISSED_ALERT_AFTER has one open incident,
-- opened by whichever detector saw it first (src/workers/scheduler/missed-fires.ts). The partial
-- unique index is the "exactly once": every detector inserts with ON CONFLICT DO NOTHING and only
-- the one whose row went in writes the SCHEDULE_MISSED fact (ALERT notification, webhook event),
-- in the same transaction. The incident is resolved when the workflow's fire times start again;
-- a later miss opens a new one (a new alert).
--
-- (Migration 0022's note that nothing writes TERMINATED, DST_SKIPPED or DST_DOUBLED is out of date:
-- the scheduler and termination write them now, src/services/ticks/ledger.ts. No schema change.)
CREATE TABLE schedule_incidents (
  id          uuid        PRIMARY KEY,
  workflow_id uuid        NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  cause       text        NOT NULL CHECK (cause IN ('SCHEDULER_DOWN', 'EXECUTORS_SATURATED', 'NOT_BUILT')),
  -- The fire time (or waiting run's scheduled time) that had not started.
  due_at      timestamptz NOT NULL,
  reason      text        NOT NULL,
  opened_at   timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE UNIQUE INDEX schedule_incidents_open_uq ON schedule_incidents (workflow_id) WHERE resolved_at IS NULL;
-- The detector's look for late workflows that are not built (its other looks use workflows_due_idx
-- and jobs_runnable_idx): only such workflows are in it, so the scheduler's updates of built ones
-- never write it. Without it every round read the whole table: beside 100k workflows and 20k
-- waiting jobs, none late, a round took 89 ms median, with it 10 ms (`node bench/missed-fires.ts`,
-- PostgreSQL 15 on the shared 2-core machine).
CREATE INDEX workflows_unbuilt_due_idx ON workflows (next_run_at)
  WHERE next_run_at IS NOT NULL AND terminated_at IS NULL AND paused_at IS NULL AND build_status <> 'COMPLETED';

-- WEBHOOK subscriptions (issue 14; docs/notifications.md): `target` is one of the user's webhook
-- endpoints, deleted with it. One subscription per (user, channel, scope, target): a workflow may
-- go to several endpoints, each with its own events; IN_APP and EMAIL have no target and keep
-- one per (user, channel, scope).
ALTER TABLE notification_subscriptions
  ADD COLUMN target uuid REFERENCES webhooks (id) ON DELETE CASCADE;
ALTER TABLE notification_subscriptions DROP CONSTRAINT notification_subscriptions_channel_check;
ALTER TABLE notification_subscriptions ADD CONSTRAINT notification_subscriptions_channel_check
  CHECK (channel IN ('IN_APP', 'EMAIL', 'WEBHOOK') AND ((channel = 'WEBHOOK') = (target IS NOT NULL)));
DROP INDEX notification_subscriptions_scope_idx;
CREATE UNIQUE INDEX notification_subscriptions_scope_idx ON notification_subscriptions
  (user_id, channel, COALESCE(workflow_id, '00000000-0000-0000-0000-000000000000'::uuid),
   COALESCE(target, '00000000-0000-0000-0000-000000000000'::uuid));

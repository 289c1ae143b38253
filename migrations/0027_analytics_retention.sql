-- Retention of the analytics duration rows (housekeeping): analytics_job_durations and
-- analytics_task_durations grew forever, though the percentiles read only their last 30 days and
-- the totals and hourly buckets keep the rest. Rows are deleted by `finished_at`, which neither
-- table indexed on its own; both are written roughly in finished_at order, so a BRIN index (a few
-- pages for millions of rows) finds the old ranges without the cost of a second B-tree on the
-- processor's insert path.
CREATE INDEX analytics_job_durations_finished_brin ON analytics_job_durations USING brin (finished_at);
CREATE INDEX analytics_task_durations_finished_brin ON analytics_task_durations USING brin (finished_at);

-- Room for HOT updates, and a small index for the claim of containers alone (issue 11). Measured with
-- `node bench/engine.ts throughput 20000 2000` and pg_stat_statements, the statements' total time
-- in one run, before → after:
--
-- The relay's claim only moves an outbox row's next_attempt_at (no index has it), but with full
-- pages (fillfactor 100: rows are appended and fill them) every such update was non-HOT and wrote
-- an entry into each of the outbox's three indexes: 621 → 338 ms (5.5 → 3.0 ms per batch of ~180).
-- New pages are filled half; the freed space is reused once the published rows are pruned.
ALTER TABLE outbox SET (fillfactor = 50);

-- A completion updates its workflow's failure count and, for `once`, its state and completed_at:
-- none of them indexed, so HOT when the page has room (the tick's next_run_at is indexed and stays
-- non-HOT). The completion statement 10.1 → 8.3 ms per batch of ~155 jobs.
ALTER TABLE workflows SET (fillfactor = 70);

-- With every heartbeat slot busy the executor claims containers alone (`AND j.kind = 'CONTAINER'`).
-- On jobs_runnable_idx that walked every queued heartbeat to find none: 3.2 ms per empty round,
-- 146 rounds (471 ms) in the run above. Only runnable CONTAINER rows are in this one: 0.03 ms.
CREATE INDEX jobs_runnable_container_idx ON jobs (scheduled_at, id)
  WHERE status IN ('PENDING', 'QUEUED') AND kind = 'CONTAINER';

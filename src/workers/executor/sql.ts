/**
 * The executor's hot-path statements, in plain sight. Each is one statement per batch.
 */
import { sql, type Kysely } from 'kysely';
import { TRANSITIONS, type JobEvent, type JobTrigger } from '../../domain/job-state.ts';
import { QUOTA_DEFAULTS } from '../../domain/quotas.ts';
import type { TaskRetryPolicy } from '../../domain/task-retry.ts';
import { PREPARED } from '../../platform/db/prepared.ts';
import type { DB } from '../../platform/db/schema.ts';

/**
 * The states a job may leave by `event`, as an SQL list for `status IN (…)`: every guarded
 * UPDATE of the job lifecycle takes its `from` states from the one state machine
 * (src/domain/job-state.ts) instead of repeating literals. The text equals the literals the
 * partial indexes are declared with (e.g. jobs_runnable_idx), so the planner still matches them.
 */
export function fromStates(event: JobEvent) {
  return sql.raw(TRANSITIONS[event].from.map((s) => `'${s}'`).join(', '));
}

export interface ClaimedJob {
  id: string;
  workflow_id: string;
  user_id: string;
  workflow_generation: number;
  attempts: number;
  max_attempts: number;
  scheduled_at: Date;
  /** DAG: a run, whose tasks are jobs of their own (src/services/runs/dag-runs.ts); the executor only starts it. */
  kind: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  /** A DAG task's run (its completion resolves the run), else null. */
  run_id: string | null;
  /** The backfill this run is a fire time of (its completion lets the next one in), else null. */
  backfill_id: string | null;
  /** A DAG task's name (its artifacts are filed under it), else null. */
  task_name: string | null;
  /** A DAG task's time left before its timeout_seconds deadline (ms), else null. */
  deadline_ms: number | null;
  /** A DAG task's retry policy (src/domain/task-retry.ts), else null: the job's own rule. */
  retry_policy: TaskRetryPolicy | null;
  /** The job's own copy of the workflow's payload, taken when the job was created (jobs.spec). */
  payload: Record<string, unknown>;
  log_retention: boolean;
  /** W3C trace context of the request or tick that created the job (JSON), or null. */
  trace_context: string | null;
  /** The owner's role now (null: the account is gone): the outbound and container policies depend on it. */
  user_role: 'admin' | 'user' | null;
}

/**
 * The claimed jobs, and how many candidates of the batch the container quota passed over (they
 * stay queued; 0 when nothing was claimed, whatever was passed over): a caller with free slots
 * left claims again at once, when the users who filled up are left out of the scan.
 */
export type ClaimResult = ClaimedJob[] & {
  passedOver: number;
  /**
   * Candidates of a kind beyond that kind's free slots (they stay queued): the kind is full now,
   * so a caller with slots of the other kind free claims again at once, without it.
   */
  overflow: number;
};

/** Free slots per job kind: a heartbeat is an I/O wait, a container a process (see ExecutorConfig). */
export interface KindSlots {
  heartbeat: number;
  container: number;
}

/** What the claim enforces of users' quotas. */
export interface ClaimQuotas {
  /**
   * CONTAINER jobs a user with the role user and no value of their own may run at once
   * (CHRONOVERSE_QUOTA_MAX_CONCURRENT_CONTAINERS); 0 = no limit.
   */
  maxConcurrentContainers: number;
}

export const CLAIM_QUOTA_DEFAULTS: ClaimQuotas = {
  maxConcurrentContainers: QUOTA_DEFAULTS.max_concurrent_containers,
};

/**
 * jobsClaim: lease up to `limit` runnable jobs. A job is runnable when due, not waiting for a
 * retry delay, and no sibling of its workflow is RUNNING or runnable-and-earlier (jobs of one
 * workflow run one at a time, earliest first). `SKIP LOCKED` lets executors claim side by side;
 * the unique index jobs_one_running_per_workflow catches the one race the probe cannot see (two
 * executors claiming siblings at once): the loser gets 23505 and retries next round.
 *
 * Container quota (max_concurrent_containers, src/domain/quotas.ts): a user's CONTAINER jobs run
 * at most `cap` at a time across all executors (`cap` is the user's own value, else the default
 * for users, else none for administrators; 0 = no limit). Three parts, in the same statement:
 * - a user already at their cap has their CONTAINER jobs left out of the ordered scan itself, so
 *   a backlog of them never fills the batch ahead of other users' jobs (`full_users`);
 * - within a batch, a user's n-th CONTAINER candidate is admitted only while running + n <= cap;
 * - each admitted job takes a free slot number 1..cap of its user, and jobs_container_slot_uq
 *   (migration 0014) lets one RUNNING job hold a slot: two executors claiming for one user at
 *   the same instant cannot both start the last place. To keep that race rare, the owners' user
 *   rows are locked SKIP LOCKED: a user another executor is claiming for is passed over this round.
 * Capped users' running containers are counted on that small partial index (only RUNNING jobs
 * holding a slot are in it), not on the jobs table. Jobs passed over stay queued, untouched; the
 * result says how many (`passedOver`), so an executor with free slots claims again at once.
 *
 * Plan (EXPLAIN ANALYZE, 50k queued jobs over 5k workflows, 200k finished): index scan of
 * jobs_runnable_idx, one probe per candidate on jobs_workflow_active_idx, 0.65 ms for 64 jobs.
 * The probe is a single NOT EXISTS on purpose: as two (RUNNING sibling; earlier sibling) the
 * planner materialised all RUNNING rows when their estimate was low, 21 ms with 4k running.
 *
 * Concurrent runs (overlap ALLOW_ALL, a backfill's; migration 0024) skip the probe (`j.concurrent`,
 * a column of the row already read) and are out of its index (jobs_workflow_active_idx and
 * jobs_one_running_per_workflow now say `AND NOT concurrent`, as the probe does). EXPLAIN
 * (ANALYZE, BUFFERS) of `node bench/claim-quota.ts` before and after: the same plan node for node
 * (the ordered walk of jobs_runnable_idx, the probe an index scan of jobs_workflow_active_idx,
 * 403 probes), the filter one boolean longer, shared buffers 23,265 → 23,285 and 17,911 → 18,173
 * for the quota cases (the data is random per run).
 *
 * With the quota (bench/claim-quota.ts: 49.7k queued over 5,450 workflows, 200k finished, 398
 * running; user H at its quota with 20,000 queued jobs at the head of the queue): `slotted` is an
 * index-only scan of jobs_container_slot_uq (104 rows, 0.05 ms), `full_users` a primary-key probe
 * per counted user, `ranked`, `owners`, `slots` and `admitted` work on the batch alone (about
 * 1 ms for 64 rows). The scan stays the ordered walk of jobs_runnable_idx; it passes H's 20,000
 * rows reading each row's own kind (jobs.kind, migration 0016; before it, one workflows_pkey probe
 * each: 40 ms, now 16 ms on a quiet 2-core machine), less than the sibling probe already pays for
 * a backlog behind running jobs (the statement before, with H's 500 workflows each running a
 * job: 71 ms). With nobody full, it costs what the statement
 * before did (16 ms against 18 ms on that machine). A full user's backlog is bounded by its other
 * quotas: max_workflows runnable heads, runs_per_minute, and one automatic job per workflow per
 * tick no shorter than min_schedule_seconds.
 */
export async function jobsClaim(
  db: Kysely<DB>,
  owner: string,
  /** Free slots per kind, or one number for both kinds together. */
  limit: number | KindSlots,
  leaseMs: number,
  /** Jobs this executor is still running (a rescued-then-due job must not start twice here). */
  exclude: readonly string[] = [],
  quotas: ClaimQuotas = CLAIM_QUOTA_DEFAULTS,
): Promise<ClaimResult> {
  // The container quota of a user: their own value, else the default for users; administrators
  // without a value of their own have none (0 = no limit).
  const cap = (u: string, q: string) =>
    sql.raw(`COALESCE(${q}.max_concurrent_containers, CASE WHEN ${u}.role = 'admin' THEN 0 ELSE `);
  const capOf = (u: string, q: string) => sql`${cap(u, q)}${quotas.maxConcurrentContainers}::int END)`;
  const slots =
    typeof limit === 'number'
      ? { heartbeat: limit, container: limit, total: limit }
      : {
          ...limit,
          total: limit.heartbeat + limit.container,
        };
  if (slots.total <= 0) return Object.assign([], { passedOver: 0, overflow: 0 });
  // A kind without a free slot is left out of the scan (the job's own kind, no join), so its
  // backlog never fills the batch ahead of the other kind. Containers alone (every heartbeat slot
  // busy) scan jobs_runnable_container_idx (migration 0029), not the heartbeats queued before them.
  const kindFilter =
    slots.container <= 0
      ? sql`AND j.kind <> 'CONTAINER'`
      : slots.heartbeat <= 0
        ? sql`AND j.kind = 'CONTAINER'`
        : sql``;
  return db.transaction().execute(async (trx) => {
    // Pin the ordered index scan: without fresh statistics (a burst of new jobs) the planner
    // otherwise bitmap-scans every runnable row, probes each and sorts: 22.7 ms instead of 0.3 ms
    // for 17k queued jobs. Transaction-local, so nothing else is affected. No JIT: the quota's
    // window functions must sort (a few dozen rows), and the penalty enable_sort=off puts on that
    // lifts the estimate over jit_above_cost: 3.4 s of compiling for a 1 ms statement.
    // An asynchronous commit: a claim is no fact, only a lease. If the database crashes before
    // the WAL writer flushes it (≤ 3 × wal_writer_delay), the job is back as it was and is
    // claimed again, as after any executor crash (at-least-once execution); the completion, a
    // fact, commits synchronously and so flushes every claim before it. Saves one WAL flush
    // (~1 ms with fsync on this machine) per claim on the hot path.
    // A generic plan, kept by the connection (the statement is PREPARED, src/platform/db/
    // prepared.ts): planning the statement below cost 2.3–6.4 ms per claim, its execution on an
    // empty queue 0.4 ms. Its plan is the one the settings above pin (jobs_runnable_idx in order).
    await sql`SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
                     set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),
                     set_config('synchronous_commit', 'off', true),
                     set_config('plan_cache_mode', 'force_generic_plan', true)`.execute(trx);
    const { rows } = await sql<
      ClaimedJob & { batch_size: number; batch_overflow: number }
    >`${sql.raw(PREPARED)}
    WITH slotted AS MATERIALIZED (
      -- CONTAINER jobs of capped users running now, per user (jobs_container_slot_uq).
      SELECT r.user_id, count(*)::int AS running FROM jobs r
      WHERE r.status = 'RUNNING' AND r.container_slot IS NOT NULL
      GROUP BY r.user_id
    ),
    full_users AS MATERIALIZED (
      -- Users at (or, after their quota was lowered, over) their container quota.
      SELECT COALESCE(array_agg(s.user_id), '{}'::uuid[]) AS ids
      FROM slotted s JOIN users u ON u.id = s.user_id LEFT JOIN user_quotas q ON q.user_id = s.user_id
      WHERE ${capOf('u', 'q')} > 0 AND s.running >= ${capOf('u', 'q')}
    ),
    candidates AS (
      SELECT j.id, j.user_id, j.workflow_id, j.scheduled_at, j.kind FROM jobs j
      WHERE j.status IN (${fromStates('claim')})
        AND j.id <> ALL(${[...exclude]}::uuid[])
        AND j.scheduled_at <= now()
        AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
        -- Past its starting deadline (schedule policy): the scheduler ends it MISSED_DEADLINE.
        AND (j.start_by IS NULL OR j.start_by >= now())
        -- A DAG's tasks run side by side under their run; runs of a workflow one at a time,
        -- except concurrent ones (overlap ALLOW_ALL), which neither wait nor are waited for.
        AND (j.run_id IS NOT NULL OR j.concurrent OR NOT EXISTS (
          SELECT 1 FROM jobs e
          WHERE e.workflow_id = j.workflow_id AND e.status IN ('PENDING', 'QUEUED', 'RUNNING') AND e.run_id IS NULL
            AND NOT e.concurrent
            AND (e.status = 'RUNNING' OR (e.scheduled_at, e.id) < (j.scheduled_at, j.id))))
        -- A full user's CONTAINER jobs wait.
        AND (j.kind <> 'CONTAINER' OR j.user_id <> ALL((SELECT f.ids FROM full_users f)::uuid[]))
        ${kindFilter}
      ORDER BY j.scheduled_at, j.id
      LIMIT ${slots.total}
      FOR UPDATE OF j SKIP LOCKED
    ),
    ranked AS (
      -- Each candidate; for a capped user's CONTAINER job, its rank among the user's in this batch.
      SELECT c.id, c.user_id, uq.cap, COALESCE(s.running, 0) AS running,
             c.kind = 'CONTAINER' AND uq.cap > 0 AS capped,
             row_number() OVER (PARTITION BY c.user_id, c.kind ORDER BY c.scheduled_at, c.id) AS nth,
             row_number() OVER (PARTITION BY c.kind ORDER BY c.scheduled_at, c.id)
               <= CASE c.kind WHEN 'CONTAINER' THEN ${slots.container}::int ELSE ${slots.heartbeat}::int END AS fits
      FROM candidates c
      CROSS JOIN LATERAL (
        SELECT ${capOf('u', 'q')} AS cap
        FROM users u LEFT JOIN user_quotas q ON q.user_id = u.id WHERE u.id = c.user_id) uq
      LEFT JOIN slotted s ON s.user_id = c.user_id
    ),
    owners AS (
      -- Capped users this batch would start containers for; one another executor is claiming
      -- for right now is passed over (its jobs stay queued for the next round).
      SELECT u.id FROM users u
      WHERE u.id IN (SELECT r.user_id FROM ranked r WHERE r.capped)
      FOR NO KEY UPDATE SKIP LOCKED
    ),
    slots AS (
      -- Each such owner's free slot numbers, lowest first: at most running + wanted to look at.
      SELECT o.user_id, g.slot, row_number() OVER (PARTITION BY o.user_id ORDER BY g.slot) AS k
      FROM (SELECT r.user_id, max(r.cap) AS cap, max(r.running) AS running, count(*)::int AS wanted
            FROM ranked r JOIN owners ow ON ow.id = r.user_id WHERE r.capped AND r.fits GROUP BY r.user_id) o
      CROSS JOIN LATERAL generate_series(1, LEAST(o.cap, o.running + o.wanted)) AS g(slot)
      WHERE NOT EXISTS (
        SELECT 1 FROM jobs t
        WHERE t.user_id = o.user_id AND t.status = 'RUNNING' AND t.container_slot = g.slot)
    ),
    admitted AS (
      SELECT r.id, sl.slot FROM ranked r
      LEFT JOIN slots sl ON r.capped AND sl.user_id = r.user_id AND sl.k = r.nth
      WHERE r.fits AND (NOT r.capped OR (sl.slot IS NOT NULL AND r.running + r.nth <= r.cap))
    ),
    -- MATERIALIZED: inlined, the planner put this aggregate on the inner side of the UPDATE's
    -- nested loop and ran it once per claimed row (256 × 260 rows: 20 ms of a 53 ms claim,
    -- auto_explain during \`node bench/engine.ts throughput 20000 20000\`).
    batch AS MATERIALIZED (
      SELECT count(*) FILTER (WHERE r.fits)::int AS size, count(*) FILTER (WHERE NOT r.fits)::int AS overflow
      FROM ranked r)
    UPDATE jobs j
    SET status = 'RUNNING', attempts = j.attempts + 1, lease_owner = ${owner},
        lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000}),
        started_at = COALESCE(j.started_at, now()), next_attempt_at = NULL, updated_at = now(),
        container_slot = c.slot
    FROM admitted c, workflows w, batch b
    WHERE j.id = c.id AND w.id = j.workflow_id
    RETURNING j.id, j.workflow_id, j.user_id, j.workflow_generation, j.attempts, j.max_attempts, j.scheduled_at,
              j.kind, j.spec AS payload, w.log_retention, j.trace_context, j.run_id, j.task_name, j.retry_policy,
              j.backfill_id,
              CASE WHEN j.run_id IS NOT NULL AND j.start_by IS NOT NULL
                   THEN greatest(0, extract(epoch FROM j.start_by - now()) * 1000)::int END AS deadline_ms,
              -- One primary-key probe per claimed row, after the claim: the plan above is unchanged.
              (SELECT u.role FROM users u WHERE u.id = j.user_id) AS user_role, b.size AS batch_size,
              b.overflow AS batch_overflow`.execute(trx);
    const jobs = rows.map(({ batch_size: _, batch_overflow: __, ...job }) => job);
    return Object.assign(jobs, {
      passedOver: rows.length > 0 ? rows[0]!.batch_size - rows.length : 0,
      overflow: rows.length > 0 ? rows[0]!.batch_overflow : 0,
    });
  });
}

/** jobsRenewLease: extends the leases this executor still holds; returns the ids it still owns. */
export async function jobsRenewLease(
  db: Kysely<DB>,
  owner: string,
  ids: string[],
  leaseMs: number,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // Rows locked in id order, as the completer locks them: the two statements of one executor
  // touch the same running rows, and in plan order they deadlocked (seen in the anchor bench).
  const { rows } = await sql<{ id: string }>`
    UPDATE jobs SET lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id IN (
      SELECT id FROM jobs
      WHERE id = ANY(${ids}::uuid[]) AND status = 'RUNNING' AND lease_owner = ${owner}
      ORDER BY id FOR UPDATE)
    RETURNING id`.execute(db);
  return new Set(rows.map((r) => r.id));
}

export interface RescuedJob {
  id: string;
  /** The attempt that was running when the lease expired. */
  attempts: number;
  workflow_id: string;
  user_id: string;
  workflow_generation: number;
  status: 'PENDING' | 'FAILED';
  kind: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  trace_context: string | null;
  /** A DAG task's run (resolved in the rescue's transaction), else null. */
  run_id: string | null;
  trigger: JobTrigger;
}

/**
 * jobsRescueExpired: jobs whose executor stopped renewing (crash, partition) go back to PENDING for
 * another attempt (the state machine's `retry`), or to FAILED when their attempts are used up
 * (`fail`). Index: jobs_lease_expiry_idx.
 */
export async function jobsRescueExpired(db: Kysely<DB>, limit: number): Promise<RescuedJob[]> {
  const { rows } = await sql<RescuedJob>`
    UPDATE jobs j
    SET status = CASE WHEN j.attempts >= j.max_attempts THEN ${TRANSITIONS.fail.to} ELSE ${TRANSITIONS.retry.to} END,
        completed_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,
        next_attempt_at = CASE WHEN j.attempts >= j.max_attempts THEN NULL ELSE now() END,
        error_kind = 'SYSTEM', error_code = 'LEASE_EXPIRED',
        error_message = 'the executor running this job stopped renewing its lease (it crashed or lost the database)',
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE j.id IN (
      SELECT id FROM jobs WHERE status IN (${fromStates('retry')}) AND lease_expires_at < now()
      ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING j.id, j.attempts, j.workflow_id, j.user_id, j.workflow_generation, j.status, j.trace_context,
              j.kind, j.run_id, j.trigger`.execute(db);
  return rows;
}

/** Gives a job back untouched (graceful shutdown): the attempt does not count. */
export async function jobsHandBack(db: Kysely<DB>, owner: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await sql`
    UPDATE jobs SET status = ${TRANSITIONS.release.to}, attempts = greatest(attempts - 1, 0), lease_owner = NULL,
                    lease_expires_at = NULL, next_attempt_at = now(), updated_at = now()
    WHERE id = ANY(${ids}::uuid[]) AND status IN (${fromStates('release')}) AND lease_owner = ${owner}`.execute(
    db,
  );
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Batched completion (jobsComplete). Finished attempts queue here and are written together: one
 * statement per batch updates every job (guarded: only jobs still RUNNING under this executor's
 * lease), applies the failure policy to their workflows (src/services/runs/failure-policy.ts) and inserts the
 * JOB_FINISHED facts of the final ones, all from the same CTE. Measured with
 * `node bench/engine.ts throughput 20000 2000`: per-job transactions capped the engine near
 * 1.2k jobs/s on this machine; see docs/performance.md for the batched figure. Each completion
 * brings its job span's trace context, one more array of the same statement: the outbox rows
 * carry it so the consumers of JOB_FINISHED (and FAILURE_LIMIT_REACHED) continue the job's trace.
 */
import { sql, type Kysely } from 'kysely';
import { PREPARED } from '../../platform/db/prepared.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/logger.ts';
import { jobFinishedPayloadSql, taskFinishedPayloadSql } from '../../services/facts.ts';
import { backfillsFeed } from '../../services/backfills/feed.ts';
import { resolveRuns, type ResolveResult } from '../../services/runs/dag-runs.ts';
import { failurePolicyCtes } from '../../services/runs/failure-policy.ts';
import { fromStates } from './sql.ts';

/** Deadlock, serialization failure: the statement changed nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

export interface Completion {
  jobId: string;
  /** A DAG task's run: the batch then resolves it in the same transaction (src/services/runs/dag-runs.ts). */
  runId: string | null;
  /** A backfill's run: the batch then creates the backfill's next runs (feed.ts). */
  backfillId?: string | null;
  /** What a succeeded DAG task set (task-outputs.ts), or null. */
  outputs: Record<string, unknown> | null;
  /** The attempt that ran: an older attempt's result never lands on a newer one. */
  attempt: number;
  status: 'COMPLETED' | 'FAILED' | 'CANCELED' | 'PENDING';
  exitCode: number | null;
  httpStatusCode: number | null;
  latencyMs: number | null;
  errorKind: 'USER' | 'SYSTEM' | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** For PENDING (a retry): the delay before the next attempt. */
  retryDelayMs: number | null;
  /** Outbox headers of the final events (the `job.run` span's trace context, JSON), or null. */
  traceHeaders: string | null;
}

interface Pending {
  completion: Completion;
  resolve: (written: boolean) => void;
  reject: (err: unknown) => void;
}

export class Completer {
  readonly #db: Kysely<DB>;
  readonly #owner: string;
  readonly #logger: Logger;
  readonly #maxBatch: number;
  readonly #onResolved: ((result: ResolveResult) => void) | null;
  readonly #onRunnable: ((count: number) => void) | null;
  #queue: Pending[] = [];
  #scheduled = false;
  #writing = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    deps: {
      db: Kysely<DB>;
      owner: string;
      logger: Logger;
      /** After a batch that queued DAG tasks or ended runs committed (wake-ups). */
      onResolved?: (result: ResolveResult) => void;
      /**
       * After a batch committed in which `count` finished jobs had runs of their workflow queued
       * behind them: those may be claimed now (one run of a workflow at a time).
       */
      onRunnable?: (count: number) => void;
    },
    maxBatch = 500,
  ) {
    this.#db = deps.db;
    this.#onResolved = deps.onResolved ?? null;
    this.#onRunnable = deps.onRunnable ?? null;
    this.#owner = deps.owner;
    this.#logger = deps.logger;
    this.#maxBatch = maxBatch;
  }

  /** Resolves true when written, false when the job was no longer ours (canceled, rescued). */
  complete(completion: Completion): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ completion, resolve, reject });
      if (this.#writing) return; // the write in flight takes this one next (#flush)
      if (this.#queue.length >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        // One macrotask of delay gathers the completions of every job finishing meanwhile.
        setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * One write at a time; completions that arrive meanwhile wait for it and go together in the
   * next (natural batching: a batch is as large as the completions of one round trip, so the
   * number of commits per second stays bounded by the round trip, not by the job rate).
   */
  #flush(): void {
    this.#scheduled = false;
    if (this.#writing) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#writing = true;
    this.#flushing = this.#write(batch).finally(() => {
      this.#writing = false;
      if (this.#queue.length > 0) this.#flush();
    });
  }

  async #write(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const completions = batch.map((p) => p.completion);
        // A batch with DAG tasks resolves their runs in the transaction that completes them, so
        // the next tasks are runnable the moment it commits; a batch of plain jobs stays one
        // statement without a transaction around it.
        // Likewise a batch that finished runs of backfills creates their next runs in it: the
        // place a run frees is taken in the transaction that frees it (feed.ts).
        const written = completions.some((c) => c.runId !== null || (c.backfillId ?? null) !== null)
          ? await this.#db.transaction().execute(async (trx) => {
              const done = await this.#statement(trx, completions);
              const runs = completions
                .filter((c) => c.runId !== null && done.has(c.jobId))
                .map((c) => c.runId!);
              const resolved = await resolveRuns(trx, runs);
              const backfills = completions
                .filter((c) => (c.backfillId ?? null) !== null && c.status !== 'PENDING' && done.has(c.jobId))
                .map((c) => c.backfillId!);
              const fed = await backfillsFeed(trx, { ids: backfills }, new Date());
              this.#resolved({ ...resolved, started: resolved.started + fed.created.length });
              return done;
            })
          : await this.#statement(this.#db, completions);
        for (const p of batch) p.resolve(written.has(p.completion.jobId));
        let behind = 0;
        for (const queuedBehind of written.values()) if (queuedBehind) behind += 1;
        if (behind > 0) this.#onRunnable?.(behind);
        return;
      } catch (err) {
        // The statement locks job rows, then their workflows' rows: a transaction that takes
        // them the other way round (an API terminate cancelling running jobs) may deadlock with
        // it, and PostgreSQL aborts one of the two. Nothing was written: write the batch again.
        if (attempt < MAX_ATTEMPTS && RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
        this.#logger.error({ err, jobs: batch.length }, 'writing job completions failed');
        for (const p of batch) p.reject(err);
        return;
      }
    }
  }

  #resolved(result: ResolveResult): void {
    if (result.started > 0 || result.finished.length > 0) this.#onResolved?.(result);
  }

  /**
   * The batch's statement; returns the jobs it wrote (those still ours), each with whether runs of
   * its workflow wait behind it (queued, not concurrent: the claim's sibling rule). Every end of an
   * attempt (succeed, fail, retry, and a cancel observed by the runner) leaves RUNNING: the guard is
   * the state machine's `from` of those events (src/domain/job-state.ts), the statuses are its `to`.
   */
  async #statement(db: Kysely<DB>, c: Completion[]): Promise<Map<string, boolean>> {
    // PREPARED (src/platform/db/prepared.ts): parsed once per connection; PostgreSQL's own
    // plan_cache_mode 'auto' decides between a generic and a per-batch plan.
    const { rows } = await sql<{ id: string; behind: boolean }>`${sql.raw(PREPARED)}
        WITH v AS (
          SELECT * FROM unnest(
            ${c.map((x) => x.jobId)}::uuid[], ${c.map((x) => x.status)}::text[], ${c.map((x) => x.exitCode)}::int[],
            ${c.map((x) => x.httpStatusCode)}::int[], ${c.map((x) => x.latencyMs)}::int[], ${c.map((x) => x.errorKind)}::text[],
            ${c.map((x) => x.errorCode)}::text[], ${c.map((x) => x.errorMessage)}::text[], ${c.map((x) => x.retryDelayMs)}::int[], ${c.map((x) => x.attempt)}::int[],
            ${c.map((x) => x.traceHeaders)}::text[], ${c.map((x) => (x.outputs === null ? null : JSON.stringify(x.outputs)))}::jsonb[]
          ) AS v(id, status, exit_code, http_status_code, latency_ms, error_kind, error_code, error_message, retry_delay_ms, attempt, trace_headers, outputs)
        ), locked AS (
          -- In id order, as the lease renewal locks them (two orders deadlocked). The ids as an
          -- array, not \`IN (SELECT … FROM v)\`: the generic plan estimated one RUNNING row and
          -- joined v to every RUNNING row of the lease index (256 × 128 comparisons, 9 of a 21 ms
          -- statement in auto_explain); \`= ANY\` is one jobs_pkey probe per id whatever the estimate.
          SELECT j.id FROM jobs j
          WHERE j.id = ANY(${c.map((x) => x.jobId)}::uuid[]) AND j.status IN (${fromStates('succeed')}) AND j.lease_owner = ${this.#owner}
          ORDER BY j.id FOR UPDATE
        ), done AS (
          UPDATE jobs j
          SET status = v.status,
              completed_at = CASE WHEN v.status <> 'PENDING' THEN now() END,
              next_attempt_at = CASE WHEN v.status = 'PENDING' THEN now() + make_interval(secs => v.retry_delay_ms / 1000.0) END,
              lease_owner = NULL, lease_expires_at = NULL,
              exit_code = v.exit_code, http_status_code = v.http_status_code, latency_ms = v.latency_ms,
              error_kind = v.error_kind, error_code = v.error_code, error_message = v.error_message,
              outputs = v.outputs, updated_at = now()
          FROM v
          WHERE j.id = v.id AND j.id IN (SELECT l.id FROM locked l) AND j.status IN (${fromStates('succeed')}) AND j.lease_owner = ${this.#owner} AND j.attempts = v.attempt
          RETURNING j.id, j.workflow_id, j.user_id, j.workflow_generation, j.status, j.trigger, j.attempts,
                    j.scheduled_at, j.started_at, j.completed_at, j.exit_code, j.http_status_code,
                    j.error_code, j.error_message, j.log_lines, COALESCE(v.trace_headers, '{}')::jsonb AS headers, j.run_id,
                    j.task_name, j.task_index
        ), results AS (
          -- Runs only: a DAG task's result counts through its run (src/services/runs/dag-runs.ts finishRuns).
          -- Nor do backfill runs: a past range failing does not count against the live schedule.
          SELECT d.id AS job_id, d.workflow_id, d.status = 'COMPLETED' AS succeeded, d.headers
          FROM done d WHERE d.status IN ('COMPLETED', 'FAILED') AND d.run_id IS NULL AND d.trigger <> 'BACKFILL'
        ), ${failurePolicyCtes('results')}, events AS (
          INSERT INTO outbox (topic, key, event_type, payload, headers)
          SELECT 'analytics', j.workflow_id::text,
                 CASE WHEN j.run_id IS NULL THEN 'JOB_FINISHED' ELSE 'TASK_FINISHED' END,
                 CASE WHEN j.run_id IS NULL THEN ${jobFinishedPayloadSql(false)} ELSE ${taskFinishedPayloadSql()} END,
                 j.headers
          FROM done j
          -- A job's cancel is told by whoever canceled it; a task's by whoever ended its row.
          WHERE j.status IN ('COMPLETED', 'FAILED') OR (j.run_id IS NOT NULL AND j.status = 'CANCELED')
          ORDER BY j.id
        )
        -- Whether a run of the workflow waits behind the job (jobs_workflow_active_idx, one probe
        -- per job): only then can its end make a run claimable, and only then is the claim woken
        -- (woken after every batch, the claim ran a round per batch that found nothing).
        SELECT d.id, EXISTS (
          SELECT 1 FROM jobs s
          WHERE s.workflow_id = d.workflow_id AND s.status IN ('PENDING', 'QUEUED') AND s.run_id IS NULL
            AND NOT s.concurrent AND s.id <> d.id) AS behind
        FROM done d`.execute(db);
    return new Map(rows.map((r) => [r.id, r.behind]));
  }

  /** Waits until every queued completion is written. */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#writing || this.#queue.length > 0) {
      await this.#flushing;
      this.#flush();
    }
  }
}

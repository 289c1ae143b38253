/**
 * Scheduler: turns due schedules into jobs.
 *
 * One tick = one transaction: claim up to `batchSize` due workflows (`FOR UPDATE SKIP LOCKED`, so
 * several schedulers share the work without waiting on each other), insert one job per workflow
 * for its due tick (`ON CONFLICT DO NOTHING` on the unique (workflow, scheduled_at) of automatic
 * jobs: a tick is never created twice, whatever races), advance `next_run_at` past now (missed
 * ticks fold into one catch-up run, counted in `skipped_ticks`), and write one DISPATCH outbox row
 * listing the new jobs. Three statements per batch, none per row.
 *
 * Tick ledger (migration 0022, `ledger`, on by default): in the same transaction, every nominal
 * fire time the tick handled is recorded with its outcome (src/domain/catch-up.ts tickLedger for
 * catch-up, the overlap decision below for the fire times that would run): those that got a run by
 * the jobs INSERT itself (a second data-modifying CTE), the others (outages, overlap) by one more
 * INSERT … SELECT FROM unnest per batch, only when there are any. Paused workflows are claimed too, by their own small index: their due fire
 * times are recorded as PAUSED and their `next_run_at` moves past now on the schedule's grid (what
 * a resume computes anyway, src/domain/pause.ts), so the ledger of a pause is written while it
 * lasts; a resume records what the scheduler did not get to (a scheduler down during the pause).
 * The deadline sweep and CANCEL_OTHER give the rows of the runs they end their final outcome.
 * Daylight saving (cron): the run of the second occurrence of a doubled time is DST_DOUBLED (with
 * the preview's reason) instead of STARTED, and the times of a gap that `dst.gap: SKIP` drops get
 * one DST_SKIPPED row per gap, written by the tick of the first fire time after the gap.
 *
 * Backfills (migration 0024): each tick also sweeps RUNNING backfills (src/services/backfills/
 * feed.ts, SKIP LOCKED on backfills_running_idx, an empty index when none runs) for places no
 * completion reported. Overlap ALLOW_ALL: the jobs INSERT marks the runs `concurrent`, and the
 * overlap read and CANCEL_OTHER leave concurrent runs (a backfill's) out.
 *
 * Tracing: a tick that claims workflows runs in a `scheduler.tick` span; the jobs it creates store
 * its context (`jobs.trace_context`, one value for the whole batch, so still one INSERT) and the
 * executor's `job.run` spans continue that trace.
 *
 * Wake-up: after a tick the loop sleeps until the earliest `next_run_at` (capped by `maxSleepMs`,
 * for schedules changed by other processes) or until `schedules:changed` arrives.
 */
import { resolveRuns } from '../../services/runs/dag-runs.ts';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import {
  notBuiltLedger,
  pausedLedger,
  planTick,
  tickLedger,
  type TickLedger,
  type TickPlan,
} from '../../domain/catch-up.ts';
import {
  DEFAULT_SCHEDULE_POLICY,
  decideOverlap,
  jitterMs,
  keptFires,
  type ActiveRuns,
  type OverlapPolicy,
  type SchedulePolicy,
} from '../../domain/schedule-policy.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB, WorkflowRow } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { cancelJobs, requestStops, type CancelResult } from '../../services/jobs/cancel.ts';
import { writeJobFinishedEvents } from '../../services/facts.ts';
import { writeOutbox } from '../../services/outbox.ts';
import {
  dstSkippedRows,
  endTicksOfJobs,
  insertTicks,
  plainTickRows,
  type TickRow,
} from '../../services/ticks/ledger.ts';
import { dstDoubledReason } from '../../domain/schedule-preview.ts';
import type { Schedule } from '../../domain/schedule.ts';
import { backfillsFeed } from '../../services/backfills/feed.ts';
import { contextHeaders } from '../../platform/telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../../platform/telemetry/tracing.ts';
import { scheduleOf } from '../../services/workflows/codec.ts';
import { Loop } from '../loop.ts';

export interface SchedulerConfig {
  /** Workflows claimed per transaction. @default 1000 */
  batchSize: number;
  /** Longest sleep between ticks, for schedules changed elsewhere. @default 1000 */
  maxSleepMs: number;
  /** Jobs named per DISPATCH message. @default 100 */
  dispatchChunkSize: number;
  /** Record every fire time in the tick ledger (workflow_ticks). @default true */
  ledger: boolean;
}

export const SCHEDULER_DEFAULTS: SchedulerConfig = {
  batchSize: 1000,
  maxSleepMs: 1000,
  dispatchChunkSize: 100,
  ledger: true,
};

export interface TickResult {
  claimed: number;
  created: number;
  skipped: number;
  /** Fire times the overlap policies gave no run (SKIP, BUFFER_ONE, CANCEL_OTHER). */
  skippedOverlap: number;
  /** Unfinished jobs canceled by CANCEL_OTHER. */
  canceled: number;
  /** Jobs past their starting deadline, ended CANCELED with MISSED_DEADLINE. */
  missedDeadline: number;
  /** Paused workflows whose due fire times were recorded as PAUSED (ledger on only). */
  paused: number;
  /** Workflows whose build failed and whose due fire times were recorded as NOT_BUILT (ledger on only). */
  notBuilt: number;
  /** Earliest next_run_at among runnable workflows after this tick, if any. */
  nextDueAt: Date | null;
}

type DueRow = Pick<
  WorkflowRow,
  | 'id'
  | 'user_id'
  | 'generation'
  | 'schedule_type'
  | 'interval_minutes'
  | 'cron_expression'
  | 'timezone'
  | 'run_at'
  | 'schedule_policy'
> & { next_run_at: Date };

/** A due workflow with what its job copies (kind, payload, version). */
type DueWithDefinition = DueRow & {
  created_at: Date;
  kind: WorkflowRow['kind'];
  version: number;
  /** The payload as JSON text: copied into the job's spec as it is, never parsed here. */
  payload_text: string;
};

/**
 * The earliest `next_run_at` of a runnable workflow (where the loop sleeps until), read as the
 * first entry of workflows_due_idx. Written as `min(next_run_at)` the planner, whose statistics
 * lagged behind 250,000 new workflows (estimated 1 row), aggregated a scan of the whole index
 * instead of taking its first entry: 250,000 rows and 1,085 ms after every tick (EXPLAIN ANALYZE
 * during `node bench/engine.ts firelag 250000 3`), so ticks fell behind their fire times and the
 * run collapsed to ~1,100 started jobs/s. ORDER BY … LIMIT 1 stops at the first live entry
 * whatever the estimate.
 */
export async function earliestDue(db: Kysely<DB>): Promise<Date | null> {
  const { rows } = await earliestDueQuery().execute(db);
  return rows[0]?.next ?? null;
}

/** earliestDue's statement (its plan is tested: test/workers/scheduler-next-due.test.ts). */
export function earliestDueQuery() {
  return sql<{ next: Date }>`
    SELECT next_run_at AS next FROM workflows
    WHERE next_run_at IS NOT NULL AND build_status = 'COMPLETED' AND terminated_at IS NULL AND paused_at IS NULL
    ORDER BY next_run_at
    LIMIT 1`;
}

export class Scheduler {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #config: SchedulerConfig;
  readonly #loop: Loop;
  #unsubscribe: (() => void) | null = null;
  /** When the loop last ran the sweeps (epoch ms). */
  #sweptAt = -Infinity;

  constructor(
    deps: { db: Kysely<DB>; clock: Clock; events: Events; logger: Logger },
    config: Partial<SchedulerConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#config = { ...SCHEDULER_DEFAULTS, ...config };
    if (this.#config.batchSize < 1) throw new Error('scheduler batchSize must be at least 1');
    this.#loop = new Loop({ name: 'scheduler', logger: deps.logger, run: () => this.#round() });
  }

  start(): void {
    this.#unsubscribe ??= this.#events.on('schedules:changed', () => this.#loop.wake());
    this.#loop.start();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#loop.stop();
  }

  async #round(): Promise<number> {
    // The sweeps (deadlines, backfills, held workflows' ledger) at most once per maxSleepMs: a
    // round woken by schedules:changed only creates what is due. Every add woke every scheduler
    // into three sweep statements besides its claim (the anchor harness's single adds: ~1 ms each
    // on the client under that load, in front of the claim, twice per add with two processes).
    const now = this.#clock.now().getTime();
    const sweep = now - this.#sweptAt >= this.#config.maxSleepMs;
    if (sweep) this.#sweptAt = now;
    const result = await this.runOnce({ sweep });
    if (result.claimed >= this.#config.batchSize) return 0;
    if (result.nextDueAt === null) return this.#config.maxSleepMs;
    const wait = result.nextDueAt.getTime() - this.#clock.now().getTime();
    return Math.max(0, Math.min(wait, this.#config.maxSleepMs));
  }

  /**
   * One tick. `sweep: false` leaves out the sweeps that are not the claim of due workflows (ending
   * runs past their starting deadline, the backfills' fallback, the ledger of paused and unbuilt
   * workflows); the loop runs them at most once per maxSleepMs.
   */
  async runOnce(options: { sweep?: boolean } = {}): Promise<TickResult> {
    const sweep = options.sweep ?? true;
    const now = this.#clock.now();
    // Started only once the tick found due workflows: idle ticks (every second) leave no spans.
    let span: Span | null = null;
    const outcome = await this.#db
      .transaction()
      .execute(async (trx) => {
        const missed = sweep ? await this.#endMissedDeadlines(trx, now) : 0;
        // Backfills whose places no completion reported (src/services/backfills/feed.ts).
        const backfilled = sweep
          ? (await backfillsFeed(trx, { sweep: this.#config.batchSize }, now)).created.length
          : 0;
        const { paused, notBuilt } =
          this.#config.ledger && sweep ? await this.#recordHeld(trx, now) : { paused: 0, notBuilt: 0 };
        // workflows_due_idx: due, built, not terminated, not paused.
        const { rows: due } = await sql<DueWithDefinition>`
        SELECT id, user_id, generation, schedule_type, interval_minutes, cron_expression, timezone, run_at, schedule_policy, next_run_at, created_at,
               kind, version, payload::text AS payload_text
        FROM workflows
        WHERE next_run_at <= ${now}
          AND build_status = 'COMPLETED' AND terminated_at IS NULL AND paused_at IS NULL
        ORDER BY next_run_at
        LIMIT ${this.#config.batchSize}
        FOR UPDATE SKIP LOCKED`.execute(trx);
        if (due.length === 0) {
          return {
            claimed: 0,
            created: 0,
            skipped: 0,
            skippedOverlap: 0,
            canceled: 0,
            stop: [] as string[],
            missed,
            paused,
            notBuilt,
            backfilled,
            lagMs: 0,
          };
        }
        span = tracingEnabled()
          ? tracer().startSpan('scheduler.tick', {
              attributes: { 'chronoverse.scheduler.claimed': due.length },
            })
          : null;
        const traceHeaders = span ? contextHeaders(trace.setSpan(ROOT_CONTEXT, span)) : {};
        const traceContext = traceHeaders.traceparent ? JSON.stringify(traceHeaders) : null;

        const plans = due.map((w) => {
          const schedule = scheduleOf(w);
          const policy = (schedule.type === 'once' ? undefined : schedule.policy) ?? DEFAULT_SCHEDULE_POLICY;
          const plan = planTick(schedule, w.next_run_at, now, policy.catchUp);
          const ledger = this.#config.ledger
            ? tickLedger(schedule, w.next_run_at, now, policy.catchUp, plan)
            : null;
          return { w, schedule, policy, plan, ledger };
        });
        const overlap = await this.#applyOverlap(trx, plans, now);
        const jobs = overlap.jobs;
        // The fire times that got a run are recorded by the same statement (ledger on): a second
        // data-modifying CTE over the same rows, so that the ledger's commonest rows cost no
        // parameters of their own (measured: a separate INSERT … unnest of them was the whole of
        // the ledger's cost on this path). A job not created (ON CONFLICT: an automatic run for
        // that instant existed) is still recorded, without job_id.
        const ledgerCte = this.#config.ledger
          ? sql`, recorded AS (
            INSERT INTO workflow_ticks (workflow_id, nominal_at, scheduled_at, outcome, job_id, reason, recorded_at)
            SELECT j.workflow_id, j.scheduled_at - j.jitter_ms * interval '1 millisecond', j.scheduled_at,
                   CASE WHEN j.buffered THEN 'BUFFERED' WHEN j.dst_reason IS NOT NULL THEN 'DST_DOUBLED' ELSE 'STARTED' END, ins.id,
                   CASE WHEN j.buffered THEN 'policy BUFFER_ONE: waits for the unfinished run to finish' ELSE j.dst_reason END, ${now}
            FROM j LEFT JOIN ins ON ins.id = j.id
            ORDER BY j.workflow_id, j.scheduled_at
            -- A once workflow's instant recorded NOT_BUILT runs late after its rebuild: it gets the run.
            ON CONFLICT (workflow_id, nominal_at) DO UPDATE
              SET outcome = EXCLUDED.outcome, job_id = EXCLUDED.job_id, reason = EXCLUDED.reason, recorded_at = EXCLUDED.recorded_at
              WHERE workflow_ticks.outcome = 'NOT_BUILT')`
          : sql``;
        const { rows: created } = await sql<{ id: string; workflow_id: string }>`
        WITH j AS (
          SELECT * FROM unnest(
            ${jobs.map((j) => j.id)}::uuid[], ${jobs.map((j) => j.w.id)}::uuid[], ${jobs.map((j) => j.w.user_id)}::uuid[],
            ${jobs.map((j) => j.w.generation)}::int[], ${jobs.map((j) => j.scheduledAt.toISOString())}::timestamptz[],
            ${jobs.map((j) => j.skipped)}::int[], ${jobs.map((j) => j.startBy?.toISOString() ?? null)}::timestamptz[],
            ${jobs.map((j) => j.scheduledAt.getTime() - j.nominalAt.getTime())}::int[], ${jobs.map((j) => j.buffered)}::bool[],
            ${jobs.map((j) => j.dstReason)}::text[], ${jobs.map((j) => j.w.kind)}::text[], ${jobs.map((j) => j.w.payload_text)}::jsonb[],
            ${jobs.map((j) => j.w.version)}::int[], ${jobs.map((j) => j.w.schedule_policy?.overlap === 'ALLOW_ALL')}::bool[]
          ) AS j(id, workflow_id, user_id, generation, scheduled_at, skipped, start_by, jitter_ms, buffered, dst_reason, kind, spec, version, concurrent)
        ), ins AS (
          INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, workflow_version, trigger, scheduled_at, skipped_ticks, start_by, created_at, updated_at, trace_context, concurrent)
          -- The workflow's definition now is what the job runs (migration 0016): read with its row,
          -- locked by the due claim above. Carried here rather than joined: joined to workflows the
          -- planner hashed a sequential scan of all of them (16.7 ms of 20,000 rows for a batch of
          -- 1,000 in auto_explain during the anchor harness), with \`id = ANY\` still a scan (9.6 ms).
          -- Overlap ALLOW_ALL: the run may run beside the workflow's others (migration 0024).
          SELECT j.id, j.workflow_id, j.user_id, j.generation, j.kind, j.spec, j.version, 'AUTOMATIC', j.scheduled_at, j.skipped, j.start_by, ${now}, ${now}, ${traceContext}::text,
                 j.concurrent
          FROM j
          ON CONFLICT (workflow_id, scheduled_at) WHERE trigger = 'AUTOMATIC' AND run_id IS NULL DO NOTHING
          RETURNING id, workflow_id
        )${ledgerCte}
        SELECT id, workflow_id FROM ins`.execute(trx);

        if (this.#config.ledger) {
          // The rest of the ledger: catch-up's, the overlap policy's and the summaries (outages only).
          const rows: TickRow[] = [...overlap.notRun];
          for (const p of plans) {
            rows.push(...plainTickRows(p.w.id, p.policy.jitterSeconds, p.ledger!).rows);
            // Gap times dropped by dst.gap SKIP (cron only; nothing to do for other schedules).
            rows.push(...dstSkippedRows(p.w, p.schedule, p.policy.jitterSeconds, now));
          }
          await insertTicks(trx, rows, now);
        }

        await sql`
        UPDATE workflows w
        SET next_run_at = v.next_run_at, updated_at = ${now}
        FROM unnest(${plans.map((p) => p.w.id)}::uuid[], ${plans.map((p) => p.plan.nextRunAt?.toISOString() ?? null)}::timestamptz[])
          AS v(id, next_run_at)
        WHERE w.id = v.id`.execute(trx);

        if (created.length > 0) {
          // DISPATCH rows per chunk of jobs, not per job: they only wake executors (which claim
          // from the table), and per-job rows cost an insert, a relay read and a publish mark each.
          // Several chunks, keyed apart, land on different Kafka partitions and so wake several
          // executors of the consumer group when many jobs are due at once.
          const events = [];
          for (let i = 0; i < created.length; i += this.#config.dispatchChunkSize) {
            const chunk = created.slice(i, i + this.#config.dispatchChunkSize);
            events.push({
              topic: 'jobs' as const,
              key: chunk[0]!.id,
              type: 'DISPATCH',
              payload: { job_ids: chunk.map((c) => c.id) },
              headers: traceHeaders,
            });
          }
          await writeOutbox(trx, events);
        }
        // Lag of the earliest fire time each workflow was due for (the due tick itself).
        const lagMs = Math.max(...plans.map((p) => now.getTime() - p.w.next_run_at.getTime()));
        return {
          claimed: due.length,
          created: created.length,
          skipped: plans.reduce((sum, p) => sum + p.plan.skipped, 0),
          skippedOverlap: overlap.skipped,
          canceled: overlap.canceled.canceled.length,
          stop: overlap.canceled.stop,
          missed,
          paused,
          notBuilt,
          backfilled,
          lagMs,
        };
      })
      .catch((err: unknown) => {
        (span as Span | null)?.end();
        throw err;
      });
    const tickSpan = span as Span | null;
    if (tickSpan) {
      tickSpan.setAttribute('chronoverse.scheduler.created', outcome.created);
      tickSpan.end();
    }
    if (outcome.backfilled > 0) this.#events.emit('jobs:runnable', { count: outcome.backfilled });
    if (outcome.created > 0 || outcome.canceled > 0 || outcome.missed > 0 || outcome.backfilled > 0) {
      this.#events.emit('outbox:written', { count: 1 });
    }
    if (outcome.created > 0) this.#events.emit('jobs:runnable', { count: outcome.created });
    requestStops(this.#events, outcome);
    if (outcome.claimed > 0) {
      const {
        stop: _stop,
        missed: _missed,
        paused: _paused,
        notBuilt: _notBuilt,
        backfilled: _backfilled,
        ...tick
      } = outcome;
      this.#events.emit('scheduler:tick:completed', tick);
    }
    const nextDueAt = await earliestDue(this.#db);
    return {
      claimed: outcome.claimed,
      created: outcome.created,
      skipped: outcome.skipped,
      skippedOverlap: outcome.skippedOverlap,
      canceled: outcome.canceled,
      missedDeadline: outcome.missed,
      paused: outcome.paused,
      notBuilt: outcome.notBuilt,
      nextDueAt,
    };
  }

  /**
   * Ends the automatic jobs still waiting after their starting deadline (schedule policy): CANCELED
   * with error MISSED_DEADLINE, with their facts. The claim already passes over them (its
   * `start_by` filter); this records why they never started. jobs_start_by_idx holds only waiting
   * jobs that have a deadline, so with none (the default) this reads an empty index (EXPLAIN
   * ANALYZE beside 20k waiting jobs, 2k of them with a deadline, none past it: an index scan of
   * jobs_start_by_idx, 2 buffers, 0.13 ms).
   */
  async #endMissedDeadlines(trx: Transaction<DB>, now: Date): Promise<number> {
    // One read of jobs_start_by_idx; with no waiting job past its deadline (the usual tick) that is all.
    const { rows: late } = await sql<{ id: string; run_id: string | null }>`
      SELECT id, run_id FROM jobs
      WHERE start_by IS NOT NULL AND start_by < ${now} AND status IN ('PENDING', 'QUEUED')`.execute(trx);
    if (late.length === 0) return 0;
    // A DAG task waiting (for a retry or a slot) past its timeout_seconds fails (USER: its own
    // limit, not a cancel), and its run goes on at once (the next tasks, or the run's end): task
    // rows, then their runs, the completion's lock order.
    const taskIds = late.filter((r) => r.run_id !== null).map((r) => r.id);
    let failed = 0;
    if (taskIds.length > 0) {
      const { rows: tasks } = await sql<{ id: string; run_id: string }>`
        UPDATE jobs
        SET status = 'FAILED', completed_at = ${now}, updated_at = ${now}, error_kind = 'USER',
            error_code = 'DEADLINE_EXCEEDED',
            error_message = 'the task did not finish within its timeout_seconds (counted over all its attempts)'
        WHERE id = ANY(${taskIds}::uuid[]) AND start_by < ${now} AND status IN ('PENDING', 'QUEUED')
        RETURNING id, run_id`.execute(trx);
      failed = tasks.length;
      if (tasks.length > 0) {
        // Their TASK_FINISHED facts (they end without running again), then their runs go on.
        await writeJobFinishedEvents(
          trx,
          tasks.map((t) => t.id),
          { bulk: false },
        );
        await resolveRuns(trx, [...new Set(tasks.map((t) => t.run_id))]);
      }
    }
    // A run not started by its starting deadline: the cancel transition, with why.
    const runIds = late.filter((r) => r.run_id === null).map((r) => r.id);
    if (runIds.length === 0) return failed;
    const { canceled } = await cancelJobs(
      trx,
      { where: sql`id = ANY(${runIds}::uuid[]) AND start_by < ${now}`, scope: 'waiting' },
      {
        now,
        bulk: false,
        error: {
          kind: 'SYSTEM',
          code: 'MISSED_DEADLINE',
          message: sql<string>`'not started by its starting deadline (' || to_char(j.start_by AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '): every executor was busy, or none was running'`,
        },
      },
    );
    if (this.#config.ledger) {
      await endTicksOfJobs(
        trx,
        canceled.map((r) => ({ ...r, reason: r.error_message ?? '' })),
        'MISSED_DEADLINE',
      );
    }
    return failed + canceled.length;
  }

  /**
   * The jobs the plans get under each workflow's overlap policy, with their jittered start times.
   * The workflows' unfinished jobs are read only for policies that depend on them (one grouped
   * scan of jobs_workflow_active_idx for the batch; none with the default BUFFER_ALL), and
   * CANCEL_OTHER cancels them in one statement, in this transaction, before the new job exists.
   * The workflow rows are locked, so no other scheduler decides for them meanwhile.
   *
   * Plan (EXPLAIN ANALYZE, PostgreSQL 15, 5k workflows, 200k finished and 20k waiting jobs, 1,000
   * watched workflows with 4 waiting jobs each): bitmap scan of jobs_workflow_active_idx, 4,000
   * rows sorted and grouped, 23 ms on a busy 2-core machine; only batches with such policies pay it.
   */
  async #applyOverlap(
    trx: Transaction<DB>,
    plans: readonly {
      w: DueWithDefinition;
      schedule: Schedule;
      policy: SchedulePolicy;
      plan: TickPlan;
      ledger: TickLedger | null;
    }[],
    now: Date,
  ): Promise<{ jobs: NewJob[]; skipped: number; canceled: CancelResult; notRun: TickRow[] }> {
    const watched = plans.filter(
      (p) => p.policy.overlap !== 'BUFFER_ALL' && p.policy.overlap !== 'ALLOW_ALL' && p.plan.fires.length > 0,
    );
    const active = new Map<string, ActiveRuns>();
    if (watched.length > 0) {
      const { rows } = await sql<{ workflow_id: string; running: number; waiting: number }>`
        SELECT workflow_id, count(*) FILTER (WHERE status = 'RUNNING')::int AS running,
               count(*) FILTER (WHERE status <> 'RUNNING')::int AS waiting
        FROM jobs
        WHERE workflow_id = ANY(${watched.map((p) => p.w.id)}::uuid[]) AND status IN ('PENDING', 'QUEUED', 'RUNNING')
          -- Concurrent runs (a backfill's under ALLOW_ALL) do not hold the schedule back.
          AND run_id IS NULL AND NOT concurrent
        GROUP BY workflow_id`.execute(trx);
      for (const r of rows) active.set(r.workflow_id, r);
    }
    const jobs: NewJob[] = [];
    const cancelFor: string[] = [];
    // The fire time each CANCEL_OTHER workflow runs now, for the reason on the rows of the runs it ends.
    const replacedBy = new Map<string, Date>();
    const notRunRows: TickRow[] = [];
    let skipped = 0;
    for (const { w, schedule, policy, plan, ledger } of plans) {
      const unfinished = active.get(w.id) ?? NOTHING_ACTIVE;
      const decision = decideOverlap(policy.overlap, plan.fires.length, unfinished);
      const kept = keptFires(policy.overlap, plan.fires, decision.admit);
      const notRun = plan.fires.length - kept.length;
      skipped += notRun;
      if (decision.cancelActive) cancelFor.push(w.id);
      if (policy.overlap === 'CANCEL_OTHER' && kept[0]) replacedBy.set(w.id, kept[0]);
      if (ledger !== null && notRun > 0) {
        const keptTimes = new Set(kept.map((k) => k.getTime()));
        const waiting = unfinished.running + unfinished.waiting;
        for (const nominalAt of plan.fires) {
          if (keptTimes.has(nominalAt.getTime())) continue;
          notRunRows.push({
            workflowId: w.id,
            nominalAt,
            scheduledAt: new Date(nominalAt.getTime() + jitterMs(w.id, nominalAt, policy.jitterSeconds)),
            outcome: policy.overlap === 'CANCEL_OTHER' ? 'CANCELED_OTHER' : 'SKIPPED_OVERLAP',
            jobId: null,
            reason: overlapReason(policy.overlap, waiting, kept),
          });
        }
      }
      kept.forEach((nominalAt, i) => {
        const scheduledAt = new Date(nominalAt.getTime() + jitterMs(w.id, nominalAt, policy.jitterSeconds));
        const deadline = policy.startingDeadlineSeconds;
        jobs.push({
          id: newId(),
          w,
          nominalAt,
          // BUFFER_ONE is the one policy that reads the unfinished runs and lets a run wait behind one.
          buffered: policy.overlap === 'BUFFER_ONE' && (unfinished.running + unfinished.waiting > 0 || i > 0),
          scheduledAt,
          // The fire times this run stands for besides its own, as before policies: on the first.
          skipped: i === 0 ? plan.skipped + notRun : 0,
          startBy: deadline === null ? null : new Date(scheduledAt.getTime() + deadline * 1000),
          // The second occurrence of a doubled wall-clock time (autumn, policy BOTH): DST_DOUBLED.
          dstReason: ledger === null ? null : dstDoubledReason(schedule, nominalAt),
        });
      });
    }
    let canceled: CancelResult = { canceled: [], stop: [] };
    if (cancelFor.length > 0) {
      // Replaced by policy, as a reschedule's cancellations: facts for analytics (bulk), no
      // notification each; the running ones (a DAG run's tasks) are told to stop after the commit.
      canceled = await cancelJobs(
        trx,
        { where: sql`workflow_id = ANY(${cancelFor}::uuid[]) AND NOT concurrent`, scope: 'unfinished' },
        { now, bulk: true },
      );
      if (plans.some((p) => p.ledger !== null)) {
        await endTicksOfJobs(
          trx,
          canceled.canceled.map((r) => ({
            ...r,
            reason: `policy CANCEL_OTHER: canceled for the run for ${replacedBy.get(r.workflow_id)?.toISOString() ?? 'a later fire time'}`,
          })),
          'CANCELED_OTHER',
        );
      }
    }
    return { jobs, skipped, canceled, notRun: notRunRows };
  }

  /**
   * Records the due fire times of held workflows and moves their `next_run_at` past now:
   * paused ones as PAUSED (workflows_paused_due_idx, migration 0022), and those whose build failed
   * as NOT_BUILT with the build's error (workflows_unbuilt_due_idx, migration 0025, which holds
   * only unbuilt workflows). A paused workflow whose build failed is in neither: its fire times are
   * recorded as PAUSED by the resume (src/services/ticks/ledger.ts recordPauseTicks). Both indexes are empty or tiny on a healthy
   * installation, so the two extra reads of every tick cost next to nothing. `updated_at` is left
   * alone: nothing a user sees changes (the view shows no next run while paused or failed), and a
   * resume or rebuild computes the next run on the same grid.
   */
  async #recordHeld(trx: Transaction<DB>, now: Date): Promise<{ paused: number; notBuilt: number }> {
    type HeldRow = DueRow & { pause_note: string | null; build_error: string | null };
    const columns = sql`id, user_id, generation, schedule_type, interval_minutes, cron_expression, timezone, run_at,
      schedule_policy, next_run_at, pause_note, build_error`;
    // One round trip for both (each subquery locks its own rows: FOR UPDATE is not allowed on a UNION).
    const { rows: held } = await sql<HeldRow & { paused: boolean }>`
      WITH paused AS (
        SELECT ${columns}
        FROM workflows
        WHERE next_run_at <= ${now}
          AND paused_at IS NOT NULL AND terminated_at IS NULL AND build_status = 'COMPLETED'
        ORDER BY next_run_at
        LIMIT ${this.#config.batchSize}
        FOR UPDATE SKIP LOCKED
      ), failed AS (
        SELECT ${columns}
        FROM workflows
        WHERE next_run_at <= ${now}
          AND next_run_at IS NOT NULL AND terminated_at IS NULL AND paused_at IS NULL AND build_status = 'FAILED'
        ORDER BY next_run_at
        LIMIT ${this.#config.batchSize}
        FOR UPDATE SKIP LOCKED
      )
      SELECT *, true AS paused FROM paused UNION ALL SELECT *, false AS paused FROM failed`.execute(trx);
    if (held.length === 0) return { paused: 0, notBuilt: 0 };
    const rows: TickRow[] = [];
    const next: (string | null)[] = [];
    for (const { paused, ...w } of held) {
      const schedule = scheduleOf(w);
      const policy = (schedule.type === 'once' ? undefined : schedule.policy) ?? DEFAULT_SCHEDULE_POLICY;
      const ledger = paused
        ? pausedLedger(schedule, w.next_run_at, now, w.pause_note)
        : notBuiltLedger(schedule, w.next_run_at, now, w.build_error);
      rows.push(...plainTickRows(w.id, policy.jitterSeconds, ledger).rows);
      next.push(ledger.nextRunAt?.toISOString() ?? null);
    }
    await insertTicks(trx, rows, now);
    await sql`
      UPDATE workflows w SET next_run_at = v.next_run_at
      FROM unnest(${held.map((w) => w.id)}::uuid[], ${next}::timestamptz[]) AS v(id, next_run_at)
      WHERE w.id = v.id`.execute(trx);
    const pausedCount = held.filter((w) => w.paused).length;
    return { paused: pausedCount, notBuilt: held.length - pausedCount };
  }
}

/** Why a fire time that catch-up would run got no run from the overlap policy. */
function overlapReason(policy: OverlapPolicy, unfinished: number, kept: readonly Date[]): string {
  const first = kept[0]?.toISOString();
  switch (policy) {
    case 'CANCEL_OTHER':
      return `policy CANCEL_OTHER: only the latest of the fire times due at once runs${first ? ` (${first})` : ''}`;
    case 'BUFFER_ONE':
      return `policy BUFFER_ONE: a run was already waiting (${unfinished} unfinished)`;
    default:
      return unfinished > 0
        ? `policy SKIP: ${unfinished} earlier run${unfinished === 1 ? ' was' : 's were'} unfinished`
        : `policy SKIP: the run for ${first ?? 'an earlier fire time'} was unfinished`;
  }
}

interface NewJob {
  id: string;
  w: DueWithDefinition;
  /** The fire time it runs for (scheduledAt is this plus the jitter). */
  nominalAt: Date;
  /** Created behind an unfinished run (BUFFER_ONE): recorded as BUFFERED, not STARTED. */
  buffered: boolean;
  scheduledAt: Date;
  skipped: number;
  startBy: Date | null;
  /** Set for the second occurrence of a doubled time (ledger outcome DST_DOUBLED, this reason). */
  dstReason: string | null;
}

const NOTHING_ACTIVE: ActiveRuns = { running: 0, waiting: 0 };

/**
 * Executor: claims jobs with a lease, runs each attempt with the task runner of the job's kind
 * (./task-runner.ts: HEARTBEAT over HTTP in ./heartbeat.ts, CONTAINER through the container
 * runtime in ./container-runner.ts) on the job's own copy of its spec, streams their logs, and
 * records how each attempt ended.
 *
 * Dispatch: DISPATCH events (topic `jobs`) and in-process `jobs:runnable` events only wake the
 * claim loop; the jobs table is the source of truth, so a lost or duplicated message is harmless
 * and a job nobody was told about is still found by the next poll.
 *
 * Leases: a claim sets `lease_expires_at = now + leaseMs`; a renewal every `renewIntervalMs`
 * extends the leases still held. A job that is no longer ours at renewal (canceled, or rescued
 * after we stalled) is aborted and nothing is written for it. Expired leases of crashed executors
 * are rescued by every executor's rescue loop: back to PENDING for another attempt (or FAILED when
 * attempts are used up), and their leftover containers are removed.
 *
 * Policies, at every run, for the job owner's role as it is now: heartbeats go through the
 * outbound guard (src/platform/outbound; a refused target is FAILED "refused by outbound policy"),
 * containers through the container policy (see ./container-runner.ts).
 *
 * Quotas: the claim itself leaves a user's CONTAINER jobs queued while the user runs as many as
 * their max_concurrent_containers quota allows (src/workers/executor/sql.ts `jobsClaim`).
 *
 * Outcomes (RunOutcome): the job state machine decides (src/domain/job-state.ts `attemptEnd`):
 * success → COMPLETED; USER failure → FAILED at once; SYSTEM failure → PENDING with exponential
 * backoff while attempts remain, then FAILED. A final state applies the
 * failure policy (src/services/runs/failure-policy.ts) and writes its `analytics` JOB_FINISHED fact in the same
 * statement (./completer.ts).
 *
 * Stopping: `stop()` stops claiming, lets running jobs finish for up to `softStopMs`, then aborts
 * the rest and hands them back (PENDING, the attempt not counted).
 *
 * Observability: each attempt runs in a `job.run` span whose parent is the context stored on the
 * job at creation (`jobs.trace_context`: the run request, or the scheduler tick), with a child for
 * the HTTP check or the container; the completion rows carry the `job.run` context, so the
 * consumers of the job's facts continue its trace. Metrics (optional registry): fire lag at the
 * first attempt, finished jobs by status and kind, busy and total slots.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { CONTAINER_POLICY_DEFAULTS, type ContainerPolicy } from '../../domain/container-policy.ts';
import { attemptEnd, isFinal, taskAttemptEnd } from '../../domain/job-state.ts';
import type { TaskFailure } from '../../domain/task-retry.ts';
import { QUOTA_DEFAULTS } from '../../domain/quotas.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { ContainerRuntime } from '../../platform/containers/runtime.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import type { LiveLogs } from '../../platform/live-logs.ts';
import type { Logger } from '../../platform/logger.ts';
import { registerExecutorMetrics, type ExecutorMetrics } from '../../platform/metrics/jobs.ts';
import { OutboundGuard } from '../../platform/outbound/guard.ts';
import { contextFromJson, serializeContext } from '../../platform/telemetry/propagation.ts';
import { tracer, tracingEnabled } from '../../platform/telemetry/tracing.ts';
import { writeJobFinishedEvents } from '../../services/facts.ts';
import { isUniqueViolation } from '../../services/users/service.ts';
import { Loop } from '../loop.ts';
import { ARTIFACT_LIMITS_DEFAULTS, type ArtifactLimits } from './artifacts.ts';
import { Completer, type Completion } from './completer.ts';
import { containerRunner } from './container-runner.ts';
import { resolveRuns, startRuns } from '../../services/runs/dag-runs.ts';
import { failurePolicyCtes } from '../../services/runs/failure-policy.ts';
import { heartbeatRunner } from './heartbeat.ts';
import { JobLogWriter } from './log-sink.ts';
import type { RunOutcome } from './outcome.ts';
import {
  jobsClaim,
  jobsHandBack,
  jobsRenewLease,
  jobsRescueExpired,
  type ClaimedJob,
  type ClaimResult,
} from './sql.ts';
import { invalidSpec, type TaskRunner, type TaskRunners } from './task-runner.ts';

export interface ExecutorConfig {
  /**
   * HEARTBEAT jobs run at once by this executor. A heartbeat is an HTTP request: an I/O wait of a
   * socket and a few KB, so hundreds fit one process; 2,000 heartbeats due at the same instant
   * start in 8 claims of 256. @default 256
   */
  heartbeatConcurrency: number;
  /**
   * CONTAINER jobs run at once by this executor: each is a process on the container host (the
   * default suits a 2-core host; size it to the host's cores and memory). @default 4
   */
  containerConcurrency: number;
  /** Lease length. @default 30000 */
  leaseMs: number;
  /** Lease renewal period; well under leaseMs. @default 10000 */
  renewIntervalMs: number;
  /** How often expired leases are looked for. @default 5000 */
  rescueIntervalMs: number;
  /** Claim poll when nothing wakes the executor. @default 1000 */
  pollIntervalMs: number;
  /** First retry delay of a SYSTEM failure; doubles per attempt. @default 10000 */
  retryBaseMs: number;
  /** Longest retry delay. @default 300000 */
  retryMaxMs: number;
  /** How long stop() lets running jobs finish before aborting them. @default 30000 */
  softStopMs: number;
  /** Container limits used when a workflow does not set them (never above the policy's ceilings). */
  containerDefaults: { cpus: number; memoryMb: number; pids: number };
  /** Registries, bridge network and ceilings (the administrator's settings). */
  containerPolicy: ContainerPolicy;
  /**
   * CONTAINER jobs one user may run at once across all executors, for users with the role user
   * and no value of their own (CHRONOVERSE_QUOTA_MAX_CONCURRENT_CONTAINERS; 0: no limit). The
   * claim leaves the others queued. @default 4
   */
  maxConcurrentContainers: number;
  /**
   * Byte limits of the artifacts a CONTAINER job declares (CHRONOVERSE_ARTIFACTS_MAX_ARTIFACT_MB,
   * CHRONOVERSE_ARTIFACTS_MAX_JOB_MB). @default 1 GiB per artifact, 5 GiB per attempt
   */
  artifactLimits: ArtifactLimits;
}

export const EXECUTOR_DEFAULTS: ExecutorConfig = {
  heartbeatConcurrency: 256,
  containerConcurrency: 4,
  leaseMs: 30_000,
  renewIntervalMs: 10_000,
  rescueIntervalMs: 5_000,
  pollIntervalMs: 1_000,
  retryBaseMs: 10_000,
  retryMaxMs: 300_000,
  softStopMs: 30_000,
  containerDefaults: { cpus: 1, memoryMb: 512, pids: 256 },
  containerPolicy: CONTAINER_POLICY_DEFAULTS,
  maxConcurrentContainers: QUOTA_DEFAULTS.max_concurrent_containers,
  artifactLimits: ARTIFACT_LIMITS_DEFAULTS,
};

/** deadline: a DAG task's timeout_seconds passed (over all its attempts). */
type AbortReason = 'canceled' | 'lease_lost' | 'shutdown' | 'deadline';

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  reason: AbortReason | null;
  done: Promise<void>;
  /** The `job.run` span (tracing on). */
  span: Span | null;
}

export class Executor {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly #db: Kysely<DB>;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #live: LiveLogs;
  /** For removing the containers of rescued jobs; the container runner runs the rest. */
  readonly #containers: ContainerRuntime | null;
  readonly #outbound: OutboundGuard;
  readonly #config: ExecutorConfig;
  readonly #running = new Map<string, Running>();
  /** The last claim left free slots while the container quota passed over candidates. */
  #claimAgain = false;
  /**
   * The last claim round left no slot free, or ran with a kind full (that kind was left out of
   * its scan), or saw more candidates than slots: a finished job's slot may then have
   * work waiting, so its release wakes the claim loop. Otherwise the queue was drained and new
   * work announces itself (jobs:runnable, DISPATCH) or is found by the poll. Waking on every
   * release cost an empty round per job at low rates, and a round woken by the next job had to
   * wait for it (the anchor harness's pickup: claim rounds 3.5 per job, the claim stage's wait
   * p50 3 ms, p90 13 ms, for rounds of 5–6 ms).
   */
  #slotsFull = false;
  /** Ids of the jobs this executor claimed lately (bounded): a DISPATCH naming only these is old news. */
  readonly #claimedRecently = new Set<string>();
  readonly #claimLoop: Loop;
  readonly #rescueLoop: Loop;
  readonly #completer: Completer;
  readonly #runners: TaskRunners;
  readonly #metrics: ExecutorMetrics | null;
  readonly #renewLoop: Loop;
  /** The renewal in progress: a second caller waits for it instead of renewing beside it. */
  #renewing: Promise<void> | null = null;
  readonly #bus: Bus;
  #unsubscribe: { bus: Unsubscribe; events: Array<() => void> } | null = null;
  #fetching = false;

  constructor(
    deps: {
      db: Kysely<DB>;
      events: Events;
      logger: Logger;
      bus: Bus;
      live: LiveLogs;
      containers: ContainerRuntime | null;
      /** Where the executor's series are registered (none: not measured). */
      metrics?: Registry;
      /** Heartbeats' requests go through it. @default the default policy (no private networks) */
      outbound?: OutboundGuard;
      /** Where CONTAINER jobs' declared artifacts are kept. @default none (they are not kept) */
      artifacts?: ArtifactStore;
    },
    config: Partial<ExecutorConfig> = {},
  ) {
    this.#db = deps.db;
    this.#events = deps.events;
    this.#logger = deps.logger.child({ executor: this.id });
    this.#live = deps.live;
    this.#containers = deps.containers;
    this.#outbound = deps.outbound ?? new OutboundGuard();
    this.#config = { ...EXECUTOR_DEFAULTS, ...config };
    if (this.#config.heartbeatConcurrency < 1 || this.#config.containerConcurrency < 1)
      throw new Error('executor concurrency must be at least 1 for each kind');
    this.#metrics = deps.metrics
      ? registerExecutorMetrics(deps.metrics, () => ({
          busy: this.#running.size,
          total: this.#config.heartbeatConcurrency + this.#config.containerConcurrency,
        }))
      : null;
    this.#completer = new Completer({
      db: deps.db,
      owner: this.id,
      logger: this.#logger,
      // Tasks a completion queued are claimed at once here, without waiting for a dispatch.
      onResolved: (r) => {
        if (r.finished.length > 0) this.#events.emit('outbox:written', { count: r.finished.length });
        if (r.started > 0) this.#claimLoop.wake();
      },
      // Runs queued behind finished ones (one run of a workflow at a time) are claimable now.
      onRunnable: (count) => this.#events.emit('jobs:runnable', { count }),
    });
    this.#runners = {
      HEARTBEAT: heartbeatRunner({ guard: this.#outbound, logger: this.#logger }),
      CONTAINER: containerRunner(
        deps.containers,
        this.#config,
        deps.artifacts ? { db: deps.db, store: deps.artifacts } : null,
      ),
    };
    if (this.#config.renewIntervalMs >= this.#config.leaseMs)
      throw new Error('renewIntervalMs must be below leaseMs');
    this.#claimLoop = new Loop({
      name: 'executor-claim',
      logger: this.#logger,
      run: async () => {
        if (this.#fetching) await this.claimOnce();
        // Again at once when part of the batch was passed over (see claimOnce).
        if (this.#claimAgain) return 0;
        return this.#config.pollIntervalMs;
      },
    });
    this.#rescueLoop = new Loop({
      name: 'executor-rescue',
      logger: this.#logger,
      run: async () => {
        await this.rescueOnce();
        return this.#config.rescueIntervalMs;
      },
    });
    // One round, then the period: a slow renewal delays the next instead of overlapping it.
    this.#renewLoop = new Loop({
      name: 'executor-renew',
      logger: this.#logger,
      run: async () => {
        await this.renewLeases();
        return this.#config.renewIntervalMs;
      },
    });
    this.#bus = deps.bus;
  }

  get runningJobIds(): string[] {
    return [...this.#running.keys()];
  }

  /** Subscribes (DISPATCH wake-ups, runnable and cancel events) and starts the loops. */
  start(): void {
    this.#unsubscribe ??= {
      bus: this.#bus.subscribe({
        topic: 'jobs',
        group: 'executor',
        // In one process the scheduler's jobs:runnable has usually woken the claim already, and
        // the relay's DISPATCH for the same jobs arrives once they run: no round for it then.
        handler: async (messages) => {
          if (messages.some((m) => !this.#alreadyClaimed(m))) this.#claimLoop.wake();
        },
      }),
      events: [
        this.#events.on('jobs:runnable', () => this.#claimLoop.wake()),
        this.#events.on('job:cancel-requested', ({ jobId }) => this.#abort(jobId, 'canceled')),
      ],
    };
    this.#fetching = true;
    this.#claimLoop.start();
    this.#rescueLoop.start();
    this.#renewLoop.start();
  }

  /** Soft stop, then hard stop: see the module note. Safe twice and before start. */
  async stop(): Promise<void> {
    this.#fetching = false;
    await this.#claimLoop.stop();
    await this.#rescueLoop.stop();
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    const soft = await Promise.race([
      all().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.#config.softStopMs).unref()),
    ]);
    if (!soft) {
      for (const id of this.#running.keys()) this.#abort(id, 'shutdown');
      await all();
    }
    await this.#completer.drain();
    await this.#renewLoop.stop();
    // Last: cancellations still reach jobs while they finish.
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    for (const off of unsubscribe?.events ?? []) off();
    await unsubscribe?.bus();
  }

  /** Claims as many jobs as there are free slots and starts them; returns how many. */
  async claimOnce(): Promise<number> {
    this.#claimAgain = false;
    let containers = 0;
    for (const r of this.#running.values()) if (r.job.kind === 'CONTAINER') containers += 1;
    const slots = {
      heartbeat: Math.max(0, this.#config.heartbeatConcurrency - (this.#running.size - containers)),
      container: Math.max(0, this.#config.containerConcurrency - containers),
    };
    const free = slots.heartbeat + slots.container;
    if (free <= 0) {
      this.#slotsFull = true;
      return 0;
    }
    let claimed: ClaimResult;
    try {
      claimed = await jobsClaim(this.#db, this.id, slots, this.#config.leaseMs, [...this.#running.keys()], {
        maxConcurrentContainers: this.#config.maxConcurrentContainers,
      });
    } catch (err) {
      // Lost a race for a sibling of a running job, or for a user's container slot: the next round
      // sees the winner.
      if (isUniqueViolation(err)) return 0;
      throw err;
    }
    // A kind that had no slot free was left out of the scan, so its queue is unknown: as full.
    this.#slotsFull =
      slots.heartbeat === 0 || slots.container === 0 || claimed.length >= free || claimed.overflow > 0;
    const runs = claimed.filter((job) => job.kind === 'DAG').map((job) => job.id);
    for (const job of claimed) if (job.kind !== 'DAG') this.#start(job);
    if (runs.length > 0) {
      // A DAG run is not executed: its first tasks are queued, and this executor claims them next.
      const started = await this.#db.transaction().execute((trx) => startRuns(trx, this.id, runs));
      if (started.finished.length > 0)
        this.#events.emit('outbox:written', { count: started.finished.length });
      if (started.started > 0) this.#claimAgain = true;
    }
    // Again at once while the round made progress and left slots free behind candidates that
    // were passed over (quota) or did not fit (their kind is full now, and left out next time).
    this.#claimAgain =
      claimed.length > 0 && claimed.length < free && (claimed.passedOver > 0 || claimed.overflow > 0);
    return claimed.length;
  }

  /**
   * Extends held leases; aborts jobs that are no longer ours. Never two at once: while one is in
   * progress, a call resolves with it.
   */
  renewLeases(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    const ids = [...this.#running.keys()];
    if (ids.length === 0) return;
    try {
      const held = await jobsRenewLease(this.#db, this.id, ids, this.#config.leaseMs);
      for (const id of ids) {
        if (!held.has(id) && this.#running.has(id)) {
          this.#events.emit('executor:lease:lost', { jobId: id });
          this.#abort(id, 'lease_lost');
        }
      }
    } catch (err) {
      this.#logger.warn({ err: { message: (err as Error).message } }, 'lease renewal failed; will retry');
    }
  }

  /** Rescues expired leases of any executor; returns how many jobs were rescued. */
  async rescueOnce(): Promise<number> {
    const rescued = await this.#db.transaction().execute(async (trx) => {
      const rows = await jobsRescueExpired(trx, 100);
      // A DAG task's failure counts through its run, which is resolved below; a backfill's run
      // does not count against the live schedule (failure-policy.ts).
      const failed = rows.filter(
        (r) => r.status === 'FAILED' && r.run_id === null && r.trigger !== 'BACKFILL',
      );
      const runs = rows.filter((r) => r.status === 'FAILED' && r.run_id !== null).map((r) => r.run_id!);
      if (failed.length > 0) {
        // A failure like any other for the failure policy (src/services/runs/failure-policy.ts).
        await sql`
          WITH results AS (
            SELECT f.job_id, f.workflow_id, false AS succeeded, COALESCE(f.trace_context, '{}')::jsonb AS headers
            FROM unnest(${failed.map((f) => f.id)}::uuid[], ${failed.map((f) => f.workflow_id)}::uuid[],
                        ${failed.map((f) => f.trace_context)}::text[]) AS f(job_id, workflow_id, trace_context)
          ), ${failurePolicyCtes('results')}
          SELECT count(*) FROM limit_reached`.execute(trx);
      }
      // JOB_FINISHED for jobs, TASK_FINISHED for DAG tasks whose lost attempt was their last.
      await writeJobFinishedEvents(
        trx,
        rows.filter((r) => r.status === 'FAILED').map((r) => r.id),
        { bulk: false },
      );
      if (runs.length > 0) await resolveRuns(trx, runs);
      return rows;
    });
    if (rescued.length === 0) return 0;
    for (const r of rescued) if (r.status === 'FAILED') this.#metrics?.jobFinished(r.kind, 'FAILED');
    this.#logger.warn({ jobs: rescued.map((r) => r.id) }, 'rescued jobs with expired leases');
    if (this.#containers) {
      await this.#containers
        .removeContainers(
          rescued.map((r) => r.id),
          new Map(rescued.map((r) => [r.id, r.attempts])),
        )
        .catch((err: unknown) => {
          this.#logger.warn(
            { err: { message: (err as Error).message } },
            'could not remove orphaned containers',
          );
        });
    }
    this.#events.emit('outbox:written', { count: rescued.length });
    this.#claimLoop.wake();
    return rescued.length;
  }

  /** A DISPATCH whose every job this executor has claimed already. */
  #alreadyClaimed(message: BusMessage): boolean {
    const ids = message.type === 'DISPATCH' ? message.payload.job_ids : null;
    return (
      Array.isArray(ids) &&
      ids.length > 0 &&
      ids.every((id) => typeof id === 'string' && this.#claimedRecently.has(id))
    );
  }

  #abort(jobId: string, reason: AbortReason): void {
    const running = this.#running.get(jobId);
    if (!running || running.reason) return;
    running.reason = reason;
    running.controller.abort(reason);
  }

  #start(job: ClaimedJob): void {
    const controller = new AbortController();
    const span = tracingEnabled()
      ? tracer().startSpan(
          'job.run',
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              'chronoverse.job.id': job.id,
              'chronoverse.workflow.id': job.workflow_id,
              'chronoverse.job.kind': job.kind,
              'chronoverse.job.attempt': job.attempts,
              'chronoverse.executor.id': this.id,
            },
          },
          contextFromJson(job.trace_context),
        )
      : null;
    const entry: Running = { job, controller, reason: null, done: Promise.resolve(), span };
    if (job.attempts === 1) {
      this.#metrics?.jobStarted(job.kind, (Date.now() - new Date(job.scheduled_at).getTime()) / 1000);
    }
    this.#running.set(job.id, entry);
    this.#claimedRecently.add(job.id);
    // Insertion order: the oldest id goes first once 4,096 are kept (a DISPATCH names ≤ 100).
    if (this.#claimedRecently.size > 4096) {
      this.#claimedRecently.delete(this.#claimedRecently.values().next().value!);
    }
    this.#events.emit('executor:job:claimed', {
      jobId: job.id,
      workflowId: job.workflow_id,
      attempt: job.attempts,
    });
    const deadline =
      job.deadline_ms !== null ? setTimeout(() => this.#abort(job.id, 'deadline'), job.deadline_ms) : null;
    const execute = () => this.#execute(entry);
    entry.done = (span ? context.with(trace.setSpan(context.active(), span), execute) : execute())
      .catch((err: unknown) => {
        span?.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
        this.#logger.error({ err, jobId: job.id }, 'executing a job failed unexpectedly');
      })
      .finally(() => {
        if (deadline !== null) clearTimeout(deadline);
        span?.end();
        this.#running.delete(job.id);
        this.#events.emit('executor:job:released', { jobId: job.id });
        if (this.#slotsFull) this.#claimLoop.wake();
      });
  }

  async #execute(entry: Running): Promise<void> {
    const { job, controller } = entry;
    let outcome: RunOutcome;
    const log: { writer: JobLogWriter | null } = { writer: null };
    try {
      // The runner of the job's kind (./task-runner.ts), on the job's own copy of its spec.
      const kind = job.kind;
      if (kind === 'DAG') throw new Error('a DAG run is not executed: claimOnce starts its tasks');
      const runner = this.#runners[kind] as TaskRunner<unknown>;
      const spec = runner.parse(job.payload);
      outcome = !spec.ok
        ? invalidSpec(spec.issues)
        : await runner.run(spec.value, {
            job,
            role: job.user_role ?? 'user',
            signal: controller.signal,
            logs: () =>
              (log.writer ??= new JobLogWriter(
                { db: this.#db, live: this.#live, logger: this.#logger },
                { id: job.id, workflowId: job.workflow_id, attempt: job.attempts, retain: job.log_retention },
              )),
          });
    } catch (err) {
      outcome = {
        kind: 'failed',
        errorKind: 'SYSTEM',
        code: 'EXECUTOR_ERROR',
        message: err instanceof Error ? err.message : String(err),
        retryable: true,
      };
    } finally {
      await log.writer?.flush();
    }
    if (entry.reason === 'shutdown') {
      await jobsHandBack(this.#db, this.id, [job.id]);
      return;
    }
    if (entry.reason === 'canceled' || entry.reason === 'lease_lost') outcome = { kind: 'lease_lost' };
    if (entry.reason === 'deadline') {
      outcome = {
        kind: 'failed',
        errorKind: 'USER',
        code: DEADLINE_EXCEEDED,
        message: 'the task did not finish within its timeout_seconds (counted over all its attempts)',
        retryable: false,
      };
    }
    if (entry.span) {
      entry.span.setAttribute('chronoverse.job.outcome', entry.reason ?? outcome.kind);
      if (outcome.kind === 'failed') {
        entry.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
      }
    }
    await this.#complete(job, outcome);
  }

  /** Records the outcome through the batched completer (guarded: only while we own the lease). */
  async #complete(job: ClaimedJob, outcome: RunOutcome): Promise<void> {
    if (outcome.kind === 'lease_lost') return;
    const end =
      job.retry_policy !== null
        ? taskAttemptEnd(outcome, taskFailureOf(outcome), job.attempts, job.retry_policy)
        : attemptEnd(outcome, job.attempts, job.max_attempts, {
            baseMs: this.#config.retryBaseMs,
            maxMs: this.#config.retryMaxMs,
          });
    const status = end.to as Completion['status'];
    const failure = outcome.kind === 'failed' ? outcome : null;
    const detail = outcome.kind === 'succeeded' || outcome.kind === 'failed' ? outcome : null;
    const written = await this.#completer.complete({
      jobId: job.id,
      runId: job.run_id,
      backfillId: job.backfill_id,
      attempt: job.attempts,
      status,
      outputs: outcome.kind === 'succeeded' ? (outcome.outputs ?? null) : null,
      exitCode: 'exitCode' in outcome ? (outcome.exitCode ?? null) : null,
      httpStatusCode: detail?.httpStatusCode ?? null,
      latencyMs: detail?.latencyMs ?? null,
      errorKind: failure?.errorKind ?? null,
      errorCode: failure?.code ?? null,
      errorMessage: failure ? failure.message.slice(0, 4096) : null,
      retryDelayMs: end.retryDelayMs,
      // Inside the `job.run` span (#start): the facts of this attempt continue its trace.
      traceHeaders: serializeContext(),
    });
    if (!written) return;
    if (end.event !== 'succeed') {
      this.#logger.info(
        { jobId: job.id, workflowId: job.workflow_id, attempt: job.attempts, status, code: failure?.code },
        'job attempt finished',
      );
    }
    if (isFinal(end.to)) {
      this.#metrics?.jobFinished(job.kind, end.to);
      this.#events.emit('executor:job:finished', { jobId: job.id, status: end.to });
    }
    this.#events.emit('outbox:written', { count: 1 });
    // What this end can make claimable besides the runs queued behind it (the completer tells of
    // those): the job itself, back to wait for its retry, and its user's CONTAINER jobs that the
    // container quota held back. Anything else was claimable before. Woken after every completion,
    // the claim ran a round per completion batch that found nothing: in the anchor harness's
    // pickup phase 2.0 rounds per job before, 1.3–1.6 after (its latency moved within the noise).
    if (status === 'PENDING' || job.kind === 'CONTAINER') this.#events.emit('jobs:runnable', { count: 1 });
  }
}

const DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED';

/** How a failed attempt reads to a task's retry policy (`on`: SYSTEM, USER, TIMEOUT, HTTP_5XX, EXIT_CODE:n). */
function taskFailureOf(outcome: RunOutcome): TaskFailure | null {
  // Past its deadline a task is not tried again, whatever its policy's `on` says.
  if (outcome.kind !== 'failed' || outcome.code === DEADLINE_EXCEEDED) return null;
  if (outcome.code === 'TIMEOUT') return { kind: 'TIMEOUT' };
  if (outcome.errorKind === 'SYSTEM') return { kind: 'SYSTEM' };
  return { kind: 'USER', exitCode: outcome.exitCode ?? null, httpStatus: outcome.httpStatusCode ?? null };
}

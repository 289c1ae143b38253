/**
 * Workflow worker: reacts to `workflows` events.
 *
 * - BUILD: prepares a workflow to run. HEARTBEAT builds at once; CONTAINER makes sure its image is
 *   present (pulling it when missing), after checking its registry against the allow-list
 *   (src/domain/container-policy.ts: a refused one FAILS before the runtime is asked anything, so
 *   nothing is pulled). COMPLETED sets the first `next_run_at` (an interval schedule
 *   runs one interval after the build completes, as in Chronoverse); FAILED stores the reason. Every
 *   write is guarded by the event's generation, so a build superseded by an edit changes nothing.
 *   A build that cannot reach the container runtime is not the workflow's fault: it goes back to
 *   QUEUED with `build_error` saying what it waits for, and a sweep (every `retryWaitingBuildsMs`,
 *   once the runtime answers a ping) builds it again — as a Kubernetes pod waits in
 *   ContainerCreating rather than failing. Only the workflow's own faults (no such image) FAIL.
 * - FAILURE_LIMIT_REACHED: the statement that recorded a failure counted it and found the
 *   workflow's maximum reached (src/services/runs/failure-policy.ts); the workflow is
 *   terminated (reason "auto"), its queued jobs canceled, one TERMINATE event written. Guarded by
 *   the state (`terminate`'s from states, src/domain/workflow-status.ts) and the generation, so a
 *   redelivery changes nothing. A workflow with `pause_on_failure` is paused instead (note "paused
 *   after N consecutive failures", queued automatic runs canceled, as POST …/pause does): its owner
 *   resumes it as it is instead of editing it, which rebuilds it. Guarded by `paused_at IS NULL`
 *   (a pause asked for during a build is in force though the state still shows the build): a
 *   redelivery, or another failure of a manual run while paused, keeps the first pause.
 * - JOB_COMPLETED / JOB_FAILED: the failure policy as versions before it moved into the
 *   completion counted it; only rows written by those versions, still in the outbox after an
 *   upgrade, carry them. Counted once per job (`processed_events`).
 * - TERMINATE: cancels the workflow's running jobs; executors stop their containers.
 *
 * Every handler is idempotent: a redelivered event finds its effect already applied.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  CONTAINER_POLICY_DEFAULTS,
  imageProblem,
  type ContainerPolicy,
} from '../../domain/container-policy.ts';
import { buildInputOf, type WorkflowPayload } from '../../domain/workflow-input.ts';
import { failurePauseNote } from '../../domain/pause.ts';
import { nextRunAfter } from '../../domain/schedule.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type ContainerRuntime,
} from '../../platform/containers/runtime.ts';
import type { DB, WorkflowRow } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import type { Logger } from '../../platform/logger.ts';
import { Loop } from '../loop.ts';
import { workflowFact, writeWorkflowFact } from '../../services/facts.ts';
import { cancelJobs, requestStops } from '../../services/jobs/cancel.ts';
import { writeOutbox } from '../../services/outbox.ts';
import { recordTerminatedTick } from '../../services/ticks/ledger.ts';
import { scheduleOf } from '../../services/workflows/codec.ts';
import { workflowFrom } from '../../services/workflows/state-sql.ts';
import { onceCompletion } from '../../services/runs/failure-policy.ts';
import {
  IllegalWorkflowTransition,
  nextWorkflowStatus,
  WORKFLOW_FROM,
  workflowTransition,
  type WorkflowEvent,
  type WorkflowStatus,
} from '../../domain/workflow-status.ts';

const CONSUMER = 'workflow-worker';

export interface WorkflowWorkerConfig {
  /** How often builds waiting for the container runtime are tried again. @default 30000 */
  retryWaitingBuildsMs: number;
  /** Waiting builds tried per sweep (oldest first); a full batch sweeps again at once. @default 100 */
  retryBatchSize: number;
}

export const WORKFLOW_WORKER_DEFAULTS: WorkflowWorkerConfig = {
  retryWaitingBuildsMs: 30_000,
  retryBatchSize: 100,
};

interface WorkflowEventPayload {
  workflow_id: string;
  generation?: number;
  job_id?: string;
}

/** Written by src/services/runs/failure-policy.ts. */
interface FailureLimitPayload {
  workflow_id: string;
  user_id: string;
  generation: number;
  job_id: string;
  consecutive_failures: number;
  max_consecutive_failures: number;
}

export class WorkflowWorker {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #containers: ContainerRuntime | null;
  readonly #imagePolicy: Pick<ContainerPolicy, 'allowedRegistries'>;
  readonly #config: WorkflowWorkerConfig;
  readonly #retryLoop: Loop;
  readonly #bus: Bus;
  #unsubscribe: Unsubscribe | null = null;

  constructor(
    deps: {
      db: Kysely<DB>;
      clock: Clock;
      events: Events;
      logger: Logger;
      bus: Bus;
      /** Null when no container runtime is configured: CONTAINER builds then fail with that reason. */
      containers: ContainerRuntime | null;
      /** The registry allow-list, checked before the image is looked for. @default the default list */
      imagePolicy?: Pick<ContainerPolicy, 'allowedRegistries'>;
    },
    config: Partial<WorkflowWorkerConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#containers = deps.containers;
    this.#imagePolicy = deps.imagePolicy ?? CONTAINER_POLICY_DEFAULTS;
    this.#config = { ...WORKFLOW_WORKER_DEFAULTS, ...config };
    this.#retryLoop = new Loop({
      name: 'waiting-builds',
      logger: deps.logger,
      run: () => this.retryWaitingBuilds(),
    });
    this.#bus = deps.bus;
  }

  /** Joins the `workflows` group and starts the sweep of builds waiting for the container runtime. */
  start(): void {
    this.#unsubscribe ??= this.#bus.subscribe({
      topic: 'workflows',
      group: CONSUMER,
      handler: (batch) => this.handle(batch),
    });
    this.#retryLoop.start();
  }

  /** Stops the sweep, then leaves the group once the batch in hand is handled; safe twice. */
  async stop(): Promise<void> {
    await this.#retryLoop.stop();
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    await unsubscribe?.();
  }

  /**
   * One sweep: builds again the CONTAINER workflows whose build waits for the container runtime,
   * oldest first, when the runtime answers a ping (one ping per sweep, not one failure per
   * workflow). Several workflow workers may sweep at once: #build's guarded updates let one
   * finish each build. Resolves with the time to sleep before the next sweep.
   */
  async retryWaitingBuilds(): Promise<number> {
    const { retryWaitingBuildsMs, retryBatchSize } = this.#config;
    if (!this.#containers) return retryWaitingBuildsMs;
    // A scan of workflows by build state; waiting builds are rare and the table is small next to
    // jobs (100k workflows: a few ms every 30 s), so no index of its own.
    const waiting = await this.#db
      .selectFrom('workflows')
      .select(['id', 'generation'])
      .where('kind', 'in', ['CONTAINER', 'DAG'])
      .where('build_status', '=', 'QUEUED')
      .where('build_error', 'is not', null)
      .where('state', '<>', 'TERMINATED')
      .orderBy('updated_at')
      .limit(retryBatchSize)
      .execute();
    if (waiting.length === 0 || !(await this.#containers.ping())) return retryWaitingBuildsMs;
    await this.#buildAll(waiting.map((w) => ({ workflowId: w.id, generation: w.generation })));
    return waiting.length === retryBatchSize ? 0 : retryWaitingBuildsMs;
  }

  async handle(batch: BusMessage[]): Promise<void> {
    // A relay batch holds at most one event per workflow (per-key order), so the successes of a
    // batch can be applied together without reordering anything for any workflow.
    await this.#jobsCompleted(batch.filter((m) => m.type === 'JOB_COMPLETED'));
    await this.#buildAll(
      batch
        .filter((m) => m.type === 'BUILD')
        .map((m) => {
          const payload = m.payload as unknown as WorkflowEventPayload;
          return { workflowId: payload.workflow_id, generation: payload.generation ?? 0 };
        }),
    );
    for (const message of batch) {
      const payload = message.payload as unknown as WorkflowEventPayload;
      switch (message.type) {
        case 'FAILURE_LIMIT_REACHED':
          await this.#failureLimitReached(payload as FailureLimitPayload);
          break;
        case 'JOB_FAILED':
          await this.#jobFailed(message, payload);
          break;
        case 'TERMINATE':
          await this.#cancelRunning(payload.workflow_id);
          break;
        default:
          // JOB_COMPLETED and BUILD (above), RESCHEDULE (the edit set next_run_at), JOB_CANCELED, DELETE.
          break;
      }
    }
  }

  /** Successes reset the failure count (and complete a once workflow), once per job, in one transaction. */
  async #jobsCompleted(messages: BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const now = this.#clock.now();
    await this.#db.transaction().execute(async (trx) => {
      const eventIds = messages.map(
        (m) => `JOB_COMPLETED:${(m.payload as { job_id?: string }).job_id ?? m.id}`,
      );
      const fresh = await trx
        .insertInto('processed_events')
        .values(eventIds.map((event_id) => ({ consumer: CONSUMER, event_id })))
        .onConflict((oc) => oc.doNothing())
        .returning('event_id')
        .execute();
      const freshIds = new Set(fresh.map((f) => f.event_id));
      const workflowIds = messages
        .filter((_, i) => freshIds.has(eventIds[i]!))
        .map((m) => (m.payload as unknown as WorkflowEventPayload).workflow_id);
      if (workflowIds.length === 0) return;
      await sql`
        UPDATE workflows
        SET consecutive_job_failures_count = 0,
            ${onceCompletion(sql`${now}::timestamptz`)},
            updated_at = ${now}
        WHERE id = ANY(${workflowIds}::uuid[])`.execute(trx);
    });
  }

  /**
   * The BUILD events of a batch: the workflows read in one statement; those with no image to
   * prepare (HEARTBEAT, a DAG of HEARTBEAT tasks) completed together in one transaction; the
   * others one by one, as pulls are. One transaction per HEARTBEAT build held builds to 170–250/s
   * (docs/performance.md, bench/bulk.ts), an hour for a million bulk-created one-offs.
   */
  async #buildAll(builds: Array<{ workflowId: string; generation: number }>): Promise<void> {
    if (builds.length === 0) return;
    const rows = await this.#db
      .selectFrom('workflows')
      .selectAll()
      .where(
        'id',
        'in',
        builds.map((b) => b.workflowId),
      )
      .execute();
    const byId = new Map(rows.map((w) => [w.id, w]));
    const imageless: WorkflowRow[] = [];
    const withImages: Array<{ workflow: WorkflowRow; images: string[] }> = [];
    for (const { workflowId, generation } of builds) {
      const workflow = byId.get(workflowId);
      if (!workflow || workflow.generation !== generation || workflow.state === 'TERMINATED') continue;
      if (workflow.build_status === 'COMPLETED' || workflow.build_status === 'FAILED') continue;
      // The images to have locally: a CONTAINER workflow's, or every CONTAINER task's of a DAG.
      const images = buildInputOf(workflow.kind, workflow.payload as WorkflowPayload)?.split('\n') ?? [];
      if (images.length === 0) imageless.push(workflow);
      else withImages.push({ workflow, images });
    }
    await this.#finishBuilds(imageless.map((workflow) => ({ workflow, status: 'COMPLETED', reason: null })));
    for (const { workflow, images } of withImages) await this.#build(workflow, images);
  }

  /** A build with images to prepare: STARTED, then each image made present (or the reason it cannot be). */
  async #build(workflow: WorkflowRow, images: string[]): Promise<void> {
    const workflowId = workflow.id;
    const generation = workflow.generation;
    const image = images.join(', ');
    const startedAt = this.#clock.now();
    await this.#db.transaction().execute(async (trx) => {
      const started = await trx
        .updateTable('workflows')
        .set({ build_status: 'STARTED', updated_at: startedAt })
        .where('id', '=', workflowId)
        .where('generation', '=', generation)
        .where('build_status', '=', 'QUEUED')
        .executeTakeFirst();
      // A redelivered BUILD finds it STARTED already: the fact was written the first time.
      if (started.numUpdatedRows > 0n)
        await writeWorkflowFact(trx, 'BUILD_STARTED', workflow, startedAt, { image });
    });
    this.#events.emit('outbox:written', { count: 1 });
    // The registry allow-list before anything could reach a registry: the API checks it too, but
    // a workflow stored before the list changed must not make the runtime pull.
    for (const one of images) {
      const refused = imageProblem(one, this.#imagePolicy);
      if (refused !== null) {
        await this.#finishBuild(
          workflow,
          'FAILED',
          `refused by image policy: ${one} ${refused}`.slice(0, 2000),
        );
        return;
      }
    }
    if (!this.#containers) {
      await this.#finishBuild(workflow, 'FAILED', 'no container runtime is configured (set DOCKER_HOST)');
      return;
    }
    try {
      for (const one of images) await this.#containers.ensureImage(one);
      await this.#finishBuild(workflow, 'COMPLETED', null);
    } catch (err) {
      if (err instanceof ContainerRuntimeUnavailableError) {
        await this.#waitForRuntime(workflow, err.message);
        return;
      }
      const reason =
        err instanceof ImageNotFoundError
          ? err.message
          : `the container runtime failed while preparing ${image}: ${err instanceof Error ? err.message : String(err)}`;
      await this.#finishBuild(workflow, 'FAILED', reason.slice(0, 2000));
    }
  }

  /** Back to QUEUED with the reason; retryWaitingBuilds() takes it up when the runtime answers. */
  async #waitForRuntime(workflow: WorkflowRow, detail: string): Promise<void> {
    const reason = `waiting for the container runtime (tried again every ${Math.round(this.#config.retryWaitingBuildsMs / 1000)} s): ${detail}`;
    await this.#db
      .updateTable('workflows')
      .set({ build_status: 'QUEUED', build_error: reason.slice(0, 2000), updated_at: this.#clock.now() })
      .where('id', '=', workflow.id)
      .where('generation', '=', workflow.generation)
      .where('build_status', 'in', ['QUEUED', 'STARTED'])
      .where('state', '<>', 'TERMINATED')
      .execute();
    this.#logger.warn({ workflowId: workflow.id, reason }, 'workflow build waits for the container runtime');
    this.#events.emit('workflow:build:waiting', { workflowId: workflow.id });
  }

  async #finishBuild(
    workflow: WorkflowRow,
    status: 'COMPLETED' | 'FAILED',
    reason: string | null,
  ): Promise<void> {
    await this.#finishBuilds([{ workflow, status, reason }]);
  }

  /**
   * Builds finished, in one transaction: their rows locked and read in one statement, each one's
   * next state from the machine, one UPDATE over all of them guarded by the generation (a build
   * superseded by an edit changes nothing), the build still running and the machine's `from`
   * states (terminated meanwhile: nothing), and the facts of those it moved in one outbox insert.
   */
  async #finishBuilds(
    builds: Array<{ workflow: WorkflowRow; status: 'COMPLETED' | 'FAILED'; reason: string | null }>,
  ): Promise<void> {
    if (builds.length === 0) return;
    const now = this.#clock.now();
    const nextRunAts = builds.map(({ workflow, status }) => {
      const schedule = scheduleOf(workflow);
      // A once workflow whose run_at passed while it was building (a slow pull, a long build queue:
      // 1,000 created at once) still runs, late, like a catch-up run; it used to get no next run and
      // so never ran. It cannot run twice: the tick's job is unique per (workflow, scheduled_at), and
      // one that already completed keeps completed_at.
      const lateOnce = schedule.type === 'once' && workflow.completed_at === null ? schedule.runAt : null;
      // The fire time set when the build was queued stays (the ledger has no hole, issue 13): one
      // that fell during the build runs as the catch-up policy says, once built; after a failed
      // build the scheduler records it and the next ones as NOT_BUILT, moving along the grid, and
      // the missed-fire detector names the failed build.
      return (
        workflow.next_run_at ??
        (status === 'COMPLETED' ? (nextRunAfter(schedule, now, now) ?? lateOnce) : null)
      );
    });
    const finished = await this.#db.transaction().execute(async (trx) => {
      // The rows locked first: whether a pause was asked for during a build decides the state it
      // leaves (PAUSED or ACTIVE), and must not change between this read and the write.
      const current = await trx
        .selectFrom('workflows')
        .select(['id', 'generation', 'state', 'paused_at'])
        .where(
          'id',
          'in',
          builds.map((b) => b.workflow.id),
        )
        .where('build_status', 'in', ['QUEUED', 'STARTED'])
        .orderBy('id')
        .forUpdate()
        .execute();
      const byId = new Map(current.map((c) => [c.id, c]));
      const moves: Array<{ build: (typeof builds)[number]; nextRunAt: Date | null; state: WorkflowStatus }> =
        [];
      builds.forEach((build, i) => {
        const row = byId.get(build.workflow.id);
        // Superseded by an edit (another generation), or finished by another worker meanwhile.
        if (!row || row.generation !== build.workflow.generation) return;
        const event: WorkflowEvent =
          build.status === 'COMPLETED'
            ? { type: 'buildCompleted', paused: row.paused_at !== null }
            : { type: 'buildFailed' };
        const state = workflowTransition(row.state, event);
        // Terminated meanwhile: the build's result no longer matters.
        if (state instanceof IllegalWorkflowTransition) return;
        moves.push({ build, nextRunAt: nextRunAts[i]!, state });
      });
      if (moves.length === 0) return [];
      const { rows } = await sql<{ id: string }>`
        UPDATE workflows w
        SET build_status = v.status, build_error = v.reason, next_run_at = v.next_run_at, state = v.state,
            updated_at = ${now}
        FROM unnest(${moves.map((m) => m.build.workflow.id)}::uuid[], ${moves.map((m) => m.build.workflow.generation)}::int[],
                    ${moves.map((m) => m.build.status)}::text[], ${moves.map((m) => m.build.reason)}::text[],
                    ${moves.map((m) => m.nextRunAt?.toISOString() ?? null)}::timestamptz[],
                    ${moves.map((m) => m.state)}::text[])
          AS v(id, generation, status, reason, next_run_at, state)
        WHERE w.id = v.id AND w.generation = v.generation AND w.build_status IN ('QUEUED', 'STARTED')
          AND CASE v.status WHEN 'COMPLETED' THEN w.state IN (${workflowFrom('buildCompleted')})
                            ELSE w.state IN (${workflowFrom('buildFailed')}) END
        RETURNING w.id`.execute(trx);
      const moved = new Set(rows.map((r) => r.id));
      const done = moves.filter((m) => moved.has(m.build.workflow.id)).map((m) => m.build);
      await writeOutbox(
        trx,
        done.map(({ workflow, status, reason }) =>
          status === 'COMPLETED'
            ? workflowFact('BUILD_COMPLETED', workflow, now, {})
            : workflowFact('BUILD_FAILED', workflow, now, { reason: reason ?? 'unknown' }),
        ),
      );
      return done;
    });
    if (finished.length === 0) return;
    this.#events.emit('outbox:written', { count: finished.length });
    for (const { workflow, status, reason } of finished) {
      this.#logger.info({ workflowId: workflow.id, status, reason }, 'workflow build finished');
      this.#events.emit('workflow:build:finished', { workflowId: workflow.id, status });
      this.#events.emit('schedules:changed', { workflowId: workflow.id });
    }
  }

  /** The failure limit was reached (counted by the completion): terminate (or pause), once. */
  async #failureLimitReached(payload: FailureLimitPayload): Promise<void> {
    const outcome = await this.#db.transaction().execute(async (trx) => {
      const workflow = await trx
        .selectFrom('workflows')
        .select(['id', 'user_id', 'generation', 'name', 'kind', 'state', 'pause_on_failure', 'paused_at'])
        .where('id', '=', payload.workflow_id)
        .forUpdate()
        .executeTakeFirst();
      // Gone, already terminated, or edited since (an edit starts the count afresh).
      if (!workflow || workflow.state === 'TERMINATED' || workflow.generation !== payload.generation)
        return null;
      if (workflow.pause_on_failure) {
        return (await this.#pauseAuto(trx, workflow, payload.consecutive_failures)) ? 'paused' : null;
      }
      await this.#terminateAuto(
        trx,
        workflow,
        payload.consecutive_failures,
        payload.max_consecutive_failures,
      );
      return 'terminated';
    });
    if (outcome === 'terminated') this.#terminated(payload.workflow_id);
    if (outcome === 'paused') this.#paused(payload.workflow_id);
  }

  /** Before the policy moved into the completion: a failure counts once per job here. */
  async #jobFailed(message: BusMessage, payload: WorkflowEventPayload): Promise<void> {
    const outcome = await this.#db.transaction().execute(async (trx) => {
      if (!(await markProcessed(trx, `${message.type}:${payload.job_id ?? message.id}`))) return null;
      const now = this.#clock.now();
      const { rows } = await sql<{
        id: string;
        user_id: string;
        generation: number;
        name: string;
        kind: 'HEARTBEAT' | 'CONTAINER';
        consecutive_job_failures_count: number;
        max_consecutive_job_failures_allowed: number;
        state: WorkflowStatus;
        pause_on_failure: boolean;
        paused_at: Date | null;
      }>`
        UPDATE workflows
        SET consecutive_job_failures_count = consecutive_job_failures_count + 1,
            ${onceCompletion(sql`${now}::timestamptz`)},
            updated_at = ${now}
        WHERE id = ${payload.workflow_id}
        RETURNING id, user_id, generation, name, kind, consecutive_job_failures_count, max_consecutive_job_failures_allowed,
                  state, pause_on_failure, paused_at`.execute(trx);
      const workflow = rows[0];
      if (!workflow || workflow.state === 'TERMINATED') return null;
      if (workflow.consecutive_job_failures_count < workflow.max_consecutive_job_failures_allowed)
        return null;
      if (workflow.pause_on_failure) {
        return (await this.#pauseAuto(trx, workflow, workflow.consecutive_job_failures_count))
          ? 'paused'
          : null;
      }
      await this.#terminateAuto(
        trx,
        workflow,
        workflow.consecutive_job_failures_count,
        workflow.max_consecutive_job_failures_allowed,
      );
      return 'terminated';
    });
    if (outcome === 'terminated') this.#terminated(payload.workflow_id);
    if (outcome === 'paused') this.#paused(payload.workflow_id);
  }

  /**
   * Pauses after consecutive failures (`pause_on_failure`), as POST …/pause does: queued automatic
   * runs canceled, the scheduler skips it until it is resumed. False when it was paused already
   * (the first pause, and its note, stay).
   */
  async #pauseAuto(
    trx: Transaction<DB>,
    workflow: Pick<WorkflowRow, 'id' | 'paused_at' | 'state'>,
    failures: number,
  ): Promise<boolean> {
    if (workflow.paused_at !== null) return false;
    const now = this.#clock.now();
    await trx
      .updateTable('workflows')
      .set({
        state: nextWorkflowStatus(workflow.state, { type: 'pause' }),
        paused_at: now,
        pause_note: failurePauseNote(failures),
        updated_at: now,
      })
      .where('id', '=', workflow.id)
      .where('state', 'in', WORKFLOW_FROM.pause)
      .execute();
    // As POST …/pause: the schedule's waiting runs (a started run, a DAG's tasks included, goes on).
    await cancelJobs(
      trx,
      { where: sql`workflow_id = ${workflow.id} AND trigger = 'AUTOMATIC'`, scope: 'waiting' },
      { now, bulk: true },
    );
    return true;
  }

  #paused(workflowId: string): void {
    this.#logger.info({ workflowId }, 'workflow paused after consecutive failures');
    this.#events.emit('outbox:written', { count: 1 });
    this.#events.emit('schedules:changed', { workflowId });
  }

  /** Terminates after consecutive failures: queued jobs canceled, the fact, one TERMINATE. */
  async #terminateAuto(
    trx: Transaction<DB>,
    workflow: Pick<WorkflowRow, 'id' | 'user_id' | 'generation' | 'name' | 'kind'>,
    failures: number,
    maxFailures: number,
  ): Promise<void> {
    const now = this.#clock.now();
    // The fire time that would have come next, recorded once in the ledger (TERMINATED); later
    // ones are not: the workflow has no schedule any more.
    const before = await trx
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', workflow.id)
      .executeTakeFirstOrThrow();
    await recordTerminatedTick(
      trx,
      before,
      `the workflow was terminated after ${failures} consecutive failures (limit ${maxFailures})`,
      now,
    );
    await trx
      .updateTable('workflows')
      .set({
        state: nextWorkflowStatus(before.state, { type: 'terminate' }),
        terminated_at: now,
        next_run_at: null,
        updated_at: now,
      })
      .where('id', '=', workflow.id)
      .where('state', 'in', WORKFLOW_FROM.terminate)
      .execute();
    // The waiting runs now; the running ones when TERMINATE is handled (#cancelRunning).
    await cancelJobs(
      trx,
      { where: sql`workflow_id = ${workflow.id}`, scope: 'waiting' },
      { now, bulk: true },
    );
    await writeWorkflowFact(trx, 'WORKFLOW_TERMINATED', workflow, now, {
      reason: 'auto',
      consecutive_failures: failures,
      max_consecutive_failures: maxFailures,
    });
    await writeOutbox(trx, [
      {
        topic: 'workflows',
        key: workflow.id,
        type: 'TERMINATE',
        payload: {
          workflow_id: workflow.id,
          user_id: workflow.user_id,
          generation: workflow.generation,
          reason: 'auto',
          consecutive_failures: failures,
        },
      },
    ]);
  }

  #terminated(workflowId: string): void {
    this.#logger.info({ workflowId }, 'workflow terminated after consecutive failures');
    this.#events.emit('outbox:written', { count: 1 });
    this.#events.emit('schedules:changed', { workflowId });
  }

  async #cancelRunning(workflowId: string): Promise<void> {
    const now = this.#clock.now();
    const result = await this.#db
      .transaction()
      .execute((trx) =>
        cancelJobs(
          trx,
          { where: sql`workflow_id = ${workflowId}`, scope: 'unfinished' },
          { now, bulk: true },
        ),
      );
    if (result.canceled.length > 0) this.#events.emit('outbox:written', { count: result.canceled.length });
    requestStops(this.#events, result);
    this.#events.emit('schedules:changed', { workflowId });
  }
}

/** Records that this consumer handled `eventId`; false when it already had. */
async function markProcessed(trx: Transaction<DB>, eventId: string): Promise<boolean> {
  const inserted = await trx
    .insertInto('processed_events')
    .values({ consumer: CONSUMER, event_id: eventId })
    .onConflict((oc) => oc.doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

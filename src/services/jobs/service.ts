/**
 * Jobs service: list and read a workflow's jobs, run a workflow now, cancel a job, retry a finished
 * one. The scheduler and executor change job states concurrently, so every state change here is a
 * guarded conditional UPDATE whose WHERE clause names the states TRANSITIONS allows (domain/job-state):
 * a job that finished meanwhile simply matches no row, and we answer 412 instead of overwriting it.
 * Each change writes its outbox row in the same transaction — `jobs`/DISPATCH for a new manual job,
 * `workflows`/JOB_CANCELED for a cancellation — and, once committed, emits in-process wake-ups:
 * `outbox:written` for the relay, `jobs:runnable` for executors, and `job:cancel-requested` so an
 * executor of this process stops a running container at once (others notice at lease renewal).
 *
 * Ownership: every query is scoped by user id; another user's workflow or job is "not found".
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../domain/errors.ts';
import type { JobState, JobTrigger } from '../../domain/job-state.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB, JobRow, WorkflowRow } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { serializeContext } from '../../platform/telemetry/propagation.ts';
import { runIdempotent, type IdempotentResult } from '../idempotency.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import { writeOutbox } from '../outbox.ts';
import { lockOwnedWorkflow } from '../workflows/lock-owned.ts';
import { workflowVersionDefinition } from '../workflows/versions.ts';
import type { Quotas } from '../../domain/quotas.ts';
import { assertRunRate, quotasOf } from '../quotas/enforce.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { JobsApi } from './api.ts';
import { getArtifact, listArtifacts, type ArtifactView } from './artifacts.ts';
import { cancelJobs, requestStops } from './cancel.ts';
import { toJobView, toTaskView, type JobView, type WorkflowJobView } from './codec.ts';
import { runJobsListAll } from './list-all.ts';

export interface JobListFilters {
  cursor?: string;
  limit: number;
  status?: JobState;
  trigger?: JobTrigger;
}

/** `GET /jobs`: the caller's jobs across workflows. */
export interface AllJobsFilters {
  cursor?: string;
  limit: number;
  /** Any of these statuses; every status when absent or empty. */
  status?: JobState[];
  workflow_id?: string;
  trigger?: JobTrigger;
  /** created_at ≥ since. */
  since?: Date;
  /** created_at < until. */
  until?: Date;
}

export interface JobsServiceConfig {
  idempotencyTtlMs: number;
  /** Quotas of users without values of their own (CHRONOVERSE_QUOTA_*). @default QUOTA_DEFAULTS */
  quotas?: Quotas;
  /** The artifact store, for download URLs (S3). @default none: downloads go through the gateway */
  artifacts?: ArtifactStore;
  /** Validity of presigned download URLs (CHRONOVERSE_ARTIFACTS_DOWNLOAD_URL_TTL). @default 300000 */
  artifactUrlTtlMs?: number;
}

const RETRYABLE: readonly JobState[] = ['FAILED', 'CANCELED'];

export class JobsService implements JobsApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #config: JobsServiceConfig;

  constructor(db: Kysely<DB>, clock: Clock, events: Events, config: JobsServiceConfig) {
    this.#db = db;
    this.#clock = clock;
    this.#events = events;
    this.#config = config;
  }

  /** The workflow's jobs, newest first (keyset on the UUIDv7 id). */
  async list(
    userId: string,
    workflowId: string,
    filters: JobListFilters,
  ): Promise<{ jobs: JobView[]; cursor: string | null }> {
    const after = filters.cursor !== undefined ? decodeCursor(filters.cursor) : undefined;
    const workflow = await this.#db
      .selectFrom('workflows')
      .select('id')
      .where('id', '=', workflowId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!workflow) throw new NotFoundError('Workflow');
    let q = this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .where('user_id', '=', userId)
      // Runs: a DAG's task instances are shown inside their run (GET of one job).
      .where('run_id', 'is', null)
      .orderBy('id', 'desc')
      .limit(filters.limit + 1);
    if (after !== undefined) q = q.where('id', '<', after);
    if (filters.status) q = q.where('status', '=', filters.status);
    if (filters.trigger) q = q.where('trigger', '=', filters.trigger);
    const rows = await q.execute();
    const page = rows.slice(0, filters.limit);
    return {
      jobs: page.map(toJobView),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  /** The caller's jobs across all their workflows, newest first (list-all.ts). */
  async listAll(
    userId: string,
    filters: AllJobsFilters,
  ): Promise<{ jobs: WorkflowJobView[]; cursor: string | null }> {
    const after = filters.cursor !== undefined ? decodeCursor(filters.cursor) : undefined;
    if (filters.since !== undefined && filters.until !== undefined && filters.until <= filters.since) {
      throw ValidationError.single('until', 'must be after since');
    }
    const rows = await runJobsListAll(this.#db, userId, filters, after, filters.limit + 1);
    const page = rows.slice(0, filters.limit);
    return {
      jobs: page.map(({ workflow_name, ...job }) => ({ ...toJobView(job), workflow_name })),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  listArtifacts(userId: string, workflowId: string, jobId: string): Promise<ArtifactView[]> {
    return listArtifacts(this.#db, userId, workflowId, jobId);
  }

  getArtifact(userId: string, workflowId: string, jobId: string, artifactId: string): Promise<ArtifactView> {
    return getArtifact(
      this.#db,
      this.#config.artifacts ?? null,
      Math.max(1, Math.round((this.#config.artifactUrlTtlMs ?? 300_000) / 1000)),
      { userId, workflowId, jobId, artifactId },
    );
  }

  async get(userId: string, workflowId: string | null, jobId: string): Promise<JobView> {
    const row = await findJob(this.#db, userId, workflowId, jobId);
    if (!row) throw new NotFoundError('Job');
    if (row.kind !== 'DAG') return toJobView(row);
    // Run order: a task's instances together, tasks by their first row (rows are UUIDv7, so
    // creation order is the order in which the run decided them).
    const tasks = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('run_id', '=', row.id)
      .orderBy('id')
      .execute();
    const first = new Map<string, number>();
    tasks.forEach((t, i) => {
      if (!first.has(t.task_name!)) first.set(t.task_name!, i);
    });
    tasks.sort(
      (a, b) =>
        first.get(a.task_name!)! - first.get(b.task_name!)! || (a.task_index ?? -1) - (b.task_index ?? -1),
    );
    return { ...toJobView(row), tasks: tasks.map(toTaskView) };
  }

  /**
   * Runs the workflow now: a new MANUAL job, dispatched like a scheduled one (201). With `version`,
   * the job runs that version's kind and payload (workflow_versions) instead of the current ones;
   * a version the workflow does not have is a 400 on `version`.
   */
  async runNow(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
    version?: number,
  ): Promise<IdempotentResult<JobView>> {
    const now = this.#clock.now();
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: `jobs.run:${workflowId}`,
        key: idempotencyKey,
        request: version === undefined ? {} : { version },
        status: 201,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const workflow = await lockRunnableWorkflow(trx, userId, workflowId);
        let definition: JobDefinition = currentDefinition(workflow);
        if (version !== undefined && version !== workflow.version) {
          const old = await workflowVersionDefinition(trx, workflowId, version);
          if (!old) throw ValidationError.single('version', `the workflow has no version ${version}`);
          definition = { ...old, version };
        }
        await this.#assertRunRate(trx, userId, now);
        return toJobView(await insertManualJob(trx, workflow, definition, now, null));
      },
    );
    if (!result.replayed) this.#announceDispatch();
    return result;
  }

  /** Cancels a PENDING, QUEUED or RUNNING job (200); a finished job is 412. */
  async cancel(userId: string, workflowId: string, jobId: string): Promise<JobView> {
    const now = this.#clock.now();
    const { row, stop } = await this.#db.transaction().execute(async (trx) => {
      // The one cancel transition (./cancel.ts): a DAG run's tasks locked before it, the guard
      // from the state machine, the fact, its unfinished tasks ended with it.
      const result = await cancelJobs(
        trx,
        {
          where: sql`id = ${jobId} AND workflow_id = ${workflowId} AND user_id = ${userId}`,
          scope: 'unfinished',
        },
        { now, bulk: false },
      );
      const current = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', jobId)
        .where('workflow_id', '=', workflowId)
        .where('user_id', '=', userId)
        .where('run_id', 'is', null)
        .executeTakeFirst();
      if (!current) throw new NotFoundError('Job');
      // Nothing canceled: it had finished (the guard's zero rows), and this is its final status.
      if (result.canceled.length === 0) {
        throw new PreconditionFailedError(`job already finished (${current.status})`);
      }
      await writeOutbox(trx, [
        {
          topic: 'workflows',
          key: workflowId,
          type: 'JOB_CANCELED',
          payload: {
            job_id: current.id,
            workflow_id: workflowId,
            user_id: userId,
            generation: current.workflow_generation,
          },
        },
      ]);
      return { row: current, stop: result };
    });
    this.#events.emit('outbox:written', { count: 1 });
    requestStops(this.#events, stop);
    return toJobView(row);
  }

  /** A new MANUAL job for a FAILED or CANCELED one (201), if the workflow can still run. */
  async retry(
    userId: string,
    workflowId: string,
    jobId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<JobView>> {
    const now = this.#clock.now();
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: `jobs.retry:${workflowId}:${jobId}`,
        key: idempotencyKey,
        request: {},
        status: 201,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const workflow = await lockOwnedWorkflow(trx, userId, workflowId);
        const job = await findJob(trx, userId, workflowId, jobId);
        if (!job) throw new NotFoundError('Job');
        if (!RETRYABLE.includes(job.status)) {
          throw new PreconditionFailedError(
            `Only FAILED or CANCELED jobs can be retried; this job is ${job.status}.`,
          );
        }
        assertRunnable(workflow);
        await this.#assertRunRate(trx, userId, now);
        // A DAG run is retried from where it failed: the new run keeps the succeeded tasks and
        // their outputs (src/services/runs/dag-runs.ts), so it runs the same definition. A
        // single-task job takes the definition as it is now (Airflow's "clear").
        const definition: JobDefinition =
          job.kind === 'DAG'
            ? { kind: 'DAG', payload: job.spec, version: job.workflow_version ?? workflow.version }
            : currentDefinition(workflow);
        return toJobView(await insertManualJob(trx, workflow, definition, now, job.id));
      },
    );
    if (!result.replayed) this.#announceDispatch();
    return result;
  }

  /**
   * 429 beyond runs_per_minute manual runs and retries. With a limit the user's row stays locked to
   * the commit, so two requests cannot both take the last place; without one (administrators, or
   * a 0 quota) nothing is counted and nothing locked. It was locked for everyone: one user's runs
   * went through one transaction at a time, and `bench/distributed.ts pickup 100 10` (one
   * administrator, 100 runs/s) queued for seconds in the jobs service.
   */
  async #assertRunRate(trx: Transaction<DB>, userId: string, now: Date): Promise<void> {
    if ((await quotasOf(trx, userId, this.#config.quotas)).runs_per_minute <= 0) return;
    await assertRunRate(trx, userId, await quotasOf(trx, userId, this.#config.quotas, { lock: true }), now);
  }

  #announceDispatch(): void {
    this.#events.emit('outbox:written', { count: 1 });
    this.#events.emit('jobs:runnable', { count: 1 });
  }
}

async function findJob(
  db: Kysely<DB> | Transaction<DB>,
  userId: string,
  workflowId: string | null,
  jobId: string,
): Promise<JobRow | undefined> {
  // Runs only: a DAG task instance is read through its run.
  let q = db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', jobId)
    .where('user_id', '=', userId)
    .where('run_id', 'is', null);
  if (workflowId !== null) q = q.where('workflow_id', '=', workflowId);
  return q.executeTakeFirst();
}

async function lockRunnableWorkflow(
  trx: Transaction<DB>,
  userId: string,
  workflowId: string,
): Promise<WorkflowRow> {
  const workflow = await lockOwnedWorkflow(trx, userId, workflowId);
  assertRunnable(workflow);
  return workflow;
}

function assertRunnable(workflow: WorkflowRow): void {
  if (workflow.state === 'TERMINATED') {
    throw new PreconditionFailedError('The workflow is terminated; edit it to re-activate it first.');
  }
  if (workflow.build_status !== 'COMPLETED') {
    throw new PreconditionFailedError(
      `The workflow's build is ${workflow.build_status}; jobs can run once it is COMPLETED.`,
    );
  }
}

/** What a job runs: a version of the workflow's definition. */
interface JobDefinition {
  kind: WorkflowRow['kind'];
  payload: unknown;
  version: number;
}

function currentDefinition(workflow: WorkflowRow): JobDefinition {
  return { kind: workflow.kind, payload: workflow.payload, version: workflow.version };
}

/** Inserts a PENDING MANUAL job due now and its DISPATCH outbox row. */
async function insertManualJob(
  trx: Transaction<DB>,
  workflow: WorkflowRow,
  definition: JobDefinition,
  now: Date,
  retryOf: string | null,
): Promise<JobRow> {
  const row = await trx
    .insertInto('jobs')
    .values({
      id: newId(),
      user_id: workflow.user_id,
      workflow_id: workflow.id,
      workflow_generation: workflow.generation,
      // What every attempt of this run executes, whatever edits come after (migration 0016).
      kind: definition.kind,
      spec: JSON.stringify(definition.payload),
      workflow_version: definition.version,
      trigger: 'MANUAL',
      // Overlap ALLOW_ALL: a manual run runs beside the scheduled ones too (migration 0024).
      concurrent: workflow.schedule_policy?.overlap === 'ALLOW_ALL',
      status: 'PENDING',
      scheduled_at: now,
      retry_of: retryOf,
      // The request's trace: the executor's `job.run` span continues it (docs/observability.md).
      trace_context: serializeContext(),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeOutbox(trx, [
    {
      topic: 'jobs',
      key: workflow.id,
      type: 'DISPATCH',
      payload: { job_ids: [row.id] },
    },
  ]);
  return row;
}

/**
 * Workflows service: create, list, read, edit, terminate and delete workflows. Owns the
 * `workflows` table. Every state change writes its outbox row in the same transaction, so the
 * workers (build, scheduling) learn of it exactly when it commits.
 *
 * Ownership: every query is scoped by user id, and another user's workflow is "not found".
 */
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import { sql, type Expression, type Kysely, type SqlBool, type Transaction } from 'kysely';
import {
  NotFoundError,
  PreconditionFailedError,
  ScheduleTooFrequentError,
  ValidationError,
  WorkflowTerminatedError,
  type FieldIssue,
} from '../../domain/errors.ts';
import { nextRunOnResume, validatePauseInput } from '../../domain/pause.ts';
import {
  checkPreviewCount,
  parsePreviewFrom,
  previewFireTimes,
  withJitter,
  validatePreviewInput,
} from '../../domain/schedule-preview.ts';
import { parseLabelSelector, type LabelRequirement } from '../../domain/labels.ts';
import { nextRunAfter, type Schedule } from '../../domain/schedule.ts';
import {
  INITIAL_WORKFLOW_STATUS,
  WORKFLOW_FROM,
  editEvent,
  IllegalWorkflowTransition,
  nextWorkflowStatus,
  workflowTransition,
  type BuildStatus,
} from '../../domain/workflow-status.ts';
import {
  buildInputOf,
  validateWorkflowBulk,
  validateWorkflowCreate,
  validateWorkflowUpdate,
  keepPolicyOnEdit,
  type WorkflowDraft,
  type WorkflowKind,
} from '../../domain/workflow-input.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Events } from '../../platform/events.ts';
import type { DB, WorkflowRow } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { runIdempotent, type IdempotentResult } from '../idempotency.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import type { WorkflowsApi } from './api.ts';
import { lockOwnedWorkflow } from './lock-owned.ts';
import {
  cancelBackfill,
  createBackfill,
  getBackfill,
  listBackfills,
  type BackfillCreated,
  type BackfillView,
} from '../backfills/service.ts';
import {
  assertWithinPolicy,
  policyIssues,
  roleOf,
  WORKFLOW_POLICY_DEFAULTS,
  type WorkflowPolicy,
} from './policy.ts';
import {
  sameSchedule,
  scheduleColumns,
  scheduleOf,
  toFireTimeView,
  toWorkflowView,
  type FireTimeView,
  type WorkflowView,
} from './codec.ts';
import { workflowsRecentJobs } from './recent-jobs.ts';
import {
  getWorkflowVersion,
  listWorkflowVersions,
  restoreBody,
  workflowVersionsInsertFirst,
  workflowVersionsRecordEdit,
  type WorkflowVersionView,
} from './versions.ts';
import {
  listTicks,
  parseTicksQuery,
  recordNotBuiltTicks,
  recordPauseTicks,
  type TicksPage,
  type TicksQuery,
  recordTerminatedTick,
} from '../ticks/ledger.ts';
import type { Quotas } from '../../domain/quotas.ts';
import { assertCanAddWorkflow, assertSchedulePeriod, quotasOf, schedulePathOf } from '../quotas/enforce.ts';
import { contextHeaders } from '../../platform/telemetry/propagation.ts';
import { writeWorkflowFact } from '../facts.ts';
import { cancelJobs, requestStops } from '../jobs/cancel.ts';

export interface WorkflowListFilters {
  cursor?: string;
  limit: number;
  query?: string;
  kind?: WorkflowKind;
  build_status?: BuildStatus;
  terminated?: boolean;
  interval_min?: number;
  interval_max?: number;
  /** A label selector (src/domain/labels.ts), such as `team=data,tier!=web`. */
  labels?: string;
}

export interface WorkflowsServiceConfig {
  idempotencyTtlMs: number;
  /** Outbound and container policies (src/services/workflows/policy.ts). @default the defaults */
  policy?: WorkflowPolicy;
  /** Quotas of users without values of their own (CHRONOVERSE_QUOTA_*). @default QUOTA_DEFAULTS */
  quotas?: Quotas;
  /** The artifact store: deleting a workflow deletes its artifacts' objects. @default none */
  artifacts?: ArtifactStore;
}

type WorkflowEvent = 'BUILD' | 'RESCHEDULE' | 'TERMINATE' | 'DELETE';

export class WorkflowsService implements WorkflowsApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: WorkflowsServiceConfig;
  readonly #events: Events | null;

  constructor(db: Kysely<DB>, clock: Clock, config: WorkflowsServiceConfig, events: Events | null = null) {
    this.#db = db;
    this.#clock = clock;
    this.#config = config;
    this.#events = events;
  }

  /** After a commit that wrote outbox rows and may have changed a schedule. */
  #changed(workflowId: string): void {
    this.#events?.emit('outbox:written', { count: 1 });
    this.#events?.emit('schedules:changed', { workflowId });
  }

  async create(
    userId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    const now = this.#clock.now();
    // Validated inside: a replay of an accepted request must replay, even once its run_at is past.
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: 'workflows.create',
        key: idempotencyKey,
        request: body,
        status: 201,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const validated = validateWorkflowCreate(body, now);
        if (!validated.ok) throw new ValidationError(validated.issues);
        const draft = validated.value;
        await assertWithinPolicy(
          trx,
          userId,
          draft.kind,
          draft.payload,
          this.#config.policy ?? WORKFLOW_POLICY_DEFAULTS,
        );
        // The user's row stays locked to the commit: the count cannot be raced by their other creates.
        const quotas = await quotasOf(trx, userId, this.#config.quotas, { lock: true });
        assertSchedulePeriod(draft.schedule, schedulePathOf(body, draft.schedule), quotas);
        await assertCanAddWorkflow(trx, userId, quotas);
        const row = await trx
          .insertInto('workflows')
          .values({
            id: newId(),
            user_id: userId,
            name: draft.name,
            kind: draft.kind,
            payload: JSON.stringify(draft.payload),
            ...scheduleColumns(draft.schedule),
            max_consecutive_job_failures_allowed: draft.maxConsecutiveFailures,
            pause_on_failure: draft.pauseOnFailure,
            log_retention: draft.logRetention,
            labels: JSON.stringify(draft.labels),
            // Provisional: the build step re-anchors interval schedules when the build completes.
            next_run_at: nextRunAfter(draft.schedule, now),
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await workflowVersionsInsertFirst(trx, [row]);
        await emit(trx, row, 'BUILD');
        // A new workflow has no jobs yet.
        return toWorkflowView(row, []);
      },
    );
    if (!result.replayed) this.#changed(result.body.id);
    return result;
  }

  /**
   * Creates many workflows at once (POST /workflows/bulk, 201): each item is checked exactly as
   * `create` checks its body (validation, outbound and container policies for the caller's role,
   * the schedule quota), and the count quota for all of them together. One bad item and nothing is
   * created: a 400 lists every issue of every bad item with its `index` and `field`. All good: one
   * INSERT of every row and one INSERT of their BUILD events, in one transaction, answered in the
   * order of the request. Idempotent like `create` (operation `workflows.bulk`).
   */
  async createMany(
    userId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView[]>> {
    const now = this.#clock.now();
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: 'workflows.bulk',
        key: idempotencyKey,
        request: body,
        status: 201,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const envelope = validateWorkflowBulk(body);
        if (!envelope.ok) throw new ValidationError(envelope.issues);
        const items = envelope.value;
        const issues: FieldIssue[] = [];
        const itemIssue = (index: number, issue: FieldIssue) =>
          issues.push({
            path: issue.path === '' ? `workflows.${index}` : `workflows.${index}.${issue.path}`,
            message: issue.message,
            index,
            field: issue.path,
          });
        const drafts: WorkflowDraft[] = [];
        items.forEach((item, index) => {
          const validated = validateWorkflowCreate(item, now);
          if (validated.ok) drafts[index] = validated.value;
          else for (const issue of validated.issues) itemIssue(index, issue);
        });
        // The policies and the schedule quota of `create`, per item, with the role and quotas read once.
        const policy = this.#config.policy ?? WORKFLOW_POLICY_DEFAULTS;
        const role = await roleOf(trx, userId);
        // The user's row stays locked to the commit: the count cannot be raced by their other creates.
        const quotas = await quotasOf(trx, userId, this.#config.quotas, { lock: true });
        drafts.forEach((draft, index) => {
          for (const issue of policyIssues(draft.kind, draft.payload, role, policy)) itemIssue(index, issue);
          try {
            assertSchedulePeriod(draft.schedule, schedulePathOf(items[index], draft.schedule), quotas);
          } catch (err) {
            if (!(err instanceof ScheduleTooFrequentError)) throw err;
            for (const issue of err.issues) itemIssue(index, issue);
          }
        });
        if (issues.length > 0) {
          const bad = new Set(issues.map((i) => i.index)).size;
          throw new ValidationError(
            issues,
            `${bad} of ${items.length} workflows are invalid; nothing was created.`,
          );
        }
        await assertCanAddWorkflow(trx, userId, quotas, items.length);
        const rows = await insertWorkflows(trx, userId, drafts, now);
        await workflowVersionsInsertFirst(trx, rows);
        await emitBuilds(trx, rows);
        return rows.map((row) => toWorkflowView(row, []));
      },
    );
    if (!result.replayed) {
      this.#events?.emit('outbox:written', { count: result.body.length });
      this.#events?.emit('schedules:changed', { workflowId: result.body[0]!.id });
    }
    return result;
  }

  async list(
    userId: string,
    filters: WorkflowListFilters,
  ): Promise<{ workflows: WorkflowView[]; cursor: string | null }> {
    if (
      filters.interval_min !== undefined &&
      filters.interval_max !== undefined &&
      filters.interval_min > filters.interval_max
    ) {
      throw ValidationError.single('interval_min', 'must not be greater than interval_max');
    }
    const selector = filters.labels === undefined ? null : parseLabelSelector(filters.labels);
    if (selector && !selector.ok) throw ValidationError.single('labels', selector.message);
    let q = this.#db
      .selectFrom('workflows')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(filters.limit + 1);
    if (filters.cursor !== undefined) q = q.where('id', '<', decodeCursor(filters.cursor));
    if (filters.query) q = q.where('name', 'ilike', `%${escapeLike(filters.query)}%`);
    if (filters.kind) q = q.where('kind', '=', filters.kind);
    if (filters.build_status) q = q.where('build_status', '=', filters.build_status);
    if (filters.terminated === true) q = q.where('state', '=', 'TERMINATED');
    if (filters.terminated === false) q = q.where('state', '<>', 'TERMINATED');
    if (filters.interval_min !== undefined) q = q.where('interval_minutes', '>=', filters.interval_min);
    if (filters.interval_max !== undefined) q = q.where('interval_minutes', '<=', filters.interval_max);
    for (const requirement of selector?.requirements ?? []) q = q.where(labelCondition(requirement));
    const rows = await q.execute();
    const page = rows.slice(0, filters.limit);
    return {
      workflows: await viewsOf(this.#db, page),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  async get(userId: string, workflowId: string): Promise<WorkflowView> {
    const row = await this.#db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', workflowId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Workflow');
    return viewOf(this.#db, row);
  }

  /**
   * Edits a workflow (PUT; absent fields keep their value). As in Chronoverse, any edit re-activates
   * a terminated workflow and resets its failure counter. A changed image, an unfinished or failed
   * build, or a re-activation means a rebuild (pending jobs canceled, BUILD event); a changed
   * schedule alone means a reschedule (pending automatic jobs canceled, RESCHEDULE event).
   */
  async update(
    userId: string,
    workflowId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    const now = this.#clock.now();
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: `workflows.update:${workflowId}`,
        key: idempotencyKey,
        request: body,
        status: 200,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const current = await lockOwnedWorkflow(trx, userId, workflowId);
        const validated = validateWorkflowUpdate(body, current.kind, now);
        if (!validated.ok) throw new ValidationError(validated.issues);
        const changes = validated.value;
        if (changes.payload !== undefined) {
          await assertWithinPolicy(
            trx,
            userId,
            current.kind,
            changes.payload,
            this.#config.policy ?? WORKFLOW_POLICY_DEFAULTS,
          );
        }

        let schedule: Schedule = scheduleOf(current);
        if (changes.schedule !== undefined) {
          const kept = keepPolicyOnEdit(changes.schedule, schedule, now);
          if (!kept.ok) throw new ValidationError(kept.issues);
          schedule = kept.value;
        }
        const scheduleChanged =
          changes.schedule !== undefined && !sameSchedule(schedule, scheduleOf(current));
        // A schedule is held to the quota when it is set; an unchanged one keeps running as it was.
        if (scheduleChanged) {
          assertSchedulePeriod(
            schedule,
            schedulePathOf(body, schedule),
            await quotasOf(trx, userId, this.#config.quotas),
          );
        }
        const payload = changes.payload ?? current.payload;
        const imageChanged =
          buildInputOf(current.kind, payload as never) !==
          buildInputOf(current.kind, current.payload as never);
        const reactivated = current.state === 'TERMINATED';
        const rebuild =
          imageChanged ||
          reactivated ||
          (current.build_status !== 'COMPLETED' && current.build_status !== 'STARTED');
        const reschedule = !rebuild && (scheduleChanged || current.state === 'COMPLETED');
        // A once schedule that ran stays complete unless it is given a new schedule.
        const completedAt = scheduleChanged ? null : current.completed_at;
        const lifecycle = editEvent({
          state: current.state,
          rebuild,
          completed: completedAt !== null,
          buildStatus: current.build_status,
          paused: current.paused_at !== null,
        });

        const updated = await trx
          .updateTable('workflows')
          .set({
            name: changes.name ?? current.name,
            payload: JSON.stringify(payload),
            ...scheduleColumns(schedule),
            max_consecutive_job_failures_allowed:
              changes.maxConsecutiveFailures ?? current.max_consecutive_job_failures_allowed,
            pause_on_failure: changes.pauseOnFailure ?? current.pause_on_failure,
            log_retention: changes.logRetention ?? current.log_retention,
            ...(changes.labels !== undefined ? { labels: JSON.stringify(changes.labels) } : {}),
            consecutive_job_failures_count: 0,
            terminated_at: null,
            completed_at: completedAt,
            ...(lifecycle ? { state: nextWorkflowStatus(current.state, lifecycle) } : {}),
            next_run_at: reschedule || scheduleChanged ? nextRunAfter(schedule, now) : current.next_run_at,
            generation: reschedule ? current.generation + 1 : current.generation,
            ...(rebuild ? rebuildColumns(current, schedule, now) : {}),
            updated_at: now,
          })
          .where('id', '=', workflowId)
          // An edit that leaves the lifecycle alone expects the state it read under the lock.
          .where('state', 'in', lifecycle ? WORKFLOW_FROM[lifecycle.type] : [current.state])
          .returningAll()
          .executeTakeFirstOrThrow();
        // A new version when the definition changed (not for a rename, a relabel or a no-op edit).
        const row = { ...updated, version: await workflowVersionsRecordEdit(trx, workflowId, userId, now) };
        if (rebuild) {
          await recordNotBuiltTicks(trx, current, now);
          await queueBuild(trx, row, now);
        } else if (reschedule) {
          await cancelPendingJobs(trx, workflowId, now, 'automatic');
          await emit(trx, row, 'RESCHEDULE');
        }
        return viewOf(trx, row);
      },
    );
    if (!result.replayed) this.#changed(workflowId);
    return result;
  }

  /**
   * Queues the build of a workflow whose build FAILED again (POST …/rebuild, 202): for a build that
   * failed for a reason that has gone since (an image pushed meanwhile, a runtime that was down).
   * The path of an edit that rebuilds (`rebuildColumns` + `queueBuild`): build QUEUED, generation
   * bumped (a late event of the failed build is ignored), pending jobs canceled, a BUILD event. A
   * terminated workflow is re-activated by editing it instead, which rebuilds it too.
   */
  async rebuild(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    const now = this.#clock.now();
    const result = await runIdempotent(
      this.#db,
      {
        userId,
        operation: `workflows.rebuild:${workflowId}`,
        key: idempotencyKey,
        request: {},
        status: 202,
        now,
        ttlMs: this.#config.idempotencyTtlMs,
      },
      async (trx) => {
        const current = await lockOwnedWorkflow(trx, userId, workflowId);
        if (current.state === 'TERMINATED') {
          throw new PreconditionFailedError(
            'The workflow is terminated; edit it to re-activate it, which rebuilds it.',
          );
        }
        const to = workflowTransition(current.state, { type: 'rebuild' });
        if (current.build_status !== 'FAILED' || to instanceof IllegalWorkflowTransition) {
          throw new PreconditionFailedError(
            `Only a FAILED build can be rebuilt; this workflow's build is ${current.build_status}.`,
          );
        }
        // Under the row's lock: the guards hold, and say what the statement relies on.
        const row = await trx
          .updateTable('workflows')
          .set({ ...rebuildColumns(current, scheduleOf(current), now), state: to, updated_at: now })
          .where('id', '=', workflowId)
          .where('build_status', '=', 'FAILED')
          .where('state', 'in', WORKFLOW_FROM.rebuild)
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordNotBuiltTicks(trx, current, now);
        await queueBuild(trx, row, now);
        return viewOf(trx, row);
      },
    );
    if (!result.replayed) this.#changed(workflowId);
    return result;
  }

  /** Terminates a workflow (PATCH). Idempotent: terminating twice changes nothing more. */
  async terminate(userId: string, workflowId: string): Promise<WorkflowView> {
    const now = this.#clock.now();
    const view = await this.#db.transaction().execute(async (trx) => {
      const current = await lockOwnedWorkflow(trx, userId, workflowId);
      if (current.state === 'TERMINATED') return viewOf(trx, current);
      // The fire time that would have come next, recorded once (ledger outcome TERMINATED).
      await recordTerminatedTick(trx, current, 'the workflow was terminated by its owner', now);
      const row = await trx
        .updateTable('workflows')
        .set({
          state: nextWorkflowStatus(current.state, { type: 'terminate' }),
          terminated_at: now,
          next_run_at: null,
          updated_at: now,
        })
        .where('id', '=', workflowId)
        .where('state', 'in', WORKFLOW_FROM.terminate)
        .returningAll()
        .executeTakeFirstOrThrow();
      await cancelPendingJobs(trx, workflowId, now, 'all');
      await emit(trx, row, 'TERMINATE', { reason: 'manual' });
      await writeWorkflowFact(trx, 'WORKFLOW_TERMINATED', row, now, {
        reason: 'manual',
        consecutive_failures: row.consecutive_job_failures_count,
        max_consecutive_failures: row.max_consecutive_job_failures_allowed,
      });
      return viewOf(trx, row);
    });
    this.#changed(workflowId);
    return view;
  }

  /**
   * Pauses a workflow (POST …/pause): the scheduler creates no runs for it until it is resumed, and
   * its queued automatic runs are canceled (they were the schedule's; manual runs and a running job
   * are left alone). Idempotent: pausing a paused workflow changes nothing, not even its note, so
   * `paused_at` keeps saying since when. A terminated workflow cannot be paused (409).
   */
  async pause(userId: string, workflowId: string, body: unknown): Promise<WorkflowView> {
    const input = validatePauseInput(body);
    if (!input.ok) throw new ValidationError(input.issues);
    const now = this.#clock.now();
    const { view, changed } = await this.#db.transaction().execute(async (trx) => {
      const current = await lockOwnedWorkflow(trx, userId, workflowId);
      if (current.state === 'TERMINATED') throw new WorkflowTerminatedError();
      // A pause asked for during the build is in force too (paused_at), though the state shows the build.
      if (current.paused_at !== null) return { view: await viewOf(trx, current), changed: false };
      const row = await trx
        .updateTable('workflows')
        .set({
          state: nextWorkflowStatus(current.state, { type: 'pause' }),
          paused_at: now,
          pause_note: input.note,
          updated_at: now,
        })
        .where('id', '=', workflowId)
        .where('state', 'in', WORKFLOW_FROM.pause)
        .returningAll()
        .executeTakeFirstOrThrow();
      await cancelPendingJobs(trx, workflowId, now, 'automatic');
      return { view: await viewOf(trx, row), changed: true };
    });
    if (changed) this.#changed(workflowId);
    return view;
  }

  /**
   * Resumes a paused workflow (POST …/resume): the next run is the schedule's first fire time
   * after now (src/domain/pause.ts: fire times during the pause are not run, not even as one
   * catch-up run), and the failure count starts afresh, as after an edit (a workflow paused at its
   * failure limit would otherwise pause again at its next failure). Idempotent: resuming a workflow
   * that is not paused changes nothing. A terminated workflow cannot be resumed (409).
   */
  async resume(userId: string, workflowId: string): Promise<WorkflowView> {
    const now = this.#clock.now();
    const { view, changed } = await this.#db.transaction().execute(async (trx) => {
      const current = await lockOwnedWorkflow(trx, userId, workflowId);
      if (current.state === 'TERMINATED') throw new WorkflowTerminatedError();
      if (current.paused_at === null) return { view: await viewOf(trx, current), changed: false };
      // A build still under way sets the first run itself when it completes.
      const built = current.build_status === 'COMPLETED';
      const state = nextWorkflowStatus(current.state, { type: 'resume' });
      if (built) await recordPauseTicks(trx, current, now);
      const row = await trx
        .updateTable('workflows')
        .set({
          state,
          paused_at: null,
          pause_note: null,
          consecutive_job_failures_count: 0,
          next_run_at: built
            ? nextRunOnResume(scheduleOf(current), current.next_run_at, now)
            : current.next_run_at,
          updated_at: now,
        })
        .where('id', '=', workflowId)
        .where('state', 'in', WORKFLOW_FROM.resume)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { view: await viewOf(trx, row), changed: true };
    });
    if (changed) this.#changed(workflowId);
    return view;
  }

  /** GET /workflows/{id}/versions: newest first (versions.ts). */
  listVersions(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ versions: WorkflowVersionView[]; cursor: string | null }> {
    return listWorkflowVersions(this.#db, userId, workflowId, page);
  }

  /** GET /workflows/{id}/versions/{n}: 404 for an unknown version or another user's workflow. */
  getVersion(userId: string, workflowId: string, version: number): Promise<WorkflowVersionView> {
    return getWorkflowVersion(this.#db, userId, workflowId, version);
  }

  /**
   * POST /workflows/{id}/versions/{n}/restore: an edit (`update`, with its checks, rebuild and
   * reschedule rules) back to version n's definition, which makes a new version unless n is the
   * current one's definition already. The name and labels are not part of a version and are kept.
   */
  async restoreVersion(
    userId: string,
    workflowId: string,
    version: number,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    const old = await getWorkflowVersion(this.#db, userId, workflowId, version);
    return this.update(userId, workflowId, restoreBody(old.definition), idempotencyKey);
  }

  /**
   * The next fire times of a workflow's schedule after `from` (default now), with the DST reason
   * of any irregular one (src/domain/schedule-preview.ts). An interval schedule stays on the grid
   * of its `next_run_at`. The schedule's times whatever the workflow's state: a paused or
   * terminated workflow runs none of them until it is resumed or re-activated.
   */
  /**
   * The tick ledger of a workflow (GET …/ticks): a page in nominal order. 404 for a workflow that
   * is not the user's; a bad `from`, `to`, `cursor` or `limit` is a 400 naming it.
   */
  async ticks(userId: string, workflowId: string, query: TicksQuery): Promise<TicksPage> {
    const parsed = parseTicksQuery(query);
    if (!parsed.ok) throw new ValidationError(parsed.issues);
    const owned = await this.#db
      .selectFrom('workflows')
      .select('id')
      .where('id', '=', workflowId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!owned) throw new NotFoundError('Workflow');
    return listTicks(this.#db, workflowId, parsed);
  }

  /**
   * POST /workflows/{id}/backfill (src/services/backfills): a dry run answers the fire times; a
   * backfill creates its first runs in its own transaction, which executors are woken for.
   */
  async backfill(userId: string, workflowId: string, body: unknown): Promise<BackfillCreated> {
    const result = await createBackfill(this.#db, userId, workflowId, body, this.#clock.now());
    if (!result.dry_run && result.created > 0) {
      this.#events?.emit('outbox:written', { count: 1 });
      this.#events?.emit('jobs:runnable', { count: result.created });
    }
    return result;
  }

  listBackfills(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ backfills: BackfillView[]; cursor: string | null }> {
    return listBackfills(this.#db, userId, workflowId, page);
  }

  getBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView> {
    return getBackfill(this.#db, userId, workflowId, backfillId);
  }

  async cancelBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView> {
    const { view, running } = await cancelBackfill(
      this.#db,
      userId,
      workflowId,
      backfillId,
      this.#clock.now(),
    );
    this.#events?.emit('outbox:written', { count: 1 });
    requestStops(this.#events, { stop: running });
    return view;
  }

  async preview(
    userId: string,
    workflowId: string,
    query: { count: number; from?: string },
  ): Promise<{ fire_times: FireTimeView[] }> {
    const issues: FieldIssue[] = [];
    const countProblem = checkPreviewCount(query.count);
    if (countProblem !== null) issues.push({ path: 'count', message: countProblem });
    const from = query.from === undefined ? this.#clock.now() : parsePreviewFrom(query.from);
    if (from === null) issues.push({ path: 'from', message: 'must be an RFC 3339 date-time with an offset' });
    if (issues.length > 0 || from === null) throw new ValidationError(issues);
    const row = await this.#db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', workflowId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Workflow');
    const schedule = scheduleOf(row);
    // nextRunAfter's first interval run is one step after its anchor: one step before the grid point.
    const anchor =
      schedule.type === 'interval' && row.next_run_at !== null
        ? new Date(row.next_run_at.getTime() - schedule.intervalMinutes * 60_000)
        : from;
    const fireTimes = previewFireTimes(schedule, from, query.count, anchor);
    const jitter = schedule.type === 'once' ? 0 : (schedule.policy?.jitterSeconds ?? 0);
    return { fire_times: withJitter(fireTimes, row.id, jitter).map(toFireTimeView) };
  }

  /** The next fire times of a draft schedule (the workflow form), checked as `create` checks one. */
  async previewSchedule(_userId: string, body: unknown): Promise<{ fire_times: FireTimeView[] }> {
    const input = validatePreviewInput(body, this.#clock.now());
    if (!input.ok) throw new ValidationError(input.issues);
    const { schedule, from, count } = input.value;
    return { fire_times: previewFireTimes(schedule, from, count).map(toFireTimeView) };
  }

  /** Deletes a terminated workflow with nothing running, with its jobs and logs. */
  async delete(userId: string, workflowId: string): Promise<void> {
    const keys = await this.#db.transaction().execute(async (trx) => {
      const current = await lockOwnedWorkflow(trx, userId, workflowId);
      if (current.state !== 'TERMINATED') {
        throw new PreconditionFailedError('Terminate the workflow before deleting it.');
      }
      const running = await trx
        .selectFrom('jobs')
        .select('id')
        .where('workflow_id', '=', workflowId)
        .where('status', '=', 'RUNNING')
        .limit(1)
        .executeTakeFirst();
      if (running)
        throw new PreconditionFailedError(
          'A job of this workflow is still running; wait for it or cancel it.',
        );
      await trx.deleteFrom('job_logs').where('workflow_id', '=', workflowId).execute();
      // The artifact rows go with the jobs (ON DELETE CASCADE); their objects after the commit.
      const artifacts = await trx
        .deleteFrom('artifacts')
        .where('workflow_id', '=', workflowId)
        .returning('storage_key')
        .execute();
      await trx.deleteFrom('workflows').where('id', '=', workflowId).execute();
      await emit(trx, current, 'DELETE');
      return artifacts.map((a) => a.storage_key);
    });
    this.#changed(workflowId);
    // Rows first, objects after: a failure here leaves objects without rows, never rows without
    // objects, and the housekeeping janitor removes such orphans. The workflow is gone either
    // way, so the caller is not told.
    await this.#config.artifacts?.delete(keys).catch(() => {});
  }
}

/**
 * The rows of `drafts`, as `create` writes one, in one statement (one array parameter per column,
 * so 10,000 rows stay far under PostgreSQL's 65,535 parameters), returned in the order of `drafts`.
 */
async function insertWorkflows(
  trx: Transaction<DB>,
  userId: string,
  drafts: readonly WorkflowDraft[],
  now: Date,
): Promise<WorkflowRow[]> {
  const ids = drafts.map(() => newId());
  const columns = drafts.map((d) => scheduleColumns(d.schedule));
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  const { rows } = await sql<WorkflowRow>`
    INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, cron_expression,
      timezone, run_at, max_consecutive_job_failures_allowed, pause_on_failure, log_retention, labels, next_run_at,
      state, created_at, updated_at)
    SELECT w.id, ${userId}, w.name, w.kind, w.payload::jsonb, w.schedule_type, w.interval_minutes, w.cron_expression,
      w.timezone, w.run_at, w.max_failures, w.pause_on_failure, w.log_retention, w.labels::jsonb, w.next_run_at,
      ${INITIAL_WORKFLOW_STATUS}, ${now}, ${now}
    FROM unnest(
      ${ids}::uuid[], ${drafts.map((d) => d.name)}::text[], ${drafts.map((d) => d.kind)}::text[],
      ${drafts.map((d) => JSON.stringify(d.payload))}::text[], ${columns.map((c) => c.schedule_type)}::text[],
      ${columns.map((c) => c.interval_minutes)}::int[], ${columns.map((c) => c.cron_expression)}::text[],
      ${columns.map((c) => c.timezone)}::text[], ${columns.map((c) => iso(c.run_at))}::timestamptz[],
      ${drafts.map((d) => d.maxConsecutiveFailures)}::int[], ${drafts.map((d) => d.pauseOnFailure)}::bool[],
      ${drafts.map((d) => d.logRetention)}::bool[], ${drafts.map((d) => JSON.stringify(d.labels))}::text[],
      ${drafts.map((d) => iso(nextRunAfter(d.schedule, now)))}::timestamptz[]
    ) AS w(id, name, kind, payload, schedule_type, interval_minutes, cron_expression, timezone, run_at,
      max_failures, pause_on_failure, log_retention, labels, next_run_at)
    RETURNING *`.execute(trx);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)!);
}

/** The BUILD event of each new workflow (what `emit(trx, row, 'BUILD')` writes), in one statement. */
async function emitBuilds(trx: Transaction<DB>, rows: readonly WorkflowRow[]): Promise<void> {
  await sql`
    INSERT INTO outbox (topic, key, event_type, headers, payload)
    SELECT 'workflows', w.id::text, 'BUILD', ${JSON.stringify(contextHeaders())}::jsonb,
      jsonb_build_object('workflow_id', w.id, 'user_id', ${rows[0]?.user_id ?? null}::uuid, 'generation', w.generation)
    FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.generation)}::int[]) WITH ORDINALITY
      AS w(id, generation, n)
    ORDER BY w.n`.execute(trx);
}

/** Workflow objects of `rows`, with their recent jobs from one statement for all of them. */
async function viewsOf(db: Kysely<DB>, rows: readonly WorkflowRow[]): Promise<WorkflowView[]> {
  const recent = await workflowsRecentJobs(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => toWorkflowView(row, recent.get(row.id) ?? []));
}

async function viewOf(db: Kysely<DB>, row: WorkflowRow): Promise<WorkflowView> {
  return (await viewsOf(db, [row]))[0]!;
}

/**
 * The columns a rebuild sets (an edit that rebuilds, POST …/rebuild): the build queued again, a
 * provisional next run (the build re-anchors interval schedules), and a new generation so that
 * events and jobs of the previous one are recognised as stale.
 */
function rebuildColumns(current: WorkflowRow, schedule: Schedule, now: Date) {
  return {
    build_status: 'QUEUED' as const,
    build_error: null,
    next_run_at: nextRunAfter(schedule, now),
    generation: current.generation + 1,
  };
}

/** After a rebuild's UPDATE, in its transaction: pending jobs canceled, the BUILD event written. */
async function queueBuild(trx: Transaction<DB>, row: WorkflowRow, now: Date): Promise<void> {
  await cancelPendingJobs(trx, row.id, now, 'all');
  await emit(trx, row, 'BUILD');
}

/**
 * The runs a pause, a reschedule, a rebuild or a terminate ends: waiting ones only (a started run,
 * a DAG's included, goes on with its own copy of the definition; the worker's TERMINATE handling
 * cancels running ones), all of them or the schedule's (`automatic`).
 */
async function cancelPendingJobs(
  trx: Transaction<DB>,
  workflowId: string,
  now: Date,
  which: 'all' | 'automatic',
): Promise<void> {
  await cancelJobs(
    trx,
    {
      where:
        which === 'automatic'
          ? sql`workflow_id = ${workflowId} AND trigger = 'AUTOMATIC'`
          : sql`workflow_id = ${workflowId}`,
      scope: 'waiting',
    },
    { now, bulk: true },
  );
}

async function emit(
  trx: Transaction<DB>,
  row: WorkflowRow,
  event: WorkflowEvent,
  extra: object = {},
): Promise<void> {
  await trx
    .insertInto('outbox')
    .values({
      topic: 'workflows',
      key: row.id,
      event_type: event,
      // The request's trace continues into the build and the termination handling.
      headers: JSON.stringify(contextHeaders()),
      payload: JSON.stringify({
        workflow_id: row.id,
        user_id: row.user_id,
        generation: row.generation,
        ...extra,
      }),
    })
    .execute();
}

/**
 * One requirement of a label selector as a condition on `labels`: containment (`@>`) and key
 * existence (`?`) are the operators the GIN index of migration 0013 serves; `!=` and `notin` are
 * their negations, true for workflows without the label as in Kubernetes.
 */
function labelCondition(r: LabelRequirement): Expression<SqlBool> {
  const contains = (value: string) => sql<SqlBool>`labels @> ${JSON.stringify({ [r.key]: value })}::jsonb`;
  const anyOf = (values: string[]) => sql<SqlBool>`(${sql.join(values.map(contains), sql` or `)})`;
  switch (r.op) {
    case '=':
      return contains(r.value);
    case '!=':
      return sql<SqlBool>`not ${contains(r.value)}`;
    case 'in':
      return anyOf(r.values);
    case 'notin':
      return sql<SqlBool>`not ${anyOf(r.values)}`;
    case 'exists':
      return sql<SqlBool>`labels ? ${r.key}`;
    case '!exists':
      return sql<SqlBool>`not (labels ? ${r.key})`;
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

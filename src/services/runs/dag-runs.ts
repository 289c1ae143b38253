/**
 * DAG runs on the job rows (migration 0021): a run is a job of kind DAG, each task instance a job
 * with `run_id` set, claimed, leased, logged and completed like any other job. This module is
 * the wiring of the pure resolver (src/domain/dag-resolution.ts):
 *
 * - `startRuns`: an executor that claims a DAG run drops the run's lease (nothing executes the run
 *   itself) and resolves it, which inserts its first tasks QUEUED. A crash in between leaves the
 *   lease to expire; the rescue hands the run back and the next claim starts it again (the task
 *   inserts are idempotent: one row per (run, task, instance)).
 * - `resolveRuns`: in the transaction that completes tasks (the completer's batch, the lease
 *   rescue), each touched run is locked, its task rows read, and the resolver's actions applied:
 *   next tasks inserted QUEUED (so they are runnable the moment the upstream commits), skipped,
 *   failed and canceled tasks inserted final with their TASK_FINISHED facts, fan-outs expanded, and a run whose tasks are all
 *   final finished with the failure policy and its JOB_FINISHED fact, as a single-task job is.
 *
 * Row lock order: task rows (the completer's batch, in id order), then run rows (in id order).
 * Cancelling a run takes them in the same order (its task rows first; every cancel goes through
 * src/services/jobs/cancel.ts), so the two never deadlock.
 *
 * Used by the executor (completer, claim, lease rescue) and the scheduler's deadline sweep, so it
 * lives here with the failure policy (./failure-policy.ts), not inside one worker.
 */
import { sql, type Transaction } from 'kysely';
import { validateDagPayload, type DagDefinition, type DagTask } from '../../domain/dag-definition.ts';
import type { FinalTaskState } from '../../domain/dag-expression.ts';
import { resolveRun, type TaskSnapshot, type TaskState } from '../../domain/dag-resolution.ts';
import { retryRun } from '../../domain/dag-run-retry.ts';
import { renderProblemMessage, renderTaskPayload, type TaskOutputs } from '../../domain/task-references.ts';
import type { DB, JobStatus } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { jobFinishedPayloadSql, taskFinishedPayloadSql } from '../facts.ts';
import { failurePolicyCtes } from './failure-policy.ts';

/**
 * A task's attempts in all: its retry policy's, but never fewer than a job's default of 3, which
 * is what an attempt lost with its executor (lease expired, ./sql.ts jobsRescueExpired) may use:
 * a crash of the infrastructure is retried whatever the task's own policy says (it decides the
 * failures the task reports itself, executor.ts taskAttemptEnd).
 */
const LOST_ATTEMPTS_MIN = 3;
function maxAttemptsOf(task: DagTask): number {
  return Math.max(task.retry.limit + 1, LOST_ATTEMPTS_MIN);
}

/** What applying resolutions did: for wake-ups, metrics and tests. */
export interface ResolveResult {
  /** Task instances inserted QUEUED (runnable now). */
  started: number;
  /** Runs that ended, with their final status. */
  finished: { id: string; status: 'COMPLETED' | 'FAILED' }[];
}

// A run's definition never changes (jobs.spec is the copy taken when the run was created), so
// validating it once per run and process is enough: a 400-task chain resolves 400 times.
const DEFINITIONS_CACHED = 512;
const definitions = new Map<string, DagDefinition | string>();

function definitionOf(runId: string, spec: unknown): DagDefinition | string {
  let found = definitions.get(runId);
  if (found === undefined) {
    const checked = validateDagPayload(spec);
    found = checked.ok ? checked.value : checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    if (definitions.size >= DEFINITIONS_CACHED) definitions.delete(definitions.keys().next().value!);
    definitions.set(runId, found);
  }
  return found;
}

interface RunRow {
  id: string;
  spec: unknown;
  dag_state: Record<string, number> | null;
  /** The run this one retries: its succeeded tasks are kept (see `keptFromRetried`). */
  retry_of: string | null;
}

interface TaskRow {
  run_id: string;
  task_name: string;
  task_index: number | null;
  task_item?: unknown;
  status: JobStatus;
  error_kind: 'USER' | 'SYSTEM' | null;
  error_code: string | null;
  error_message: string | null;
  outputs: Record<string, unknown> | null;
}

/** A task row's state as the resolver sees it. */
function taskStateOfRow(row: TaskRow): TaskState {
  switch (row.status) {
    case 'QUEUED':
      return 'QUEUED';
    case 'PENDING': // waiting for a retry: it holds its parallel slot
    case 'RUNNING':
      return 'RUNNING';
    case 'COMPLETED':
      return 'SUCCEEDED';
    case 'FAILED':
      // The system could not run it (lease lost, runtime down): ERRORED, so `.errored` sees it.
      return row.error_kind === 'SYSTEM' ? 'ERRORED' : 'FAILED';
    case 'SKIPPED':
      return 'SKIPPED';
    case 'CANCELED':
      return 'CANCELED';
  }
}

interface TaskInsert {
  id: string;
  run_id: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  spec: unknown;
  status: 'QUEUED' | 'SKIPPED' | 'FAILED' | 'CANCELED' | 'COMPLETED';
  /** Kept from the retried run (status COMPLETED). */
  outputs?: Record<string, unknown> | null;
  /** The task's deadline over all its attempts and waits (timeout_seconds), from now. */
  timeout_seconds?: number | null;
  max_attempts: number;
  retry_policy: unknown;
  task_name: string;
  task_index: number | null;
  task_item: unknown;
  error_kind: 'USER' | null;
  error_code: string | null;
  error_message: string | null;
}

/** A task instance's row, without error or outputs: what every kind of insert starts from. */
function taskInsert(
  run: RunRow,
  task: DagTask,
  index: number | null,
  item: unknown,
  status: TaskInsert['status'],
): TaskInsert {
  return {
    id: newId(),
    run_id: run.id,
    kind: task.kind,
    spec: task.payload,
    status,
    max_attempts: maxAttemptsOf(task),
    retry_policy: task.retry,
    task_name: task.name,
    task_index: index,
    task_item: index === null ? null : (item ?? null),
    error_kind: null,
    error_code: null,
    error_message: null,
  };
}

interface RunEnd {
  id: string;
  status: 'COMPLETED' | 'FAILED';
  error_kind: 'USER' | 'SYSTEM' | null;
  error_code: string | null;
  error_message: string | null;
}

/** Drops the lease of claimed DAG runs (their tasks hold leases) and starts their first tasks. */
export async function startRuns(
  trx: Transaction<DB>,
  owner: string,
  runIds: readonly string[],
): Promise<ResolveResult> {
  if (runIds.length === 0) return { started: 0, finished: [] };
  const { rows } = await sql<{ id: string }>`
    UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, container_slot = NULL, updated_at = now()
    WHERE id = ANY(${[...runIds]}::uuid[]) AND status = 'RUNNING' AND kind = 'DAG' AND lease_owner = ${owner}
    RETURNING id`.execute(trx);
  return resolveRuns(
    trx,
    rows.map((r) => r.id),
  );
}

/** Applies the resolver to each run of `runIds` that is still RUNNING (see the module comment). */
export async function resolveRuns(trx: Transaction<DB>, runIds: readonly string[]): Promise<ResolveResult> {
  const result: ResolveResult = { started: 0, finished: [] };
  const ids = [...new Set(runIds)].sort();
  if (ids.length === 0) return result;
  const { rows: runs } = await sql<RunRow>`
    SELECT id, spec, dag_state, retry_of FROM jobs
    WHERE id = ANY(${ids}::uuid[]) AND kind = 'DAG' AND status = 'RUNNING'
    ORDER BY id FOR UPDATE`.execute(trx);
  if (runs.length === 0) return result;
  const { rows: taskRows } = await sql<TaskRow>`
    SELECT run_id, task_name, task_index, status, error_kind, error_code, error_message, outputs FROM jobs
    WHERE run_id = ANY(${runs.map((r) => r.id)}::uuid[])`.execute(trx);
  const tasksOf = new Map<string, TaskRow[]>();
  for (const t of taskRows) {
    const list = tasksOf.get(t.run_id);
    if (list) list.push(t);
    else tasksOf.set(t.run_id, [t]);
  }

  const inserts: TaskInsert[] = [];
  const expansions: { id: string; state: Record<string, number> }[] = [];
  const ends: RunEnd[] = [];
  // A retry that starts now (no task row yet) keeps what its retried run succeeded at.
  const starting = runs.filter((r) => r.retry_of !== null && r.dag_state === null && !tasksOf.has(r.id));
  const retried = new Map<string, TaskRow[]>();
  if (starting.length > 0) {
    const { rows: old } = await sql<TaskRow & { source: string }>`
      SELECT run_id AS source, run_id, task_name, task_index, task_item, status, error_kind, error_code,
             error_message, outputs
      FROM jobs WHERE run_id = ANY(${starting.map((r) => r.retry_of!)}::uuid[])`.execute(trx);
    for (const row of old) {
      const list = retried.get(row.source);
      if (list) list.push(row);
      else retried.set(row.source, [row]);
    }
  }
  for (const run of runs) {
    const definition = definitionOf(run.id, run.spec);
    if (typeof definition === 'string') {
      ends.push({
        id: run.id,
        status: 'FAILED',
        error_kind: 'USER',
        error_code: 'INVALID_SPEC',
        error_message: `the run's definition is not valid: ${definition}`.slice(0, 4096),
      });
      continue;
    }
    let own = tasksOf.get(run.id) ?? [];
    if (starting.includes(run)) {
      const kept = keptFromRetried(run, definition, retried.get(run.retry_of!) ?? []);
      inserts.push(...kept.inserts);
      own = kept.rows;
      run.dag_state = kept.expanded;
      if (kept.expanded !== null) expansions.push({ id: run.id, state: kept.expanded });
    }
    const planned = planRun(run, definition, own);
    inserts.push(...planned.inserts);
    if (planned.expanded) expansions.push({ id: run.id, state: planned.expanded });
    if (planned.end) ends.push(planned.end);
  }

  if (expansions.length > 0) {
    await sql`
      UPDATE jobs j SET dag_state = e.state, updated_at = now()
      FROM jsonb_to_recordset(${JSON.stringify(expansions)}::jsonb) AS e(id uuid, state jsonb)
      WHERE j.id = e.id`.execute(trx);
  }
  if (inserts.length > 0) {
    // Tasks that end without running (skipped, failed before start, canceled) get their
    // TASK_FINISHED here, from the rows this statement inserted: a replayed resolution inserts
    // nothing (the conflict below), so it writes no second fact.
    const { rows: counted } = await sql<{ queued: number }>`
      WITH inserted AS (
      INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at,
                        max_attempts, retry_policy, run_id, task_name, task_index, task_item, trace_context,
                        completed_at, error_kind, error_code, error_message, outputs, start_by, created_at, updated_at)
      SELECT t.id, r.workflow_id, r.user_id, r.workflow_generation, t.kind, t.spec, t.status, r.trigger, now(),
             t.max_attempts, t.retry_policy, r.id, t.task_name, t.task_index, t.task_item, r.trace_context,
             CASE WHEN t.status <> 'QUEUED' THEN now() END, t.error_kind, t.error_code, t.error_message, t.outputs,
             -- timeout_seconds: not started (or retried) after it, and stopped at it (executor.ts).
             now() + make_interval(secs => t.timeout_seconds), now(), now()
      FROM jsonb_to_recordset(${JSON.stringify(inserts)}::jsonb) AS t(
             id uuid, run_id uuid, kind text, spec jsonb, status text, max_attempts int, retry_policy jsonb,
             task_name text, task_index int, task_item jsonb, error_kind text, error_code text, error_message text,
             outputs jsonb, timeout_seconds int)
      JOIN jobs r ON r.id = t.run_id
      ON CONFLICT (run_id, task_name, COALESCE(task_index, -1)) WHERE run_id IS NOT NULL DO NOTHING
      RETURNING *
      ), facts AS (
        INSERT INTO outbox (topic, key, event_type, payload, headers)
        SELECT 'analytics', j.workflow_id::text, 'TASK_FINISHED', ${taskFinishedPayloadSql()},
               COALESCE(j.trace_context::jsonb, '{}'::jsonb)
        FROM inserted j
        -- Not the succeeded tasks a retry keeps (COMPLETED): they did not run in this run.
        WHERE j.status IN ('SKIPPED', 'FAILED', 'CANCELED')
        ORDER BY j.id
      )
      SELECT (count(*) FILTER (WHERE status = 'QUEUED'))::int AS queued FROM inserted`.execute(trx);
    result.started = Number(counted[0]?.queued ?? 0);
  }
  if (ends.length > 0) result.finished = await finishRuns(trx, ends);
  return result;
}

/**
 * The rows a retry starts with (src/domain/dag-run-retry.ts): the retried run's succeeded tasks
 * (and fan-out instances) whose upstream does not run again, COMPLETED with their outputs and
 * 0 attempts (kept, not run again); the rest is decided by the resolver as in a new run.
 */
function keptFromRetried(
  run: RunRow,
  definition: DagDefinition,
  previous: readonly TaskRow[],
): { inserts: TaskInsert[]; rows: TaskRow[]; expanded: Record<string, number> | null } {
  const snapshot = new Map<string, TaskSnapshot>();
  const byInstance = new Map<string, TaskRow>();
  for (const row of previous) {
    byInstance.set(`${row.task_name}\u0000${row.task_index ?? ''}`, row);
    const task = definition.tasks.find((t) => t.name === row.task_name);
    if (task === undefined) continue;
    if (row.task_index === null) {
      snapshot.set(row.task_name, { state: taskStateOfRow(row) });
    } else {
      const known = snapshot.get(row.task_name);
      const instances = known && 'instances' in known ? [...known.instances] : [];
      while (instances.length <= row.task_index) instances.push('PENDING');
      instances[row.task_index] = taskStateOfRow(row);
      snapshot.set(row.task_name, { instances });
    }
  }
  const { tasks } = retryRun(definition, snapshot);
  const inserts: TaskInsert[] = [];
  const rows: TaskRow[] = [];
  let expanded: Record<string, number> | null = null;
  const keep = (task: DagTask, index: number | null) => {
    const old = byInstance.get(`${task.name}\u0000${index ?? ''}`);
    if (old === undefined) return;
    inserts.push({ ...taskInsert(run, task, index, old.task_item, 'COMPLETED'), outputs: old.outputs });
    rows.push({
      ...old,
      run_id: run.id,
      status: 'COMPLETED',
      error_kind: null,
      error_code: null,
      error_message: null,
    });
  };
  for (const task of definition.tasks) {
    const state = tasks.get(task.name);
    if (state === undefined) continue;
    if ('instances' in state) {
      expanded = { ...(expanded ?? {}), [task.name]: state.instances.length };
      state.instances.forEach((s, i) => {
        if (s === 'SUCCEEDED') keep(task, i);
      });
    } else if (state.state === 'SUCCEEDED') {
      keep(task, null);
    }
  }
  return { inserts, rows, expanded };
}

/**
 * One run's next rows. The resolver is called again on its own answer while that answer ends
 * tasks without running them (a payload that cannot render fails its task, which may decide
 * others): at most once per task, since each pass ends at least one.
 */
function planRun(
  run: RunRow,
  definition: DagDefinition,
  rows: readonly TaskRow[],
): { inserts: TaskInsert[]; expanded: Record<string, number> | null; end: RunEnd | null } {
  const byName = new Map<string, DagTask>(
    [...definition.tasks, ...definition.finally].map((t) => [t.name, t]),
  );
  const expanded: Record<string, number> = { ...(run.dag_state ?? {}) };
  let expandedChanged = false;
  const states = new Map<string, TaskState | TaskState[]>();
  for (const [task, count] of Object.entries(expanded)) {
    states.set(
      task,
      Array.from({ length: count }, () => 'PENDING'),
    );
  }
  const outputs = new Map<string, TaskOutputs>();
  const failures = new Map<string, TaskRow>();
  for (const row of rows) {
    const state = taskStateOfRow(row);
    const known = states.get(row.task_name);
    if (row.task_index !== null && Array.isArray(known)) known[row.task_index] = state;
    else states.set(row.task_name, state);
    if (row.task_index === null && row.status === 'COMPLETED' && row.outputs !== null) {
      outputs.set(row.task_name, row.outputs);
    }
    if (row.status === 'FAILED' && !failures.has(row.task_name)) failures.set(row.task_name, row);
  }

  const inserts: TaskInsert[] = [];
  const insertFinal = (
    task: DagTask,
    index: number | null,
    item: unknown,
    status: 'SKIPPED' | 'FAILED' | 'CANCELED',
    message: string | null,
    code: string | null,
  ) => {
    inserts.push({
      ...taskInsert(run, task, index, item, status),
      error_kind: status === 'FAILED' ? 'USER' : null,
      error_code: status === 'FAILED' ? code : null,
      error_message: message,
    });
    const final: FinalTaskState = status;
    const known = states.get(task.name);
    if (index !== null && Array.isArray(known)) known[index] = final;
    else states.set(task.name, final);
    if (status === 'FAILED' && !failures.has(task.name)) {
      failures.set(task.name, {
        run_id: run.id,
        task_name: task.name,
        task_index: index,
        status: 'FAILED',
        error_kind: 'USER',
        error_code: code,
        error_message: message,
        outputs: null,
      });
    }
  };

  for (let pass = 0; pass <= byName.size + 1; pass++) {
    const snapshot = new Map<string, TaskSnapshot>();
    for (const [name, s] of states) snapshot.set(name, Array.isArray(s) ? { instances: s } : { state: s });
    const resolution = resolveRun(definition, { tasks: snapshot, outputs });
    let endedWithoutRunning = false;
    for (const e of resolution.expand) {
      expanded[e.task] = e.items.length;
      expandedChanged = true;
      states.set(
        e.task,
        e.items.map(() => 'PENDING'),
      );
    }
    for (const s of resolution.skip)
      insertFinal(byName.get(s.task)!, null, undefined, 'SKIPPED', s.reason, null);
    for (const f of resolution.fail) {
      insertFinal(byName.get(f.task)!, null, undefined, 'FAILED', f.reason, 'FOR_EACH_INVALID');
      endedWithoutRunning = true;
    }
    for (const c of resolution.cancel) {
      insertFinal(byName.get(c.task)!, c.index, undefined, 'CANCELED', 'the run was canceled', null);
    }
    for (const start of resolution.start) {
      const task = byName.get(start.task)!;
      const rendered = renderTaskPayload(
        task.kind,
        task.payload,
        task.templateFields,
        start.index === null ? { outputs } : { outputs, item: start.item },
      );
      if (!rendered.ok) {
        insertFinal(
          task,
          start.index,
          start.item,
          'FAILED',
          renderProblemMessage(rendered.problem),
          'RENDER_FAILED',
        );
        endedWithoutRunning = true;
        continue;
      }
      inserts.push({
        ...taskInsert(run, task, start.index, start.item, 'QUEUED'),
        spec: rendered.value,
        timeout_seconds: task.timeoutSeconds,
      });
      const known = states.get(task.name);
      if (start.index !== null && Array.isArray(known)) known[start.index] = 'QUEUED';
      else states.set(task.name, 'QUEUED');
    }
    if (resolution.outcome !== null) {
      const state = resolution.outcome.state;
      if (state === 'CANCELED') return { inserts, expanded: expandedChanged ? expanded : null, end: null };
      const failed = definition.tasks.map((t) => failures.get(t.name)).find((f) => f !== undefined);
      return {
        inserts,
        expanded: expandedChanged ? expanded : null,
        end:
          state === 'SUCCEEDED'
            ? { id: run.id, status: 'COMPLETED', error_kind: null, error_code: null, error_message: null }
            : {
                id: run.id,
                status: 'FAILED',
                error_kind: failed?.error_kind ?? 'USER',
                error_code: 'TASK_FAILED',
                error_message: (failed
                  ? `task '${failed.task_name}${failed.task_index !== null ? `[${failed.task_index}]` : ''}' failed` +
                    (failed.error_code ? ` (${failed.error_code})` : '') +
                    (failed.error_message ? `: ${failed.error_message}` : '')
                  : 'a task did not succeed'
                ).slice(0, 4096),
              },
      };
    }
    if (!endedWithoutRunning) break;
  }
  return { inserts, expanded: expandedChanged ? expanded : null, end: null };
}

/**
 * Ends runs whose tasks are all final: the run row COMPLETED or FAILED, the workflow's failure
 * policy, and the run's JOB_FINISHED fact, in one statement like the completer's for a job.
 */
async function finishRuns(trx: Transaction<DB>, ends: readonly RunEnd[]): Promise<ResolveResult['finished']> {
  const { rows } = await sql<{ id: string; status: 'COMPLETED' | 'FAILED' }>`
    WITH v AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(ends)}::jsonb)
        AS v(id uuid, status text, error_kind text, error_code text, error_message text)
    ), done AS (
      UPDATE jobs j
      SET status = v.status, completed_at = now(), error_kind = v.error_kind, error_code = v.error_code,
          error_message = v.error_message, updated_at = now()
      FROM v
      WHERE j.id = v.id AND j.kind = 'DAG' AND j.status = 'RUNNING'
      RETURNING j.id, j.workflow_id, j.user_id, j.workflow_generation, j.status, j.trigger, j.attempts,
                j.scheduled_at, j.started_at, j.completed_at, j.exit_code, j.http_status_code,
                j.error_code, j.error_message, j.log_lines, COALESCE(j.trace_context, '{}')::jsonb AS headers
    ), results AS (
      -- A backfill's run does not count against the live schedule (failure-policy.ts).
      SELECT d.id AS job_id, d.workflow_id, d.status = 'COMPLETED' AS succeeded, d.headers FROM done d
      WHERE d.trigger <> 'BACKFILL'
    ), ${failurePolicyCtes('results')}, events AS (
      INSERT INTO outbox (topic, key, event_type, payload, headers)
      SELECT 'analytics', j.workflow_id::text, 'JOB_FINISHED', ${jobFinishedPayloadSql(false)}, j.headers
      FROM done j ORDER BY j.id
    )
    SELECT id, status FROM done`.execute(trx);
  return rows;
}

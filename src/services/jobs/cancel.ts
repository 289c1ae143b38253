/**
 * The one "cancel these jobs" transition (job state machine `cancel`, src/domain/job-state.ts),
 * used by every path that ends unfinished runs: a user's cancel (jobs service), a pause,
 * terminate, reschedule or rebuild (workflows service, workflow worker), CANCEL_OTHER and the
 * starting-deadline sweep (scheduler), a backfill's cancel. Callers differ only in which runs
 * (`where`), how far (`scope`), why (`error`) and how the facts are flagged (`bulk`).
 *
 * In the caller's transaction:
 * 1. (scope 'unfinished') the unfinished task rows of the selected RUNNING DAG runs are locked,
 *    in id order, before any run row: the order a completion takes them (its tasks, then their
 *    run; src/services/runs/dag-runs.ts), so a cancel and a completion never deadlock;
 * 2. the selected runs are locked in id order and moved to CANCELED under the guard
 *    `status IN (cancelFrom(scope))`: a run that finished meanwhile matches no row (not an error);
 *    lease and container slot are dropped, the error columns set when the caller says why;
 * 3. the unfinished tasks of the canceled DAG runs end CANCELED with them (no `finally` task starts
 *    after a cancel: the run is already final);
 * 4. one JOB_FINISHED fact per canceled run and one TASK_FINISHED per canceled task instance
 *    (src/services/facts.ts), with the caller's `bulk` flag.
 * After the commit the caller emits `job:cancel-requested` for `stop` (`requestStops`), so an
 * executor of this process stops the container at once (others notice at lease renewal).
 *
 * Only runs are selected (`run_id IS NULL`): a task ends with its run, never on its own here.
 */
import { sql, type RawBuilder, type Transaction } from 'kysely';
import {
  cancelFrom,
  stopsOnCancel,
  TRANSITIONS,
  type CancelScope,
  type ErrorKind,
  type JobState,
} from '../../domain/job-state.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { writeJobFinishedEvents } from '../facts.ts';

export interface CancelSelection {
  /**
   * Which runs: a condition over the jobs table with unqualified columns, e.g.
   * sql`workflow_id = ANY(${ids}::uuid[]) AND NOT concurrent`.
   */
  where: RawBuilder<unknown>;
  scope: CancelScope;
}

export interface CancelOptions {
  now: Date;
  /**
   * Why, in the runs' error columns (the starting deadline's MISSED_DEADLINE); `message` may be an
   * SQL expression over the run's row aliased `j`. None for a user's, a policy's or a workflow's
   * cancel: the status says it.
   */
  error?: { kind: ErrorKind; code: string; message: string | RawBuilder<string> };
  /** JOB_FINISHED's `bulk` flag: true when the user did not cancel these runs one by one. */
  bulk: boolean;
}

export interface CanceledRun {
  id: string;
  workflow_id: string;
  scheduled_at: Date;
  kind: string;
  /** The state it was canceled from. */
  was: JobState;
  error_message: string | null;
}

export interface CancelResult {
  /** The runs this cancel ended, in id order. */
  canceled: CanceledRun[];
  /** Jobs whose executors must stop them: runs that were running, and the running tasks of DAG runs. */
  stop: string[];
}

/** The states as an SQL list for `status IN (…)`: literals, so partial indexes on them still match. */
function statesSql(states: readonly JobState[]) {
  return sql.raw(states.map((s) => `'${s}'`).join(', '));
}

/** Cancels the runs selected by `selection` (see the module comment). */
export async function cancelJobs(
  trx: Transaction<DB>,
  selection: CancelSelection,
  options: CancelOptions,
): Promise<CancelResult> {
  const { now, error } = options;
  const from = statesSql(cancelFrom(selection.scope));
  // Only a RUNNING DAG run has task rows (its claim created them), so 'waiting' has none to lock.
  if (selection.scope === 'unfinished') {
    await sql`
      SELECT t.id FROM jobs t
      WHERE t.run_id IN (
          SELECT id FROM jobs
          WHERE run_id IS NULL AND kind = 'DAG' AND status = 'RUNNING' AND (${selection.where}))
        AND t.status IN (${statesSql(TRANSITIONS.cancel.from)})
      ORDER BY t.id FOR UPDATE OF t`.execute(trx);
  }
  const errorColumns =
    error === undefined
      ? sql``
      : sql`, error_kind = ${error.kind}, error_code = ${error.code}, error_message = ${error.message}`;
  const { rows } = await sql<CanceledRun>`
    WITH t AS (
      SELECT id, status FROM jobs
      WHERE run_id IS NULL AND status IN (${from}) AND (${selection.where})
      ORDER BY id FOR UPDATE)
    UPDATE jobs j
    SET status = ${TRANSITIONS.cancel.to}, completed_at = ${now}, updated_at = ${now}, lease_owner = NULL,
        lease_expires_at = NULL, container_slot = NULL${errorColumns}
    FROM t WHERE j.id = t.id
    RETURNING j.id, j.workflow_id, j.scheduled_at, j.kind, t.status AS was, j.error_message`.execute(trx);
  if (rows.length === 0) return { canceled: [], stop: [] };
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await writeJobFinishedEvents(
    trx,
    rows.map((r) => r.id),
    { bulk: options.bulk },
  );
  const tasks = await cancelRunTasks(
    trx,
    rows.filter((r) => r.kind === 'DAG').map((r) => r.id),
    now,
    options.bulk,
  );
  return {
    canceled: rows,
    stop: [...rows.filter((r) => stopsOnCancel(r.was, r.kind)).map((r) => r.id), ...tasks],
  };
}

/** After the commit: tells the executors (of this process, and others through the event bridge) to stop these. */
export function requestStops(
  events: Pick<Events, 'emit'> | null | undefined,
  result: Pick<CancelResult, 'stop'>,
): void {
  for (const jobId of result.stop) events?.emit('job:cancel-requested', { jobId });
}

/**
 * Cancels the unfinished task instances of DAG runs that were just canceled; returns the ids of
 * those that were RUNNING. Their rows were locked before the runs' (step 1), except tasks a
 * completion inserted meanwhile, which it committed before the run's lock was granted to us.
 */
async function cancelRunTasks(
  trx: Transaction<DB>,
  runIds: readonly string[],
  now: Date,
  bulk: boolean,
): Promise<string[]> {
  if (runIds.length === 0) return [];
  const { rows } = await sql<{ id: string; kind: string; was: JobState }>`
    WITH t AS (
      SELECT id, status FROM jobs
      WHERE run_id = ANY(${[...runIds]}::uuid[]) AND status IN (${statesSql(TRANSITIONS.cancel.from)})
      ORDER BY id FOR UPDATE)
    UPDATE jobs j
    SET status = ${TRANSITIONS.cancel.to}, completed_at = ${now}, updated_at = ${now}, lease_owner = NULL,
        lease_expires_at = NULL, container_slot = NULL
    FROM t WHERE j.id = t.id
    RETURNING j.id, j.kind, t.status AS was`.execute(trx);
  await writeJobFinishedEvents(
    trx,
    rows.map((r) => r.id),
    { bulk },
  );
  return rows.filter((r) => stopsOnCancel(r.was, r.kind)).map((r) => r.id);
}

/**
 * The one cancel transition (src/services/jobs/cancel.ts), table-driven, one row per guard; each
 * row fails when its guard is removed from the statement (each was removed once and seen failing):
 *   from       status IN (cancelFrom(scope)) on the runs: a finished run is left alone, and a
 *              'waiting' cancel leaves a RUNNING run alone
 *   runs-only  run_id IS NULL: a task is never selected on its own
 *   tasks      status IN (cancel's from) on a canceled DAG run's tasks: its finished tasks keep
 *              their result
 *   stop       stopsOnCancel: only jobs that were running something are told to stop (not a DAG
 *              run itself, nor waiting jobs)
 *   order      (PostgreSQL) a RUNNING DAG run's task rows are locked before the run row, the order
 *              a completion takes them, so the two never deadlock
 * Both engines; the lock order on PostgreSQL only (PGlite has one connection).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STATES, type CancelScope, type JobState } from '../../src/domain/job-state.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import { cancelJobs, type CancelResult } from '../../src/services/jobs/cancel.ts';
import { insertUser, insertWorkflows, snapshotOf, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';

const FINAL: readonly JobState[] = ['COMPLETED', 'FAILED', 'CANCELED', 'SKIPPED'];

/** The columns the schema's CHECKs require of a job in `status`. */
function stateColumns(status: JobState) {
  const now = new Date();
  return {
    status,
    attempts: status === 'PENDING' || status === 'QUEUED' ? 0 : 1,
    started_at: status === 'PENDING' || status === 'QUEUED' ? null : now,
    completed_at: FINAL.includes(status) ? now : null,
    lease_owner: status === 'RUNNING' ? 'some-executor' : null,
    lease_expires_at: status === 'RUNNING' ? new Date(now.getTime() + 60_000) : null,
  };
}

describe.each(ENGINES)('cancelJobs (%s)', (engineName) => {
  let database: Database;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());

  /** A run (a single-task job) in `status`, on a workflow of its own (one RUNNING per workflow). */
  async function runIn(status: JobState): Promise<{ id: string; workflowId: string }> {
    const [workflowId] = await insertWorkflows(database.db, [{ userId, nextRunAt: null }]);
    const id = newId();
    await database.db
      .insertInto('jobs')
      .values({
        id,
        workflow_id: workflowId!,
        user_id: userId,
        workflow_generation: 1,
        ...snapshotOf(workflowId!),
        trigger: 'MANUAL',
        scheduled_at: new Date(),
        ...stateColumns(status),
      })
      .execute();
    return { id, workflowId: workflowId! };
  }

  /** A RUNNING DAG run with one task instance per state of `tasks`; returns the ids by state. */
  async function dagRun(tasks: readonly JobState[]) {
    const [workflowId] = await insertWorkflows(database.db, [
      { userId, nextRunAt: null, kind: 'DAG', payload: { tasks: [] } },
    ]);
    const runId = newId();
    const base = {
      workflow_id: workflowId!,
      user_id: userId,
      workflow_generation: 1,
      trigger: 'MANUAL' as const,
      scheduled_at: new Date(),
    };
    // A claimed DAG run holds no lease: its tasks do.
    await database.db
      .insertInto('jobs')
      .values({
        id: runId,
        ...base,
        kind: 'DAG',
        spec: '{"tasks":[]}',
        ...stateColumns('RUNNING'),
        lease_owner: null,
      })
      .execute();
    const taskIds = new Map<JobState, string>();
    for (const [i, status] of tasks.entries()) {
      const id = newId();
      taskIds.set(status, id);
      await database.db
        .insertInto('jobs')
        .values({
          id,
          ...base,
          kind: 'HEARTBEAT',
          spec: '{}',
          run_id: runId,
          task_name: `t${i}`,
          ...stateColumns(status),
        })
        .execute();
    }
    return { runId, workflowId: workflowId!, taskIds };
  }

  const statusOf = async (id: string) =>
    (await database.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirstOrThrow())
      .status;
  const leaseOf = (id: string) =>
    database.db
      .selectFrom('jobs')
      .select(['lease_owner', 'lease_expires_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const factsOf = async (id: string) => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM outbox WHERE event_type = 'JOB_FINISHED' AND payload->>'job_id' = ${id}`.execute(
      database.db,
    );
    return rows[0]!.n;
  };
  const cancel = (where: ReturnType<typeof sql>, scope: CancelScope): Promise<CancelResult> =>
    database.db
      .transaction()
      .execute((trx) => cancelJobs(trx, { where, scope }, { now: new Date(), bulk: true }));

  // A run's state and the cancel's scope → canceled? told to stop? (SKIPPED is a task's state only.)
  const RUN_ROWS: [JobState, CancelScope, boolean, boolean][] = JOB_STATES.filter(
    (s) => s !== 'SKIPPED',
  ).flatMap((state) =>
    (['unfinished', 'waiting'] as const).map((scope): [JobState, CancelScope, boolean, boolean] => {
      const waiting = state === 'PENDING' || state === 'QUEUED';
      const canceled = waiting || (state === 'RUNNING' && scope === 'unfinished');
      return [state, scope, canceled, canceled && state === 'RUNNING'];
    }),
  );

  it.each(RUN_ROWS)(
    'from: a %s run, scope %s → canceled %s, told to stop %s',
    async (state, scope, canceled, stop) => {
      const { id } = await runIn(state);
      const result = await cancel(sql`id = ${id}`, scope);
      expect(await statusOf(id)).toBe(canceled ? 'CANCELED' : state);
      expect(result.canceled.map((r) => [r.id, r.was])).toEqual(canceled ? [[id, state]] : []);
      expect(result.stop).toEqual(stop ? [id] : []);
      // One fact per cancel; none for a run that had finished (a CANCELED one keeps its zero).
      expect(await factsOf(id)).toBe(canceled ? 1 : 0);
      if (canceled) expect(await leaseOf(id)).toEqual({ lease_owner: null, lease_expires_at: null });
    },
  );

  it('tasks and stop: a RUNNING DAG run ends with its unfinished tasks; finished tasks keep their result, running ones are told to stop', async () => {
    const states: JobState[] = ['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED', 'RUNNING', 'QUEUED', 'PENDING'];
    const { runId, taskIds } = await dagRun(states);
    const result = await cancel(sql`id = ${runId}`, 'unfinished');
    expect(await statusOf(runId)).toBe('CANCELED');
    expect(result.canceled.map((r) => [r.id, r.was, r.kind])).toEqual([[runId, 'RUNNING', 'DAG']]);
    // The run itself runs nothing: only its running task is told to stop.
    expect(result.stop).toEqual([taskIds.get('RUNNING')]);
    const after = Object.fromEntries(
      await Promise.all(states.map(async (s) => [s, await statusOf(taskIds.get(s)!)])),
    );
    expect(after).toEqual({
      COMPLETED: 'COMPLETED',
      FAILED: 'FAILED',
      SKIPPED: 'SKIPPED',
      CANCELED: 'CANCELED',
      RUNNING: 'CANCELED',
      QUEUED: 'CANCELED',
      PENDING: 'CANCELED',
    });
    expect(await leaseOf(taskIds.get('RUNNING')!)).toEqual({ lease_owner: null, lease_expires_at: null });
    // The run's fact tells how it ended; its tasks make none.
    expect(await factsOf(runId)).toBe(1);
    for (const id of taskIds.values()) expect(await factsOf(id)).toBe(0);
  });

  it("from: a 'waiting' cancel leaves a RUNNING DAG run and its tasks alone", async () => {
    const { runId, taskIds } = await dagRun(['RUNNING', 'QUEUED']);
    const result = await cancel(sql`id = ${runId}`, 'waiting');
    expect(result).toEqual({ canceled: [], stop: [] });
    expect(await statusOf(runId)).toBe('RUNNING');
    expect(await statusOf(taskIds.get('RUNNING')!)).toBe('RUNNING');
    expect(await statusOf(taskIds.get('QUEUED')!)).toBe('QUEUED');
  });

  it('runs-only: a task selected on its own is not canceled (it ends with its run)', async () => {
    const { runId, taskIds } = await dagRun(['QUEUED', 'RUNNING']);
    const result = await cancel(sql`run_id = ${runId}`, 'unfinished');
    expect(result).toEqual({ canceled: [], stop: [] });
    expect(await statusOf(taskIds.get('QUEUED')!)).toBe('QUEUED');
    expect(await statusOf(taskIds.get('RUNNING')!)).toBe('RUNNING');
    expect(await statusOf(runId)).toBe('RUNNING');
  });

  it('selects by the caller’s condition and sets the error columns when told why', async () => {
    const a = await runIn('QUEUED');
    const b = await runIn('QUEUED');
    const result = await database.db.transaction().execute((trx) =>
      cancelJobs(
        trx,
        { where: sql`workflow_id = ${a.workflowId}`, scope: 'waiting' },
        {
          now: new Date(),
          bulk: false,
          error: { kind: 'SYSTEM', code: 'MISSED_DEADLINE', message: sql<string>`'late: ' || j.trigger` },
        },
      ),
    );
    expect(result.canceled.map((r) => [r.id, r.error_message])).toEqual([[a.id, 'late: MANUAL']]);
    const row = await database.db
      .selectFrom('jobs')
      .select(['error_kind', 'error_code', 'error_message'])
      .where('id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      error_kind: 'SYSTEM',
      error_code: 'MISSED_DEADLINE',
      error_message: 'late: MANUAL',
    });
    expect(await statusOf(b.id)).toBe('QUEUED');
    const { rows } = await sql<{ bulk: boolean }>`
      SELECT (payload->>'bulk')::boolean AS bulk FROM outbox WHERE payload->>'job_id' = ${a.id}`.execute(
      database.db,
    );
    expect(rows).toEqual([{ bulk: false }]);
  });

  it.runIf(engineName === 'postgres')(
    'order: the run row is not locked while a task of it is held by a completion',
    async () => {
      const { runId, taskIds } = await dagRun(['RUNNING', 'QUEUED']);
      const task = taskIds.get('RUNNING')!;
      // A completion holding the task's row lock (it takes the run's next).
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const completion = database.db.transaction().execute(async (trx) => {
        await sql`SELECT id FROM jobs WHERE id = ${task} FOR UPDATE`.execute(trx);
        locked();
        await held;
      });
      await isLocked;
      const canceling = cancel(sql`id = ${runId}`, 'unfinished');
      // The cancel waits for the task's lock…
      await waitFor(async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(database.db);
        return rows[0]!.n > 0;
      });
      // …without holding the run's: the completion could take it now (no cycle, no deadlock).
      const { rows: free } = await sql<{ id: string }>`
        SELECT id FROM jobs WHERE id = ${runId} FOR UPDATE SKIP LOCKED`.execute(database.db);
      expect(free.map((r) => r.id)).toEqual([runId]);
      release();
      await completion;
      const result = await canceling;
      expect(result.stop).toEqual([task]);
      expect(await statusOf(runId)).toBe('CANCELED');
    },
  );
});

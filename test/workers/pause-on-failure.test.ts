/**
 * `pause_on_failure` through the real engine (executor, completion's failure policy, workflow
 * worker) on real databases, with HEARTBEAT jobs against a local HTTP server: at the failure
 * limit the workflow is paused, with a note saying why, instead of terminated; and it resumes as
 * it is through the workflows service.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import {
  finalJob,
  insertManualJob,
  insertUser,
  insertWorkflows,
  snapshotOf,
  waitFor,
} from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, PRODUCTION_LEASE, startTarget, type Engine } from '../helpers/engine.ts';

function failingHeartbeat(url: string) {
  return {
    endpoint: `${url}/status/500`,
    method: 'GET',
    headers: {},
    body: null,
    expected_status_code: 200,
    timeout: '2s',
  };
}

describe.each(ENGINES)('pause_on_failure (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;
  let engine: Engine | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    userId = await insertUser(database.db);
  });
  afterAll(async () => {
    await target.close();
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    expect(engine?.executor?.runningJobIds ?? []).toEqual([]);
  });

  const workflowRow = (id: string) =>
    database.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const outboxOf = (id: string, type: string) =>
    database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', id)
      .where('event_type', '=', type)
      .execute();

  it('pauses at the failure limit instead of terminating, once, and cancels queued automatic runs only', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: failingHeartbeat(target.url),
        intervalMinutes: 60,
        nextRunAt: new Date(Date.now() + 3_600_000),
        maxFailures: 2,
        pauseOnFailure: true,
      },
    ]);
    expect((await finalJob(database, await insertManualJob(database, wf!, userId))).status).toBe('FAILED');
    // Queued for later: the pause cancels the schedule's run, and leaves the manual one.
    const later = new Date(Date.now() + 3_600_000);
    const [automatic, manual] = [newId(), newId()];
    await database.db
      .insertInto('jobs')
      .values(
        [
          { id: automatic, trigger: 'AUTOMATIC' as const },
          { id: manual, trigger: 'MANUAL' as const },
        ].map((j) => ({
          id: j.id,
          workflow_id: wf!,
          user_id: userId,
          workflow_generation: 1,
          ...snapshotOf(wf!),
          trigger: j.trigger,
          scheduled_at: later,
        })),
      )
      .execute();
    await finalJob(database, await insertManualJob(database, wf!, userId));
    const paused = await waitFor(async () => {
      const w = await workflowRow(wf!);
      return w.paused_at ? w : null;
    });
    expect(paused).toMatchObject({
      terminated_at: null,
      pause_note: 'paused after 2 consecutive failures',
      consecutive_job_failures_count: 2,
    });
    const statuses = await database.db
      .selectFrom('jobs')
      .select(['id', 'status'])
      .where('id', 'in', [automatic, manual])
      .execute();
    expect(Object.fromEntries(statuses.map((j) => [j.id, j.status]))).toEqual({
      [automatic]: 'CANCELED',
      [manual]: 'PENDING',
    });
    expect(await outboxOf(wf!, 'TERMINATE')).toEqual([]);
    const reached = await outboxOf(wf!, 'FAILURE_LIMIT_REACHED');
    expect(reached).toHaveLength(1);

    // A redelivered FAILURE_LIMIT_REACHED keeps the first pause and its note.
    await engine.worker.handle([
      {
        id: 'redelivered',
        topic: 'workflows',
        key: wf!,
        type: 'FAILURE_LIMIT_REACHED',
        payload: { ...(reached[0]!.payload as Record<string, unknown>), consecutive_failures: 3 },
      },
    ]);
    const after = await workflowRow(wf!);
    expect(after.paused_at).toEqual(paused.paused_at);
    expect(after.pause_note).toBe('paused after 2 consecutive failures');
    expect(after.terminated_at).toBeNull();
    await database.db.deleteFrom('jobs').where('id', '=', manual).execute();

    // Resumed as it is: no rebuild, the count afresh, the schedule's next fire time after now.
    const workflows = new WorkflowsService(database.db, systemClock, { idempotencyTtlMs: 60_000 });
    const resumed = await workflows.resume(userId, wf!);
    expect(resumed).toMatchObject({
      status: 'ACTIVE',
      paused_at: null,
      pause_note: null,
      consecutive_job_failures_count: 0,
      build_status: 'COMPLETED',
      generation: 1,
    });
    expect(Date.parse(resumed.next_run_at!)).toBeGreaterThan(Date.now());
  });

  it('without the option the workflow is terminated, not paused', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    const next = new Date(Date.now() + 3_600_000);
    const [wf] = await insertWorkflows(database.db, [
      { userId, payload: failingHeartbeat(target.url), nextRunAt: next, intervalMinutes: 60, maxFailures: 1 },
    ]);
    await finalJob(database, await insertManualJob(database, wf!, userId));
    const terminated = await waitFor(async () => {
      const w = await workflowRow(wf!);
      return w.terminated_at ? w : null;
    });
    expect(terminated).toMatchObject({ paused_at: null, pause_note: null, next_run_at: null });
    // The fire time that would have come next is in the ledger as TERMINATED, once, with why.
    const ticks = await database.db
      .selectFrom('workflow_ticks')
      .selectAll()
      .where('workflow_id', '=', wf!)
      .execute();
    expect(ticks.map((t) => [t.nominal_at.getTime(), t.outcome, t.job_id, t.reason])).toEqual([
      [
        next.getTime(),
        'TERMINATED',
        null,
        'the workflow was terminated after 1 consecutive failures (limit 1)',
      ],
    ]);
  });

  it('the failure policy of earlier versions (JOB_FAILED events) pauses too', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: failingHeartbeat(target.url),
        nextRunAt: null,
        maxFailures: 2,
        pauseOnFailure: true,
      },
    ]);
    const legacy = (id: string, jobId: string) => ({
      id,
      topic: 'workflows' as const,
      key: wf!,
      type: 'JOB_FAILED',
      payload: { workflow_id: wf!, job_id: jobId },
    });
    await engine.worker.handle([legacy('1', 'legacy-1')]);
    expect((await workflowRow(wf!)).paused_at).toBeNull();
    await engine.worker.handle([legacy('2', 'legacy-2')]);
    expect(await workflowRow(wf!)).toMatchObject({
      terminated_at: null,
      pause_note: 'paused after 2 consecutive failures',
      consecutive_job_failures_count: 2,
    });
    expect((await workflowRow(wf!)).paused_at).not.toBeNull();
  });
});

/**
 * The workflow state column (migration 0028, src/domain/workflow-status.ts) moved by the real
 * writers on real databases: the workflows service (create, pause, resume, terminate, edit), the
 * workflow worker's build (a BUILD event as the relay delivers it) and the completion's failure
 * policy (a once schedule's run), each read back as the row's state and the API's status.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, PRODUCTION_LEASE, startTarget, type Engine } from '../helpers/engine.ts';

describe.each(ENGINES)('workflow state (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;
  let service: WorkflowsService;
  let engine: Engine | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    userId = await insertUser(database.db);
    service = new WorkflowsService(database.db, systemClock, { idempotencyTtlMs: 60_000 });
  });
  afterAll(async () => {
    await target.close();
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  const rowOf = (id: string) =>
    database.db
      .selectFrom('workflows')
      .select(['state', 'build_status', 'paused_at', 'terminated_at', 'completed_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  /** Hands the workflow's latest BUILD event to the workflow worker, as the relay would. */
  async function deliverBuild(built: Engine, id: string): Promise<void> {
    const row = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', id)
      .where('event_type', '=', 'BUILD')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    await built.worker.handle([
      { id: String(row.id), topic: 'workflows', key: id, type: 'BUILD', payload: row.payload as never },
    ]);
  }

  const heartbeat = () => ({
    name: 'state',
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://example.com/' },
    interval: 60,
  });

  it('a pause asked for while building shows BUILDING, and PAUSED once the build completes; resume: ACTIVE', async () => {
    engine = createEngine(database, { withExecutor: false });
    const created = (await service.create(userId, heartbeat())).body;
    expect(created.status).toBe('BUILDING');
    const paused = await service.pause(userId, created.id, { note: 'hold' });
    expect(paused.status).toBe('BUILDING');
    expect(await rowOf(created.id)).toMatchObject({ state: 'BUILDING', build_status: 'QUEUED' });

    await deliverBuild(engine, created.id);
    expect(await rowOf(created.id)).toMatchObject({ state: 'PAUSED', build_status: 'COMPLETED' });
    expect((await service.get(userId, created.id)).status).toBe('PAUSED');

    expect((await service.resume(userId, created.id)).status).toBe('ACTIVE');
    expect(await rowOf(created.id)).toMatchObject({ state: 'ACTIVE', paused_at: null });
  });

  it('a pause resumed before the build completes leaves it ACTIVE once built', async () => {
    engine = createEngine(database, { withExecutor: false });
    const created = (await service.create(userId, heartbeat())).body;
    await service.pause(userId, created.id, {});
    expect((await service.resume(userId, created.id)).status).toBe('BUILDING');
    await deliverBuild(engine, created.id);
    expect(await rowOf(created.id)).toMatchObject({ state: 'ACTIVE', build_status: 'COMPLETED' });
  });

  it('terminate: TERMINATED, and a late build changes nothing; an edit re-activates it through a rebuild', async () => {
    engine = createEngine(database, { withExecutor: false });
    const created = (await service.create(userId, heartbeat())).body;
    expect((await service.terminate(userId, created.id)).status).toBe('TERMINATED');
    // The BUILD of the create arrives after the terminate: a terminated workflow is not built.
    await deliverBuild(engine, created.id);
    expect(await rowOf(created.id)).toMatchObject({ state: 'TERMINATED', build_status: 'QUEUED' });

    const edited = (await service.update(userId, created.id, { name: 'back' })).body;
    expect(edited).toMatchObject({ status: 'BUILDING', terminated_at: null });
    await deliverBuild(engine, created.id);
    expect(await rowOf(created.id)).toMatchObject({ state: 'ACTIVE', terminated_at: null });
    expect(
      (await service.list(userId, { limit: 100, terminated: true })).workflows.map((w) => w.id),
    ).not.toContain(created.id);
  });

  it('a once workflow whose run finished is COMPLETED (failure policy); a new run_at reopens it ACTIVE', async () => {
    engine = createEngine(database, { executor: PRODUCTION_LEASE });
    engine.start();
    // Its one fire time was taken (next_run_at NULL): the run that finishes completes it.
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: {
          endpoint: `${target.url}/status/200`,
          method: 'GET',
          headers: {},
          body: null,
          expected_status_code: 200,
          timeout: '2s',
        },
        runAt: new Date(Date.now() - 60_000),
        nextRunAt: null,
      },
    ]);
    expect((await finalJob(database, await insertManualJob(database, wf!, userId))).status).toBe('COMPLETED');
    const done = await rowOf(wf!);
    expect(done.state).toBe('COMPLETED');
    expect(done.completed_at).not.toBeNull();
    expect((await service.get(userId, wf!)).status).toBe('COMPLETED');

    // An edit without a new schedule keeps it complete; a new run_at reopens it.
    expect((await service.update(userId, wf!, { name: 'renamed' })).body.status).toBe('COMPLETED');
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const reopened = (await service.update(userId, wf!, { schedule: { type: 'once', run_at: runAt } })).body;
    expect(reopened.status).toBe('ACTIVE');
    expect(await rowOf(wf!)).toMatchObject({ state: 'ACTIVE', completed_at: null });
  });
});

/**
 * The workflow worker's BUILD events handled a relay batch at a time: the workflows with no image
 * to prepare are completed by one guarded statement, each with exactly one BUILD_COMPLETED fact;
 * the guards (generation, still building, not terminated) hold per workflow inside the batch;
 * a workflow with an image goes its own way in the same batch; a redelivered batch changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';

function build(workflowId: string, generation = 1): BusMessage {
  return {
    id: `build-${workflowId}-${generation}`,
    topic: 'workflows',
    key: workflowId,
    type: 'BUILD',
    payload: { workflow_id: workflowId, generation },
  };
}

describe.each(ENGINES)('BUILD events in batches (%s)', (engineName) => {
  let database: Database;
  let engine: Engine;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    userId = await insertUser(database.db);
    // Not started: the test hands the worker its batches itself.
    engine = createEngine(database, { withExecutor: false, containers: null });
  });
  afterAll(async () => {
    await database.close();
  });

  async function rows(ids: string[]) {
    const found = await database.db.selectFrom('workflows').selectAll().where('id', 'in', ids).execute();
    return new Map(found.map((w) => [w.id, w]));
  }

  async function facts(ids: string[]) {
    return database.db
      .selectFrom('outbox')
      .select(['key', 'event_type', 'payload'])
      .where('key', 'in', ids)
      .where('event_type', 'in', ['BUILD_COMPLETED', 'BUILD_FAILED', 'BUILD_STARTED'])
      .orderBy('id')
      .execute();
  }

  it('completes the image-less builds of a batch together, each guard per workflow, facts once', async () => {
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 3_600_000);
    const queued = { userId, nextRunAt: null, buildStatus: 'QUEUED' as const };
    const [interval, latePast, onceFuture, stale, finished, terminated, container, paused] =
      await insertWorkflows(database.db, [
        { ...queued, intervalMinutes: 5 },
        { ...queued, runAt: past },
        { ...queued, runAt: future },
        { ...queued, intervalMinutes: 1 },
        { ...queued, intervalMinutes: 1, buildStatus: 'COMPLETED', nextRunAt: future },
        { ...queued, intervalMinutes: 1 },
        { ...queued, kind: 'CONTAINER', payload: { image: 'localhost/chronoverse-test:1' } },
        { ...queued, intervalMinutes: 1 },
      ]);
    const all = [interval!, latePast!, onceFuture!, stale!, finished!, terminated!, container!, paused!];
    // Paused while it was building: the build leaves it PAUSED (the state machine's buildCompleted).
    await database.db
      .updateTable('workflows')
      .set({ paused_at: new Date() })
      .where('id', '=', paused!)
      .execute();
    await database.db
      .updateTable('workflows')
      .set({ terminated_at: new Date(), state: 'TERMINATED' })
      .where('id', '=', terminated!)
      .execute();
    // The stale workflow was edited after its BUILD was written: generation 2 now.
    await database.db.updateTable('workflows').set({ generation: 2 }).where('id', '=', stale!).execute();

    const batch = [
      build(interval!),
      build(latePast!),
      build(onceFuture!),
      build(stale!, 1),
      build(finished!),
      build(terminated!),
      build(container!),
      build(paused!),
    ];
    const before = Date.now();
    await engine.worker.handle(batch);
    const after = await rows(all);

    expect(after.get(interval!)!).toMatchObject({ build_status: 'COMPLETED', state: 'ACTIVE' });
    // An interval schedule runs one interval after its build.
    const next = after.get(interval!)!.next_run_at!.getTime();
    expect(next).toBeGreaterThanOrEqual(before + 5 * 60_000 - 1_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 5 * 60_000 + 1_000);
    // A once instant that passed while building still runs (late); a future one at its instant.
    expect(after.get(latePast!)!).toMatchObject({
      build_status: 'COMPLETED',
      state: 'ACTIVE',
      next_run_at: past,
    });
    expect(after.get(onceFuture!)!).toMatchObject({
      build_status: 'COMPLETED',
      state: 'ACTIVE',
      next_run_at: future,
    });
    expect(after.get(paused!)!).toMatchObject({ build_status: 'COMPLETED', state: 'PAUSED' });
    // Guards per workflow: the superseded, the finished and the terminated ones are untouched.
    expect(after.get(stale!)!).toMatchObject({
      build_status: 'QUEUED',
      state: 'BUILDING',
      next_run_at: null,
    });
    expect(after.get(finished!)!).toMatchObject({ build_status: 'COMPLETED', next_run_at: future });
    expect(after.get(terminated!)!).toMatchObject({
      build_status: 'QUEUED',
      state: 'TERMINATED',
      next_run_at: null,
    });
    // The image goes its own way in the same batch: no container runtime here, so FAILED.
    expect(after.get(container!)!).toMatchObject({ build_status: 'FAILED', state: 'BUILD_FAILED' });
    expect(after.get(container!)!.build_error).toMatch(/no container runtime/);

    const written = await facts(all);
    const byKey = (key: string) => written.filter((f) => f.key === key).map((f) => f.event_type);
    expect(byKey(interval!)).toEqual(['BUILD_COMPLETED']);
    expect(byKey(latePast!)).toEqual(['BUILD_COMPLETED']);
    expect(byKey(onceFuture!)).toEqual(['BUILD_COMPLETED']);
    expect(byKey(stale!)).toEqual([]);
    expect(byKey(finished!)).toEqual([]);
    expect(byKey(terminated!)).toEqual([]);
    expect(byKey(container!)).toEqual(['BUILD_STARTED', 'BUILD_FAILED']);
    expect(byKey(paused!)).toEqual(['BUILD_COMPLETED']);
    expect(
      written.find((f) => f.key === interval! && f.event_type === 'BUILD_COMPLETED')!.payload,
    ).toMatchObject({ workflow_id: interval!, user_id: userId, generation: 1, kind: 'HEARTBEAT' });

    // The relay delivers at least once: the same batch again writes and changes nothing.
    await engine.worker.handle(batch);
    expect(await facts(all)).toHaveLength(written.length);
    const again = await rows(all);
    for (const id of all) expect(again.get(id)!.updated_at).toEqual(after.get(id)!.updated_at);
  });
});

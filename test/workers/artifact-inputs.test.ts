/**
 * Which stored artifact a DAG task's input takes (artifactOfUpstream), on both engines: the
 * upstream task instance's in this run, of its last attempt only; in a retried run, a task kept
 * from the previous run (COMPLETED, 0 attempts) gives the artifact of the run it ran in, however
 * many retries back; a task that did not run in this run otherwise gives none. And the retention
 * an attempt's artifacts get (retentionOf): its own payload's, else its DAG's.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { artifactOfUpstream, retentionOf } from '../../src/workers/executor/artifacts.ts';
import { insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';

describe.each(ENGINES)('artifact inputs: which artifact (%s)', (engine) => {
  let database: Database;
  let userId: string;
  let wf: string;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
    [wf] = (await insertWorkflows(database.db, [
      { userId, kind: 'DAG', payload: { tasks: [], artifact_retention: '3d' }, nextRunAt: null },
    ])) as [string];
  });
  afterAll(async () => {
    await database.close();
  });

  async function run(retryOf: string | null = null): Promise<string> {
    const id = await insertManualJob(database, wf, userId);
    await database.db.updateTable('jobs').set({ retry_of: retryOf }).where('id', '=', id).execute();
    return id;
  }

  /** A task instance row of `runId`, with an artifact `out` kept by each of `kept` attempts. */
  async function task(
    runId: string,
    name: string,
    status: 'COMPLETED' | 'FAILED' | 'CANCELED',
    attempts: number,
    kept: number[],
  ): Promise<string> {
    const id = await insertManualJob(database, wf, userId);
    // run_id and task_name are written only by the run's own inserts (schema.ts): by hand here.
    await sql`UPDATE jobs SET run_id = ${runId}, task_name = ${name}, status = ${status},
      attempts = ${attempts}, completed_at = now() WHERE id = ${id}`.execute(database.db);
    for (const attempt of kept) {
      await database.db
        .insertInto('artifacts')
        .values({
          id: newId(),
          job_id: id,
          workflow_id: wf,
          user_id: userId,
          attempt,
          task: name,
          name: 'out',
          size: attempt,
          sha256: '0'.repeat(64),
          content_type: 'application/x-tar',
          storage_key: `${wf}/${id}/${attempt}/${name}/out`,
        })
        .execute();
    }
    return id;
  }

  const keyOf = async (runId: string, name: string, artifact = 'out') =>
    (await artifactOfUpstream(database.db, runId, name, artifact))?.storage_key ?? null;

  it('takes the last attempt of the task in this run, and no earlier one', async () => {
    const r1 = await run();
    const make = await task(r1, 'make', 'COMPLETED', 2, [1, 2]);
    await task(r1, 'stale', 'COMPLETED', 2, [1]);
    expect(await keyOf(r1, 'make')).toBe(`${wf}/${make}/2/make/out`);
    expect(await artifactOfUpstream(database.db, r1, 'make', 'out')).toMatchObject({ size: 2 });
    expect(await keyOf(r1, 'stale')).toBeNull();
    expect(await keyOf(r1, 'make', 'other')).toBeNull();
    expect(await keyOf(r1, 'nosuchtask')).toBeNull();
  });

  it('follows retried runs back to where a kept task ran, and stops at a task that did not run', async () => {
    const r1 = await run();
    const make = await task(r1, 'make', 'COMPLETED', 1, [1]);
    const again1 = await task(r1, 'again', 'FAILED', 1, [1]);
    await task(r1, 'skipped', 'COMPLETED', 1, [1]);
    const r2 = await run(r1);
    await task(r2, 'make', 'COMPLETED', 0, []); // kept, not run again
    const again2 = await task(r2, 'again', 'COMPLETED', 1, [1]); // ran again
    await task(r2, 'skipped', 'CANCELED', 0, []); // did not run in this run
    const r3 = await run(r2);
    await task(r3, 'make', 'COMPLETED', 0, []);
    expect(await keyOf(r2, 'make')).toBe(`${wf}/${make}/1/make/out`);
    expect(await keyOf(r3, 'make')).toBe(`${wf}/${make}/1/make/out`);
    expect(await keyOf(r2, 'again')).toBe(`${wf}/${again2}/1/again/out`);
    expect(await keyOf(r1, 'again')).toBe(`${wf}/${again1}/1/again/out`);
    expect(await keyOf(r2, 'skipped')).toBeNull();
  });

  it("gives a task's own retention, else its DAG's, else none", async () => {
    const r1 = await run();
    expect(await retentionOf(database.db, '12h', r1)).toBe(12 * 3_600_000);
    expect(await retentionOf(database.db, undefined, r1)).toBe(3 * 86_400_000);
    expect(await retentionOf(database.db, undefined, null)).toBeNull();
  });
});

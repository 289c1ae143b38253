/**
 * The executor's batched completion (src/workers/executor/completer.ts) on both databases: one
 * statement writes a batch of results, each guarded by the lease (status RUNNING, this owner, the
 * attempt that ran), applies the failure policy and writes the JOB_FINISHED facts. A job whose row
 * changed underneath (canceled meanwhile, rescued and leased by another executor, a newer attempt)
 * is left as it is, gets no fact and no count, while the rest of its batch is written.
 */
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { Completer, type Completion } from '../../src/workers/executor/completer.ts';
import { insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, LogCapture } from '../helpers/harness.ts';

/** Makes the completer's statement fail with each error of `errors`, in turn, then run. */
function failingCompletions(errors: Error[]): KyselyPlugin {
  return {
    transformQuery({ node }) {
      if (node.kind === 'RawNode' && node.sqlFragments.join('?').includes('WITH v AS')) {
        const err = errors.shift();
        if (err) throw err;
      }
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

const OWNER = 'executor-under-test';

describe.each(ENGINES)('batched completion (%s)', (engineName) => {
  let database: Database;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    userId = await insertUser(database.db);
  });

  /** A RUNNING job on its own new workflow, leased by `owner` on attempt `attempts`. */
  async function running(owner = OWNER, attempts = 1, maxFailures = 3) {
    const [wf] = await insertWorkflows(database.db, [{ userId, nextRunAt: null, maxFailures }]);
    const id = await insertManualJob(database, wf!, userId, 3);
    await database.db
      .updateTable('jobs')
      .set({
        status: 'RUNNING',
        attempts,
        lease_owner: owner,
        lease_expires_at: new Date(Date.now() + 60_000),
        started_at: new Date(),
      })
      .where('id', '=', id)
      .execute();
    return { id, workflowId: wf! };
  }

  const result = (jobId: string, status: Completion['status'], attempt = 1): Completion => ({
    jobId,
    runId: null,
    outputs: null,
    attempt,
    status,
    exitCode: null,
    httpStatusCode: status === 'COMPLETED' ? 200 : 500,
    latencyMs: 3,
    errorKind: status === 'FAILED' ? 'USER' : null,
    errorCode: status === 'FAILED' ? 'UNEXPECTED_STATUS' : null,
    errorMessage: status === 'FAILED' ? 'expected HTTP 200, got 500' : null,
    retryDelayMs: status === 'PENDING' ? 1_000 : null,
    traceHeaders: null,
  });

  const jobOf = (id: string) =>
    database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const failuresOf = async (workflowId: string) =>
    (
      await database.db
        .selectFrom('workflows')
        .select('consecutive_job_failures_count')
        .where('id', '=', workflowId)
        .executeTakeFirstOrThrow()
    ).consecutive_job_failures_count;
  const factsOf = (jobId: string) =>
    database.db
      .selectFrom('outbox')
      .select(['topic', 'event_type'])
      .where('event_type', '=', 'JOB_FINISHED')
      .where(({ eb, ref }) => eb(eb.cast(ref('payload'), 'text'), 'like', `%${jobId}%`))
      .execute();

  it('counts every result of concurrent runs (ALLOW_ALL) finishing in one batch, in run order; backfill runs not at all', async () => {
    const [wf] = await insertWorkflows(database.db, [
      { userId, nextRunAt: null, maxFailures: 10, policy: { overlap: 'ALLOW_ALL' } },
    ]);
    /** `n` RUNNING concurrent runs of the workflow, in creation (id) order. */
    const runs = async (n: number, trigger: 'MANUAL' | 'BACKFILL' = 'MANUAL') => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = await insertManualJob(database, wf!, userId, 3);
        await database.db
          .updateTable('jobs')
          .set({
            status: 'RUNNING',
            attempts: 1,
            lease_owner: OWNER,
            lease_expires_at: new Date(Date.now() + 60_000),
            started_at: new Date(),
            trigger,
          })
          .where('id', '=', id)
          .execute();
        await database.db
          .updateTable('jobs')
          .set({ concurrent: true } as never)
          .where('id', '=', id)
          .execute();
        ids.push(id);
      }
      return ids;
    };
    const completer = new Completer({ db: database.db, owner: OWNER, logger: createLogger('silent') });
    const batch = (ids: string[], statuses: Completion['status'][]) =>
      Promise.all(ids.map((id, i) => completer.complete(result(id, statuses[i]!))));

    // Three running side by side, all failing in one batch: three failures, not one.
    expect(await batch(await runs(3), ['FAILED', 'FAILED', 'FAILED'])).toEqual([true, true, true]);
    expect(await failuresOf(wf!)).toBe(3);
    // A success then a later run's failure: the count is the failures after the last success.
    await batch(await runs(3), ['FAILED', 'COMPLETED', 'FAILED']);
    expect(await failuresOf(wf!)).toBe(1);
    await batch(await runs(2), ['FAILED', 'COMPLETED']);
    expect(await failuresOf(wf!)).toBe(0);
    // Backfill runs leave the count alone.
    await batch(await runs(2, 'BACKFILL'), ['FAILED', 'FAILED']);
    expect(await failuresOf(wf!)).toBe(0);
  });

  it('writes the jobs still ours and leaves the ones that changed underneath, in the same batch', async () => {
    const ok = await running();
    const failed = await running();
    const canceled = await running();
    const stolen = await running();
    const newer = await running(OWNER, 2);
    await database.db
      .updateTable('jobs')
      .set({ status: 'CANCELED', completed_at: new Date(), lease_owner: null, lease_expires_at: null })
      .where('id', '=', canceled.id)
      .execute();
    // Rescued after a stall and leased by another executor.
    await database.db
      .updateTable('jobs')
      .set({ lease_owner: 'another-executor' })
      .where('id', '=', stolen.id)
      .execute();

    const completer = new Completer({ db: database.db, owner: OWNER, logger: createLogger('silent') });
    // All five in one batch (one macrotask): attempt 1 of `newer`, which is on attempt 2 now.
    const written = await Promise.all([
      completer.complete(result(ok.id, 'COMPLETED')),
      completer.complete(result(failed.id, 'FAILED')),
      completer.complete(result(canceled.id, 'COMPLETED')),
      completer.complete(result(stolen.id, 'COMPLETED')),
      completer.complete(result(newer.id, 'COMPLETED', 1)),
    ]);
    expect(written).toEqual([true, true, false, false, false]);

    expect(await jobOf(ok.id)).toMatchObject({
      status: 'COMPLETED',
      lease_owner: null,
      http_status_code: 200,
    });
    expect(await jobOf(failed.id)).toMatchObject({ status: 'FAILED', error_code: 'UNEXPECTED_STATUS' });
    expect(await jobOf(canceled.id)).toMatchObject({ status: 'CANCELED', http_status_code: null });
    expect(await jobOf(stolen.id)).toMatchObject({ status: 'RUNNING', lease_owner: 'another-executor' });
    expect(await jobOf(newer.id)).toMatchObject({ status: 'RUNNING', attempts: 2 });

    // Facts and counts for the written ones only.
    expect(await factsOf(ok.id)).toEqual([{ topic: 'analytics', event_type: 'JOB_FINISHED' }]);
    expect(await factsOf(failed.id)).toHaveLength(1);
    for (const j of [canceled, stolen, newer]) expect(await factsOf(j.id)).toEqual([]);
    expect(await failuresOf(failed.workflowId)).toBe(1);
    for (const j of [canceled, stolen, newer]) expect(await failuresOf(j.workflowId)).toBe(0);
  });

  it('a retry (PENDING) counts nothing and writes no fact; a second write of a result changes nothing', async () => {
    const retried = await running();
    const completer = new Completer({ db: database.db, owner: OWNER, logger: createLogger('silent') });
    expect(await completer.complete(result(retried.id, 'PENDING'))).toBe(true);
    const job = await jobOf(retried.id);
    expect(job).toMatchObject({ status: 'PENDING', lease_owner: null, completed_at: null });
    expect(job.next_attempt_at!.getTime()).toBeGreaterThan(Date.now());
    expect(await factsOf(retried.id)).toEqual([]);
    expect(await failuresOf(retried.workflowId)).toBe(0);
    // The same result again (a duplicate): the job is no longer RUNNING under this lease.
    expect(await completer.complete(result(retried.id, 'PENDING'))).toBe(false);
    await completer.drain();
  });

  it('a deadlock aborts nothing for good: the whole batch is written again', async () => {
    const a = await running();
    const b = await running();
    const completer = new Completer({
      db: database.db.withPlugin(failingCompletions([withCode('deadlock detected', '40P01')])),
      owner: OWNER,
      logger: createLogger('silent'),
    });
    const written = await Promise.all([
      completer.complete(result(a.id, 'COMPLETED')),
      completer.complete(result(b.id, 'FAILED')),
    ]);
    expect(written).toEqual([true, true]);
    expect(await jobOf(a.id)).toMatchObject({ status: 'COMPLETED' });
    expect(await jobOf(b.id)).toMatchObject({ status: 'FAILED' });
    expect(await factsOf(a.id)).toHaveLength(1);
    expect(await failuresOf(b.workflowId)).toBe(1);
  });

  it('a batch that cannot be written rejects each of its completions, logs once and leaves the jobs as they were', async () => {
    const a = await running();
    const b = await running();
    const logs = new LogCapture();
    const completer = new Completer({
      db: database.db.withPlugin(failingCompletions([withCode('connection terminated', '08006')])),
      owner: OWNER,
      logger: createLogger('info', logs),
    });
    const settled = await Promise.allSettled([
      completer.complete(result(a.id, 'COMPLETED')),
      completer.complete(result(b.id, 'FAILED')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : null))).toEqual([
      'connection terminated',
      'connection terminated',
    ]);
    const errors = logs.lines.filter((l) => l.includes('writing job completions failed'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ jobs: 2 });
    for (const j of [a, b]) {
      expect(await jobOf(j.id)).toMatchObject({ status: 'RUNNING', lease_owner: OWNER });
      expect(await factsOf(j.id)).toEqual([]);
      expect(await failuresOf(j.workflowId)).toBe(0);
    }
    // The completer is not stuck: the next completion is written.
    expect(await completer.complete(result(a.id, 'COMPLETED'))).toBe(true);
    await completer.drain();
  });
});

/**
 * A job runs the definition it was created with (jobs.kind and jobs.spec, migration 0016): an
 * edit applies to jobs created after it, a queued job and the retries of a job keep their own
 * copy; a stored spec that no longer validates fails the job with a USER error naming the field.
 * Through the services, as the API calls them, on both engines.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { loadMigrations, migrate } from '../../src/platform/db/migrate.ts';
import type { JobsService } from '../../src/services/jobs/service.ts';
import type { WorkflowsService } from '../../src/services/workflows/service.ts';
import { createServices } from '../helpers/services.ts';
import { finalJob, insertUser, jobsOf, snapshotOf, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import { newId } from '../../src/platform/ids.ts';

function heartbeat(url: string) {
  return { endpoint: url, method: 'GET', headers: {}, body: null, expected_status_code: 200, timeout: '2s' };
}

describe.each(ENGINES)('a job runs its own copy of the definition (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let userId: string;
  let engine: Engine | undefined;
  let workflows: WorkflowsService;
  let jobs: JobsService;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
    userId = await insertUser(database.db);
    // The heartbeat target listens on 127.0.0.1: private networks allowed, as in the engine tests.
    ({ workflows, jobs } = createServices(database));
  });
  afterAll(async () => {
    await target.close();
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  async function createWorkflow(path: string): Promise<string> {
    const created = await workflows.create(userId, {
      name: `spec-${path.slice(1)}`,
      kind: 'HEARTBEAT',
      payload: heartbeat(`${target.url}${path}`),
      interval: 60,
    });
    // A HEARTBEAT workflow has nothing to build: the workflow worker marks it COMPLETED.
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', created.body.id)
      .execute();
    return created.body.id;
  }

  it('runs a queued job with the payload it was created with, and a job created after an edit with the new one', async () => {
    const wf = await createWorkflow('/before-edit');
    const queued = (await jobs.runNow(userId, wf)).body;
    await workflows.update(userId, wf, { payload: heartbeat(`${target.url}/after-edit`) });
    const later = (await jobs.runNow(userId, wf)).body;

    engine = createEngine(database);
    engine.start();
    engine.events.emit('jobs:runnable', { count: 2 });
    expect((await finalJob(database, queued.id)).status).toBe('COMPLETED');
    expect((await finalJob(database, later.id)).status).toBe('COMPLETED');
    expect(target.hits.get('/before-edit')).toBe(1);
    expect(target.hits.get('/after-edit')).toBe(1);
  });

  it('retries a job with its own copy, whatever the workflow says meanwhile', async () => {
    // A closed port: every attempt is a retryable SYSTEM failure. The edit would make it succeed.
    const wf = await createWorkflow('/unused');
    await workflows.update(userId, wf, { payload: heartbeat('http://127.0.0.1:9/closed') });
    const job = (await jobs.runNow(userId, wf)).body;
    await workflows.update(userId, wf, { payload: heartbeat(`${target.url}/ok-after-edit`) });

    engine = createEngine(database, { executor: { retryBaseMs: 10, retryMaxMs: 20 } });
    engine.start();
    engine.events.emit('jobs:runnable', { count: 1 });
    const final = await finalJob(database, job.id);
    expect(final).toMatchObject({ status: 'FAILED', attempts: 3, error_code: 'CONNECTION_FAILED' });
    expect(target.hits.get('/ok-after-edit')).toBeUndefined();
  });

  it('fails a job whose stored spec no longer validates, naming the field, without retrying it', async () => {
    const wf = await createWorkflow('/never');
    const job = (await jobs.runNow(userId, wf)).body;
    await database.db
      .updateTable('jobs')
      .set({ spec: sql`spec - 'endpoint'` as never })
      .where('id', '=', job.id)
      .execute();
    engine = createEngine(database);
    engine.start();
    engine.events.emit('jobs:runnable', { count: 1 });
    const final = await finalJob(database, job.id);
    expect(final).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error_kind: 'USER',
      error_code: 'INVALID_SPEC',
    });
    expect(final.error_message).toMatch(/payload\.endpoint/);
    expect(target.hits.get('/never')).toBeUndefined();
  });

  it('copies kind and payload into jobs the scheduler creates', async () => {
    const wf = await createWorkflow('/scheduled');
    await database.db
      .updateTable('workflows')
      .set({ next_run_at: new Date(Date.now() - 1000) })
      .where('id', '=', wf)
      .execute();
    engine = createEngine(database, { withExecutor: false });
    engine.start();
    const [job] = await waitFor(async () => {
      const rows = await jobsOf(database.db, wf);
      return rows.length > 0 ? rows : null;
    });
    const row = await database.db
      .selectFrom('jobs')
      .select(['kind', 'spec', 'trigger'])
      .where('id', '=', job!.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      kind: 'HEARTBEAT',
      trigger: 'AUTOMATIC',
      spec: { endpoint: `${target.url}/scheduled` },
    });
  });
});

describe('migration 0016 (job spec)', () => {
  let database: Database;
  beforeAll(async () => {
    // An empty database, migrated step by step below.
    database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
  });
  afterAll(async () => database.close());

  it('gives every existing job its workflow kind and payload, then requires them', async () => {
    const all = await loadMigrations();
    const at = all.findIndex((m) => m.name === '0016_job_spec');
    expect(at).toBeGreaterThan(0);
    await migrate(database.db, all.slice(0, at));
    const userId = await insertUser(database.db);
    const wf = newId();
    const payload = { image: 'localhost/test:1', cmd: ['true'] };
    await sql`INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, build_status, log_retention)
              VALUES (${wf}, ${userId}, 'old', 'CONTAINER', ${JSON.stringify(payload)}::jsonb, 'interval', 5, 'COMPLETED', true)`.execute(
      database.db,
    );
    const job = newId();
    await sql`INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, trigger, scheduled_at)
              VALUES (${job}, ${wf}, ${userId}, 1, 'MANUAL', now())`.execute(database.db);

    await migrate(database.db, all);
    const row = await database.db
      .selectFrom('jobs')
      .select(['kind', 'spec'])
      .where('id', '=', job)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ kind: 'CONTAINER', spec: payload });
    await expect(
      sql`INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, trigger, scheduled_at)
          VALUES (${newId()}, ${wf}, ${userId}, 1, 'MANUAL', now())`.execute(database.db),
    ).rejects.toThrow(/null value in column "(kind|spec)"/);
    // The fixture helper copies both, as the services do.
    await database.db
      .insertInto('jobs')
      .values({
        id: newId(),
        workflow_id: wf,
        user_id: userId,
        workflow_generation: 1,
        ...snapshotOf(wf),
        trigger: 'MANUAL',
        scheduled_at: new Date(),
      })
      .execute();
  });
});

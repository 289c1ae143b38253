/**
 * DAG runs end to end through the services and a real engine (scheduler-free: runs are started
 * with "run now"), on both engines, with heartbeat tasks against a local HTTP server that records
 * when each request arrived and was answered: order, conditions and skips, outputs into the next
 * task's URL, fan-out within max_parallel, per-task retry policy, finally after a failure, cancel.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import type { JobsService } from '../../src/services/jobs/service.ts';
import { resolveRuns } from '../../src/services/runs/dag-runs.ts';
import type { WorkflowsService } from '../../src/services/workflows/service.ts';
import { createServices } from '../helpers/services.ts';
import { consecutiveFailures, finalJob, insertUser, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';

interface Hit {
  path: string;
  arrived: number;
  answered: number | null;
}

/** A server whose paths say what to answer: /ok/*, /slow/<ms>/*, /status/<n>/*, /json, /hang. */
async function startRecorder() {
  const hits: Hit[] = [];
  const hanging = new Set<ServerResponse>();
  let inFlight = 0;
  let mostInFlight = 0;
  const server: Server = createServer((req, res) => {
    const hit: Hit = { path: req.url ?? '/', arrived: performance.now(), answered: null };
    hits.push(hit);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    const answer = (status: number, body = 'ok', type = 'text/plain') => {
      hit.answered = performance.now();
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    const slow = /^\/slow\/(\d+)\//.exec(hit.path);
    const status = /^\/status\/(\d{3})\//.exec(hit.path);
    if (slow) setTimeout(() => answer(200), Number(slow[1]));
    else if (status) answer(Number(status[1]));
    else if (hit.path === '/json')
      answer(200, JSON.stringify({ id: 'abc', files: ['x', 'y', 'z'] }), 'application/json');
    else if (hit.path === '/json-list') answer(200, '["x","y","z"]', 'application/json; charset=utf-8');
    else if (hit.path === '/hang') hanging.add(res);
    else answer(200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    most: () => mostInFlight,
    reset: () => {
      hits.length = 0;
      mostInFlight = 0;
    },
    hit: (path: string) => hits.find((h) => h.path === path),
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(ENGINES)('DAG runs (%s)', (engineName) => {
  let database: Database;
  let server: Awaited<ReturnType<typeof startRecorder>>;
  let userId: string;
  let engine: Engine | undefined;
  let workflows: WorkflowsService;
  let jobs: JobsService;

  const task = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
    name,
    kind: 'HEARTBEAT',
    payload: { endpoint: `${server.url}${path}`, timeout: '5s' },
    ...extra,
  });

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    server = await startRecorder();
    userId = await insertUser(database.db);
    ({ workflows, jobs } = createServices(database));
  });
  afterAll(async () => {
    await server.close();
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    server.reset();
  });

  /**
   * Creates a DAG workflow (built: heartbeats need nothing) and runs it now; returns the run.
   * `asBackfill`: the run is made a backfill's (trigger BACKFILL) before it starts.
   */
  async function run(name: string, payload: Record<string, unknown>, options: { asBackfill?: boolean } = {}) {
    const created = await workflows.create(userId, { name, kind: 'DAG', payload, interval: 60 });
    const workflowId = created.body.id;
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', workflowId)
      .execute();
    const job = (await jobs.runNow(userId, workflowId)).body;
    if (options.asBackfill) {
      await database.db.updateTable('jobs').set({ trigger: 'BACKFILL' }).where('id', '=', job.id).execute();
    }
    engine ??= createEngine(database, { executor: { retryBaseMs: 10, retryMaxMs: 20 } });
    engine.start();
    engine.events.emit('jobs:runnable', { count: 1 });
    return { workflowId, job };
  }

  async function finished(workflowId: string, jobId: string) {
    await finalJob(database, jobId);
    return jobs.get(userId, workflowId, jobId);
  }

  /** The run's TASK_FINISHED facts, by task instance name (`each[2]`). */
  async function taskFacts(runId: string) {
    const rows = await database.db
      .selectFrom('outbox')
      .select(['payload'])
      .where('event_type', '=', 'TASK_FINISHED')
      .where(sql<boolean>`payload->>'run_id' = ${runId}`)
      .orderBy('id')
      .execute();
    return rows.map((r) => {
      const p = r.payload as Record<string, unknown>;
      return {
        job_id: p.job_id as string,
        name: p.task_index === null ? (p.task as string) : `${p.task as string}[${p.task_index as number}]`,
        status: p.status as string,
        attempts: p.attempts as number,
        error_code: p.error_code as string | null,
        error_message: p.error_message as string | null,
      };
    });
  }

  /**
   * Exactly one fact per task row of the run in a final status, none for the rest: returns the
   * facts' statuses by instance name. `kept` rows (succeeded in the retried run, 0 attempts) have none.
   */
  async function oneFactPerFinalTask(runId: string) {
    const facts = await taskFacts(runId);
    const rows = await database.db
      .selectFrom('jobs')
      .select(['id', 'status', 'attempts'])
      .where('run_id', '=', runId)
      .execute();
    const finalRows = rows.filter(
      (r) =>
        ['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED'].includes(r.status) &&
        !(r.status === 'COMPLETED' && r.attempts === 0),
    );
    expect(facts.map((f) => f.job_id).sort()).toEqual(finalRows.map((r) => r.id).sort());
    return Object.fromEntries(facts.map((f) => [f.name, f.status]));
  }

  it('runs a diamond in dependency order and completes the run', async () => {
    const { workflowId, job } = await run('diamond', {
      tasks: [
        task('a', '/slow/30/a'),
        task('b', '/slow/30/b', { depends_on: ['a'] }),
        task('c', '/slow/30/c', { depends_on: ['a'] }),
        task('d', '/ok/d', { depends_on: ['b', 'c'] }),
      ],
    });
    const view = await finished(workflowId, job.id);
    expect(view.status).toBe('COMPLETED');
    expect(view.kind).toBe('DAG');
    expect(view.tasks?.map((t) => [t.name, t.status])).toEqual([
      ['a', 'COMPLETED'],
      ['b', 'COMPLETED'],
      ['c', 'COMPLETED'],
      ['d', 'COMPLETED'],
    ]);
    const [a, b, c, d] = ['/slow/30/a', '/slow/30/b', '/slow/30/c', '/ok/d'].map((p) => server.hit(p)!);
    expect(b!.arrived).toBeGreaterThanOrEqual(a!.answered!);
    expect(c!.arrived).toBeGreaterThanOrEqual(a!.answered!);
    expect(d!.arrived).toBeGreaterThanOrEqual(Math.max(b!.answered!, c!.answered!));
    // b and c were both queued by a's completion: neither waited for the other.
    expect(Math.max(b!.arrived, c!.arrived)).toBeLessThan(Math.min(b!.answered!, c!.answered!));
    // Facts: one TASK_FINISHED per task that ran, one JOB_FINISHED for the run alone.
    const facts = await database.db
      .selectFrom('outbox')
      .select([
        'event_type',
        sql<string>`payload->>'job_id'`.as('job_id'),
        sql<string>`payload->>'task'`.as('task'),
      ])
      .where(sql<boolean>`payload->>'workflow_id' = ${workflowId}`)
      .execute();
    expect(facts.filter((f) => f.event_type === 'JOB_FINISHED').map((f) => f.job_id)).toEqual([job.id]);
    expect(
      facts
        .filter((f) => f.event_type === 'TASK_FINISHED')
        .map((f) => f.task)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
    // The run is the one job of its workflow in lists; its tasks are inside it.
    const listed = await jobs.list(userId, workflowId, { limit: 10 });
    expect(listed.jobs.map((j) => j.id)).toEqual([job.id]);
    expect(listed.jobs[0]!.tasks).toBeUndefined();
  });

  it('skips what a failure rules out, runs the handler and finally, and fails the run naming the task', async () => {
    const { workflowId, job } = await run('failure', {
      tasks: [
        task('build', '/status/500/build'),
        task('deploy', '/ok/deploy', { depends_on: ['build'] }),
        task('after-deploy', '/ok/after-deploy', { depends: 'deploy.succeeded || deploy.skipped' }),
        task('report', '/ok/report', { depends: 'build.failed' }),
      ],
      finally: [task('cleanup', '/ok/cleanup')],
    });
    const view = await finished(workflowId, job.id);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ kind: 'USER', code: 'TASK_FAILED' });
    expect(view.error!.message).toContain("task 'build' failed (UNEXPECTED_STATUS)");
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    expect(byName.get('build')).toMatchObject({ status: 'FAILED', http_status: 500, attempts: 1 });
    expect(byName.get('deploy')).toMatchObject({ status: 'SKIPPED' });
    expect(byName.get('deploy')!.skipped_reason).toContain('build FAILED');
    // A skip is final at once: its dependents are decided on it.
    expect(byName.get('after-deploy')).toMatchObject({ status: 'COMPLETED' });
    expect(byName.get('report')).toMatchObject({ status: 'COMPLETED' });
    expect(byName.get('cleanup')).toMatchObject({ status: 'COMPLETED' });
    expect(server.hit('/ok/deploy')).toBeUndefined();
    const cleanup = server.hit('/ok/cleanup')!;
    for (const p of ['/status/500/build', '/ok/after-deploy', '/ok/report']) {
      expect(cleanup.arrived).toBeGreaterThanOrEqual(server.hit(p)!.answered!);
    }
    // Every task has its fact, the skipped one too (with why), and the run its JOB_FINISHED.
    expect(await oneFactPerFinalTask(job.id)).toEqual({
      build: 'FAILED',
      deploy: 'SKIPPED',
      'after-deploy': 'COMPLETED',
      report: 'COMPLETED',
      cleanup: 'COMPLETED',
    });
    const deploy = (await taskFacts(job.id)).find((f) => f.name === 'deploy')!;
    expect(deploy).toMatchObject({ attempts: 0, error_code: null });
    expect(deploy.error_message).toContain('build FAILED');
    // The failure policy counts the run once, not once per task.
    expect(await consecutiveFailures(database, workflowId)).toBe(1);
  });

  it("a backfill's failed run does not count against the live schedule's failure limit", async () => {
    const { workflowId, job } = await run(
      'backfilled failure',
      { tasks: [task('build', '/status/500/backfilled')] },
      { asBackfill: true },
    );
    expect((await finished(workflowId, job.id)).status).toBe('FAILED');
    expect(await oneFactPerFinalTask(job.id)).toEqual({ build: 'FAILED' });
    expect(await consecutiveFailures(database, workflowId)).toBe(0);
  });

  it("passes a heartbeat's JSON answer to the next tasks and fans out over a list in it", async () => {
    const { workflowId, job } = await run('outputs', {
      tasks: [
        task('source', '/json'),
        task('list', '/json-list'),
        task('use', '/ok/status-{{tasks.source.outputs.status}}', { depends_on: ['source'] }),
        task('each', '/ok/item-{{item}}', { depends_on: ['list'], for_each: '{{tasks.list.outputs.body}}' }),
        task('bad', '/ok/never-{{item}}', {
          depends_on: ['source'],
          for_each: '{{tasks.source.outputs.files}}',
        }),
      ],
    });
    const view = await finished(workflowId, job.id);
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    expect(byName.get('source')!.outputs).toEqual({
      status: 200,
      body: { id: 'abc', files: ['x', 'y', 'z'] },
    });
    expect(byName.get('use')).toMatchObject({ status: 'COMPLETED' });
    expect(server.hit('/ok/status-200')).toBeDefined();
    expect(view.tasks!.filter((t) => t.name === 'each').map((t) => [t.item, t.status])).toEqual([
      ['x', 'COMPLETED'],
      ['y', 'COMPLETED'],
      ['z', 'COMPLETED'],
    ]);
    expect(['/ok/item-x', '/ok/item-y', '/ok/item-z'].every((p) => server.hit(p) !== undefined)).toBe(true);
    // `files` is inside the body, not an output of its own: that fan-out fails with the reason.
    expect(byName.get('bad')).toMatchObject({ status: 'FAILED', error: { code: 'FOR_EACH_INVALID' } });
    expect(byName.get('bad')!.error!.message).toContain("set no output 'files'");
    expect(view.status).toBe('FAILED');
    expect(await oneFactPerFinalTask(job.id)).toMatchObject({ bad: 'FAILED', 'each[2]': 'COMPLETED' });
  });

  it('fails a task whose payload cannot render, with its fact, and says so in the run', async () => {
    const { workflowId, job } = await run('render-failure', {
      tasks: [
        task('source', '/json'),
        task('use', '/ok/{{tasks.source.outputs.nope}}', { depends_on: ['source'] }),
        task('after', '/ok/after', { depends_on: ['use'] }),
        task('each', '/ok/{{item}}-{{tasks.source.outputs.nope}}', {
          depends_on: ['source'],
          for_each: ['p', 'q'],
        }),
      ],
    });
    const view = await finished(workflowId, job.id);
    expect(view.status).toBe('FAILED');
    // The run's failure (what a job.failed notification shows) names the task that could not render.
    expect(view.error!.message).toMatch(/task '(use|each\[0\])' failed \(RENDER_FAILED\)/);
    expect(await oneFactPerFinalTask(job.id)).toEqual({
      source: 'COMPLETED',
      use: 'FAILED',
      after: 'SKIPPED',
      'each[0]': 'FAILED',
      'each[1]': 'FAILED',
    });
    const use = (await taskFacts(job.id)).find((f) => f.name === 'use')!;
    expect(use).toMatchObject({ error_code: 'RENDER_FAILED', attempts: 0 });
    expect(use.error_message).toContain("set no output 'nope'");
    expect(server.hits.filter((h) => h.path.startsWith('/ok/'))).toEqual([]);
  });

  it('runs a fan-out with every item once and never more than max_parallel at a time', async () => {
    const items = Array.from({ length: 12 }, (_, i) => `i${i}`);
    const { workflowId, job } = await run('fan-out', {
      tasks: [task('each', '/slow/40/{{item}}', { for_each: items, max_parallel: 3 })],
    });
    const view = await finished(workflowId, job.id);
    expect(view.status).toBe('COMPLETED');
    expect(view.tasks!.map((t) => [t.index, t.item, t.status])).toEqual(
      items.map((item, i) => [i, item, 'COMPLETED']),
    );
    expect(server.hits.map((h) => h.path).sort()).toEqual(items.map((i) => `/slow/40/${i}`).sort());
    expect(server.most()).toBeLessThanOrEqual(3);
    expect(server.most()).toBeGreaterThan(1);
  });

  // PostgreSQL only: on PGlite (one connection, one core) the 1,000 completions took over 30 s
  // beside other suites; the 12-item test above covers the same rules on both engines.
  it.runIf(engineName === 'postgres')(
    'runs a fan-out of 1,000 items within max_parallel at every instant, then its dependent once',
    async () => {
      const items = Array.from({ length: 1000 }, (_, i) => i);
      const { workflowId, job } = await run('big fan-out', {
        tasks: [
          task('each', '/slow/5/{{item}}', { for_each: items, max_parallel: 25 }),
          task('after', '/ok/after', { depends_on: ['each'] }),
        ],
      });
      await finalJob(database, job.id, 100_000);
      const view = await finished(workflowId, job.id);
      expect(view.status).toBe('COMPLETED');
      const each = view.tasks!.filter((t) => t.name === 'each');
      expect(each).toHaveLength(1000);
      expect(each.every((t, i) => t.index === i && t.item === i && t.status === 'COMPLETED')).toBe(true);
      // Every item exactly once, and never more than 25 requests open at once (the target's count).
      const paths = server.hits.filter((h) => h.path.startsWith('/slow/5/')).map((h) => h.path);
      expect(new Set(paths).size).toBe(1000);
      expect(paths).toHaveLength(1000);
      expect(server.most()).toBeLessThanOrEqual(25);
      expect(server.most()).toBeGreaterThan(1);
      // The dependent started once, after the last item answered.
      const after = server.hits.filter((h) => h.path === '/ok/after');
      expect(after).toHaveLength(1);
      const lastAnswer = Math.max(
        ...server.hits.filter((h) => h.path.startsWith('/slow/5/')).map((h) => h.answered!),
      );
      expect(after[0]!.arrived).toBeGreaterThan(lastAnswer);
    },
    120_000,
  );

  it('finishes a run on its own version when the DAG is edited while the run is in flight', async () => {
    const { workflowId, job } = await run('pinned', {
      tasks: [task('first', '/slow/600/first'), task('second', '/ok/v1', { depends_on: ['first'] })],
    });
    await waitFor(async () => server.hit('/slow/600/first'));
    // The edit makes version 2 while `first` runs: `second` is not queued yet.
    const edited = await workflows.update(userId, workflowId, {
      payload: {
        tasks: [task('first', '/ok/first-v2'), task('second', '/ok/v2', { depends_on: ['first'] })],
      },
    });
    expect(edited.body.version).toBe(2);
    const view = await finished(workflowId, job.id);
    expect(view.status).toBe('COMPLETED');
    expect(view.workflow_version).toBe(1);
    expect(server.hit('/ok/v1')).toBeDefined();
    expect(server.hit('/ok/v2')).toBeUndefined();
    expect(server.hit('/ok/first-v2')).toBeUndefined();
  });

  it('retries a task by its own policy: the classes it lists, and no more than its limit', async () => {
    const fast = { limit: 2, backoff: { initial_seconds: 0.1, factor: 1, max_seconds: 0.1 } };
    const { workflowId, job } = await run('retries', {
      tasks: [
        task('flaky', '/status/503/flaky', { retry: { ...fast, on: ['HTTP_5XX'] } }),
        task('strict', '/status/500/strict', { retry: { ...fast, on: ['SYSTEM'] } }),
      ],
    });
    const view = await finished(workflowId, job.id);
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    expect(byName.get('flaky')).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(byName.get('strict')).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(server.hits.filter((h) => h.path === '/status/503/flaky')).toHaveLength(3);
  });

  it('cancels a run with its running and waiting tasks', async () => {
    const { workflowId, job } = await run('cancel', {
      tasks: [
        task('wait', '/hang'),
        task('next', '/ok/next', { depends_on: ['wait'] }),
        // Fails at once, then waits 30 s for its retry: PENDING when the run is canceled.
        task('retrying', '/status/500/retrying', {
          retry: { limit: 2, backoff: { initial_seconds: 30, factor: 1, max_seconds: 30 }, on: ['HTTP_5XX'] },
        }),
        task('first', '/ok/first'),
        task('skipped', '/ok/skipped', { depends: 'first.failed' }),
      ],
    });
    await waitFor(async () => server.hit('/hang'));
    await waitFor(async () => {
      const row = await database.db
        .selectFrom('jobs')
        .select('status')
        .where('run_id', '=', job.id)
        .where('task_name', '=', 'retrying')
        .executeTakeFirst();
      return row?.status === 'PENDING';
    });
    await waitFor(async () => (await taskFacts(job.id)).length === 2);
    // A replayed resolution of the run (a redelivered completion) inserts nothing and writes no
    // second fact.
    const before = await taskFacts(job.id);
    await database.db.transaction().execute(async (trx) => {
      await resolveRuns(trx, [job.id]);
      await resolveRuns(trx, [job.id]);
    });
    expect(await taskFacts(job.id)).toEqual(before);
    const canceled = await jobs.cancel(userId, workflowId, job.id);
    expect(canceled.status).toBe('CANCELED');
    const view = await jobs.get(userId, workflowId, job.id);
    expect(view.tasks!.map((t) => [t.name, t.status])).toEqual([
      ['wait', 'CANCELED'],
      ['retrying', 'CANCELED'],
      ['first', 'COMPLETED'],
      ['skipped', 'SKIPPED'],
    ]);
    // A fact for each instance the cancel ended, the running one included; `next` never had a row.
    expect(await oneFactPerFinalTask(job.id)).toEqual({
      first: 'COMPLETED',
      skipped: 'SKIPPED',
      wait: 'CANCELED',
      retrying: 'CANCELED',
    });
    // The executor was told: its attempt ends and nothing new starts.
    await waitFor(async () => {
      const row = await database.db
        .selectFrom('jobs')
        .select(['status', 'lease_owner'])
        .where('run_id', '=', job.id)
        .where('task_name', '=', 'wait')
        .executeTakeFirstOrThrow();
      return row.status === 'CANCELED' && row.lease_owner === null;
    });
    expect(server.hit('/ok/next')).toBeUndefined();
  });

  it('tells a task whose lease ran out on its last attempt (ERRORED) with its fact, once', async () => {
    const { workflowId, job } = await run('lost-lease', {
      tasks: [task('wait', '/hang'), task('after', '/ok/after-lost', { depends: 'wait.errored' })],
    });
    await waitFor(async () => server.hit('/hang'));
    // As if its executor had crashed on the last attempt it may have: the lease ran out.
    await database.db
      .updateTable('jobs')
      .set(({ ref }) => ({
        attempts: ref('max_attempts'),
        lease_owner: 'crashed-executor',
        lease_expires_at: new Date(Date.now() - 1_000),
      }))
      .where('run_id', '=', job.id)
      .where('task_name', '=', 'wait')
      .execute();
    await engine!.executor!.rescueOnce();
    const view = await finished(workflowId, job.id);
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    expect(byName.get('wait')).toMatchObject({ status: 'FAILED', error: { code: 'LEASE_EXPIRED' } });
    expect(byName.get('after')).toMatchObject({ status: 'COMPLETED' });
    expect(await oneFactPerFinalTask(job.id)).toEqual({ wait: 'FAILED', after: 'COMPLETED' });
    expect((await taskFacts(job.id)).find((f) => f.name === 'wait')).toMatchObject({
      error_code: 'LEASE_EXPIRED',
    });
  });

  it('retries a failed run from where it failed: succeeded tasks kept with their outputs, the rest again', async () => {
    const { workflowId, job } = await run('retry-from-failed', {
      tasks: [
        task('source', '/json'),
        task('flaky', '/status/500/flaky-{{tasks.source.outputs.status}}', { depends_on: ['source'] }),
        task('after', '/ok/after', { depends_on: ['flaky'] }),
      ],
      finally: [task('report', '/ok/report')],
    });
    const failed = await finished(workflowId, job.id);
    expect(failed.status).toBe('FAILED');
    server.reset();

    const retried = (await jobs.retry(userId, workflowId, job.id)).body;
    expect(retried.retry_of).toBe(job.id);
    engine!.events.emit('jobs:runnable', { count: 1 });
    const view = await finished(workflowId, retried.id);
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    // Kept: not run again (0 attempts), its outputs still feed the next task's URL.
    expect(byName.get('source')).toMatchObject({ status: 'COMPLETED', attempts: 0 });
    expect(byName.get('source')!.outputs).toEqual({
      status: 200,
      body: { id: 'abc', files: ['x', 'y', 'z'] },
    });
    expect(server.hit('/json')).toBeUndefined();
    expect(byName.get('flaky')).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(server.hit('/status/500/flaky-200')).toBeDefined();
    expect(byName.get('after')).toMatchObject({ status: 'SKIPPED' });
    // finally tasks always run again.
    expect(byName.get('report')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    // The kept task did not run in this run: no fact of its own.
    expect(await oneFactPerFinalTask(retried.id)).toEqual({
      flaky: 'FAILED',
      after: 'SKIPPED',
      report: 'COMPLETED',
    });
  });

  it('stops a task at its timeout_seconds, counted over all its attempts and waits, and never tries it again', async () => {
    const { workflowId, job } = await run('deadline', {
      tasks: [
        task('stuck', '/hang', {
          timeout_seconds: 1,
          retry: { limit: 3, on: ['USER', 'SYSTEM', 'TIMEOUT'] },
        }),
        // Its retries wait 30 s: the deadline ends it while it waits.
        task('slow-retry', '/status/500/slow-retry', {
          timeout_seconds: 1,
          retry: { limit: 3, backoff: { initial_seconds: 30, factor: 1, max_seconds: 30 } },
        }),
        task('next', '/ok/next', { depends_on: ['stuck'] }),
      ],
    });
    const view = await finished(workflowId, job.id);
    const byName = new Map(view.tasks!.map((t) => [t.name, t]));
    expect(byName.get('stuck')).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'DEADLINE_EXCEEDED' },
    });
    expect(byName.get('slow-retry')).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'DEADLINE_EXCEEDED' },
    });
    expect(byName.get('next')).toMatchObject({ status: 'SKIPPED' });
    expect(view.status).toBe('FAILED');
    expect(server.hits.filter((h) => h.path === '/hang')).toHaveLength(1);
    // slow-retry ended while it waited (the scheduler's deadline sweep), stuck in its executor.
    expect(await oneFactPerFinalTask(job.id)).toEqual({
      stuck: 'FAILED',
      'slow-retry': 'FAILED',
      next: 'SKIPPED',
    });
  });
});

/**
 * A DAG run survives the executor that runs it being killed with SIGKILL mid-run (issue 12: "a
 * crash at any point re-runs nothing that completed and loses nothing; a run's tasks are spread
 * over several executors"). An executor process (`chronoverse start --role executor`) runs the
 * first task and starts the second, which the target holds; the process is killed; an executor in
 * this process rescues the second task once its lease expires, runs it again and finishes the run.
 * The first task is not run again. PostgreSQL: two processes share the database.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createServices } from '../helpers/services.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import { consecutiveFailures, finalJob, insertUser, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { databaseUrl } from '../helpers/postgres.ts';

const NODE = existsSync('node_modules/.bin/node') ? path.resolve('node_modules/.bin/node') : process.execPath;

describe('a DAG run whose executor process is killed with SIGKILL (PostgreSQL)', () => {
  let database: Database;
  let server: Server;
  let url: string;
  let engine: Engine | undefined;
  const hits: string[] = [];
  const held: ServerResponse[] = [];
  let holdSecond = true;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    server = createServer((req, res) => {
      hits.push(req.url ?? '/');
      // The second task's first attempt never gets an answer: its executor dies meanwhile.
      if (req.url === '/second' && holdSecond) held.push(res);
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await engine?.stop();
    for (const res of held) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
  });

  it('runs the held task again on another executor and completes the run; nothing that completed runs twice', async () => {
    const userId = await insertUser(database.db);
    const { workflows, jobs } = createServices(database);
    const task = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      kind: 'HEARTBEAT',
      payload: { endpoint: `${url}/${name}`, timeout: '60s' },
      ...extra,
    });
    const created = await workflows.create(userId, {
      name: 'crash',
      kind: 'DAG',
      interval: 60,
      payload: {
        tasks: [
          task('first'),
          task('second', { depends_on: ['first'] }),
          task('third', { depends_on: ['second'] }),
        ],
      },
    });
    const workflowId = created.body.id;
    await database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', workflowId)
      .execute();
    const run = (await jobs.runNow(userId, workflowId)).body;

    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(database.db);
    const child = spawn(NODE, ['src/cli/main.ts', 'start', '--role', 'executor'], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl(rows[0]!.db),
        CHRONOVERSE_EXECUTOR_LEASE: '3s',
        // The target listens on 127.0.0.1.
        CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      await waitFor(async () => hits.includes('/second'), 60_000);
    } finally {
      child.kill('SIGKILL');
    }
    const owner = await database.db
      .selectFrom('jobs')
      .select(['status', 'lease_owner', 'attempts'])
      .where('run_id', '=', run.id)
      .where('task_name', '=', 'second')
      .executeTakeFirstOrThrow();
    expect(owner).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(owner.lease_owner).not.toBeNull();

    holdSecond = false;
    engine = createEngine(database, { executor: { leaseMs: 3_000, renewIntervalMs: 1_000 } });
    engine.start();
    await finalJob(database, run.id, 60_000);
    const view = await jobs.get(userId, workflowId, run.id);
    expect(view.status).toBe('COMPLETED');
    expect(view.tasks!.map((t) => [t.name, t.status, t.attempts])).toEqual([
      ['first', 'COMPLETED', 1],
      ['second', 'COMPLETED', 2],
      ['third', 'COMPLETED', 1],
    ]);
    expect(hits.filter((h) => h === '/first')).toHaveLength(1);
    expect(hits.filter((h) => h === '/second')).toHaveLength(2);
    expect(hits.filter((h) => h === '/third')).toHaveLength(1);
    // One run, its three tasks, and the failure policy untouched.
    const { rows: counted } = await sql<{ n: number }>`
      select count(*)::int as n from jobs where workflow_id = ${workflowId}`.execute(database.db);
    expect(counted[0]!.n).toBe(4);
    // One TASK_FINISHED per task: the lost attempt of `second` (rescued, run again) made none.
    const { rows: facts } = await sql<{ task: string; status: string }>`
      select payload->>'task' as task, payload->>'status' as status from outbox
      where event_type = 'TASK_FINISHED' and payload->>'run_id' = ${run.id} order by 1`.execute(database.db);
    expect(facts).toEqual([
      { task: 'first', status: 'COMPLETED' },
      { task: 'second', status: 'COMPLETED' },
      { task: 'third', status: 'COMPLETED' },
    ]);
    expect(await consecutiveFailures(database, workflowId)).toBe(0);
  }, 120_000);
});

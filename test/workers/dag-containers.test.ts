/**
 * DAG runs of CONTAINER tasks through a real container runtime (podman's Docker API), on both
 * engines: outputs printed as `::output key=value` by one container reach the next one's command
 * and environment; a heartbeat's JSON answer reaches a container; each task's logs are its own;
 * `/chronoverse/outputs.json` (made for the task, read back after it exits) sets outputs too, and a
 * file that is not a JSON object of outputs fails its task with OUTPUTS_INVALID.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDagPayload } from '../../src/domain/dag-definition.ts';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';

function container(cmd: string, env: Record<string, string> = {}) {
  return { image: inject('testImage'), cmd: ['sh', '-c', cmd], env, timeout: '30s', network: 'none' };
}

describe.each(ENGINES)('DAG runs of containers (%s)', (engineName) => {
  let database: Database;
  let userId: string;
  let engine: Engine | undefined;
  let runtime: DockerContainerRuntime;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    userId = await insertUser(database.db);
    runtime = new DockerContainerRuntime({ dockerHost: inject('dockerHost'), stopGraceMs: 500 });
    server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"release":"2026.12","count":3}'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/release`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    expect(await runtime.removeContainers()).toBe(0);
  });

  it('passes outputs container → container and heartbeat JSON → container', async () => {
    const checked = validateDagPayload({
      tasks: [
        { name: 'release', kind: 'HEARTBEAT', payload: { endpoint: url } },
        {
          name: 'build',
          kind: 'CONTAINER',
          payload: container('echo building; echo ::output version=1.4.2; echo "::output note=two words"'),
        },
        {
          name: 'ship',
          kind: 'CONTAINER',
          depends_on: ['build', 'release'],
          payload: container('echo "ship $VERSION ($NOTE) for $RELEASE"', {
            VERSION: '{{tasks.build.outputs.version}}',
            NOTE: '{{tasks.build.outputs.note}}',
            // A JSON value renders as JSON text (stored as jsonb: keys in its order).
            RELEASE: '{{tasks.release.outputs.body}}',
          }),
        },
      ],
    });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'DAG', payload: checked.value.stored, nextRunAt: null },
    ]);
    await database.db.updateTable('workflows').set({ log_retention: true }).where('id', '=', wf!).execute();
    const runId = await insertManualJob(database, wf!, userId);
    engine = createEngine(database, { containers: runtime });
    engine.start();
    const run = await finalJob(database, runId, 60_000);
    expect(run.status).toBe('COMPLETED');
    const tasks = await database.db
      .selectFrom('jobs')
      .select(['id', 'task_name', 'status', 'outputs', 'exit_code'])
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    const byName = new Map(tasks.map((t) => [t.task_name, t]));
    expect(byName.get('build')).toMatchObject({
      status: 'COMPLETED',
      exit_code: 0,
      outputs: { version: '1.4.2', note: 'two words' },
    });
    expect(byName.get('release')!.outputs).toEqual({ status: 200, body: { release: '2026.12', count: 3 } });
    const logs = await database.db
      .selectFrom('job_logs')
      .select('message')
      .where('job_id', '=', byName.get('ship')!.id)
      .orderBy('sequence_num')
      .execute();
    expect(logs.map((l) => l.message)).toEqual([
      'ship 1.4.2 (two words) for {"count":3,"release":"2026.12"}',
    ]);
    // The upstream container's lines are under its own task.
    const buildLogs = await database.db
      .selectFrom('job_logs')
      .select('message')
      .where('job_id', '=', byName.get('build')!.id)
      .orderBy('sequence_num')
      .execute();
    expect(buildLogs.map((l) => l.message)[0]).toBe('building');
  }, 90_000);

  it('reads /chronoverse/outputs.json: the file wins over ::output lines, and a bad file fails its task', async () => {
    const checked = validateDagPayload({
      tasks: [
        {
          name: 'build',
          kind: 'CONTAINER',
          payload: container(
            'echo ::output version=0.0.1; echo ::output kept=yes; ' +
              `printf '{\n  "version": "2.0.0",\n  "files": ["a", "b"]\n}\n' > /chronoverse/outputs.json`,
          ),
        },
        {
          name: 'each',
          kind: 'CONTAINER',
          depends_on: ['build'],
          for_each: '{{tasks.build.outputs.files}}',
          payload: container(
            'echo "{{item}} of {{tasks.build.outputs.version}} ({{tasks.build.outputs.kept}})"',
          ),
        },
        {
          name: 'broken',
          kind: 'CONTAINER',
          payload: container('echo "[1, 2]" > /chronoverse/outputs.json'),
        },
        { name: 'none', kind: 'CONTAINER', payload: container('echo no outputs') },
      ],
    });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'DAG', payload: checked.value.stored, nextRunAt: null },
    ]);
    await database.db.updateTable('workflows').set({ log_retention: true }).where('id', '=', wf!).execute();
    const runId = await insertManualJob(database, wf!, userId);
    engine = createEngine(database, { containers: runtime });
    engine.start();
    const run = await finalJob(database, runId, 60_000);
    expect(run.status).toBe('FAILED');
    const tasks = await database.db
      .selectFrom('jobs')
      .select([
        'id',
        'task_name',
        'task_index',
        'status',
        'outputs',
        'error_code',
        'error_message',
        'attempts',
      ])
      .where('run_id', '=', runId)
      .orderBy('task_name')
      .orderBy('task_index')
      .execute();
    const byName = (name: string) => tasks.filter((t) => t.task_name === name);
    expect(byName('build')[0]).toMatchObject({
      status: 'COMPLETED',
      outputs: { version: '2.0.0', kept: 'yes', files: ['a', 'b'] },
    });
    const each = byName('each');
    expect(each.map((t) => t.status)).toEqual(['COMPLETED', 'COMPLETED']);
    const lines = await database.db
      .selectFrom('job_logs')
      .select('message')
      .where(
        'job_id',
        'in',
        each.map((t) => t.id),
      )
      .orderBy('job_id')
      .execute();
    expect(lines.map((l) => l.message)).toEqual(['a of 2.0.0 (yes)', 'b of 2.0.0 (yes)']);
    expect(byName('broken')[0]).toMatchObject({
      status: 'FAILED',
      error_code: 'OUTPUTS_INVALID',
      error_message: '/chronoverse/outputs.json must hold a JSON object of outputs',
      attempts: 1,
    });
    expect(byName('none')[0]).toMatchObject({ status: 'COMPLETED', outputs: {} });
  }, 90_000);
});

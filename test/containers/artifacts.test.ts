/**
 * Artifacts of CONTAINER jobs on the real engine (the private Podman of test/helpers/podman-setup.ts
 * with its local busybox image), kept in a directory store: what a job declares is copied out
 * after the attempt whatever its exit code, stored whole with its sha256 and a row; a missing path
 * is logged, not fatal; a limit fails the job naming the artifact and keeps nothing of it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createEngine, PRODUCTION_LEASE, type Engine } from '../helpers/engine.ts';
import { createTestDatabase } from '../helpers/harness.ts';

const exec = promisify(execFile);
const image = inject('testImage');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The regular files of a tar archive and their contents, read by the system's tar. */
async function untar(tar: Buffer, dir: string): Promise<Map<string, Buffer>> {
  const at = await mkdtemp(join(dir, 'x-'));
  const file = join(at, 'a.tar');
  await writeFile(file, tar);
  // Regular files only, by type: Podman's archives name directories without a trailing slash.
  const { stdout } = await exec('tar', ['-tvf', file]);
  const out = new Map<string, Buffer>();
  const files = stdout
    .split('\n')
    .filter((line) => line.startsWith('-'))
    .map((line) => line.split(/\s+/).at(-1)!);
  for (const name of files) {
    const { stdout: content } = await exec('tar', ['-xOf', file, name], { encoding: 'buffer' });
    out.set(name, content);
  }
  return out;
}

describe('CONTAINER artifacts (podman, directory store)', () => {
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix: `cvart-${randomUUID().slice(0, 8)}`,
    stopGraceMs: 500,
  });
  let database: Database;
  let userId: string;
  let root: string;
  let store: DirectoryArtifactStore;
  let engine: Engine | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    userId = await insertUser(database.db);
    root = await mkdtemp(join(tmpdir(), 'cv-art-'));
    store = new DirectoryArtifactStore(join(root, 'store'));
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    expect(await runtime.removeContainers()).toBe(0);
  });
  afterAll(async () => {
    await database.close();
    await rm(root, { recursive: true, force: true });
  });

  async function run(
    script: string,
    artifacts: unknown,
    limits?: { maxArtifactBytes: number; maxJobBytes: number },
    into: DirectoryArtifactStore = store,
  ) {
    engine = createEngine(database, {
      containers: runtime,
      artifacts: into,
      executor: { ...PRODUCTION_LEASE, ...(limits ? { artifactLimits: limits } : {}) },
    });
    engine.start();
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        kind: 'CONTAINER',
        payload: { image, cmd: ['sh', '-c', script], timeout: '30s', artifacts },
        nextRunAt: null,
      },
    ]);
    const jobId = await insertManualJob(database, wf!, userId, 1);
    const job = await finalJob(database, jobId, 60_000);
    const rows = await database.db
      .selectFrom('artifacts')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('name')
      .execute();
    const logs = await database.db
      .selectFrom('job_logs')
      .select('message')
      .where('job_id', '=', jobId)
      .orderBy('sequence_num')
      .execute();
    return { wf: wf!, job, rows, logs: logs.map((l) => l.message) };
  }

  it('keeps a file and a directory, whatever the exit code, as tars with their sha256', async () => {
    const { wf, job, rows } = await run(
      'mkdir -p /out/dir/sub && head -c 200000 /dev/urandom > /out/data.bin && echo one > /out/dir/a.txt && echo two > /out/dir/sub/b.txt && exit 3',
      [
        { name: 'data', path: '/out/data.bin' },
        { name: 'tree', path: '/out/dir' },
      ],
    );
    expect(job).toMatchObject({ status: 'FAILED', error_code: 'NON_ZERO_EXIT', exit_code: 3 });
    expect(rows.map((r) => [r.name, r.attempt, r.task, r.content_type, r.workflow_id, r.user_id])).toEqual([
      ['data', 1, 'main', 'application/x-tar', wf, userId],
      ['tree', 1, 'main', 'application/x-tar', wf, userId],
    ]);
    for (const row of rows) {
      expect(row.storage_key).toBe(`${wf}/${job.id}/1/main/${row.name}`);
      const bytes = await buffer((await store.get(row.storage_key))!);
      expect(bytes.length).toBe(Number(row.size));
      expect(sha256(bytes)).toBe(row.sha256);
    }
    const data = await untar(await buffer((await store.get(rows[0]!.storage_key))!), root);
    expect([...data.keys()]).toEqual(['data.bin']);
    expect(data.get('data.bin')!.length).toBe(200_000);
    const tree = await untar(await buffer((await store.get(rows[1]!.storage_key))!), root);
    expect(Object.fromEntries([...tree].map(([k, v]) => [k, v.toString()]))).toEqual({
      'dir/a.txt': 'one\n',
      'dir/sub/b.txt': 'two\n',
    });
  });

  it('logs a path that does not exist, keeps the others, and the job still succeeds', async () => {
    const { job, rows, logs } = await run('echo hi > /kept.txt', [
      { name: 'missing', path: '/nope/never' },
      { name: 'kept', path: '/kept.txt' },
    ]);
    expect(job.status).toBe('COMPLETED');
    expect(rows.map((r) => r.name)).toEqual(['kept']);
    expect(logs).toContain(
      'chronoverse: artifact "missing": /nope/never does not exist in the container; nothing kept',
    );
  });

  it('fails the job naming the artifact over the per-artifact limit, and keeps nothing of it', async () => {
    const { wf, job, rows } = await run(
      'head -c 4000 /dev/urandom > /small && head -c 300000 /dev/urandom > /big',
      [
        { name: 'small', path: '/small' },
        { name: 'big', path: '/big' },
        { name: 'after', path: '/small' },
      ],
      { maxArtifactBytes: 100_000, maxJobBytes: 1_000_000 },
    );
    expect(job).toMatchObject({ status: 'FAILED', error_kind: 'USER', error_code: 'ARTIFACT_TOO_LARGE' });
    expect(job.error_message).toBe(
      'artifact "big" is larger than the limit of 100000 bytes per artifact; nothing of it was kept',
    );
    // The one before is whole and kept; nothing of the big one, and the collection stopped there.
    expect(rows.map((r) => r.name)).toEqual(['small']);
    const keys: string[] = [];
    for await (const o of store.list(`${wf}/`)) keys.push(o.key);
    expect(keys).toEqual([`${wf}/${job.id}/1/main/small`]);
  });

  it('fails the job naming the artifact that takes the attempt over the per-job limit', async () => {
    const { wf, job, rows } = await run(
      'head -c 60000 /dev/urandom > /a && head -c 60000 /dev/urandom > /b',
      [
        { name: 'a', path: '/a' },
        { name: 'b', path: '/b' },
      ],
      { maxArtifactBytes: 100_000, maxJobBytes: 100_000 },
    );
    expect(job).toMatchObject({ status: 'FAILED', error_code: 'ARTIFACT_TOO_LARGE' });
    expect(job.error_message).toContain(`artifact "b" takes the job's artifacts over the limit`);
    expect(rows.map((r) => r.name)).toEqual(['a']);
    const keys: string[] = [];
    for await (const o of store.list(`${wf}/`)) keys.push(o.key);
    expect(keys).toEqual([`${wf}/${job.id}/1/main/a`]);
  });

  it("keeps a failed run's own error when an artifact is also over its limit, and logs the artifact's", async () => {
    const { job, rows, logs } = await run(
      'head -c 300000 /dev/urandom > /big; exit 4',
      [{ name: 'big', path: '/big' }],
      { maxArtifactBytes: 100_000, maxJobBytes: 1_000_000 },
    );
    expect(job).toMatchObject({ status: 'FAILED', error_code: 'NON_ZERO_EXIT', exit_code: 4 });
    expect(rows).toEqual([]);
    expect(logs.some((l) => l.includes('artifact "big" is larger than the limit'))).toBe(true);
  });

  it('fails an otherwise successful run with a SYSTEM error when the store cannot keep an artifact', async () => {
    // A store whose directory cannot exist (its parent is a file): every put fails for real.
    const broken = new DirectoryArtifactStore('/dev/null/artifacts');
    const { job, rows } = await run(
      'echo hi > /out.txt',
      [{ name: 'out', path: '/out.txt' }],
      undefined,
      broken,
    );
    expect(job).toMatchObject({
      status: 'FAILED',
      error_kind: 'SYSTEM',
      error_code: 'ARTIFACT_STORE_FAILED',
    });
    expect(job.error_message).toContain('artifact "out" could not be stored');
    expect(rows).toEqual([]);
  });
});

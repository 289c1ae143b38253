/**
 * Container hardening and the image policy on the real engine (the private Podman of
 * test/helpers/podman-setup.ts with its local busybox image):
 * - every container runs with no-new-privileges and exactly CONTAINER_CAPABILITIES, as the
 *   kernel reports them in the container's own /proc/self/status; a uid:gid and a read-only root
 *   are applied on request;
 * - an image whose registry is not allowed is never pulled: not by the runtime, not by the build,
 *   not by a run. `Docker.prototype.pull` (dockerode, not our code) is replaced by a spy that
 *   fails, so even without the policy nothing would reach a registry.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { sql } from 'kysely';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  vi,
  type MockInstance,
} from 'vitest';
import { CONTAINER_CAPABILITIES, imageProblem } from '../../src/domain/container-policy.ts';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import {
  ImageNotFoundError,
  type CapturedLine,
  type ContainerSpec,
} from '../../src/platform/containers/runtime.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import { createTestDatabase } from '../helpers/harness.ts';

const exec = promisify(execFile);
const image = inject('testImage');
const labelPrefix = `cvharden-${randomUUID().slice(0, 8)}`;

/** Linux capability numbers (include/uapi/linux/capability.h). */
const CAP_NUMBERS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  NET_BIND_SERVICE: 10,
  NET_RAW: 13,
  MKNOD: 27,
  AUDIT_WRITE: 29,
  SETFCAP: 31,
};
/** /proc/self/status's CapEff for exactly the documented set: 16 hex digits. */
const DOCUMENTED_CAPS = CONTAINER_CAPABILITIES.reduce(
  (mask, cap) => mask | (1n << BigInt(CAP_NUMBERS[cap]!)),
  0n,
)
  .toString(16)
  .padStart(16, '0');

function spec(script: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    jobId: randomUUID(),
    workflowId: randomUUID(),
    attempt: 1,
    image,
    cmd: ['sh', '-c', script],
    entrypoint: null,
    env: {},
    workdir: null,
    timeoutMs: 60_000,
    cpus: 1,
    memoryMb: 128,
    pids: 64,
    network: 'none',
    ...overrides,
  };
}

let pull: MockInstance;
beforeEach(() => {
  pull = vi.spyOn(Docker.prototype, 'pull').mockImplementation(() => {
    throw new Error('the test spy refuses every pull');
  });
});
afterEach(() => pull.mockRestore());

/**
 * A local image other users can run: podman-env.sh imports the test image from a mode 0700
 * directory, so only root may enter its `/`. Built here the same way (the host's static busybox,
 * imported from a tar; nothing pulled), with `/` at 0755 and, for `withUser`, a USER of its own.
 */
async function importedImage(docker: Docker, tag: string, withUser: string | null): Promise<string> {
  // Podman's import takes the repository and ignores the tag (always latest): the name is unique.
  const repo = `localhost/chronoverse-test/hardening-${tag}`;
  const rootfs = await mkdtemp(join(tmpdir(), 'cv-rootfs-'));
  try {
    await chmod(rootfs, 0o755);
    for (const dir of ['bin', 'etc', 'proc', 'sys', 'dev']) await mkdir(join(rootfs, dir), { mode: 0o755 });
    await mkdir(join(rootfs, 'tmp'), { mode: 0o1777 });
    await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
    await chmod(join(rootfs, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'id', 'grep', 'cat']) await symlink('busybox', join(rootfs, 'bin', applet));
    const tar = await exec('tar', ['-C', rootfs, '-c', '.'], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    const stream = (await docker.importImage(Readable.from(tar.stdout) as never, {
      repo,
      ...(withUser ? { changes: `USER ${withUser}` } : {}),
    })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  return `${repo}:latest`;
}

describe('hardening of every container', () => {
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix,
    stopGraceMs: 500,
  });
  const docker = new Docker({ socketPath: inject('dockerHost').slice('unix://'.length) });
  const tag = randomUUID().slice(0, 8);
  let enterable = '';
  let nonRootImage = '';
  beforeAll(async () => {
    enterable = await importedImage(docker, `enterable-${tag}`, null);
    nonRootImage = await importedImage(docker, `user-${tag}`, '1000');
  });
  const run = async (s: ContainerSpec) => {
    const lines: CapturedLine[] = [];
    const outcome = await runtime.run(s, (batch) => void lines.push(...batch), new AbortController().signal);
    return { outcome, out: lines.filter((l) => l.stream === 'stdout').map((l) => l.message) };
  };
  const status = (out: string[]) =>
    Object.fromEntries(out.filter((l) => l.includes(':\t')).map((l) => l.split(/:\t/) as [string, string]));
  afterAll(async () => {
    await runtime.removeContainers();
    for (const derived of [enterable, nonRootImage]) {
      if (derived) await docker.getImage(derived).remove({ force: true });
    }
  });

  it(`runs with no-new-privileges and exactly the documented capabilities (CapEff ${DOCUMENTED_CAPS})`, async () => {
    expect(DOCUMENTED_CAPS).toBe('00000000000004eb');
    const { outcome, out } = await run(
      spec('id -u; grep -E "^(NoNewPrivs|CapEff|CapPrm|CapBnd):" /proc/self/status'),
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(out[0]).toBe('0'); // the image's user: root, but a confined one
    expect(status(out)).toEqual({
      NoNewPrivs: '1',
      CapEff: DOCUMENTED_CAPS,
      CapPrm: DOCUMENTED_CAPS,
      CapBnd: DOCUMENTED_CAPS,
    });
  });

  it('cannot use what was dropped: no device nodes without MKNOD', async () => {
    const { out } = await run(spec('mknod /tmp/null c 1 3 && echo mknod-ok || echo mknod-refused'));
    expect(out).toEqual(['mknod-refused']);
  });

  it('runs as the requested uid:gid, with no capabilities left', async () => {
    const { outcome, out } = await run(
      spec('id -u; id -g; grep -E "^(NoNewPrivs|CapEff):" /proc/self/status', {
        image: enterable,
        user: '1000:1001',
      }),
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(out.slice(0, 2)).toEqual(['1000', '1001']);
    expect(status(out)).toEqual({ NoNewPrivs: '1', CapEff: '0000000000000000' });
  });

  it("gives no capabilities to an image's own non-root user either", async () => {
    const { outcome, out } = await run(
      spec('id -u; grep -E "^(NoNewPrivs|CapEff):" /proc/self/status', { image: nonRootImage }),
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(out[0]).toBe('1000');
    expect(status(out)).toEqual({ NoNewPrivs: '1', CapEff: '0000000000000000' });
  });

  it('mounts the image read-only on request, /tmp staying writable', async () => {
    const script =
      'touch /probe 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/probe && echo tmp-writable';
    expect((await run(spec(script, { readOnlyRootFs: true }))).out).toEqual([
      'root-read-only',
      'tmp-writable',
    ]);
    expect((await run(spec(script))).out).toEqual(['root-writable', 'tmp-writable']);
  });
});

describe('the pull policy of the runtime', () => {
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix,
    pullPolicy: (img) => imageProblem(img, { allowedRegistries: ['docker.io'] }),
  });

  it('never pulls an image from a registry that is not allowed', async () => {
    for (const refused of ['10.0.0.5:5000/evil:latest', '127.0.0.1:5999/evil:1', 'localhost:5000/evil']) {
      const err = await runtime.ensureImage(refused).catch((e: unknown) => e);
      expect(err, refused).toBeInstanceOf(ImageNotFoundError);
      expect((err as Error).message).toMatch(/not pulled: it comes from registry/);
    }
    expect(pull).not.toHaveBeenCalled();
  });

  it('uses an image already present, whatever its registry (nothing to pull)', async () => {
    await runtime.ensureImage(image);
    expect(pull).not.toHaveBeenCalled();
  });
});

describe('the build and the executor refuse a registry that is not allowed before any pull', () => {
  let database: Database;
  let engine: Engine | undefined;
  let userId: string;
  const runtime = new DockerContainerRuntime({
    dockerHost: inject('dockerHost'),
    labelPrefix,
    stopGraceMs: 500,
  });
  const payload = (extra: Record<string, unknown>) => ({
    image,
    cmd: ['sh', '-c', 'echo hi'],
    entrypoint: null,
    env: {},
    workdir: null,
    timeout: '30s',
    resources: { cpus: null, memory_mb: null, pids: null },
    network: 'none',
    ...extra,
  });

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    userId = await insertUser(database.db);
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    expect(await runtime.removeContainers()).toBe(0);
  });
  afterAll(() => database.close());

  it('fails the build of an internal registry without asking the runtime for it', async () => {
    // Stored directly, as a workflow made before the allow-list (the API refuses it: test/api).
    engine = createEngine(database, { containers: runtime, withExecutor: false });
    engine.start();
    for (const refused of ['10.0.0.5:5000/evil:latest', 'localhost:5000/evil:1']) {
      const [wf] = await insertWorkflows(database.db, [
        {
          userId,
          kind: 'CONTAINER',
          payload: payload({ image: refused }),
          nextRunAt: null,
          buildStatus: 'QUEUED',
        },
      ]);
      const built = engine.events.next('workflow:build:finished', { filter: (e) => e.workflowId === wf });
      await sql`INSERT INTO outbox (topic, key, event_type, payload)
                VALUES ('workflows', ${wf!}, 'BUILD', ${JSON.stringify({ workflow_id: wf, generation: 1 })}::jsonb)`.execute(
        database.db,
      );
      engine.events.emit('outbox:written', { count: 1 });
      expect((await built).status).toBe('FAILED');
      const w = await database.db
        .selectFrom('workflows')
        .select('build_error')
        .where('id', '=', wf!)
        .executeTakeFirstOrThrow();
      expect(w.build_error).toContain(`refused by image policy: ${refused} comes from registry`);
    }
    expect(pull).not.toHaveBeenCalled();
  });

  it('refuses a run of such an image, and a bridge network for a user, before creating anything', async () => {
    engine = createEngine(database, { containers: runtime });
    engine.start();
    const [evil, bridged] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: payload({ image: '127.0.0.1:5999/evil:1' }), nextRunAt: null },
      { userId, kind: 'CONTAINER', payload: payload({ network: 'bridge' }), nextRunAt: null },
    ]);
    const create = vi.spyOn(Docker.prototype, 'createContainer');
    try {
      for (const [wf, message] of [
        [evil!, 'refused by container policy: the image comes from registry "127.0.0.1:5999"'],
        [bridged!, 'refused by container policy: the bridge network is not allowed for this account'],
      ] as const) {
        const job = await finalJob(database, await insertManualJob(database, wf, userId));
        expect(job).toMatchObject({
          status: 'FAILED',
          attempts: 1,
          error_kind: 'USER',
          error_code: 'CONTAINER_POLICY_REFUSED',
        });
        expect(job.error_message).toContain(message);
      }
      expect(create).not.toHaveBeenCalled();
      expect(pull).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
    }
  });
});

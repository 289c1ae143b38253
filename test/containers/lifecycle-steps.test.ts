/**
 * The explicit steps of DockerContainerRuntime.run (pull → create → beforeStart → start → wait →
 * afterExit → remove) against the private Podman service of test/helpers/podman-setup.ts: inputs
 * put in before the start, outputs read after the exit (whatever the outcome), hook failures, and
 * what the archive endpoints do with a read-only root filesystem on this engine.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { DockerContainerRuntime } from '../../src/platform/containers/docker-runtime.ts';
import {
  ContainerRuntimeUnavailableError,
  type CapturedLine,
  type ContainerHandle,
  type ContainerHooks,
  type ContainerOutcome,
  type ContainerSpec,
} from '../../src/platform/containers/runtime.ts';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
// Our own label namespace: other test files may share the engine.
const labelPrefix = `cvtest-${randomUUID().slice(0, 8)}`;
const runtime = new DockerContainerRuntime({ dockerHost, labelPrefix, stopGraceMs: 500 });
const docker = new Docker({ socketPath: dockerHost.slice('unix://'.length) });

function sh(script: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
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
    memoryMb: 256,
    pids: 256,
    network: 'none',
    ...overrides,
  };
}

async function run(s: ContainerSpec, hooks: ContainerHooks, signal = new AbortController().signal) {
  const lines: CapturedLine[] = [];
  const outcome = await runtime.run(s, (batch) => void lines.push(...batch), signal, hooks);
  return { outcome, out: lines.filter((l) => l.stream === 'stdout').map((l) => l.message) };
}

function ours(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${labelPrefix}.managed=true`] } });
}

afterEach(async () => {
  expect((await ours()).map((c) => c.Names)).toEqual([]);
});

afterAll(async () => {
  await runtime.removeContainers();
});

// --- a minimal ustar writer and reader (regular files only) --------------------------------------

function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108); // uid
    header.write('0000000\0', 116); // gid
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    header.write('        ', 148); // checksum placeholder
    header.write('0', 156); // regular file
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function filesOf(stream: NodeJS.ReadableStream): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const tar = Buffer.concat(chunks);
  const files: Record<string, string> = {};
  const field = (block: Buffer, at: number, length: number) =>
    block
      .subarray(at, at + length)
      .toString('latin1')
      .replace(/\0.*$/s, '');
  for (let pos = 0; pos + 512 <= tar.length;) {
    const header = tar.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const name = [field(header, 345, 155), field(header, 0, 100)].filter(Boolean).join('/');
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1);
    pos += 512;
    if (type === '0' || type === '') files[name] = tar.subarray(pos, pos + size).toString('utf8');
    pos += Math.ceil(size / 512) * 512;
  }
  return files;
}

/** afterExit reading `path`: the files of its archive (null: the path did not exist) and the outcome. */
function collector(path: string) {
  const seen: { files?: Record<string, string> | null; outcome?: ContainerOutcome; id?: string } = {};
  const hooks: ContainerHooks = {
    async afterExit(container, outcome) {
      seen.id = container.id;
      seen.outcome = outcome;
      const archive = await container.getArchive(path);
      seen.files = archive === null ? null : await filesOf(archive);
    },
  };
  return { seen, hooks };
}

describe('beforeStart', () => {
  it('puts an input file in that the container then reads', async () => {
    const order: string[] = [];
    const { outcome, out } = await run(sh('cat /in/greeting.txt; echo; cat /tmp/streamed.txt'), {
      async beforeStart(container) {
        order.push('beforeStart');
        expect(container.id).toMatch(/^[0-9a-f]{12,}$/);
        // The destination directory does not exist in the image: Podman creates it.
        await container.putArchive('/in', tarOf({ 'greeting.txt': 'hello from the host' }));
        await container.putArchive('/tmp', Readable.from([tarOf({ 'streamed.txt': 'from a stream' })]));
      },
      async afterExit() {
        order.push('afterExit');
      },
    });
    expect(outcome).toEqual({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
    expect(out).toEqual(['hello from the host', 'from a stream']);
    expect(order).toEqual(['beforeStart', 'afterExit']);
  });

  it('can read back what it put in, and gets null for a path that does not exist', async () => {
    let before: Record<string, string> | null = null;
    let missing: NodeJS.ReadableStream | null | undefined;
    await run(sh('true'), {
      async beforeStart(container) {
        await container.putArchive('/tmp', tarOf({ 'a.txt': 'A' }));
        const archive = await container.getArchive('/tmp/a.txt');
        before = archive && (await filesOf(archive));
        missing = await container.getArchive('/no/such/path');
      },
    });
    expect(before).toEqual({ 'a.txt': 'A' });
    expect(missing).toBeNull();
  });

  it('skips the start when the signal aborts while inputs are put in; afterExit sees the cancel', async () => {
    const controller = new AbortController();
    let started = false;
    const { seen, hooks } = collector('/tmp');
    const { outcome } = await run(
      sh('echo ran'),
      {
        async beforeStart() {
          started = true;
          controller.abort(); // the abort arrives while inputs are being put in
        },
        afterExit: hooks.afterExit!,
      },
      controller.signal,
    );
    expect(started).toBe(true);
    expect(outcome).toEqual({ kind: 'canceled', exitCode: null });
    expect(seen.outcome).toEqual(outcome);
  });
});

describe('afterExit', () => {
  it('reads a file the container wrote, after exit 0', async () => {
    const { seen, hooks } = collector('/out/result.txt');
    const { outcome, out } = await run(sh('mkdir -p /out && echo ok > /out/result.txt && echo done'), hooks);
    expect(outcome).toEqual({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
    expect(out).toEqual(['done']);
    expect(seen.outcome).toEqual(outcome);
    expect(seen.files).toEqual({ 'result.txt': 'ok\n' });
  });

  it('reads a file the container wrote, after a non-zero exit', async () => {
    const { seen, hooks } = collector('/out');
    const { outcome } = await run(sh('mkdir -p /out && echo partial > /out/log.txt; exit 3'), hooks);
    expect(outcome).toEqual({ kind: 'exited', exitCode: 3, killed: false, oomKilled: false });
    expect(seen.outcome).toEqual(outcome);
    expect(seen.files).toEqual({ 'out/log.txt': 'partial\n' });
  });

  it('reads a file the container wrote, after a timeout', async () => {
    const { seen, hooks } = collector('/out/progress.txt');
    const { outcome } = await run(
      sh('mkdir -p /out && echo step-1 > /out/progress.txt && sleep 30', { timeoutMs: 1000 }),
      hooks,
    );
    expect(outcome.kind).toBe('timed_out');
    expect(seen.outcome).toEqual(outcome);
    expect(seen.files).toEqual({ 'progress.txt': 'step-1\n' });
  });

  it('reads a file the container wrote, after a cancel', async () => {
    const controller = new AbortController();
    const { seen, hooks } = collector('/out/progress.txt');
    const lines: string[] = [];
    const outcome = await runtime.run(
      sh('mkdir -p /out && echo step-1 > /out/progress.txt && echo ready && sleep 30'),
      (batch) => {
        for (const line of batch) {
          lines.push(line.message);
          if (line.message === 'ready') controller.abort();
        }
      },
      controller.signal,
      hooks,
    );
    expect(outcome.kind).toBe('canceled');
    expect(seen.files).toEqual({ 'progress.txt': 'step-1\n' });
  });

  it('runs after every output line was delivered', async () => {
    const lines: string[] = [];
    let atExit: string[] = [];
    await runtime.run(
      sh('seq 1 2000'),
      (batch) => void lines.push(...batch.map((l) => l.message)),
      new AbortController().signal,
      {
        async afterExit() {
          atExit = [...lines];
        },
      },
    );
    expect(atExit).toHaveLength(2000);
  });

  it('gets null for a path that does not exist, and for a command that could not start', async () => {
    const missing = collector('/no/such/file');
    await run(sh('true'), missing.hooks);
    expect(missing.seen.files).toBeNull();

    const notStarted = collector('/out');
    const { outcome } = await run({ ...sh(''), cmd: ['/no/such/command'] }, notStarted.hooks);
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 127 });
    expect(notStarted.seen.outcome).toEqual(outcome);
    expect(notStarted.seen.files).toBeNull();
  });
});

describe('a hook that throws', () => {
  it('beforeStart: run rejects with that very error, nothing started, the container removed', async () => {
    const failure = new Error('input artifact missing');
    let afterExitCalled = false;
    let id = '';
    const lines: CapturedLine[] = [];
    const err = await runtime
      .run(sh('echo should-not-run'), (batch) => void lines.push(...batch), new AbortController().signal, {
        async beforeStart(container) {
          id = container.id;
          throw failure;
        },
        async afterExit() {
          afterExitCalled = true;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(afterExitCalled).toBe(false);
    expect(lines).toEqual([]);
    expect(await ours()).toEqual([]);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('afterExit: run rejects with that very error after the container is removed', async () => {
    const failure = new TypeError('output upload failed');
    let id = '';
    const err = await run(sh('echo out'), {
      async afterExit(container) {
        id = container.id;
        // The container is still there while the hook runs.
        expect((await docker.getContainer(id).inspect()).State?.Status).toBe('exited');
        throw failure;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(await ours()).toEqual([]);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('an archive the engine cannot read: run rejects with ContainerRuntimeUnavailableError (Podman: 500)', async () => {
    const err = await run(sh('echo should-not-run'), {
      async beforeStart(container) {
        await container.putArchive('/tmp', Buffer.from('not a tar archive '.repeat(64)));
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerRuntimeUnavailableError);
    expect((err as Error).message).toMatch(/putting an archive into cv-.* at \/tmp failed/);
    expect((err as Error).message.length).toBeLessThan(800);
    expect(await ours()).toEqual([]);
  });

  it('an archive call on a removed container fails (the handle is valid only during the run)', async () => {
    let handle: ContainerHandle | undefined;
    await run(sh('true'), {
      async afterExit(container) {
        handle = container;
      },
    });
    await expect(handle!.getArchive('/')).rejects.toThrow(/no such container|no container with/i);
    await expect(handle!.putArchive('/tmp', tarOf({ 'x.txt': 'x' }))).rejects.toThrow();
  });
});

describe('a read-only root filesystem (Podman 4.3, as measured)', () => {
  it('accepts inputs put in before the start, in / and in /tmp; the process sees both', async () => {
    const { outcome, out } = await run(
      sh('cat /root-input.txt; echo; cat /tmp/tmp-input.txt; echo; touch /x 2>/dev/null || echo read-only', {
        readOnlyRootFs: true,
      }),
      {
        async beforeStart(container) {
          // The engine writes into the container's storage; the read-only mount does not exist yet.
          await container.putArchive('/', tarOf({ 'root-input.txt': 'in the root' }));
          // Podman copies the image's /tmp up into the tmpfs it mounts there at the start.
          await container.putArchive('/tmp', tarOf({ 'tmp-input.txt': 'in tmp' }));
        },
      },
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(out).toEqual(['in the root', 'in tmp', 'read-only']);
  });

  it('loses what the process wrote into the /tmp tmpfs: afterExit gets null for it', async () => {
    const { seen, hooks } = collector('/tmp/written.txt');
    const { outcome, out } = await run(
      sh('echo data > /tmp/written.txt && cat /tmp/written.txt', { readOnlyRootFs: true }),
      hooks,
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(out).toEqual(['data']);
    expect(seen.files).toBeNull();
  });
});

/**
 * DockerContainerRuntime against a real engine: the private Podman service started by
 * test/helpers/podman-setup.ts (`inject('dockerHost')`) with a local busybox image. No registry is
 * reachable, so pulling anything not present locally is the ImageNotFoundError path.
 */
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import {
  CONTINUATION_MARKER,
  DockerContainerRuntime,
  MAX_LINE_BYTES,
  OutputParser,
} from '../../src/platform/containers/docker-runtime.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type CapturedLine,
  type ContainerSpec,
} from '../../src/platform/containers/runtime.ts';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
// Our own label namespace: other test files may share the engine.
const labelPrefix = `cvtest-${randomUUID().slice(0, 8)}`;
const runtime = new DockerContainerRuntime({ dockerHost, labelPrefix, stopGraceMs: 500 });
const docker = new Docker({ socketPath: dockerHost.slice('unix://'.length) });
const bogusHost = `unix:///tmp/cv-no-such-dir-${randomUUID()}/docker.sock`;

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    jobId: randomUUID(),
    workflowId: randomUUID(),
    attempt: 1,
    image,
    cmd: null,
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

const sh = (script: string, overrides: Partial<ContainerSpec> = {}) =>
  spec({ cmd: ['sh', '-c', script], ...overrides });

async function runCollect(
  s: ContainerSpec,
  options: { signal?: AbortSignal; onLine?: (line: CapturedLine) => void } = {},
) {
  const lines: CapturedLine[] = [];
  const batches: number[] = [];
  const startedAt = Date.now();
  const outcome = await runtime.run(
    s,
    (batch) => {
      batches.push(batch.length);
      for (const line of batch) {
        lines.push(line);
        options.onLine?.(line);
      }
    },
    options.signal ?? new AbortController().signal,
  );
  return { outcome, lines, batches, startedAt, endedAt: Date.now() };
}

const messages = (lines: CapturedLine[], stream: CapturedLine['stream']) =>
  lines.filter((l) => l.stream === stream).map((l) => l.message);

function ours(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${labelPrefix}.managed=true`] } });
}

afterEach(async () => {
  expect((await ours()).map((c) => c.Names)).toEqual([]);
});

afterAll(async () => {
  await runtime.removeContainers();
});

describe('ping', () => {
  it('answers true for the engine and false for a socket that does not exist', async () => {
    expect(await runtime.ping()).toBe(true);
    expect(await new DockerContainerRuntime({ dockerHost: bogusHost }).ping()).toBe(false);
  });
});

describe('ensureImage', () => {
  it('accepts an image present locally without pulling', async () => {
    const pull = vi.spyOn(Docker.prototype, 'pull');
    try {
      await runtime.ensureImage(image);
      expect(pull).not.toHaveBeenCalled();
    } finally {
      pull.mockRestore();
    }
  });

  it('rejects an image that cannot be pulled with ImageNotFoundError', async () => {
    const err = await runtime.ensureImage('registry.invalid/nope:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as ImageNotFoundError).image).toBe('registry.invalid/nope:1');
    expect((err as ImageNotFoundError).code).toBe('CV_IMAGE_NOT_FOUND');
  });

  it('shares one pull between concurrent calls for the same image', async () => {
    const pull = vi.spyOn(Docker.prototype, 'pull');
    try {
      const present = await Promise.allSettled(Array.from({ length: 10 }, () => runtime.ensureImage(image)));
      expect(present.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
      expect(pull).not.toHaveBeenCalled();

      const missing = await Promise.allSettled(
        Array.from({ length: 10 }, () => runtime.ensureImage('registry.invalid/nope:2')),
      );
      for (const r of missing) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ImageNotFoundError);
      }
      expect(pull).toHaveBeenCalledTimes(1);

      // Settled calls leave nothing behind: a later call pulls again.
      await expect(runtime.ensureImage('registry.invalid/nope:2')).rejects.toBeInstanceOf(ImageNotFoundError);
      expect(pull).toHaveBeenCalledTimes(2);
    } finally {
      pull.mockRestore();
    }
  });

  it('reports an unreachable socket as ContainerRuntimeUnavailableError', async () => {
    const bogus = new DockerContainerRuntime({ dockerHost: bogusHost });
    await expect(bogus.ensureImage(image)).rejects.toBeInstanceOf(ContainerRuntimeUnavailableError);
  });
});

describe('run', () => {
  it('captures both streams line by line, in order, with timestamps', async () => {
    const { outcome, lines, batches, startedAt, endedAt } = await runCollect(
      sh('for i in $(seq 1 200); do echo out-$i; echo err-$i >&2; done'),
    );
    expect(outcome).toEqual({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
    const numbers = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(messages(lines, 'stdout')).toEqual(numbers.map((i) => `out-${i}`));
    expect(messages(lines, 'stderr')).toEqual(numbers.map((i) => `err-${i}`));
    expect(batches.every((n) => n > 0)).toBe(true);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(400);

    for (const stream of ['stdout', 'stderr'] as const) {
      const times = lines.filter((l) => l.stream === stream).map((l) => l.timestamp.getTime());
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(startedAt);
        expect(t).toBeLessThanOrEqual(endedAt);
      }
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    }
  });

  it('delivers every line of a burst written just before the exit', async () => {
    const { outcome, lines } = await runCollect(sh('seq 1 100000; echo done >&2'));
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    const out = messages(lines, 'stdout');
    expect(out).toHaveLength(100000);
    expect(out.every((m, i) => m === String(i + 1))).toBe(true);
    expect(messages(lines, 'stderr')).toEqual(['done']);
  });

  it('loses nothing when the output consumer is slow', async () => {
    let calls = 0;
    const received: string[] = [];
    const outcome = await runtime.run(
      sh('seq 1 50000'),
      (batch) => {
        if (calls++ < 3) {
          const until = Date.now() + 300;
          while (Date.now() < until); // a consumer blocking the event loop
        }
        for (const line of batch) received.push(line.message);
      },
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(received).toHaveLength(50000);
    expect(received.at(-1)).toBe('50000');
  });

  it('reports a non-zero exit code', async () => {
    const { outcome, lines } = await runCollect(sh('echo bye; exit 3'));
    expect(outcome).toEqual({ kind: 'exited', exitCode: 3, killed: false, oomKilled: false });
    expect(messages(lines, 'stdout')).toEqual(['bye']);
  });

  it('delivers a final line without a trailing newline, and empty lines', async () => {
    const { outcome, lines } = await runCollect(sh('echo first; echo; printf last'));
    expect(outcome.kind).toBe('exited');
    expect(messages(lines, 'stdout')).toEqual(['first', '', 'last']);
  });

  it('splits a 200 KiB line into 64 KiB lines, continuations marked', async () => {
    const { outcome, lines } = await runCollect(
      sh(`head -c ${200 * 1024} /dev/zero | tr '\\0' a; echo; echo after`),
    );
    expect(outcome.kind).toBe('exited');
    const out = messages(lines, 'stdout');
    expect(out).toHaveLength(5);
    expect(out[4]).toBe('after');
    const parts = out.slice(0, 4);
    expect(parts[0]!.startsWith(CONTINUATION_MARKER)).toBe(false);
    for (const part of parts.slice(1)) expect(part.startsWith(CONTINUATION_MARKER)).toBe(true);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    const joined =
      parts[0]! +
      parts
        .slice(1)
        .map((p) => p.slice(CONTINUATION_MARKER.length))
        .join('');
    expect(joined).toBe('a'.repeat(200 * 1024));
  });

  it('splits long lines on UTF-8 character boundaries', async () => {
    const { lines } = await runCollect(sh(`printf x; yes é | head -n 70000 | tr -d '\\n'`));
    const out = messages(lines, 'stdout');
    expect(out.length).toBe(3);
    for (const part of out) expect(part).not.toContain('\uFFFD');
    const joined =
      out[0]! +
      out
        .slice(1)
        .map((p) => p.slice(CONTINUATION_MARKER.length))
        .join('');
    expect(joined).toBe('x' + 'é'.repeat(70000));
  });

  it('honours env, workdir and entrypoint', async () => {
    const { outcome, lines } = await runCollect(
      spec({
        entrypoint: ['/bin/sh', '-c'],
        cmd: ['echo "$FOO|$(pwd)|$EMPTY|$#"'],
        env: { FOO: 'bar baz', EMPTY: '' },
        workdir: '/tmp/work',
      }),
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(messages(lines, 'stdout')).toEqual(['bar baz|/tmp/work||0']);
  });

  it('runs without a network by default', async () => {
    const { outcome, lines } = await runCollect(sh('ls /sys/class/net'));
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(messages(lines, 'stdout')).toEqual(['lo']);
  });

  it('creates the container with its name, labels and limits', async () => {
    const controller = new AbortController();
    const s = sh('echo ready; sleep 30', { cpus: 0.5, memoryMb: 64, pids: 50, attempt: 3 });
    let inspected: Docker.ContainerInspectInfo | undefined;
    const { outcome } = await runCollect(s, {
      signal: controller.signal,
      onLine: (line) => {
        if (line.message !== 'ready') return;
        docker
          .getContainer(`cv-${s.jobId}-3`)
          .inspect()
          .then((info) => (inspected = info))
          .finally(() => controller.abort());
      },
    });
    expect(outcome.kind).toBe('canceled');
    expect(inspected?.Name.replace(/^\//, '')).toBe(`cv-${s.jobId}-3`);
    expect(inspected?.Config.Labels).toMatchObject({
      [`${labelPrefix}.managed`]: 'true',
      [`${labelPrefix}.job-id`]: s.jobId,
      [`${labelPrefix}.workflow-id`]: s.workflowId,
      [`${labelPrefix}.attempt`]: '3',
    });
    expect(inspected?.HostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      PidsLimit: 50,
    });
  });

  it('stops a container that exceeds its timeout (SIGKILL after the grace period)', async () => {
    const { outcome, startedAt, endedAt } = await runCollect(spec({ cmd: ['sleep', '30'], timeoutMs: 1000 }));
    // `sleep` as PID 1 ignores SIGTERM, so the grace period ends with SIGKILL.
    expect(outcome).toEqual({ kind: 'timed_out', exitCode: 137 });
    expect(endedAt - startedAt).toBeLessThan(15_000);
  });

  it('lets a container handle SIGTERM when it times out', async () => {
    const { outcome, lines } = await runCollect(
      sh("trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done", {
        timeoutMs: 1000,
      }),
      {},
    );
    expect(outcome).toEqual({ kind: 'timed_out', exitCode: 0 });
    expect(messages(lines, 'stdout')).toEqual(['ready', 'got-term']);
  });

  it('stops and removes a container when the signal aborts', async () => {
    const controller = new AbortController();
    const { outcome, lines, startedAt, endedAt } = await runCollect(sh('echo ready; sleep 30'), {
      signal: controller.signal,
      onLine: (line) => {
        if (line.message === 'ready') controller.abort();
      },
    });
    expect(outcome).toEqual({ kind: 'canceled', exitCode: 137 });
    expect(messages(lines, 'stdout')).toEqual(['ready']);
    expect(endedAt - startedAt).toBeLessThan(15_000);
    expect(await ours()).toEqual([]);
  });

  it('does not start anything when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, lines } = await runCollect(sh('echo never'), { signal: controller.signal });
    expect(outcome).toEqual({ kind: 'canceled', exitCode: null });
    expect(lines).toEqual([]);
  });

  it('reports a container killed for exceeding its memory limit', async () => {
    // `tail` keeps its input in memory until the end: 200 MiB against a 16 MiB limit.
    const { outcome } = await runCollect(sh('head -c 200m /dev/zero | tail', { memoryMb: 16 }));
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 137, killed: true });
  });

  it('reports a command that does not exist like docker run does (127)', async () => {
    const { outcome, lines } = await runCollect(spec({ cmd: ['no-such-command'] }));
    expect(outcome).toEqual({ kind: 'exited', exitCode: 127, killed: false, oomKilled: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ stream: 'stderr' });
    expect(lines[0]!.message).toContain('no-such-command');
  });

  it('survives an output consumer that throws', async () => {
    const outcome = await runtime.run(
      sh('echo one; echo two'),
      () => {
        throw new Error('consumer bug');
      },
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
  });

  it('replaces a leftover container of the same attempt', async () => {
    const s = sh('echo fresh');
    await docker.createContainer({
      name: `cv-${s.jobId}-1`,
      Image: image,
      Cmd: ['true'],
      Labels: { [`${labelPrefix}.managed`]: 'true', [`${labelPrefix}.job-id`]: s.jobId },
    });
    const { outcome, lines } = await runCollect(s);
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(messages(lines, 'stdout')).toEqual(['fresh']);
  });

  it('rejects a missing image with ImageNotFoundError and leaves nothing behind', async () => {
    await expect(
      runCollect(spec({ image: 'registry.invalid/nope:3', cmd: ['true'] })),
    ).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('rejects with ContainerRuntimeUnavailableError when the engine is unreachable', async () => {
    const bogus = new DockerContainerRuntime({ dockerHost: bogusHost });
    await expect(bogus.run(sh('true'), () => {}, new AbortController().signal)).rejects.toBeInstanceOf(
      ContainerRuntimeUnavailableError,
    );
  });
});

describe('removeContainers', () => {
  it('force-removes our leftovers, by job or all of them, and nothing else', async () => {
    const [jobA, jobB] = [randomUUID(), randomUUID()];
    const managed = (jobId: string) => ({
      [`${labelPrefix}.managed`]: 'true',
      [`${labelPrefix}.job-id`]: jobId,
    });
    const a = await docker.createContainer({ Image: image, Cmd: ['sleep', '30'], Labels: managed(jobA) });
    await a.start();
    await docker.createContainer({ Image: image, Cmd: ['true'], Labels: managed(jobB) });
    const foreign = await docker.createContainer({
      Image: image,
      Cmd: ['true'],
      Labels: { [`${labelPrefix}.job-id`]: jobA },
    });
    try {
      expect(await ours()).toHaveLength(2);
      expect(await runtime.removeContainers([jobA])).toBe(1);
      expect((await ours()).map((c) => c.Labels[`${labelPrefix}.job-id`])).toEqual([jobB]);
      expect(await runtime.removeContainers([randomUUID()])).toBe(0);
      expect(await runtime.removeContainers()).toBe(1);
      expect(await ours()).toEqual([]);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
    } finally {
      await foreign.remove({ force: true });
    }
  });

  it('keeps containers of later attempts when told up to which attempt to remove', async () => {
    const job = randomUUID();
    const labels = (attempt: number) => ({
      [`${labelPrefix}.managed`]: 'true',
      [`${labelPrefix}.job-id`]: job,
      [`${labelPrefix}.attempt`]: String(attempt),
    });
    await docker.createContainer({ Image: image, Cmd: ['true'], Labels: labels(1) });
    await docker.createContainer({ Image: image, Cmd: ['true'], Labels: labels(2) });
    expect(await runtime.removeContainers([job], new Map([[job, 1]]))).toBe(1);
    expect((await ours()).map((c) => c.Labels[`${labelPrefix}.attempt`])).toEqual(['2']);
    expect(await runtime.removeContainers([job])).toBe(1);
  });

  it('reports an unreachable engine as ContainerRuntimeUnavailableError', async () => {
    const bogus = new DockerContainerRuntime({ dockerHost: bogusHost });
    await expect(bogus.removeContainers()).rejects.toBeInstanceOf(ContainerRuntimeUnavailableError);
  });
});

describe('OutputParser', () => {
  const frame = (type: number, payload: string | Buffer) => {
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };
  const stream = Buffer.concat([
    frame(1, 'one\ntw'), // a frame with a line and a half
    frame(2, 'err\n'),
    frame(1, 'o\n\nthree\nfo'),
    frame(1, Buffer.from('ur-é', 'utf8').subarray(0, 4)), // "ur-" and half of "é"
    frame(1, Buffer.from('é', 'utf8').subarray(1)),
    frame(2, 'no newline at the end'),
  ]);
  const expected = ['one', 'two', '', 'three', 'four-é'].map((message) => ({ stream: 'stdout', message }));
  expected.splice(1, 0, { stream: 'stderr', message: 'err' });
  expected.push({ stream: 'stderr', message: 'no newline at the end' });

  const parseAll = (chunks: Buffer[]) => {
    const parser = new OutputParser();
    const lines: CapturedLine[] = [];
    chunks.forEach((chunk, i) => lines.push(...parser.push(chunk, new Date(i))));
    lines.push(...parser.end(new Date(chunks.length)));
    return lines;
  };

  it('parses frames into lines, whatever the chunking', () => {
    for (const size of [1, 2, 3, 5, 7, 8, 9, 13, 31, 64, stream.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      const lines = parseAll(chunks);
      expect(lines.map(({ stream, message }) => ({ stream, message }))).toEqual(expected);
      // Stamped with the arrival of the line's first byte, so never decreasing within a stream.
      for (const name of ['stdout', 'stderr']) {
        const times = lines.filter((l) => l.stream === name).map((l) => l.timestamp.getTime());
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }
    }
  });

  it("stamps a line with its first byte's arrival", () => {
    const lines = parseAll([frame(1, 'ab'), frame(1, 'c\nd'), frame(1, '\n')]);
    expect(lines).toEqual([
      { stream: 'stdout', message: 'abc', timestamp: new Date(0) },
      { stream: 'stdout', message: 'd', timestamp: new Date(1) },
    ]);
  });

  it('splits over-long lines as they arrive, each at most 64 KiB', () => {
    const parser = new OutputParser();
    const lines: CapturedLine[] = [];
    // One unterminated line of 1 MiB, in 8 KiB frames.
    for (let i = 0; i < 128; i++) lines.push(...parser.push(frame(1, 'b'.repeat(8192)), new Date()));
    expect(lines.length).toBe(16);
    lines.push(...parser.end(new Date()));
    expect(lines[0]!.message.startsWith(CONTINUATION_MARKER)).toBe(false);
    for (const line of lines.slice(1)) expect(line.message.startsWith(CONTINUATION_MARKER)).toBe(true);
    for (const line of lines) expect(Buffer.byteLength(line.message)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    const text = lines.map((l, i) => (i === 0 ? l.message : l.message.slice(CONTINUATION_MARKER.length)));
    expect(text.join('')).toBe('b'.repeat(1024 * 1024));
  });

  it('falls back to plain stdout for a stream that is not multiplexed', () => {
    const lines = parseAll([Buffer.from('plain text\nmore')]);
    expect(lines.map((l) => [l.stream, l.message])).toEqual([
      ['stdout', 'plain text'],
      ['stdout', 'more'],
    ]);
  });
});

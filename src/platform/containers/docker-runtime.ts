/**
 * ContainerRuntime over the Docker Engine API (dockerode), for Docker and Podman alike.
 *
 * Design notes
 *
 * - Output capture: attach, not logs. `run` attaches to stdout and stderr before starting the
 *   container, so nothing is missed, and reads the multiplexed stream to the end. Following the
 *   logs (`logs?follow=true&timestamps=true`) would give the runtime's own timestamps, but Podman's
 *   follow is lossy: on Podman 4.3 it dropped a quarter or more of a 100k-line burst, and it can
 *   miss the end or never end once the container exits early. Podman's timestamps are whole
 *   seconds anyway. Attach is complete on both engines: a slow reader slows the container down
 *   rather than losing output. Each line is therefore stamped with the time its first byte
 *   reached us (millisecond precision).
 * - Framing is parsed by hand, not with dockerode's demuxer, so we control where lines end and
 *   memory stays bounded. The stream is a sequence of frames (8-byte header: stream type, 3 zero
 *   bytes, big-endian payload length); a network chunk can hold several frames or part of one,
 *   and a frame can hold several lines or part of one. Frames are consumed incrementally, never
 *   buffered whole. Lines are delivered through `onLines` in batches (whatever arrived in one turn
 *   of the event loop) in arrival order, so in order per stream. A final line without a newline
 *   is delivered when the stream ends, and the stream has ended before `run` resolves.
 * - Long lines: a line longer than 64 KiB (UTF-8 bytes) is delivered as several lines, split on a
 *   character boundary; every continuation line starts with CONTINUATION_MARKER (`[continued] `)
 *   and no delivered message exceeds 64 KiB, marker included. Output that never ends a line is
 *   still delivered in 64 KiB pieces as it arrives.
 * - Stop sequence (timeout or abort): SIGTERM, then SIGKILL when the container has not exited
 *   after `stopGraceMs`. Whatever happens, the container is force-removed afterwards.
 * - Steps: `run` is pull → create → `hooks.beforeStart` (put inputs) → attach and start → wait →
 *   `hooks.afterExit` (collect outputs) → remove, each a small method below, read top to bottom in
 *   `run`. The hooks get a ContainerHandle (the archive endpoints, PUT/GET
 *   /containers/{id}/archive). A hook that throws ends the run: the container is removed, then
 *   `run` rejects with exactly what the hook threw (not wrapped; the executor classifies an error
 *   it does not know as a SYSTEM EXECUTOR_ERROR). On Podman 4.3 a missing path is a 404 like a
 *   missing container; the message tells them apart (getArchive answers null for the path only).
 * - Start failures that are the workflow's fault (the command does not exist or cannot be
 *   executed) are reported like `docker run` does: an `exited` outcome with exit code 127 (not
 *   found) or 126 (not executable), plus one stderr line carrying the engine's message.
 * - Errors: a missing image that cannot be pulled is an ImageNotFoundError (a user error); an
 *   unreachable socket or any other engine failure is a ContainerRuntimeUnavailableError.
 * - Hardening, on every container: `no-new-privileges`, CapDrop ALL plus the small set of
 *   CONTAINER_CAPABILITIES (src/domain/container-policy.ts says why each is kept) for a root
 *   process, none at all for any other user (the workflow's `user`, else the image's): Podman
 *   hands explicitly added capabilities to a non-root user as ambient ones (measured: CapEff
 *   0x4eb for uid 1000 with CapAdd), Docker does not; dropping them keeps both engines at 0. On
 *   request a
 *   read-only root filesystem (with a 64 MiB tmpfs on /tmp, as `docker run --read-only --tmpfs
 *   /tmp` is used) and a numeric `uid[:gid]`.
 * - Pulls: with `pullPolicy`, an image it refuses is never pulled (an ImageNotFoundError saying
 *   why); images already present are used as they are.
 * - dockerode (and what it brings: ssh2, grpc-js, protobufjs, tar-fs; about a quarter of a second
 *   of CPU) is imported on the first call that needs it, not at start; `ping` is a plain
 *   `GET /_ping` (what dockerode's ping sends), so a process that never runs a container never
 *   loads it.
 * - Containers are named `cv-<jobId>-<attempt>` and labelled `<prefix>.managed=true`,
 *   `<prefix>.job-id`, `<prefix>.workflow-id`, `<prefix>.attempt` (prefix `chronoverse`).
 */
import http from 'node:http';
import https from 'node:https';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { CONTAINER_CAPABILITIES } from '../../domain/container-policy.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type CapturedLine,
  type ContainerHandle,
  type ContainerHooks,
  type ContainerOutcome,
  type ContainerRuntime,
  type ContainerSpec,
} from './runtime.ts';

/** Starts every continuation line of a split long line. */
export const CONTINUATION_MARKER = '[continued] ';
/** The longest delivered message, in UTF-8 bytes (the marker included). */
export const MAX_LINE_BYTES = 64 * 1024;

const DEFAULT_STOP_GRACE_MS = 2000;
/** How long the attached stream may take to end after the exit before it is cut. */
const OUTPUT_SETTLE_MS = 10_000;
const PING_TIMEOUT_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DockerContainerRuntimeOptions {
  /** `unix:///path/to/socket` or `tcp://host:port`. */
  dockerHost: string;
  logger?: Logger;
  /** Between SIGTERM and SIGKILL when stopping a container. */
  stopGraceMs?: number;
  /** Label namespace of the containers we manage (default `chronoverse`). */
  labelPrefix?: string;
  /**
   * Asked before any pull: why `image` must not be pulled (its registry is not allowed), or null.
   * Absent: every pull is allowed (the registries are then checked by the callers only).
   */
  pullPolicy?: (image: string) => string | null;
}

/** The writable /tmp of a read-only container. */
const READ_ONLY_TMPFS = { '/tmp': 'rw,nosuid,nodev,size=64m' };

export class DockerContainerRuntime implements ContainerRuntime {
  private client: Docker | null = null;
  private loading: Promise<Docker> | null = null;
  private readonly connection: Docker.DockerOptions;
  private readonly dockerHost: string;
  private readonly logger: Logger | undefined;
  private readonly stopGraceMs: number;
  private readonly labelPrefix: string;
  private readonly pullPolicy: ((image: string) => string | null) | undefined;
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(options: DockerContainerRuntimeOptions) {
    this.dockerHost = options.dockerHost;
    // Parsed now: an invalid DOCKER_HOST fails the start, as constructing dockerode did.
    this.connection = dockerOptions(options.dockerHost);
    this.logger = options.logger;
    this.stopGraceMs = Math.max(0, options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    this.labelPrefix = options.labelPrefix ?? 'chronoverse';
    this.pullPolicy = options.pullPolicy;
  }

  /** The dockerode client, imported and created on first use. */
  private load(): Promise<Docker> {
    this.loading ??= import('dockerode').then(({ default: Dockerode }) => {
      this.client = new Dockerode(this.connection);
      return this.client;
    });
    return this.loading;
  }

  /** The client inside a call that awaited `load()` first (every public method does). */
  private get docker(): Docker {
    if (!this.client) throw new Error('DockerContainerRuntime: the client is used before load()');
    return this.client;
  }

  async ping(): Promise<boolean> {
    // GET /_ping answered 200, as dockerode's ping requires, without loading dockerode.
    const { socketPath, host, port, protocol } = this.connection;
    return new Promise<boolean>((resolve) => {
      const request = (protocol === 'https' ? https : http).get(
        {
          ...(socketPath ? { socketPath } : { host: host?.replace(/^\[|\]$/g, ''), port }),
          path: '/_ping',
          signal: AbortSignal.timeout(PING_TIMEOUT_MS),
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode === 200));
          response.on('error', () => resolve(false));
        },
      );
      request.on('error', () => resolve(false));
    });
  }

  ensureImage(image: string): Promise<void> {
    let pending = this.pulls.get(image);
    if (!pending) {
      pending = this.inspectOrPull(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pending);
    }
    return pending;
  }

  async run(
    spec: ContainerSpec,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    signal: AbortSignal,
    hooks: ContainerHooks = {},
  ): Promise<ContainerOutcome> {
    // The steps, in order: pull → create → put inputs (beforeStart) → attach and start → wait →
    // collect outputs (afterExit) → remove (in `finally`: always).
    if (signal.aborted) return canceledBeforeStart();
    await this.ensureImage(spec.image); // pull
    if (signal.aborted) return canceledBeforeStart();

    const name = containerName(spec);
    let container: Docker.Container | undefined;
    try {
      container = await this.createContainer(spec, name);
      const handle = this.handle(container, name);
      if (!signal.aborted) await runHook('beforeStart', () => hooks.beforeStart?.(handle));
      const outcome = signal.aborted
        ? canceledBeforeStart()
        : await this.startAndWait(container, spec, onLines, signal);
      await runHook('afterExit', () => hooks.afterExit?.(handle, outcome));
      return outcome;
    } catch (err) {
      if (err instanceof HookFailure) throw err.error; // the hook's own error, unwrapped
      if (err instanceof ImageNotFoundError || err instanceof ContainerRuntimeUnavailableError) throw err;
      throw this.unavailable(`running container ${name}`, err);
    } finally {
      // After a failed create the container may exist anyway (e.g. the connection dropped).
      await this.removeQuietly(container ?? this.docker.getContainer(name));
    }
  }

  async removeContainers(
    jobIds?: readonly string[],
    upToAttempt?: ReadonlyMap<string, number>,
  ): Promise<number> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await (
        await this.load()
      ).listContainers({
        all: true,
        filters: { label: [`${this.labelPrefix}.managed=true`] },
      });
    } catch (err) {
      throw this.unavailable('listing containers', err);
    }
    const wanted = jobIds ? new Set(jobIds) : null;
    const jobLabel = `${this.labelPrefix}.job-id`;
    const attemptLabel = `${this.labelPrefix}.attempt`;
    const targets = containers.filter((c) => {
      const jobId = c.Labels?.[jobLabel] ?? '';
      if (wanted && !wanted.has(jobId)) return false;
      const limit = upToAttempt?.get(jobId);
      return limit === undefined || Number(c.Labels?.[attemptLabel] ?? 0) <= limit;
    });
    const removed = await Promise.all(targets.map((c) => this.removeQuietly(this.docker.getContainer(c.Id))));
    return removed.filter(Boolean).length;
  }

  // --- images ------------------------------------------------------------------------------------

  private async inspectOrPull(image: string): Promise<void> {
    await this.load();
    if (await this.imageExists(image)) return;
    const refused = this.pullPolicy?.(image) ?? null;
    if (refused !== null) throw new ImageNotFoundError(image, `not pulled: it ${refused}`);
    this.logger?.info({ image }, 'pulling container image');
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.pull(image)) as NodeJS.ReadableStream;
    } catch (err) {
      throw this.pullFailure(image, err);
    }
    const failure = await consumePullProgress(stream);
    if (failure !== null) throw this.pullFailure(image, failure);
    if (!(await this.imageExists(image))) {
      throw new ImageNotFoundError(image, 'the pull finished but the image is still missing');
    }
    this.logger?.info({ image }, 'pulled container image');
  }

  private async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw this.unavailable(`inspecting image ${image}`, err);
    }
  }

  private pullFailure(image: string, err: unknown): Error {
    if (isConnectionError(err)) return this.unavailable(`pulling image ${image}`, err);
    const detail = messageOf(err);
    // The engine itself is in trouble: worth retrying, not the workflow's fault.
    if (/no space left on device|read-only file system|database is locked/i.test(detail)) {
      return this.unavailable(`pulling image ${image}`, err);
    }
    return new ImageNotFoundError(image, detail);
  }

  // --- containers --------------------------------------------------------------------------------

  /** The user the image runs as when the workflow names none ('' : root). */
  private async imageUser(image: string): Promise<string> {
    try {
      return (await this.docker.getImage(image).inspect()).Config?.User ?? '';
    } catch {
      return ''; // creating the container reports what is wrong with the image
    }
  }

  private async createContainer(spec: ContainerSpec, name: string): Promise<Docker.Container> {
    const p = this.labelPrefix;
    const user = spec.user ?? (await this.imageUser(spec.image));
    const root = user === '' || /^(0|root)(:|$)/.test(user);
    const memoryBytes = Math.round(spec.memoryMb * 1024 * 1024);
    const options: Docker.ContainerCreateOptions = {
      name,
      Image: spec.image,
      Cmd: spec.cmd ?? undefined,
      Entrypoint: spec.entrypoint ?? undefined,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      WorkingDir: spec.workdir ?? undefined,
      User: spec.user ?? undefined,
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Labels: {
        [`${p}.managed`]: 'true',
        [`${p}.job-id`]: spec.jobId,
        [`${p}.workflow-id`]: spec.workflowId,
        [`${p}.attempt`]: String(spec.attempt),
      },
      HostConfig: {
        NanoCpus: Math.round(spec.cpus * 1e9),
        Memory: memoryBytes,
        MemorySwap: memoryBytes,
        PidsLimit: spec.pids,
        NetworkMode: spec.network === 'bridge' ? 'bridge' : 'none',
        AutoRemove: false,
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['ALL'],
        CapAdd: root ? [...CONTAINER_CAPABILITIES] : [],
        ReadonlyRootfs: spec.readOnlyRootFs === true,
        ...(spec.readOnlyRootFs === true ? { Tmpfs: READ_ONLY_TMPFS } : {}),
      },
    };
    try {
      return await this.docker.createContainer(options);
    } catch (err) {
      if (isNameConflict(err)) {
        // Left over by a crashed earlier run of this very attempt.
        this.logger?.warn({ container: name }, 'removing a leftover container with the same name');
        await this.removeQuietly(this.docker.getContainer(name));
        return await this.createContainerOnce(options, spec.image);
      }
      throw this.createFailure(spec.image, err);
    }
  }

  private async createContainerOnce(
    options: Docker.ContainerCreateOptions,
    image: string,
  ): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(options);
    } catch (err) {
      throw this.createFailure(image, err);
    }
  }

  private createFailure(image: string, err: unknown): Error {
    if (statusOf(err) === 404 || /no such image|image not known/i.test(messageOf(err))) {
      return new ImageNotFoundError(image, 'the image disappeared before the container was created');
    }
    return this.unavailable('creating a container', err);
  }

  // --- archives (the hooks' handle) --------------------------------------------------------------

  /** What the hooks get: the archive endpoints of one created container. */
  private handle(container: Docker.Container, name: string): ContainerHandle {
    return {
      id: container.id,
      putArchive: async (path, tar) => {
        try {
          await container.putArchive(tar, { path });
        } catch (err) {
          throw this.archiveFailure(`putting an archive into ${name} at ${path}`, err);
        }
      },
      getArchive: async (path) => {
        try {
          return await container.getArchive({ path });
        } catch (err) {
          if (isMissingPath(err)) return null;
          throw this.archiveFailure(`getting an archive of ${path} from ${name}`, err);
        }
      },
    };
  }

  /** The engine refused the request (4xx): a plain Error; unreachable or failing (5xx): unavailable. */
  private archiveFailure(what: string, err: unknown): Error {
    const status = statusOf(err);
    if (status !== undefined && status >= 400 && status < 500) {
      const message = `container runtime at ${this.dockerHost}: ${what} was refused: ${shorten(messageOf(err))}`;
      return new Error(message, { cause: err });
    }
    return new ContainerRuntimeUnavailableError(
      `container runtime at ${this.dockerHost}: ${what} failed: ${shorten(messageOf(err))}`,
      { cause: err },
    );
  }

  // --- start and wait ----------------------------------------------------------------------------

  /** Attach, start, wait: the process from its start to its exit (stopped on timeout or abort). */
  private async startAndWait(
    container: Docker.Container,
    spec: ContainerSpec,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<ContainerOutcome> {
    const started = await this.start(container, onLines);
    if ('kind' in started) return started; // the command could not start: an exit (127/126)
    try {
      return await this.wait(container, spec, started.output, signal);
    } finally {
      started.output.close();
    }
  }

  /**
   * Attaches to the output (before the start, so that nothing is missed), then starts the process.
   * A start that failed because of the command itself is an `exited` outcome.
   */
  private async start(
    container: Docker.Container,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
  ): Promise<{ output: OutputCapture } | ContainerOutcome> {
    // Podman prepares the container (runc create) when attaching: a bad command fails here.
    let output: OutputCapture;
    try {
      output = await OutputCapture.attach(container, (lines) => this.deliver(onLines, lines), this.logger);
    } catch (err) {
      return this.startFailure(err, onLines, 'attaching to a container');
    }
    try {
      await container.start();
    } catch (err) {
      output.close();
      return this.startFailure(err, onLines, 'starting a container');
    }
    return { output };
  }

  /** Waits for the exit, the timeout or the abort (then stops the container); reads the output to its end. */
  private async wait(
    container: Docker.Container,
    spec: ContainerSpec,
    output: OutputCapture,
    signal: AbortSignal,
  ): Promise<ContainerOutcome> {
    const exited = container.wait().then((result: { StatusCode?: unknown }) => {
      const code = Number(result?.StatusCode);
      return Number.isInteger(code) && code >= 0 ? code : null;
    });
    exited.catch(() => {}); // observed below; never an unhandled rejection

    let timer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const reason = await new Promise<'exit' | 'timeout' | 'abort'>((resolve) => {
      exited.then(
        () => resolve('exit'),
        () => resolve('exit'),
      );
      timer = startTimer(spec.timeoutMs, () => resolve('timeout'));
      onAbort = () => resolve('abort');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    timer?.();
    if (onAbort) signal.removeEventListener('abort', onAbort);

    if (reason !== 'exit') {
      this.logger?.info(
        { container: containerName(spec), reason },
        reason === 'timeout' ? 'container timed out, stopping it' : 'container canceled, stopping it',
      );
      await this.stop(container, exited);
    }

    let exitCode: number | null;
    try {
      exitCode = await exited;
    } catch (err) {
      if (reason === 'exit') throw this.unavailable('waiting for a container', err);
      exitCode = null; // we stopped it; the exit code is a detail
    }
    await output.finish(OUTPUT_SETTLE_MS);

    if (reason === 'timeout') return { kind: 'timed_out', exitCode };
    if (reason === 'abort') return { kind: 'canceled', exitCode };
    if (exitCode === null) throw this.unavailable('waiting for a container', 'no exit code');
    return {
      kind: 'exited',
      exitCode,
      killed: exitCode === 137,
      oomKilled: await this.oomKilled(container),
    };
  }

  /** A start that failed because of the command itself is an exit (127/126); anything else is ours. */
  private startFailure(
    err: unknown,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    what: string,
  ): ContainerOutcome {
    const exitCode = userStartFailure(err);
    if (exitCode === null) throw this.unavailable(what, err);
    this.deliver(onLines, [
      {
        stream: 'stderr',
        timestamp: new Date(),
        message: `chronoverse: the container could not start: ${messageOf(err)}`,
      },
    ]);
    return { kind: 'exited', exitCode, killed: false, oomKilled: false };
  }

  /** SIGTERM, then SIGKILL when still running after the grace period. */
  private async stop(container: Docker.Container, exited: Promise<unknown>): Promise<void> {
    await this.kill(container, 'SIGTERM');
    let cancelGrace: (() => void) | undefined;
    const graceOver = await new Promise<boolean>((resolve) => {
      exited.then(
        () => resolve(false),
        () => resolve(false),
      );
      cancelGrace = startTimer(this.stopGraceMs, () => resolve(true));
    });
    cancelGrace?.();
    if (graceOver) await this.kill(container, 'SIGKILL');
  }

  private async kill(container: Docker.Container, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    try {
      await container.kill({ signal });
    } catch (err) {
      // Not running any more (Docker: 409, Podman: 500 "container state improper") or gone.
      if (statusOf(err) !== undefined) return;
      throw this.unavailable(`sending ${signal} to a container`, err);
    }
  }

  private async oomKilled(container: Docker.Container): Promise<boolean> {
    try {
      const info = await container.inspect();
      return info.State?.OOMKilled === true;
    } catch (err) {
      this.logger?.warn({ err, container: container.id }, 'could not inspect an exited container');
      return false;
    }
  }

  /** Force-removes a container; false when it was already gone or could not be removed. */
  private async removeQuietly(container: Docker.Container): Promise<boolean> {
    try {
      await container.remove({ force: true, v: true });
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) return false; // gone, or its removal is under way
      this.logger?.warn({ err, container: container.id }, 'could not remove a container');
      return false;
    }
  }

  // --- output ------------------------------------------------------------------------------------

  private deliver(
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    lines: CapturedLine[],
  ): void | Promise<void> {
    if (lines.length === 0) return;
    try {
      const pending = onLines(lines);
      if (pending) {
        return pending.catch((err: unknown) => {
          this.logger?.error({ err }, 'the output consumer of a container failed');
        });
      }
    } catch (err) {
      this.logger?.error({ err }, 'the output consumer of a container threw');
    }
  }

  private unavailable(what: string, err: unknown): ContainerRuntimeUnavailableError {
    return new ContainerRuntimeUnavailableError(
      `container runtime at ${this.dockerHost}: ${what} failed: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

// --- output capture ----------------------------------------------------------------------------

/** The attached output of one container, parsed into lines and delivered as it arrives. */
class OutputCapture {
  private readonly container: Docker.Container;
  private readonly deliver: (lines: CapturedLine[]) => void | Promise<void>;
  private readonly logger: Logger | undefined;
  private readonly stream: NodeJS.ReadableStream;
  private readonly parser = new OutputParser();
  private readonly ended: Promise<void>;
  private batch: CapturedLine[] = [];
  private flushScheduled = false;
  private closed = false;

  /** Attaches to stdout and stderr (before the start, so that nothing is missed). */
  static async attach(
    container: Docker.Container,
    deliver: (lines: CapturedLine[]) => void | Promise<void>,
    logger?: Logger,
  ): Promise<OutputCapture> {
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      hijack: false,
    })) as NodeJS.ReadableStream;
    return new OutputCapture(container, stream, deliver, logger);
  }

  private constructor(
    container: Docker.Container,
    stream: NodeJS.ReadableStream,
    deliver: (lines: CapturedLine[]) => void | Promise<void>,
    logger?: Logger,
  ) {
    this.container = container;
    this.stream = stream;
    this.deliver = deliver;
    this.logger = logger;
    this.ended = new Promise((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (err: unknown) => {
        if (!this.closed) logger?.warn({ err, container: container.id }, 'container output stream failed');
        resolve();
      });
    });
    stream.on('data', (chunk: Buffer | string) => {
      if (this.closed) return;
      this.batch.push(
        ...this.parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, new Date()),
      );
      if (this.batch.length > 0 && !this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** After the exit: waits (bounded) for the end of the output, then delivers what is left. */
  async finish(settleMs: number): Promise<void> {
    if (this.closed) return;
    let cancel: (() => void) | undefined;
    const cut = await new Promise<boolean>((resolve) => {
      this.ended.then(() => resolve(false));
      cancel = startTimer(settleMs, () => resolve(true));
    });
    cancel?.();
    if (cut) {
      this.logger?.warn({ container: this.container.id }, 'container output did not end after the exit; cut');
    }
    this.close();
  }

  /** Stops reading; delivers what is still buffered (a final line without a newline). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    destroy(this.stream);
    this.batch.push(...this.parser.end(new Date()));
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    const pending = this.deliver(lines);
    if (pending && !this.closed) {
      // Backpressure: the consumer is behind. Stop reading; the container blocks on its full pipe
      // until we resume, so a chatty container cannot grow our memory without bound.
      this.stream.pause();
      void pending.finally(() => {
        if (!this.closed) this.stream.resume();
      });
    }
  }
}

// --- output parsing ----------------------------------------------------------------------------

const NEWLINE = 0x0a;
const MARKER_BYTES = Buffer.byteLength(CONTINUATION_MARKER);

/**
 * Demultiplexes an attached, non-TTY output stream into lines. Feed it the raw chunks in order
 * with `push` (with their arrival time), then call `end` once; both return the lines completed.
 */
export class OutputParser {
  private readonly stdout = new LineSplitter('stdout');
  private readonly stderr = new LineSplitter('stderr');
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  private remaining = 0;
  private current: LineSplitter = this.stdout;
  /** Not multiplexed after all (a TTY container): everything is stdout. */
  private raw = false;

  push(chunk: Buffer, receivedAt: Date): CapturedLine[] {
    const out: CapturedLine[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.raw) {
        this.stdout.feed(chunk.subarray(pos), receivedAt, out);
        break;
      }
      if (this.remaining === 0) {
        const n = Math.min(8 - this.headerBytes, chunk.length - pos);
        chunk.copy(this.header, this.headerBytes, pos, pos + n);
        this.headerBytes += n;
        pos += n;
        if (this.headerBytes < 8) break;
        this.headerBytes = 0;
        const type = this.header[0] ?? 0;
        if (type > 3 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
          this.raw = true;
          this.stdout.feed(Buffer.from(this.header), receivedAt, out);
          continue;
        }
        // 0 stdin (never sent), 1 stdout, 2 stderr, 3 the engine's own error output.
        this.current = type === 2 || type === 3 ? this.stderr : this.stdout;
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - pos);
      this.current.feed(chunk.subarray(pos, pos + n), receivedAt, out);
      this.remaining -= n;
      pos += n;
    }
    return out;
  }

  end(at: Date): CapturedLine[] {
    const out: CapturedLine[] = [];
    this.stdout.end(at, out);
    this.stderr.end(at, out);
    return out;
  }
}

/** Splits one stream's bytes into lines of at most MAX_LINE_BYTES. */
class LineSplitter {
  private readonly stream: CapturedLine['stream'];
  /** The current line's bytes not delivered yet, and when its first byte arrived. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineStartedAt: Date | null = null;
  /** The pending bytes continue a line already partly delivered. */
  private continued = false;

  constructor(stream: CapturedLine['stream']) {
    this.stream = stream;
  }

  feed(bytes: Buffer, at: Date, out: CapturedLine[]): void {
    let pos = 0;
    while (pos < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, pos);
      if (newline === -1) {
        this.append(bytes.subarray(pos), at, out);
        return;
      }
      this.append(bytes.subarray(pos, newline), at, out);
      this.endLine(at, out);
      pos = newline + 1;
    }
  }

  end(at: Date, out: CapturedLine[]): void {
    if (this.pendingBytes > 0 || this.continued) this.endLine(at, out);
  }

  private append(bytes: Buffer, at: Date, out: CapturedLine[]): void {
    if (bytes.length === 0) return;
    this.lineStartedAt ??= at;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes > this.limit()) this.emitChunk(at, out);
  }

  private limit(): number {
    return this.continued ? MAX_LINE_BYTES - MARKER_BYTES : MAX_LINE_BYTES;
  }

  /** Delivers the first `limit()` bytes (cut on a character boundary) of an over-long line. */
  private emitChunk(at: Date, out: CapturedLine[]): void {
    const all = Buffer.concat(this.pending);
    const cut = utf8Boundary(all, this.limit());
    this.push(all.subarray(0, cut), at, out);
    const rest = all.subarray(cut);
    this.pending = [rest];
    this.pendingBytes = rest.length;
    this.continued = true;
    this.lineStartedAt = at;
  }

  private endLine(at: Date, out: CapturedLine[]): void {
    this.push(Buffer.concat(this.pending), at, out);
    this.pending = [];
    this.pendingBytes = 0;
    this.continued = false;
    this.lineStartedAt = null;
  }

  private push(bytes: Buffer, at: Date, out: CapturedLine[]): void {
    const text = bytes.toString('utf8');
    out.push({
      stream: this.stream,
      timestamp: this.lineStartedAt ?? at,
      message: this.continued ? CONTINUATION_MARKER + text : text,
    });
  }
}

/** The largest cut ≤ limit that does not split a UTF-8 sequence (limit when there is none). */
function utf8Boundary(bytes: Buffer, limit: number): number {
  let cut = limit;
  while (cut > 0 && limit - cut < 4 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return cut > 0 && limit - cut < 4 ? cut : limit;
}

// --- helpers -----------------------------------------------------------------------------------

function dockerOptions(dockerHost: string): Docker.DockerOptions {
  // Explicit host/port/socketPath: docker-modem otherwise merges in DOCKER_HOST from the env.
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    if (!socketPath) throw new Error(`invalid docker host ${dockerHost}: no socket path`);
    return { socketPath, host: undefined, port: undefined };
  }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (!match) throw new Error(`invalid docker host ${dockerHost}: expected unix:///path or tcp://host:port`);
  return {
    protocol: match[1] === 'https' ? 'https' : 'http',
    host: match[2],
    port: Number(match[3]),
    socketPath: undefined,
  };
}

/** The outcome of a run canceled before its process started. */
function canceledBeforeStart(): ContainerOutcome {
  return { kind: 'canceled', exitCode: null };
}

/** An error a hook threw, carried through `run`'s error handling unchanged. */
class HookFailure {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

async function runHook(name: keyof ContainerHooks, hook: () => Promise<void> | undefined): Promise<void> {
  try {
    await hook();
  } catch (err) {
    throw new HookFailure(err ?? new Error(`the ${name} hook failed`));
  }
}

/** A 404 of the archive endpoint for a path that does not exist, not for a missing container. */
function isMissingPath(err: unknown): boolean {
  // Podman: "no such file or directory"; Docker: "Could not find the file … in container …".
  // A missing container: "no container with name or ID … found" / "No such container: …".
  return statusOf(err) === 404 && !/no such container|no container with/i.test(messageOf(err));
}

/** Engine messages can be long (Podman's archive errors dump a whole request struct). */
function shorten(message: string, max = 500): string {
  return message.length <= max ? message : `${message.slice(0, max)}…`;
}

function containerName(spec: ContainerSpec): string {
  return `cv-${spec.jobId}-${spec.attempt}`.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function messageOf(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) {
    // dockerode: "(HTTP code 500) server error - <engine message> "
    return err.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim() || err.message;
  }
  return String(err);
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOTSOCK',
  'ABORT_ERR',
]);

function isConnectionError(err: unknown): boolean {
  if (statusOf(err) !== undefined) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  return err instanceof Error && /socket hang up|connect|aborted/i.test(err.message);
}

function isNameConflict(err: unknown): boolean {
  return statusOf(err) === 409 || /already in use/i.test(messageOf(err));
}

/** 127 / 126 when the start failed because of the command itself (as `docker run` reports it). */
function userStartFailure(err: unknown): number | null {
  if (statusOf(err) === undefined) return null;
  const message = messageOf(err);
  if (!/\bexec\b/i.test(message)) return null;
  if (/executable file not found|no such file or directory|command not found/i.test(message)) return 127;
  if (/permission denied|exec format error|is a directory|not a directory/i.test(message)) return 126;
  return null;
}

/** Reads a pull's progress stream to its end; the engine's error message, if any. */
function consumePullProgress(stream: NodeJS.ReadableStream): Promise<unknown> {
  return new Promise((resolve) => {
    let buffered = '';
    let failure: unknown = null;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      inspect(buffered);
      resolve(failure);
    };
    const inspect = (line: string) => {
      if (!line.trim() || failure !== null) return;
      try {
        const event = JSON.parse(line) as { error?: unknown; errorDetail?: { message?: unknown } };
        const message = event.errorDetail?.message ?? event.error;
        if (message !== undefined && message !== null && message !== '') failure = String(message);
      } catch {
        // not JSON: ignore
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        inspect(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    stream.on('error', (err: unknown) => {
      if (failure === null) failure = err;
      settle();
    });
    stream.on('end', settle);
    stream.on('close', settle);
  });
}

function destroy(stream: NodeJS.ReadableStream): void {
  const s = stream as NodeJS.ReadableStream & { destroy?: () => void };
  try {
    s.destroy?.();
  } catch {
    // already gone
  }
}

/** setTimeout that copes with delays beyond 2^31-1 ms (and Infinity: never); returns a canceller. */
function startTimer(ms: number, fn: () => void): () => void {
  if (!Number.isFinite(ms)) return () => {};
  let handle: NodeJS.Timeout;
  const deadline = Date.now() + Math.max(0, ms);
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= 0) return fn();
    handle = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  return () => clearTimeout(handle);
}

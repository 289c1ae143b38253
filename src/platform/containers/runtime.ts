/**
 * The container runtime seam: the executor and the build step see only this interface. The
 * implementation talks to the Docker Engine API at DOCKER_HOST (Docker or Podman).
 */

/** What to run for one attempt of a CONTAINER job (defaults already applied by the caller). */
export interface ContainerSpec {
  jobId: string;
  workflowId: string;
  attempt: number;
  image: string;
  cmd: string[] | null;
  entrypoint: string[] | null;
  env: Record<string, string>;
  workdir: string | null;
  timeoutMs: number;
  cpus: number;
  memoryMb: number;
  pids: number;
  network: 'none' | 'bridge';
  /** Mount the image read-only (a small tmpfs on /tmp stays writable). @default false */
  readOnlyRootFs?: boolean;
  /** `uid[:gid]` to run as; null or absent: the image's user. */
  user?: string | null;
}

/**
 * One captured output line. `timestamp` is when its first byte reached us (millisecond precision):
 * output is read by attaching before start, because Podman 4.3's follow-logs stream loses lines
 * under load (measured: 76,223 of 100,000 lines), and its own log timestamps have whole seconds.
 */
export interface CapturedLine {
  stream: 'stdout' | 'stderr';
  timestamp: Date;
  message: string;
}

export type ContainerOutcome =
  /** The process exited by itself. `killed` is true for exit 137 (SIGKILL: OOM or external kill). */
  | { kind: 'exited'; exitCode: number; killed: boolean; oomKilled: boolean }
  /** The timeout elapsed; the container was stopped (SIGTERM, grace, SIGKILL). */
  | { kind: 'timed_out'; exitCode: number | null }
  /** The abort signal fired; the container was stopped. */
  | { kind: 'canceled'; exitCode: number | null };

/** The runtime cannot be reached or failed on its side: a SYSTEM error, worth retrying. */
export class ContainerRuntimeUnavailableError extends Error {
  readonly code = 'CV_CONTAINER_RUNTIME_UNAVAILABLE';
}

/** The image does not exist and cannot be pulled: a USER error (the workflow is wrong). */
export class ImageNotFoundError extends Error {
  readonly code = 'CV_IMAGE_NOT_FOUND';
  readonly image: string;
  constructor(image: string, detail: string) {
    super(`image ${image} is not available: ${detail}`);
    this.image = image;
  }
}

/**
 * A created container, between create and remove. Archives are tar streams (uncompressed), as
 * the Docker Engine API takes and gives them. Both calls work on a created, a running and an
 * exited container (measured on Podman 4.3); read a getArchive stream to its end inside the hook
 * (the container is removed once the hook settles). While the process is not running (before
 * the start, after the exit) they reach the container's own filesystem, not the tmpfs mounted
 * over /tmp while it runs. With a read-only root filesystem, on
 * Podman 4.3: a put before the start succeeds anywhere, / included (the engine writes into the
 * container's storage; the Docker API documents a 403 for this case, not tried here), and a file
 * put into /tmp shows in the tmpfs mounted there (Podman copies the image's /tmp up into it);
 * after the exit, whatever the process wrote into that tmpfs is gone (getArchive: null), so
 * outputs to collect must be written elsewhere (a writable root filesystem). Podman 4.3 creates
 * a missing destination directory of putArchive (the Docker API documents a 404 for it instead).
 * An engine that cannot be reached or fails on its side (5xx) is a
 * ContainerRuntimeUnavailableError, a request the engine refuses (4xx) a plain Error; Podman 4.3
 * answers an invalid tar archive with a 500, so that one is a ContainerRuntimeUnavailableError too.
 */
export interface ContainerHandle {
  readonly id: string;
  /** Extracts a tar archive into the container at `path` (Docker API: PUT /containers/{id}/archive). */
  putArchive(path: string, tar: Buffer | NodeJS.ReadableStream): Promise<void>;
  /** A tar archive of `path` in the container (GET /containers/{id}/archive); null when the path does not exist. */
  getArchive(path: string): Promise<NodeJS.ReadableStream | null>;
}

/**
 * Points in the lifecycle where a task runner adds its own steps. A hook that throws ends the run:
 * the error propagates after the container is removed. A hook is not bounded by the spec's
 * timeout (that clock runs from the start to the exit) nor interrupted by the abort signal.
 */
export interface ContainerHooks {
  /** After create, before start: e.g. put input artifacts in. */
  beforeStart?(container: ContainerHandle): Promise<void>;
  /**
   * After the process ended (whatever the outcome, including timeout and cancel), before remove:
   * e.g. collect outputs. Called whenever a container was created and `run` has an outcome, so
   * also when the container never started (a cancel before the start, a command that does not
   * exist); not when `beforeStart` threw or the runtime failed.
   */
  afterExit?(container: ContainerHandle, outcome: ContainerOutcome): Promise<void>;
}

export interface ContainerRuntime {
  /** Is the runtime reachable? Never throws. */
  ping(): Promise<boolean>;
  /**
   * Makes sure `image` is present locally, pulling it when missing (one pull per image at a time).
   * A pull the runtime's pull policy refuses is an ImageNotFoundError, with nothing sent to the registry.
   */
  ensureImage(image: string): Promise<void>;
  /**
   * Runs one attempt to its end and removes the container (always, whatever happens), in explicit
   * steps: pull → create → `hooks.beforeStart` → attach and start → wait → `hooks.afterExit` →
   * remove. Output lines are delivered in batches as they arrive, in order per stream; a line
   * longer than 64 KiB is split into several lines, each continuation marked. When `onLines`
   * returns a promise, reading stops until it settles (backpressure: the container then blocks on
   * output). Every output line has been delivered before `afterExit` is called.
   * Resolves with the outcome; rejects with ContainerRuntimeUnavailableError, ImageNotFoundError,
   * or exactly what a hook threw (unwrapped, after the container is removed).
   */
  run(
    spec: ContainerSpec,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    signal: AbortSignal,
    hooks?: ContainerHooks,
  ): Promise<ContainerOutcome>;
  /**
   * Force-removes containers of these jobs (or all of ours when omitted); returns how many. With
   * `upToAttempt`, a job's containers of later attempts are kept (a rescued job may already be
   * running again elsewhere on this host).
   */
  removeContainers(jobIds?: readonly string[], upToAttempt?: ReadonlyMap<string, number>): Promise<number>;
}

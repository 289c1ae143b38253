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

export interface ContainerRuntime {
  /** Is the runtime reachable? Never throws. */
  ping(): Promise<boolean>;
  /**
   * Makes sure `image` is present locally, pulling it when missing (one pull per image at a time).
   * A pull the runtime's pull policy refuses is an ImageNotFoundError, with nothing sent to the registry.
   */
  ensureImage(image: string): Promise<void>;
  /**
   * Runs one attempt to its end and removes the container (always, whatever happens). Output
   * lines are delivered in batches as they arrive, in order per stream; a line longer than
   * 64 KiB is split into several lines, each continuation marked. When `onLines` returns a
   * promise, reading stops until it settles (backpressure: the container then blocks on output).
   * Resolves with the outcome; rejects only with ContainerRuntimeUnavailableError or
   * ImageNotFoundError.
   */
  run(
    spec: ContainerSpec,
    onLines: (lines: CapturedLine[]) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<ContainerOutcome>;
  /**
   * Force-removes containers of these jobs (or all of ours when omitted); returns how many. With
   * `upToAttempt`, a job's containers of later attempts are kept (a rescued job may already be
   * running again elsewhere on this host).
   */
  removeContainers(jobIds?: readonly string[], upToAttempt?: ReadonlyMap<string, number>): Promise<number>;
}

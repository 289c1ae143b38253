/**
 * CONTAINER task runner: one attempt of a container job through the container runtime
 * (src/platform/containers), its output lines into the job's log.
 *
 * Policies, at every attempt, for the job owner's role as it is now: the container policy
 * (src/domain/container-policy.ts) checks the registry and the bridge network before anything is
 * pulled or created, and clamps resources and timeout to the administrator's ceilings; the
 * runtime hardens the container (no capabilities, no new privileges, limits).
 *
 * Outcomes: exit 0 succeeds; a non-zero exit, a kill (exit 137: most likely the memory limit), a
 * timeout, a refused or missing image are USER failures (never retried); an unreachable runtime
 * is a SYSTEM failure (retried while attempts remain).
 *
 * Inputs (`payload.inputs` of a DAG task, ./artifacts.ts `putInputs`) are put into the created
 * container before it starts; an upstream task that kept no such artifact fails the task with the
 * USER error INPUT_MISSING. Artifacts (`payload.artifacts`, ./artifacts.ts) are collected after
 * the process ended, as each one's `when` says (default: whatever the outcome). An artifact over its limit turns a success into a USER failure naming it
 * (ARTIFACT_TOO_LARGE), a store that fails turns it into a SYSTEM failure (ARTIFACT_STORE_FAILED,
 * retried); a run that failed or was canceled on its own keeps its own outcome (the root cause)
 * and the artifact's problem goes to the job's log.
 */
import { makeOutputsDir, readOutputsFile, type OutputsFile } from './outputs-file.ts';
import { containerOutputs, outputsProblemMessage } from '../../domain/task-outputs.ts';
import { SpanKind } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import { effectiveLimits, imageProblem, type ContainerPolicy } from '../../domain/container-policy.ts';
import { formatDuration } from '../../domain/duration.ts';
import type { OutboundRole } from '../../domain/outbound-policy.ts';
import {
  collectsOn,
  validatePayloadOf,
  type ContainerPayload,
  type ProcessEnd,
} from '../../domain/workflow-input.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type ContainerHooks,
  type ContainerOutcome,
  type ContainerRuntime,
  type ContainerSpec,
  type CapturedLine,
} from '../../platform/containers/runtime.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { DB } from '../../platform/db/schema.ts';
import { inSpan } from '../../platform/telemetry/tracing.ts';
import {
  collectArtifacts,
  InputsProblem,
  putInputs,
  retentionOf,
  type ArtifactLimits,
  type CollectionResult,
} from './artifacts.ts';
import type { RunOutcome } from './outcome.ts';
import type { TaskRunner } from './task-runner.ts';
import type { ClaimedJob } from './sql.ts';

export interface ContainerRunnerConfig {
  /** Limits used when a workflow does not set them (never above the policy's ceilings). */
  containerDefaults: { cpus: number; memoryMb: number; pids: number };
  /** Registries, bridge network and ceilings (the administrator's settings). */
  containerPolicy: ContainerPolicy;
  /** Byte limits of collected artifacts. */
  artifactLimits: ArtifactLimits;
}

export function containerRunner(
  runtime: ContainerRuntime | null,
  config: ContainerRunnerConfig,
  /** Where declared artifacts go; null: none is configured (declared artifacts are logged, not kept). */
  artifacts: { db: Kysely<DB>; store: ArtifactStore } | null = null,
): TaskRunner<ContainerPayload> {
  return {
    parse: (spec) => validatePayloadOf('CONTAINER', spec),
    async run(payload, { job, role, signal, logs }) {
      const refusal = containerRefusal(payload, role, config.containerPolicy);
      if (refusal) return refusal;
      if (!runtime) {
        return {
          kind: 'failed',
          errorKind: 'SYSTEM',
          code: 'NO_CONTAINER_RUNTIME',
          message: 'no container runtime is configured (set DOCKER_HOST)',
          retryable: true,
        };
      }
      const spec = containerSpec(job, payload, config);
      const writer = logs();
      const log = (message: string) =>
        writer.write([{ stream: 'stderr', timestamp: new Date(), message: `chronoverse: ${message}` }]);
      const declared = payload.artifacts ?? [];
      // Inputs exist only on DAG tasks (validation refuses them elsewhere); a stored spec is not re-checked for it.
      const inputs = job.run_id !== null ? (payload.inputs ?? []) : [];
      const runId = job.run_id;
      let collection: CollectionResult | null = null;
      const hooks: ContainerHooks = {};
      // A DAG task may write its outputs to /chronoverse/outputs.json: the directory is made for it
      // (not on a read-only root filesystem, where the engine refuses to write; there, `::output`
      // lines are the way), and the file is read back after a successful exit.
      const outputsDir = runId !== null && !payload.read_only_root_fs;
      let outputsFile: OutputsFile = { kind: 'none' };
      if (outputsDir || (inputs.length > 0 && runId !== null)) {
        hooks.beforeStart = async (container) => {
          if (outputsDir) await makeOutputsDir(container);
          if (inputs.length === 0 || runId === null) return;
          if (!artifacts) {
            throw new InputsProblem(
              'USER',
              'INPUT_MISSING',
              'no artifact store is configured, so no task keeps artifacts',
            );
          }
          await putInputs(artifacts, container, runId, inputs);
        };
      }
      if (declared.length > 0 || outputsDir) {
        hooks.afterExit = async (container, result) => {
          const end = processEnd(result);
          if (outputsDir && end === 'succeeded') outputsFile = await readOutputsFile(container);
          if (declared.length === 0) return;
          const wanted = declared.filter((a) => collectsOn(a.when, end));
          if (wanted.length < declared.length) {
            const skipped = declared.filter((a) => !wanted.includes(a)).map((a) => `"${a.name}" (${a.when})`);
            await log(`artifacts ${skipped.join(', ')} not collected: the attempt ${end}`);
          }
          if (wanted.length === 0) return;
          if (!artifacts) {
            await log('no artifact store is configured; the declared artifacts are not kept');
            return;
          }
          collection = await collectArtifacts(
            artifacts,
            container,
            {
              jobId: job.id,
              workflowId: job.workflow_id,
              userId: job.user_id,
              attempt: job.attempts,
              task: job.task_name ?? 'main',
              retentionMs: await retentionOf(artifacts.db, payload.artifact_retention, job.run_id),
            },
            wanted,
            config.artifactLimits,
            (lines) => writer.write(lines),
          );
        };
      }
      try {
        // A DAG task's `::output key=value` lines on stdout are its outputs for the next tasks.
        const outputLines: string[] = [];
        const onLines = (lines: CapturedLine[]) => {
          if (job.run_id !== null) {
            for (const l of lines)
              if (l.stream === 'stdout' && l.message.startsWith('::output ')) outputLines.push(l.message);
          }
          return writer.write(lines);
        };
        const result = await inSpan('job.container', SpanKind.INTERNAL, () =>
          runtime.run(spec, onLines, signal, hooks),
        );
        const outcome = await withArtifacts(containerOutcome(result, spec), collection, log);
        return job.run_id !== null ? withOutputs(outcome, outputLines, outputsFile) : outcome;
      } catch (err) {
        if (err instanceof InputsProblem) {
          return {
            kind: 'failed',
            errorKind: err.errorKind,
            code: err.errorCode,
            message: err.message,
            retryable: err.errorKind === 'SYSTEM',
          };
        }
        return runtimeError(err);
      }
    },
  };
}

/** How the process ended, for the artifacts' `when`. */
function processEnd(result: ContainerOutcome): ProcessEnd {
  switch (result.kind) {
    case 'exited':
      return result.exitCode === 0 ? 'succeeded' : 'failed';
    case 'timed_out':
      return 'failed';
    case 'canceled':
      return 'canceled';
  }
}

/** A run the container policy refuses before anything is pulled or created; null: none. */
function containerRefusal(
  payload: ContainerPayload,
  role: OutboundRole,
  policy: ContainerPolicy,
): RunOutcome | null {
  const image = imageProblem(payload.image, policy);
  const problem = image
    ? `the image ${image}`
    : payload.network === 'bridge' && role !== 'admin' && !policy.allowBridgeNetwork
      ? 'the bridge network is not allowed for this account'
      : null;
  if (problem === null) return null;
  return {
    kind: 'failed',
    errorKind: 'USER',
    code: 'CONTAINER_POLICY_REFUSED',
    message: `refused by container policy: ${problem}`,
    retryable: false,
  };
}

function containerSpec(
  job: ClaimedJob,
  payload: ContainerPayload,
  config: ContainerRunnerConfig,
): ContainerSpec {
  const limits = effectiveLimits(
    payload,
    { ...config.containerDefaults, timeoutMs: 30_000 },
    config.containerPolicy,
  );
  return {
    jobId: job.id,
    workflowId: job.workflow_id,
    attempt: job.attempts,
    image: payload.image,
    cmd: payload.cmd,
    entrypoint: payload.entrypoint,
    env: payload.env,
    workdir: payload.workdir,
    timeoutMs: limits.timeoutMs,
    cpus: limits.cpus,
    memoryMb: limits.memoryMb,
    pids: limits.pids,
    network: payload.network,
    // Absent from payloads stored before these fields existed.
    readOnlyRootFs: payload.read_only_root_fs ?? false,
    user: payload.user ?? null,
  };
}

/** The runtime's errors as outcomes; anything else is unexpected and propagates. */
function runtimeError(err: unknown): RunOutcome {
  if (err instanceof ImageNotFoundError) {
    return {
      kind: 'failed',
      errorKind: 'USER',
      code: 'IMAGE_NOT_FOUND',
      message: err.message,
      retryable: false,
    };
  }
  if (err instanceof ContainerRuntimeUnavailableError) {
    return {
      kind: 'failed',
      errorKind: 'SYSTEM',
      code: 'CONTAINER_RUNTIME_UNAVAILABLE',
      message: `the container runtime is unreachable: ${err.message}`,
      retryable: true,
    };
  }
  throw err;
}

function containerOutcome(result: ContainerOutcome, spec: ContainerSpec): RunOutcome {
  switch (result.kind) {
    case 'exited':
      if (result.exitCode === 0) return { kind: 'succeeded', exitCode: 0 };
      if (result.killed || result.oomKilled) {
        return {
          kind: 'failed',
          errorKind: 'USER',
          code: result.oomKilled ? 'OOM_KILLED' : 'KILLED',
          message: `the container was killed (exit ${result.exitCode}): it most likely exceeded its memory limit of ${spec.memoryMb} MiB`,
          retryable: false,
          exitCode: result.exitCode,
        };
      }
      return {
        kind: 'failed',
        errorKind: 'USER',
        code: 'NON_ZERO_EXIT',
        message: `the container exited with code ${result.exitCode}`,
        retryable: false,
        exitCode: result.exitCode,
      };
    case 'timed_out':
      return {
        kind: 'failed',
        errorKind: 'USER',
        code: 'TIMEOUT',
        message: `the container did not finish within ${formatDuration(spec.timeoutMs)} and was stopped`,
        retryable: false,
        ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}),
      };
    case 'canceled':
      return { kind: 'canceled', ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}) };
  }
}

const MiB = 1024 * 1024;

/** A limit as configured (whole MiB), or in bytes when it is not a whole number of MiB. */
const formatLimit = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`);

/** The run's outcome with what the artifact collection found (see the header). */
async function withArtifacts(
  outcome: RunOutcome,
  collection: CollectionResult | null,
  log: (message: string) => void | Promise<void>,
): Promise<RunOutcome> {
  if (collection === null || collection.kind === 'collected') return outcome;
  const exitCode =
    outcome.kind === 'succeeded' && outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {};
  const failure: Extract<RunOutcome, { kind: 'failed' }> =
    collection.kind === 'too_large'
      ? {
          kind: 'failed',
          errorKind: 'USER',
          code: 'ARTIFACT_TOO_LARGE',
          message:
            collection.limit === 'artifact'
              ? `artifact "${collection.name}" is larger than the limit of ${formatLimit(collection.maxBytes)} per artifact; nothing of it was kept`
              : `artifact "${collection.name}" takes the job's artifacts over the limit of ${formatLimit(collection.maxBytes)} per job; nothing of it was kept`,
          retryable: false,
        }
      : {
          kind: 'failed',
          errorKind: 'SYSTEM',
          code: 'ARTIFACT_STORE_FAILED',
          message: `artifact "${collection.name}" could not be stored: ${collection.message}`,
          retryable: true,
        };
  if (outcome.kind === 'succeeded') return { ...failure, ...exitCode };
  await log(failure.message);
  return outcome;
}

/**
 * A succeeded DAG task's outcome with its outputs (its `::output` lines, then its outputs file),
 * or failed when they are too large (OUTPUTS_TOO_LARGE) or the file is not a JSON object of
 * outputs (OUTPUTS_INVALID): both USER errors, never retried.
 */
function withOutputs(outcome: RunOutcome, lines: readonly string[], file: OutputsFile): RunOutcome {
  if (outcome.kind !== 'succeeded') return outcome;
  const found: ReturnType<typeof containerOutputs> =
    file.kind === 'not_a_file'
      ? { ok: false, problem: { kind: 'invalid_file', reason: 'is not a regular file' } }
      : containerOutputs(lines, file.kind === 'text' ? file.text : null);
  if (!found.ok) {
    return {
      kind: 'failed',
      errorKind: 'USER',
      code: found.problem.kind === 'too_large' ? 'OUTPUTS_TOO_LARGE' : 'OUTPUTS_INVALID',
      message: outputsProblemMessage(found.problem),
      retryable: false,
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
    };
  }
  return { ...outcome, outputs: found.outputs };
}

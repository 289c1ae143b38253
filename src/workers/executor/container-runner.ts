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
 */
import { SpanKind } from '@opentelemetry/api';
import { effectiveLimits, imageProblem, type ContainerPolicy } from '../../domain/container-policy.ts';
import { formatDuration } from '../../domain/duration.ts';
import type { OutboundRole } from '../../domain/outbound-policy.ts';
import { validatePayloadOf, type ContainerPayload } from '../../domain/workflow-input.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type ContainerOutcome,
  type ContainerRuntime,
  type ContainerSpec,
} from '../../platform/containers/runtime.ts';
import { inSpan } from '../../platform/telemetry/tracing.ts';
import type { RunOutcome } from './outcome.ts';
import type { TaskRunner } from './task-runner.ts';
import type { ClaimedJob } from './sql.ts';

export interface ContainerRunnerConfig {
  /** Limits used when a workflow does not set them (never above the policy's ceilings). */
  containerDefaults: { cpus: number; memoryMb: number; pids: number };
  /** Registries, bridge network and ceilings (the administrator's settings). */
  containerPolicy: ContainerPolicy;
}

export function containerRunner(
  runtime: ContainerRuntime | null,
  config: ContainerRunnerConfig,
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
      try {
        const result = await inSpan('job.container', SpanKind.INTERNAL, () =>
          runtime.run(spec, (lines) => writer.write(lines), signal),
        );
        return containerOutcome(result, spec);
      } catch (err) {
        return runtimeError(err);
      }
    },
  };
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

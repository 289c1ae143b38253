/**
 * The CONTAINER task runner's decisions, with a scripted container runtime (the runtime itself is
 * tested against podman in test/containers/): what each runtime outcome and error becomes, and
 * the policy checks that refuse a run before the runtime is called at all.
 */
import { describe, expect, it } from 'vitest';
import { CONTAINER_POLICY_DEFAULTS, type ContainerPolicy } from '../../domain/container-policy.ts';
import { validatePayloadOf, type ContainerPayload } from '../../domain/workflow-input.ts';
import {
  ContainerRuntimeUnavailableError,
  ImageNotFoundError,
  type ContainerOutcome,
  type ContainerRuntime,
  type ContainerSpec,
} from '../../platform/containers/runtime.ts';
import { ARTIFACT_LIMITS_DEFAULTS } from './artifacts.ts';
import { containerRunner } from './container-runner.ts';
import type { JobLogWriter } from './log-sink.ts';
import type { ClaimedJob } from './sql.ts';
import type { TaskContext } from './task-runner.ts';

const POLICY: ContainerPolicy = { ...CONTAINER_POLICY_DEFAULTS, allowedRegistries: ['docker.io'] };
const CONFIG = {
  containerDefaults: { cpus: 1, memoryMb: 256, pids: 64 },
  containerPolicy: POLICY,
  artifactLimits: ARTIFACT_LIMITS_DEFAULTS,
};

/** A runtime whose `run` answers `result` (or throws it), recording the specs it was given. */
function scripted(result: ContainerOutcome | Error) {
  const specs: ContainerSpec[] = [];
  const runtime: ContainerRuntime = {
    ping: async () => true,
    ensureImage: async () => {},
    run: async (spec) => {
      specs.push(spec);
      if (result instanceof Error) throw result;
      return result;
    },
    removeContainers: async () => 0,
  };
  return { runtime, specs };
}

function payload(extra: Record<string, unknown> = {}): ContainerPayload {
  const parsed = validatePayloadOf('CONTAINER', { image: 'alpine:3.20', cmd: ['true'], ...extra });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function context(role: 'admin' | 'user' = 'user'): TaskContext {
  const job = { id: 'job-1', workflow_id: 'wf-1', attempts: 2 } as ClaimedJob;
  const writer = { write: () => undefined } as unknown as JobLogWriter;
  return { job, role, signal: new AbortController().signal, logs: () => writer };
}

describe('container runner', () => {
  it.each([
    [
      { kind: 'exited', exitCode: 0, killed: false, oomKilled: false },
      { kind: 'succeeded', exitCode: 0 },
    ],
    [
      { kind: 'exited', exitCode: 3, killed: false, oomKilled: false },
      { kind: 'failed', errorKind: 'USER', code: 'NON_ZERO_EXIT', retryable: false, exitCode: 3 },
    ],
    [
      { kind: 'exited', exitCode: 137, killed: true, oomKilled: false },
      { kind: 'failed', errorKind: 'USER', code: 'KILLED', retryable: false, exitCode: 137 },
    ],
    [
      { kind: 'exited', exitCode: 137, killed: true, oomKilled: true },
      { kind: 'failed', errorKind: 'USER', code: 'OOM_KILLED', retryable: false, exitCode: 137 },
    ],
    [
      { kind: 'timed_out', exitCode: 143 },
      { kind: 'failed', errorKind: 'USER', code: 'TIMEOUT', retryable: false, exitCode: 143 },
    ],
    [
      { kind: 'timed_out', exitCode: null },
      { kind: 'failed', code: 'TIMEOUT' },
    ],
    [
      { kind: 'canceled', exitCode: 137 },
      { kind: 'canceled', exitCode: 137 },
    ],
    [{ kind: 'canceled', exitCode: null }, { kind: 'canceled' }],
  ] as [ContainerOutcome, Record<string, unknown>][])('%o → %o', async (result, expected) => {
    const { runtime } = scripted(result);
    const outcome = await containerRunner(runtime, CONFIG).run(payload(), context());
    expect(outcome).toMatchObject(expected);
    if (result.kind === 'timed_out' && result.exitCode === null)
      expect(outcome).not.toHaveProperty('exitCode');
  });

  it('names the memory limit when the container was killed, and the timeout when it ran out', async () => {
    const killed = await containerRunner(
      scripted({ kind: 'exited', exitCode: 137, killed: true, oomKilled: false }).runtime,
      CONFIG,
    ).run(payload({ resources: { memory_mb: 128 } }), context());
    expect(killed).toMatchObject({ message: expect.stringMatching(/memory limit of 128 MiB/) });
    const late = await containerRunner(scripted({ kind: 'timed_out', exitCode: null }).runtime, CONFIG).run(
      payload({ timeout: '2s' }),
      context(),
    );
    expect(late).toMatchObject({ message: 'the container did not finish within 2s and was stopped' });
  });

  it('runs the job attempt with the payload and the defaults within the policy', async () => {
    const { runtime, specs } = scripted({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
    await containerRunner(runtime, CONFIG).run(payload({ env: { A: '1' } }), context());
    expect(specs).toEqual([
      expect.objectContaining({
        jobId: 'job-1',
        workflowId: 'wf-1',
        attempt: 2,
        image: 'alpine:3.20',
        cmd: ['true'],
        env: { A: '1' },
        cpus: 1,
        memoryMb: 256,
        pids: 64,
        network: 'none',
        readOnlyRootFs: false,
        user: null,
      }),
    ]);
  });

  it('turns the runtime errors into USER or SYSTEM failures and lets anything else through', async () => {
    const missing = await containerRunner(
      scripted(new ImageNotFoundError('alpine:3.20', 'not found')).runtime,
      CONFIG,
    ).run(payload(), context());
    expect(missing).toMatchObject({
      kind: 'failed',
      errorKind: 'USER',
      code: 'IMAGE_NOT_FOUND',
      retryable: false,
    });
    const down = await containerRunner(
      scripted(new ContainerRuntimeUnavailableError('connect ECONNREFUSED')).runtime,
      CONFIG,
    ).run(payload(), context());
    expect(down).toMatchObject({
      kind: 'failed',
      errorKind: 'SYSTEM',
      code: 'CONTAINER_RUNTIME_UNAVAILABLE',
      retryable: true,
      message: 'the container runtime is unreachable: connect ECONNREFUSED',
    });
    const bug = new TypeError('unexpected');
    await expect(containerRunner(scripted(bug).runtime, CONFIG).run(payload(), context())).rejects.toBe(bug);
  });

  it('refuses before calling the runtime: a registry not allowed, the bridge network for a user', async () => {
    const { runtime, specs } = scripted({ kind: 'exited', exitCode: 0, killed: false, oomKilled: false });
    const runner = containerRunner(runtime, CONFIG);
    const registry = await runner.run(payload({ image: 'evil.example.com/x:1' }), context());
    expect(registry).toMatchObject({
      kind: 'failed',
      errorKind: 'USER',
      code: 'CONTAINER_POLICY_REFUSED',
      retryable: false,
      message: expect.stringMatching(
        /^refused by container policy: the image comes from registry "evil.example.com"/,
      ),
    });
    const bridge = await runner.run(payload({ network: 'bridge' }), context('user'));
    expect(bridge).toMatchObject({
      code: 'CONTAINER_POLICY_REFUSED',
      message: 'refused by container policy: the bridge network is not allowed for this account',
    });
    expect(specs).toEqual([]);
    // An administrator may; so may a user when the policy allows the bridge network.
    expect(await runner.run(payload({ network: 'bridge' }), context('admin'))).toMatchObject({
      kind: 'succeeded',
    });
    const open = containerRunner(runtime, {
      ...CONFIG,
      containerPolicy: { ...POLICY, allowBridgeNetwork: true },
    });
    expect(await open.run(payload({ network: 'bridge' }), context('user'))).toMatchObject({
      kind: 'succeeded',
    });
  });

  it('without a runtime, fails as a retryable SYSTEM error', async () => {
    expect(await containerRunner(null, CONFIG).run(payload(), context())).toMatchObject({
      kind: 'failed',
      errorKind: 'SYSTEM',
      code: 'NO_CONTAINER_RUNTIME',
      retryable: true,
    });
  });

  it("parses a stored spec with the kind's schema: defaults filled, a wrong one named", () => {
    const runner = containerRunner(null, CONFIG);
    expect(runner.parse({ image: 'alpine:3.20' })).toMatchObject({
      ok: true,
      value: { network: 'none', cmd: null },
    });
    expect(runner.parse({ cmd: ['x'] })).toMatchObject({ ok: false, issues: [{ path: 'payload.image' }] });
  });
});

import { describe, expect, it } from 'vitest';
import {
  CONTAINER_POLICY_DEFAULTS,
  containerPolicyIssues,
  effectiveLimits,
  imageProblem,
  registryEntryProblem,
  registryOf,
  type ContainerPolicy,
} from './container-policy.ts';
import { validatePayload, type ContainerPayload } from './workflow-input.ts';

function payload(fields: Record<string, unknown>): ContainerPayload {
  const result = validatePayload('CONTAINER', { image: 'alpine:3.20', ...fields });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value as ContainerPayload;
}

describe('registryOf (the Docker reference grammar)', () => {
  it.each([
    ['alpine', 'docker.io'],
    ['alpine:3.20', 'docker.io'],
    ['library/alpine:3.20', 'docker.io'],
    ['org/app@sha256:' + 'a'.repeat(64), 'docker.io'],
    ['docker.io/library/alpine', 'docker.io'],
    ['index.docker.io/library/alpine', 'docker.io'],
    ['ghcr.io/org/app:1.0', 'ghcr.io'],
    ['GHCR.IO/org/app', 'ghcr.io'],
    ['localhost/chronoverse-test/busybox:latest', 'localhost'],
    ['localhost:5000/app', 'localhost:5000'],
    ['10.0.0.5:5000/evil:latest', '10.0.0.5:5000'],
    ['10.0.0.5/evil', '10.0.0.5'],
    ['registry.example.com/team/app', 'registry.example.com'],
    ['Upper/app', 'upper'],
    ['team:1/app', 'team:1'],
  ])('%s → %s', (image, registry) => {
    expect(registryOf(image)).toBe(registry);
  });
});

describe('registry allow-list', () => {
  const defaults = CONTAINER_POLICY_DEFAULTS;
  it.each([
    'alpine:3.20',
    'library/busybox',
    'docker.io/library/alpine:3.20',
    'ghcr.io/org/app:1.2.3',
    'quay.io/prometheus/node-exporter',
    'registry.k8s.io/pause:3.9',
    'public.ecr.aws/docker/library/alpine',
    'gcr.io/distroless/static',
    'mcr.microsoft.com/dotnet/runtime:8.0',
  ])('allows %s by default', (image) => {
    expect(imageProblem(image, defaults)).toBeNull();
  });

  it.each([
    ['10.0.0.5:5000/evil:latest', '10.0.0.5:5000'],
    ['10.0.0.5/evil', '10.0.0.5'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000'],
    ['localhost/app', 'localhost'],
    ['localhost:5000/app', 'localhost:5000'],
    ['ghcr.io:443/org/app', 'ghcr.io:443'],
    ['registry.internal.corp/app', 'registry.internal.corp'],
    ['metadata.google.internal/app', 'metadata.google.internal'],
    ['evil.ghcr.io/app', 'evil.ghcr.io'],
    ['ghcr.io.evil.com/app', 'ghcr.io.evil.com'],
  ])('refuses %s by default, naming %s and the setting', (image, registry) => {
    const problem = imageProblem(image, defaults);
    expect(problem).toContain(`"${registry}"`);
    expect(problem).toContain('CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES');
  });

  it('allows what an administrator lists, exactly, or under a wildcard', () => {
    const listed = { allowedRegistries: ['localhost', 'registry.example.com:5000', '*.corp.example'] };
    expect(imageProblem('localhost/chronoverse-test/busybox:latest', listed)).toBeNull();
    expect(imageProblem('localhost:5000/app', listed)).not.toBeNull();
    expect(imageProblem('registry.example.com:5000/app', listed)).toBeNull();
    expect(imageProblem('registry.example.com/app', listed)).not.toBeNull();
    expect(imageProblem('a.corp.example/app', listed)).toBeNull();
    expect(imageProblem('a.b.corp.example/app', listed)).toBeNull();
    expect(imageProblem('corp.example/app', listed)).not.toBeNull();
    expect(imageProblem('a.corp.example:5000/app', listed)).not.toBeNull();
    expect(imageProblem('alpine', listed)).not.toBeNull();
  });

  it('checks the entries of the setting', () => {
    for (const ok of [
      'ghcr.io',
      'registry.example.com:5000',
      '*.example.com',
      'localhost',
      '10.0.0.5:5000',
    ]) {
      expect(registryEntryProblem(ok), ok).toBeNull();
    }
    for (const bad of ['*', '*.com', 'https://ghcr.io', 'ghcr.io/org', 'a b', '-x.io', '']) {
      expect(registryEntryProblem(bad), bad).not.toBeNull();
    }
  });
});

describe('containerPolicyIssues', () => {
  const policy: ContainerPolicy = { ...CONTAINER_POLICY_DEFAULTS };

  it('accepts the defaults for everyone', () => {
    expect(containerPolicyIssues(payload({}), 'user', policy)).toEqual([]);
  });

  it('keeps the bridge network for administrators unless the administrator allows it', () => {
    const bridge = payload({ network: 'bridge' });
    expect(containerPolicyIssues(bridge, 'user', policy)).toEqual([
      {
        path: 'payload.network',
        message: expect.stringContaining('CHRONOVERSE_CONTAINERS_ALLOW_BRIDGE_NETWORK'),
      },
    ]);
    expect(containerPolicyIssues(bridge, 'admin', policy)).toEqual([]);
    expect(containerPolicyIssues(bridge, 'user', { ...policy, allowBridgeNetwork: true })).toEqual([]);
  });

  it('names each ceiling a payload goes over, for every role', () => {
    const greedy = payload({
      image: '10.0.0.5:5000/evil:latest',
      resources: { cpus: 64, memory_mb: 262_144, pids: 32_768 },
      timeout: '1h',
    });
    const issues = containerPolicyIssues(greedy, 'admin', { ...policy, maxTimeoutMs: 600_000 });
    expect(issues.map((i) => i.path)).toEqual([
      'payload.image',
      'payload.resources.cpus',
      'payload.resources.memory_mb',
      'payload.resources.pids',
      'payload.timeout',
    ]);
    expect(issues[1]!.message).toBe(
      "must be at most 2 (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_CPUS)",
    );
    expect(issues[2]!.message).toContain('at most 2048');
    expect(issues[2]!.message).toContain('CHRONOVERSE_CONTAINERS_MAX_MEMORY_MB');
    expect(issues[3]!.message).toContain('at most 1024');
    expect(issues[3]!.message).toContain('CHRONOVERSE_CONTAINERS_MAX_PIDS');
    expect(issues[4]!.message).toContain('at most 10m');
    expect(issues[4]!.message).toContain('CHRONOVERSE_CONTAINERS_MAX_TIMEOUT');
  });

  it('accepts exactly the ceilings', () => {
    const atCeilings = payload({ resources: { cpus: 2, memory_mb: 2048, pids: 1024 }, timeout: '1h' });
    expect(containerPolicyIssues(atCeilings, 'user', policy)).toEqual([]);
  });

  it('runs stored workflows within ceilings lowered since', () => {
    const stored = payload({ resources: { cpus: 8, memory_mb: null, pids: 4096 }, timeout: '1h' });
    expect(
      effectiveLimits(
        stored,
        { cpus: 1, memoryMb: 4096, pids: 256, timeoutMs: 30_000 },
        {
          ...policy,
          maxTimeoutMs: 60_000,
        },
      ),
    ).toEqual({ cpus: 2, memoryMb: 2048, pids: 1024, timeoutMs: 60_000 });
  });
});

describe('container payload: hardening fields', () => {
  it('defaults to a writable root and the image user', () => {
    expect(payload({})).toMatchObject({ read_only_root_fs: false, user: null });
  });

  it('accepts uid and uid:gid, nothing else', () => {
    expect(payload({ user: '1000' }).user).toBe('1000');
    expect(payload({ user: '65534:65534', read_only_root_fs: true })).toMatchObject({
      user: '65534:65534',
      read_only_root_fs: true,
    });
    for (const bad of ['root', '1000:', ':1000', '1000:1000:1', '-1', '99999999999', '4294967295']) {
      const result = validatePayload('CONTAINER', { image: 'alpine', user: bad });
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual(['payload.user']);
    }
    const notBool = validatePayload('CONTAINER', { image: 'alpine', read_only_root_fs: 'yes' });
    expect(notBool.ok).toBe(false);
  });
});

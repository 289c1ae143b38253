/**
 * The container policy: where images may come from, what a container may ask for, and what it
 * is granted.
 *
 * Design note
 *
 * - Registries: an image reference names its registry host in its first path component when that
 *   component contains a `.` or a `:`, is `localhost`, or has an upper-case letter (the Docker
 *   reference grammar); otherwise it is on Docker Hub (`docker.io`). The host, with its port, must
 *   be in the allow-list exactly, or match a `*.suffix` entry. So IP literals, `localhost` and
 *   names with a port are refused unless an administrator lists them, and a pull can never be
 *   aimed at an internal address by a user. Checked at create and edit, by the build before it
 *   makes sure the image is present, by the executor before each run and by the runtime before
 *   any pull.
 * - Capabilities: every container starts with CapDrop ALL plus CONTAINER_CAPABILITIES, the
 *   smallest set that keeps ordinary images working when they run as root: CHOWN, DAC_OVERRIDE and
 *   FOWNER (package managers, entrypoints fixing ownership of their files), SETUID, SETGID and KILL
 *   (entrypoints that drop to an unprivileged user with su-exec/gosu/setpriv, and signal it), and
 *   NET_BIND_SERVICE (a server on a port below 1024 on the bridge network). Left out of Docker's
 *   default set: NET_RAW (raw sockets: ARP/ICMP spoofing on the bridge), MKNOD (device nodes),
 *   SETFCAP and SETPCAP (granting capabilities to files and processes), FSETID (keeping set-id bits
 *   on modified files), SYS_CHROOT and AUDIT_WRITE. `no-new-privileges` is always on, so set-id
 *   binaries and file capabilities cannot raise a process above this set either.
 * - Ceilings: the administrator's maximum CPUs, memory, processes and timeout. A workflow asking
 *   for more is a 400 naming the ceiling; a workflow stored before a ceiling was lowered runs
 *   within it (clamped by the executor).
 * - The bridge network is for administrators, or for everyone when the administrator allows it.
 *
 * Pure: no I/O.
 */
import type { FieldIssue } from './errors.ts';
import { formatDuration, parseDuration } from './duration.ts';
import type { OutboundRole } from './outbound-policy.ts';
import type { ContainerPayload } from './workflow-input.ts';

export const DEFAULT_ALLOWED_REGISTRIES = [
  'docker.io',
  'ghcr.io',
  'quay.io',
  'registry.k8s.io',
  'public.ecr.aws',
  'gcr.io',
  'mcr.microsoft.com',
] as const;

/** Capabilities a container keeps (everything else is dropped); see the design note. */
export const CONTAINER_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'KILL',
  'SETGID',
  'SETUID',
  'NET_BIND_SERVICE',
] as const;

export const CONTAINER_SETTINGS = {
  allowedRegistries: 'CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES',
  allowBridgeNetwork: 'CHRONOVERSE_CONTAINERS_ALLOW_BRIDGE_NETWORK',
  maxCpus: 'CHRONOVERSE_CONTAINERS_MAX_CPUS',
  maxMemoryMb: 'CHRONOVERSE_CONTAINERS_MAX_MEMORY_MB',
  maxPids: 'CHRONOVERSE_CONTAINERS_MAX_PIDS',
  maxTimeoutMs: 'CHRONOVERSE_CONTAINERS_MAX_TIMEOUT',
} as const;

export interface ContainerPolicy {
  /** Registry hosts (with port when they have one) or `*.suffix` entries, lower case. */
  allowedRegistries: readonly string[];
  /** Non-administrators may use the bridge network. */
  allowBridgeNetwork: boolean;
  maxCpus: number;
  maxMemoryMb: number;
  maxPids: number;
  maxTimeoutMs: number;
}

export const CONTAINER_POLICY_DEFAULTS: ContainerPolicy = {
  allowedRegistries: DEFAULT_ALLOWED_REGISTRIES,
  allowBridgeNetwork: false,
  maxCpus: 2,
  maxMemoryMb: 2048,
  maxPids: 1024,
  maxTimeoutMs: 3_600_000,
};

/** The registry host (`host[:port]`, lower case) an image reference pulls from. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  if (!isHost) return 'docker.io';
  const host = first.toLowerCase();
  // Docker's legacy name for Docker Hub.
  return host === 'index.docker.io' ? 'docker.io' : host;
}

const ENTRY =
  /^(\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/;

/** What is wrong with an allow-list entry (null: nothing); for the configuration. */
export function registryEntryProblem(entry: string): string | null {
  if (!ENTRY.test(entry)) {
    return `"${entry}" is not a registry host such as ghcr.io, registry.example.com:5000 or *.example.com`;
  }
  if (entry.startsWith('*.') && !entry.slice(2).includes('.')) {
    return `"${entry}": a wildcard must keep at least two labels (*.example.com)`;
  }
  return null;
}

export function registryAllowed(registry: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    if (!entry.startsWith('*.')) return entry === registry;
    const [suffix, port] = entry.slice(1).split(':') as [string, string | undefined];
    const [host, hostPort] = registry.split(':') as [string, string | undefined];
    return host.endsWith(suffix) && host.length > suffix.length && port === hostPort;
  });
}

/** Why an image may not be used (null: it may); names the registry and the setting. */
export function imageProblem(
  image: string,
  policy: Pick<ContainerPolicy, 'allowedRegistries'>,
): string | null {
  const registry = registryOf(image);
  if (registryAllowed(registry, policy.allowedRegistries)) return null;
  const list = policy.allowedRegistries.length > 0 ? policy.allowedRegistries.join(', ') : 'none';
  return `comes from registry "${registry}", which is not allowed (allowed: ${list}; an administrator can add it to ${CONTAINER_SETTINGS.allowedRegistries})`;
}

const atMost = (ceiling: string, setting: string) =>
  `must be at most ${ceiling} (the administrator's ceiling ${setting})`;

/** Every way a container payload breaks the policy for a user of `role`, as field issues. */
export function containerPolicyIssues(
  payload: ContainerPayload,
  role: OutboundRole,
  policy: ContainerPolicy,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const image = imageProblem(payload.image, policy);
  if (image) issues.push({ path: 'payload.image', message: image });
  if (payload.network === 'bridge' && role !== 'admin' && !policy.allowBridgeNetwork) {
    issues.push({
      path: 'payload.network',
      message: `"bridge" is for administrators unless an administrator allows it (${CONTAINER_SETTINGS.allowBridgeNetwork})`,
    });
  }
  const r = payload.resources;
  if (r.cpus !== null && r.cpus > policy.maxCpus) {
    issues.push({
      path: 'payload.resources.cpus',
      message: atMost(String(policy.maxCpus), CONTAINER_SETTINGS.maxCpus),
    });
  }
  if (r.memory_mb !== null && r.memory_mb > policy.maxMemoryMb) {
    issues.push({
      path: 'payload.resources.memory_mb',
      message: atMost(String(policy.maxMemoryMb), CONTAINER_SETTINGS.maxMemoryMb),
    });
  }
  if (r.pids !== null && r.pids > policy.maxPids) {
    issues.push({
      path: 'payload.resources.pids',
      message: atMost(String(policy.maxPids), CONTAINER_SETTINGS.maxPids),
    });
  }
  const timeoutMs = parseDuration(payload.timeout);
  if (timeoutMs !== null && timeoutMs > policy.maxTimeoutMs) {
    issues.push({
      path: 'payload.timeout',
      message: atMost(formatDuration(policy.maxTimeoutMs), CONTAINER_SETTINGS.maxTimeoutMs),
    });
  }
  return issues;
}

/** Limits of one run: the workflow's (or the executor's default), never above the ceilings. */
export function effectiveLimits(
  payload: ContainerPayload,
  defaults: { cpus: number; memoryMb: number; pids: number; timeoutMs: number },
  policy: ContainerPolicy,
): { cpus: number; memoryMb: number; pids: number; timeoutMs: number } {
  const r = payload.resources;
  return {
    cpus: Math.min(r.cpus ?? defaults.cpus, policy.maxCpus),
    memoryMb: Math.min(r.memory_mb ?? defaults.memoryMb, policy.maxMemoryMb),
    pids: Math.min(r.pids ?? defaults.pids, policy.maxPids),
    timeoutMs: Math.min(parseDuration(payload.timeout) ?? defaults.timeoutMs, policy.maxTimeoutMs),
  };
}

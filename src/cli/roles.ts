/**
 * Roles, Loki-style: every module has a name, the modules it needs, and an `init` that starts it.
 * `chronoverse start --role a,b` resolves the dependency graph, starts modules in dependency
 * order and stops them in reverse. `all` is only an alias.
 *
 * Two edges depend on the profile (see `resolveModules`): the gateway needs the users, workflows
 * and jobs services in its own process only when no gRPC address is configured for them, and the
 * workflow-worker needs the outbox relay beside it only on the in-process bus (with Kafka the
 * relay may run anywhere). The same holds for the notifications and analytics services: a
 * gateway pulls them in only when no gRPC address is configured for them.
 */
export const ROLE_DEPS = {
  db: [],
  users: ['db'],
  workflows: ['db'],
  jobs: ['db'],
  // In-app notifications and webhooks: the service, the consumer that creates them, the webhook sender.
  notifications: ['db'],
  analytics: ['db'],
  gateway: ['users', 'workflows', 'jobs', 'notifications', 'analytics'],
  'outbox-relay': ['db'],
  scheduler: ['db'],
  'workflow-worker': ['db', 'outbox-relay'],
  executor: ['db'],
  // Log maintenance: daily partitions ahead, whole days dropped past the retention period.
  joblogs: ['db'],
  // Aggregates job outcomes into the analytics tables.
  'analytics-processor': ['db'],
} as const satisfies Record<string, readonly string[]>;

/** The domain services the gateway calls (in process, or over gRPC when an address is set). */
export const SERVICE_ROLES = ['users', 'workflows', 'jobs', 'notifications', 'analytics'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

export interface Topology {
  /** Services reached over gRPC: the gateway does not pull them into its process. */
  remoteServices: readonly ServiceRole[];
  /** Kafka carries the bus: a consumer no longer needs the relay in its process. */
  kafka: boolean;
}

const EMBEDDED: Topology = { remoteServices: [], kafka: false };

export type ModuleName = keyof typeof ROLE_DEPS;

/** Modules a user may ask for by name (the rest are infrastructure). */
export const ROLES = [
  'gateway',
  'users',
  'workflows',
  'jobs',
  'notifications',
  'analytics',
  'outbox-relay',
  'scheduler',
  'workflow-worker',
  'executor',
  'joblogs',
  'analytics-processor',
] as const satisfies readonly ModuleName[];
export type RoleName = (typeof ROLES)[number];

export const ROLE_ALIASES: Record<string, readonly RoleName[]> = {
  all: ROLES,
  api: ['gateway'],
  workers: ['outbox-relay', 'scheduler', 'workflow-worker', 'executor', 'joblogs', 'analytics-processor'],
};

export class UnknownRoleError extends Error {}

/** Expands aliases and dependencies; returns modules in start order (dependencies first). */
export function resolveModules(requested: readonly string[], topology: Topology = EMBEDDED): ModuleName[] {
  const wanted = new Set<ModuleName>();
  for (const name of requested.length === 0 ? ['all'] : requested) {
    const alias = ROLE_ALIASES[name];
    if (alias) alias.forEach((r) => wanted.add(r));
    else if ((ROLES as readonly string[]).includes(name)) wanted.add(name as RoleName);
    else {
      throw new UnknownRoleError(
        `unknown role "${name}"; known roles: ${ROLES.join(', ')}; aliases: ${Object.keys(ROLE_ALIASES).join(', ')}`,
      );
    }
  }
  const order: ModuleName[] = [];
  const visit = (m: ModuleName) => {
    if (order.includes(m)) return;
    for (const dep of dependencies(m, topology)) visit(dep);
    order.push(m);
  };
  [...wanted].sort().forEach(visit);
  return order;
}

function dependencies(m: ModuleName, topology: Topology): readonly ModuleName[] {
  const deps: readonly ModuleName[] = ROLE_DEPS[m];
  if (m === 'gateway') return deps.filter((d) => !(topology.remoteServices as readonly string[]).includes(d));
  if (m === 'workflow-worker' && topology.kafka) return deps.filter((d) => d !== 'outbox-relay');
  return deps;
}

export function describeRoles(): string {
  const lines = Object.entries(ROLE_DEPS).map(
    ([name, deps]) => `${name.padEnd(10)} needs ${deps.length ? deps.join(', ') : '(nothing)'}`,
  );
  const aliases = Object.entries(ROLE_ALIASES).map(([a, roles]) => `${a.padEnd(10)} = ${roles.join(', ')}`);
  return [...lines, '', 'aliases:', ...aliases].join('\n');
}

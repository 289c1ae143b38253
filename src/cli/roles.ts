/**
 * Roles, Loki-style: every module has a name, the modules it needs, and an `init` that starts it.
 * `chronoverse start --role a,b` resolves the dependency graph, starts modules in dependency
 * order and stops them in reverse. `all` is only an alias.
 *
 * Implemented: the gateway, the users/workflows/jobs services (in-process), and the engine
 * workers (outbox-relay, scheduler, workflow-worker, executor). The notifications and analytics
 * roles and the joblogs processor come with later issues.
 */
export const ROLE_DEPS = {
  db: [],
  users: ['db'],
  workflows: ['db'],
  jobs: ['db'],
  gateway: ['users', 'workflows', 'jobs'],
  'outbox-relay': ['db'],
  scheduler: ['db'],
  // Without Kafka the bus is in-process: the relay must run where the event consumers run.
  'workflow-worker': ['db', 'outbox-relay'],
  executor: ['db'],
  // Log maintenance: daily partitions ahead, whole days dropped past the retention period.
  joblogs: ['db'],
} as const satisfies Record<string, readonly string[]>;

export type ModuleName = keyof typeof ROLE_DEPS;

/** Modules a user may ask for by name (the rest are infrastructure). */
export const ROLES = [
  'gateway',
  'users',
  'workflows',
  'jobs',
  'outbox-relay',
  'scheduler',
  'workflow-worker',
  'executor',
  'joblogs',
] as const satisfies readonly ModuleName[];
export type RoleName = (typeof ROLES)[number];

export const ROLE_ALIASES: Record<string, readonly RoleName[]> = {
  all: ROLES,
  api: ['gateway'],
  workers: ['outbox-relay', 'scheduler', 'workflow-worker', 'executor', 'joblogs'],
};

export class UnknownRoleError extends Error {}

/** Expands aliases and dependencies; returns modules in start order (dependencies first). */
export function resolveModules(requested: readonly string[]): ModuleName[] {
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
    for (const dep of ROLE_DEPS[m]) visit(dep);
    order.push(m);
  };
  [...wanted].sort().forEach(visit);
  return order;
}

export function describeRoles(): string {
  const lines = Object.entries(ROLE_DEPS).map(
    ([name, deps]) => `${name.padEnd(10)} needs ${deps.length ? deps.join(', ') : '(nothing)'}`,
  );
  const aliases = Object.entries(ROLE_ALIASES).map(([a, roles]) => `${a.padEnd(10)} = ${roles.join(', ')}`);
  return [...lines, '', 'aliases:', ...aliases].join('\n');
}

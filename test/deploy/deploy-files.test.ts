/**
 * The deployment files (Dockerfile, deploy/compose.yaml, deploy/k8s/) cannot run on the test
 * machine (no Docker engine, no cluster); this suite keeps them consistent with the code instead:
 * every variable they set is a real setting, every role is deployed in both, every process gets
 * what the distributed profile needs, ports agree between the settings, probes, Services and the
 * load balancer, and compose and Kubernetes agree with each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ROLES, SERVICE_ROLES } from '../../src/cli/roles.ts';
import { listLeaves } from '../../src/config/load.ts';

const LEAVES = new Set(listLeaves().map(({ leaf }) => leaf.env));
/** Variables the deployment files may set that are not Chronoverse settings (read by Node itself). */
const NON_CONFIG_ENV = new Set(['NODE_ENV']);
/** `process.env.X` reads in src/ that are not configuration leaves (there should be almost none). */
const PROCESS_ENV_ALLOWLIST = new Set<string>([]);
/** Third-party images and the variables their documentation defines. */
const THIRD_PARTY_ENV: Record<string, (name: string) => boolean> = {
  postgres: (n) => ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'].includes(n),
  // apache/kafka turns every KAFKA_FOO_BAR into the server property foo.bar.
  'apache/kafka': (n) => /^KAFKA_[A-Z0-9_]+$/.test(n),
  redis: () => false,
  nginx: () => false,
};

/** What every role process needs in the distributed profile. */
const DISTRIBUTED_ENV = [
  'DATABASE_URL',
  'REDIS_URL',
  'KAFKA_BROKERS',
  'CHRONOVERSE_SERVICE_PRIVATE_KEY',
  'CHRONOVERSE_SERVICE_PUBLIC_KEY',
  'CHRONOVERSE_USERS_URL',
  'CHRONOVERSE_WORKFLOWS_URL',
  'CHRONOVERSE_JOBS_URL',
  'CHRONOVERSE_NOTIFICATIONS_URL',
  'CHRONOVERSE_ANALYTICS_URL',
];
const SERVICE_URL_ENV: Record<(typeof SERVICE_ROLES)[number], string> = {
  users: 'CHRONOVERSE_USERS_URL',
  workflows: 'CHRONOVERSE_WORKFLOWS_URL',
  jobs: 'CHRONOVERSE_JOBS_URL',
  notifications: 'CHRONOVERSE_NOTIFICATIONS_URL',
  analytics: 'CHRONOVERSE_ANALYTICS_URL',
};
/** Roles that talk to the container runtime (runtime.ts opens it for these). */
const CONTAINER_ROLES = ['executor', 'workflow-worker'];

type Env = Record<string, string>;
type Obj = Record<string, unknown>;

const read = (path: string) => readFileSync(path, 'utf8');
function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`);
  return value;
}
const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** `start --role a,b` → ['a', 'b']; anything else → null. */
function rolesOf(args: unknown): string[] | null {
  if (!Array.isArray(args) || args[0] !== 'start') return null;
  const i = args.indexOf('--role');
  if (i < 0) return null;
  return String(args[i + 1])
    .split(',')
    .map((r) => r.trim());
}

function portOfUrl(url: string | undefined): { host: string; port: number } {
  const u = new URL(must(url, 'a URL'));
  return { host: u.hostname, port: Number(u.port) };
}

// --- docker compose ----------------------------------------------------------------------------
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  environment?: Env | string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  deploy?: { replicas?: number };
}
const composeText = read('deploy/compose.yaml');
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const service = (name: string) => must(services[name], `compose service ${name}`);

function composeEnv(svc: ComposeService): Env {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, text(v)]));
}
const isChronoverse = (svc: ComposeService) => svc.build !== undefined || /chronoverse/.test(svc.image ?? '');
const composeRoleServices = Object.entries(services).filter(([, s]) => rolesOf(s.command) !== null);

// --- kubernetes --------------------------------------------------------------------------------
interface K8sContainer {
  name: string;
  image?: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  grpc?: { port: number; service?: string };
}
interface K8sDoc {
  kind: string;
  metadata: { name: string; labels?: Env; annotations?: Env };
  spec?: Obj;
  data?: Env;
  stringData?: Env;
}

const K8S = 'deploy/k8s';
const kustomization = parse(read(join(K8S, 'kustomization.yaml'))) as { resources: string[] };
const k8sDocs: K8sDoc[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(read(join(K8S, file))).map((d) => d.toJS() as K8sDoc),
);
const secretTemplate = parse(read(join(K8S, 'secret.template.yaml'))) as K8sDoc;
const ofKind = (kind: string) => k8sDocs.filter((d) => d.kind === kind);
const configMaps = new Map(ofKind('ConfigMap').map((d) => [d.metadata.name, d.data ?? {}]));
const secrets = new Map([[secretTemplate.metadata.name, secretTemplate.stringData ?? {}]]);

function podSpec(doc: K8sDoc): { containers: K8sContainer[]; initContainers?: K8sContainer[] } {
  return (doc.spec as { template: { spec: { containers: K8sContainer[] } } }).template.spec;
}
function mainContainer(doc: K8sDoc): K8sContainer {
  const c = podSpec(doc).containers.find((x) => x.name === 'chronoverse');
  if (!c) throw new Error(`${doc.kind}/${doc.metadata.name} has no container named chronoverse`);
  return c;
}
/** The container's environment: envFrom (ConfigMap, Secret template) then env. */
function k8sEnv(c: K8sContainer): Env {
  const env: Env = {};
  for (const from of c.envFrom ?? []) {
    const source = from.configMapRef
      ? configMaps.get(from.configMapRef.name)
      : from.secretRef
        ? secrets.get(from.secretRef.name)
        : undefined;
    if (!source) throw new Error(`${c.name}: envFrom names an unknown ConfigMap or Secret`);
    Object.assign(env, Object.fromEntries(Object.entries(source).map(([k, v]) => [k, text(v)])));
  }
  for (const e of c.env ?? []) env[e.name] = text(e.value);
  return env;
}
function containerPort(c: K8sContainer, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`${c.name}: no port named ${port}`);
  return p.containerPort;
}
const deployments = ofKind('Deployment');
const k8sRoleDeployments = deployments.map((d) => ({
  doc: d,
  container: mainContainer(d),
  roles: rolesOf(mainContainer(d).args) ?? [],
}));

// --- shared expectations -----------------------------------------------------------------------
/** The port a process serves /healthz and /readyz on: PORT with a gateway, else the ops port. */
function httpPortOf(roles: string[], env: Env): number {
  if (roles.includes('gateway')) return Number(env.PORT || 8080);
  return Number(env.CHRONOVERSE_OPS_PORT || 0);
}

describe('process.env', () => {
  it('src/ reads no environment variable except through the configuration tree', () => {
    const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const unknown: string[] = [];
    for (const file of files) {
      const source = read(join('src', file));
      for (const m of source.matchAll(
        /process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"`]([^'"`]+)['"`]\s*\])/g,
      )) {
        const name = m[1] ?? m[2] ?? '';
        if (!LEAVES.has(name) && !PROCESS_ENV_ALLOWLIST.has(name)) unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const last = (keyword: string) => instructions.filter((l) => l.startsWith(`${keyword} `)).at(-1);
  const json = (keyword: string) => JSON.parse(last(keyword)!.slice(keyword.length + 1)) as string[];
  const stages = instructions.filter((l) => l.startsWith('FROM '));
  const runtime = instructions.slice(instructions.indexOf(stages.at(-1)!));
  const envs = Object.fromEntries(
    runtime
      .filter((l) => l.startsWith('ENV '))
      .flatMap((l) => [...l.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );

  it('runs src/cli/main.ts with node, `start` by default', () => {
    // --liftoff-only: no background recompiling of PGlite's WebAssembly (docs/performance.md, Startup).
    expect(json('ENTRYPOINT')).toEqual(['node', '--liftoff-only', 'src/cli/main.ts']);
    expect(json('CMD')).toEqual(['start']);
  });

  it('is multi-stage on node:24-slim and runs as a non-root user', () => {
    expect(stages.length).toBeGreaterThan(1);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:24-slim/);
    expect(stages.every((s) => s.startsWith('FROM ${NODE_IMAGE}'))).toBe(true);
    const user = last('USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
  });

  it('ships the production dependencies, src and migrations', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    for (const path of ['src', 'packages/client', 'migrations', 'package.json']) {
      expect(runtime.some((l) => new RegExp(`^COPY ${path} `).test(l))).toBe(true);
    }
    // npm ci needs every workspace's package.json (packages/*) before it runs.
    expect(dockerfile).toMatch(
      /COPY packages\/client\/package\.json \.\/packages\/client\/\n[^]*npm ci --omit=dev/,
    );
    const ignore = read('.dockerignore');
    for (const path of [
      'src/',
      'packages/client/src/',
      'packages/client/package.json',
      'migrations/',
      'package.json',
      'package-lock.json',
    ]) {
      expect(ignore).toContain(`!${path}`);
    }
  });

  it('sets only real settings, with the ports the deploy files use', () => {
    expect(Object.keys(envs).filter((k) => !LEAVES.has(k) && !NON_CONFIG_ENV.has(k))).toEqual([]);
    const exposed = (last('EXPOSE') ?? '').split(/\s+/).slice(1).map(Number);
    const gateway = composeEnv(service('gateway'));
    const users = composeEnv(service('users'));
    expect(Number(envs.PORT)).toBe(Number(gateway.PORT));
    expect(Number(envs.CHRONOVERSE_OPS_PORT)).toBe(Number(users.CHRONOVERSE_OPS_PORT));
    expect(Number(envs.CHRONOVERSE_RPC_PORT)).toBe(Number(users.CHRONOVERSE_RPC_PORT));
    expect(exposed.sort()).toEqual(
      [envs.PORT, envs.CHRONOVERSE_OPS_PORT, envs.CHRONOVERSE_RPC_PORT].map(Number).sort(),
    );
  });

  it('has a HEALTHCHECK on /healthz', () => {
    expect(last('HEALTHCHECK')).toMatch(/\/healthz/);
  });
});

describe('deploy/compose.yaml', () => {
  it('deploys every role of src/cli/roles.ts, each container naming real roles', () => {
    const deployed = new Set<string>();
    for (const [name, svc] of composeRoleServices) {
      const roles = rolesOf(svc.command)!;
      for (const r of roles) expect(ROLES, `service ${name}`).toContain(r);
      roles.forEach((r) => deployed.add(r));
      if (roles.length === 1) expect(name).toBe(roles[0]);
    }
    expect([...deployed].sort()).toEqual([...ROLES].sort());
  });

  it('sets only real settings in Chronoverse containers, and documented variables in the others', () => {
    for (const [name, svc] of Object.entries(services)) {
      const keys = Object.keys(composeEnv(svc));
      if (isChronoverse(svc)) {
        expect(
          keys.filter((k) => !LEAVES.has(k) && !NON_CONFIG_ENV.has(k)),
          `service ${name}`,
        ).toEqual([]);
      } else {
        const image = (svc.image ?? '').split(':')[0] ?? '';
        const allowed = must(THIRD_PARTY_ENV[image], `THIRD_PARTY_ENV entry for image ${image} of ${name}`);
        expect(
          keys.filter((k) => !allowed(k)),
          `service ${name}`,
        ).toEqual([]);
      }
    }
  });

  it('gives every role what the distributed profile needs', () => {
    for (const [name, svc] of composeRoleServices) {
      const env = composeEnv(svc);
      for (const key of DISTRIBUTED_ENV) expect(env[key], `${key} in ${name}`).toBeTruthy();
      const roles = rolesOf(svc.command)!;
      if (roles.includes('gateway')) {
        expect(env.HOST, `HOST in ${name}`).toBe('0.0.0.0');
        expect(Number(env.PORT), `PORT in ${name}`).toBeGreaterThan(0);
        // One proxy hop (nginx); "true" (trust every client) is refused at config load.
        expect(env.CHRONOVERSE_SERVER_TRUST_PROXY, `${name} is behind nginx`).toBe('1');
      } else {
        expect(env.CHRONOVERSE_OPS_HOST, `CHRONOVERSE_OPS_HOST in ${name}`).toBe('0.0.0.0');
        expect(Number(env.CHRONOVERSE_OPS_PORT), `CHRONOVERSE_OPS_PORT in ${name}`).toBeGreaterThan(0);
      }
      if (roles.some((r) => (SERVICE_ROLES as readonly string[]).includes(r))) {
        expect(env.CHRONOVERSE_RPC_HOST, `CHRONOVERSE_RPC_HOST in ${name}`).toBe('0.0.0.0');
      }
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
      expect(portOfUrl(env.REDIS_URL).host).toBe('redis');
      expect((env.KAFKA_BROKERS ?? '').split(',').map((b) => b.split(':')[0])).toEqual(['kafka']);
    }
  });

  it('points each service URL at the service running that role, on its gRPC port', () => {
    const gatewayEnv = composeEnv(service('gateway'));
    for (const role of SERVICE_ROLES) {
      const { host, port } = portOfUrl(gatewayEnv[SERVICE_URL_ENV[role]]);
      const target = must(services[host], `${SERVICE_URL_ENV[role]} → compose service ${host}`);
      expect(target, `${SERVICE_URL_ENV[role]} → ${host}`).toBeDefined();
      expect(rolesOf(target.command)).toContain(role);
      expect(Number(composeEnv(target).CHRONOVERSE_RPC_PORT)).toBe(port);
    }
  });

  it('health checks hit /readyz on the port each process serves', () => {
    for (const [name, svc] of composeRoleServices) {
      const test = JSON.stringify(svc.healthcheck?.test ?? '');
      const port = httpPortOf(rolesOf(svc.command)!, composeEnv(svc));
      expect(test, `healthcheck of ${name}`).toContain(`127.0.0.1:${port}/readyz`);
    }
  });

  it('runs migrate once, before every role, after PostgreSQL is healthy', () => {
    expect(service('migrate').command).toEqual(['migrate']);
    expect(service('migrate').depends_on?.postgres?.condition).toBe('service_healthy');
    for (const [name, svc] of composeRoleServices) {
      expect(svc.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
      for (const infra of ['postgres', 'redis', 'kafka']) {
        expect(svc.depends_on?.[infra]?.condition, `${name} → ${infra}`).toBe('service_healthy');
      }
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(services[dep], dep).toBeDefined();
      for (const infra of ['postgres', 'redis', 'kafka']) {
        expect(service(infra).healthcheck?.test, infra).toBeDefined();
      }
    }
    // The gateway waits for the services it calls.
    for (const role of SERVICE_ROLES) {
      expect(service('gateway').depends_on?.[role]?.condition).toBe('service_healthy');
    }
  });

  it('scales the stateless and shared-work roles, the relay included (relays claim their batches)', () => {
    const replicas = (name: string) => service(name).deploy?.replicas ?? 1;
    expect(replicas('gateway')).toBeGreaterThanOrEqual(2);
    expect(replicas('executor')).toBeGreaterThanOrEqual(2);
    expect(replicas('scheduler')).toBeGreaterThanOrEqual(2);
    expect(replicas('outbox-relay')).toBeGreaterThanOrEqual(2);
  });

  it('gives the container roles the host Docker socket at DOCKER_HOST', () => {
    for (const role of CONTAINER_ROLES) {
      const svc = service(role);
      const dockerHost = composeEnv(svc).DOCKER_HOST;
      expect(dockerHost, role).toMatch(/^unix:\/\//);
      const socket = (dockerHost ?? '').slice('unix://'.length);
      expect(svc.volumes ?? [], role).toContain(`/var/run/docker.sock:${socket}`);
    }
  });

  it('takes every ${VARIABLE} it interpolates from deploy/.env.example', () => {
    const example = read('deploy/.env.example');
    const defined = new Set([...example.matchAll(/^#?\s*([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const used = new Set([...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    expect([...used].filter((v) => !defined.has(v))).toEqual([]);
  });

  it('balances the gateways with nginx, SSE-friendly', () => {
    const lb = service('lb');
    expect(lb.image).toMatch(/^nginx:/);
    expect(lb.depends_on?.gateway?.condition).toBe('service_healthy');
    const conf = read('deploy/nginx.conf');
    expect(lb.volumes).toContain('./nginx.conf:/etc/nginx/conf.d/default.conf:ro');
    expect(conf).toContain(`server gateway:${composeEnv(service('gateway')).PORT} `);
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    const timeout = /proxy_read_timeout (\d+)(s|m|h);/.exec(conf);
    expect(timeout).not.toBeNull();
    const seconds = Number(timeout![1]) * { s: 1, m: 60, h: 3600 }[timeout![2] as 's' | 'm' | 'h'];
    expect(seconds).toBeGreaterThanOrEqual(600);
  });
});

describe('deploy/k8s', () => {
  it('kustomization lists every manifest (the Secret template excepted) and nothing missing', () => {
    const files = readdirSync(K8S).filter(
      (f) => f.endsWith('.yaml') && !['kustomization.yaml', 'secret.template.yaml'].includes(f),
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('has one Deployment per role of src/cli/roles.ts, each naming real roles', () => {
    const deployed = new Set<string>();
    for (const { doc, roles } of k8sRoleDeployments) {
      expect(roles.length, `${doc.metadata.name} runs start --role`).toBeGreaterThan(0);
      for (const r of roles) expect(ROLES, `deployment ${doc.metadata.name}`).toContain(r);
      roles.forEach((r) => deployed.add(r));
      if (roles.length === 1) expect(doc.metadata.name).toBe(roles[0]);
    }
    expect([...deployed].sort()).toEqual([...ROLES].sort());
  });

  it('sets only real settings, and everything the distributed profile needs', () => {
    const all = [
      ...k8sRoleDeployments.map((d) => d.container),
      ...ofKind('Job').map((j) => mainContainer(j)),
    ];
    for (const c of all) {
      const keys = Object.keys(k8sEnv(c));
      expect(keys.filter((k) => !LEAVES.has(k) && !NON_CONFIG_ENV.has(k))).toEqual([]);
    }
    for (const { doc, container, roles } of k8sRoleDeployments) {
      const env = k8sEnv(container);
      for (const key of DISTRIBUTED_ENV) expect(env[key], `${key} in ${doc.metadata.name}`).toBeTruthy();
      if (roles.includes('gateway')) {
        expect(env.HOST).toBe('0.0.0.0');
        expect(env.CHRONOVERSE_SERVER_TRUST_PROXY).toBe('1');
      } else {
        expect(env.CHRONOVERSE_OPS_HOST).toBe('0.0.0.0');
        expect(Number(env.CHRONOVERSE_OPS_PORT)).toBeGreaterThan(0);
      }
      if (roles.some((r) => (SERVICE_ROLES as readonly string[]).includes(r))) {
        expect(env.CHRONOVERSE_RPC_HOST).toBe('0.0.0.0');
      }
      if (roles.some((r) => CONTAINER_ROLES.includes(r))) {
        expect(env.DOCKER_HOST, `DOCKER_HOST in ${doc.metadata.name}`).toBeTruthy();
      }
    }
  });

  it('probes /readyz and /healthz on the configured ports; gRPC health on the service roles', () => {
    for (const { doc, container, roles } of k8sRoleDeployments) {
      const env = k8sEnv(container);
      const name = doc.metadata.name;
      const httpPort = httpPortOf(roles, env);
      const live = container.livenessProbe?.httpGet;
      expect(live?.path, `liveness of ${name}`).toBe('/healthz');
      expect(containerPort(container, live!.port), `liveness port of ${name}`).toBe(httpPort);
      const ready = container.readinessProbe;
      const isService = roles.some((r) => (SERVICE_ROLES as readonly string[]).includes(r));
      if (isService && !roles.includes('gateway')) {
        expect(ready?.grpc?.port, `gRPC readiness of ${name}`).toBe(Number(env.CHRONOVERSE_RPC_PORT));
      } else {
        expect(ready?.httpGet?.path, `readiness of ${name}`).toBe('/readyz');
        expect(containerPort(container, ready!.httpGet!.port), `readiness port of ${name}`).toBe(httpPort);
      }
    }
  });

  it('has Services for the gateway and the gRPC services, matching URLs and container ports', () => {
    const svcs = new Map(ofKind('Service').map((s) => [s.metadata.name, s]));
    const ports = (s: K8sDoc) =>
      (s.spec as { ports: Array<{ name: string; port: number; targetPort: number | string }> }).ports;
    const selected = (s: K8sDoc) => {
      const selector = (s.spec as { selector: Env }).selector;
      return k8sRoleDeployments.filter(({ doc }) => {
        const labels = (doc.spec as { template: { metadata: { labels: Env } } }).template.metadata.labels;
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
    };
    const gateway = svcs.get('gateway');
    expect(gateway).toBeDefined();
    const gw = must(selected(gateway!)[0], 'the gateway Deployment');
    expect(gw.roles).toContain('gateway');
    expect(containerPort(gw.container, must(ports(gateway!)[0], 'gateway Service port').targetPort)).toBe(
      Number(k8sEnv(gw.container).PORT),
    );

    const gatewayEnv = k8sEnv(gw.container);
    for (const role of SERVICE_ROLES) {
      const { host, port } = portOfUrl(gatewayEnv[SERVICE_URL_ENV[role]]);
      const svc = svcs.get(host);
      expect(svc, `${SERVICE_URL_ENV[role]} → Service ${host}`).toBeDefined();
      const targets = selected(svc!);
      expect(targets.length, `Service ${host} selects a Deployment`).toBeGreaterThan(0);
      for (const t of targets) expect(t.roles).toContain(role);
      const first = must(targets[0], `Deployment behind ${host}`);
      const p = ports(svc!).find((x) => x.port === port);
      expect(p, `Service ${host} exposes ${port}`).toBeDefined();
      expect(containerPort(first.container, p!.targetPort)).toBe(
        Number(k8sEnv(first.container).CHRONOVERSE_RPC_PORT),
      );
    }
  });

  it('runs two outbox relays for fail-over (they claim batches: docs/deployment.md)', () => {
    const relay = must(
      k8sRoleDeployments.find((d) => d.roles.includes('outbox-relay')),
      'the outbox-relay Deployment',
    );
    expect((relay.doc.spec as { replicas?: number }).replicas).toBeGreaterThanOrEqual(2);
  });

  it('runs migrate as a Job, and guards the gateway and executors with PodDisruptionBudgets', () => {
    const job = must(ofKind('Job')[0], 'the migrate Job');
    expect(mainContainer(job).args).toEqual(['migrate']);
    expect(k8sEnv(mainContainer(job)).DATABASE_URL).toBeTruthy();
    const pdbSelects = ofKind('PodDisruptionBudget').map(
      (p) =>
        (p.spec as { selector: { matchLabels: Env } }).selector.matchLabels['app.kubernetes.io/component'],
    );
    expect(pdbSelects.sort()).toEqual(['executor', 'gateway']);
  });

  it('exposes the gateway through an SSE-friendly Ingress', () => {
    const ingress = must(ofKind('Ingress')[0], 'the Ingress');
    const annotations = ingress.metadata.annotations ?? {};
    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(600);
    expect(JSON.stringify(ingress.spec)).toContain('"name":"gateway"');
  });
});

describe('compose and Kubernetes agree', () => {
  const composeGateway = composeEnv(service('gateway'));
  const k8sGateway = k8sEnv(k8sRoleDeployments.find((d) => d.roles.includes('gateway'))!.container);

  it('on ports and service addresses', () => {
    for (const key of [
      'PORT',
      'CHRONOVERSE_OPS_PORT',
      'CHRONOVERSE_RPC_PORT',
      'CHRONOVERSE_USERS_URL',
      'CHRONOVERSE_WORKFLOWS_URL',
      'CHRONOVERSE_JOBS_URL',
    ]) {
      expect(k8sGateway[key], key).toBe(composeGateway[key]);
    }
  });

  it('on the role each container runs', () => {
    const composeRoles = composeRoleServices.map(([name, s]) => `${name}=${rolesOf(s.command)!.join(',')}`);
    const k8sRoles = k8sRoleDeployments.map((d) => `${d.doc.metadata.name}=${d.roles.join(',')}`);
    expect(k8sRoles.sort()).toEqual(composeRoles.sort());
  });
});

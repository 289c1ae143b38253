/**
 * What the roles of one process are built on, opened once, before any role builds its services,
 * and only what those roles declare they need (`needs` in src/cli/role-services.ts):
 *
 * - `db`: the database (opened, migrated, its clock measured) and the bus over it: Kafka when
 *   configured, otherwise in-process behind the outbox relay. Every process on the database opens
 *   Kafka, as before the role table: the first one up creates the topics.
 * - `containers`: the container runtime (Docker API), used even while none answers.
 * - `artifacts`: the artifact store (a directory or S3).
 * - `rpc-server`: the gRPC server of the service roles, unless the gateway runs in this process
 *   and calls them in it.
 *
 * Redis is opened whenever it is configured, whatever the roles: every role uses the process's
 * events (wake-ups), which Redis carries between processes. The operations server stands in front
 * of a process that runs no gateway.
 *
 * What only some profiles use is imported when used (Kafka, Redis): the embedded profile
 * (`npm start`) does not load their clients, which was about a second of CPU at every start on
 * the 2-core machine (docs/performance.md, Startup).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.ts';
import { imageProblem, type ContainerPolicy } from '../domain/container-policy.ts';
import { openArtifactStore } from '../platform/artifacts/open.ts';
import type { ArtifactStore } from '../platform/artifacts/store.ts';
import { InProcessBus, type Bus } from '../platform/bus/bus.ts';
import type { KafkaBus } from '../platform/bus/kafka-bus.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { DockerContainerRuntime } from '../platform/containers/docker-runtime.ts';
import type { ContainerRuntime } from '../platform/containers/runtime.ts';
import { DatabaseClock } from '../platform/db/database-clock.ts';
import { openDatabase, type Database } from '../platform/db/database.ts';
import { ensureJobLogPartitions, migrate } from '../platform/db/migrate.ts';
import type { DB } from '../platform/db/schema.ts';
import { Events } from '../platform/events.ts';
import { InMemoryLiveLogs, type LiveLogs } from '../platform/live-logs.ts';
import type { Logger } from '../platform/logger.ts';
import { instrumentContainerRuntime } from '../platform/metrics/containers.ts';
import { createMetricsRegistry } from '../platform/metrics/registry.ts';
import { readinessOf, startOpsServer, type ReadinessCheck } from '../platform/ops/ops-server.ts';
import { OutboundGuard } from '../platform/outbound/guard.ts';
import type { ProcessRedis } from '../platform/redis/connection.ts';
import { EventBridge } from '../platform/redis/event-bridge.ts';
import { RedisLiveLogs } from '../platform/redis/live-logs.ts';
import { loadServiceKeys, type ServiceKeys } from '../platform/rpc/identity.ts';
import { startRpcServer, type LocalServices } from '../platform/rpc/wiring.ts';
import { quotaDefaultsOf } from '../services/quotas/enforce.ts';
import type { Lifecycle, Service } from '../workers/service.ts';
import type { ModuleName } from './roles.ts';

/**
 * Start phases: lower phases start first, services of one phase in the order they were added
 * (the infrastructure's, then the role table's); stopping is the exact reverse
 * (docs/architecture.md, "Start order and stopping").
 */
export const PHASE = {
  /** Database (opened, migrated), Redis, the event bridge, the bus: needed to build the rest, closed last. */
  infrastructure: 0,
  /** The notifications role's consumers (notifications, webhooks, emails) and senders. */
  notifications: 1,
  /** The gRPC server of service roles without a gateway beside them. */
  rpc: 2,
  /** Workers that consume the bus: workflow worker, executor, analytics processor. */
  consumers: 3,
  /** Kafka joins the groups of everything subscribed above (creates the topics on first start). */
  busGroups: 4,
  /** Loops that write work: scheduler, log retention, outbox relay, housekeeping. */
  producers: 5,
  /** What takes requests: the gateway (with its service clients) or the operations server; stopped first. */
  front: 6,
} as const;

/** What a role may declare it needs (the module's note says what each opens). */
export type Need = 'db' | 'containers' | 'artifacts' | 'rpc-server';

/**
 * Everything a role builds its services from. `db`, `bus`, `containers` and `artifacts` throw for
 * a role that did not declare the need: the process does not start rather than start without it.
 */
export interface Infrastructure {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly events: Events;
  readonly metrics: ReturnType<typeof createMetricsRegistry>;
  /** Whether this process runs the module (roles resolved with their dependencies). */
  has(module: ModuleName): boolean;
  /** Adds services to the process's lifecycle (started by phase once every role added its own). */
  add(...services: Service[]): void;
  readonly database: Database | null;
  readonly db: Kysely<DB>;
  readonly bus: Bus;
  /** The Kafka bus when it carries the bus (re-driving parked messages, consumer lag). */
  readonly kafka: KafkaBus | null;
  readonly redis: ProcessRedis | null;
  readonly live: LiveLogs;
  readonly containers: ContainerRuntime;
  readonly artifacts: ArtifactStore;
  readonly containerPolicy: ContainerPolicy;
  readonly quotaDefaults: ReturnType<typeof quotaDefaultsOf>;
  /** The outbound policy of heartbeats and of webhooks (src/domain/outbound-policy.ts). */
  readonly guards: { readonly heartbeat: OutboundGuard; readonly webhook: OutboundGuard };
  /** A port this process listens on (bound on port 0): no heartbeat or webhook may call it. */
  addOwnPort(port: number): void;
  /** The domain services of this process's roles, served over gRPC or called by its gateway. */
  readonly local: LocalServices;
  serviceKeys(): ServiceKeys;
  /** Readiness of the process: its own checks plus what `addReadiness` added (remote services). */
  readiness: ReadinessCheck;
  addReadiness(check: ReadinessCheck): void;
  /** Where this process listens, once its front started. */
  readonly addresses: { http: string | null; rpc: string | null };
}

/**
 * Opens what `needs` asks for, starting the connections (phase 0) so roles build on open ones;
 * adds the rpc server and the operations server, which start after the roles' services.
 */
export async function openInfrastructure(params: {
  config: Config;
  logger: Logger;
  clock: Clock | undefined;
  modules: readonly ModuleName[];
  needs: ReadonlySet<Need>;
  lifecycle: Lifecycle;
}): Promise<Infrastructure> {
  const { config, logger, modules, needs, lifecycle } = params;
  const has = (m: ModuleName) => modules.includes(m);
  // One clock for every process (src/platform/db/database-clock.ts): the database server's, read
  // through this process's with a measured offset; PGlite runs in this process, its clock is ours.
  const databaseClock =
    params.clock || config.database.url === '' || !needs.has('db') ? null : new DatabaseClock();
  const events = new Events();
  // Before the workers: they register their series in it (src/platform/metrics).
  const metrics = createMetricsRegistry();
  const { database, redis, live, kafka } = await openConnections({ ...params, databaseClock, events });

  const guards = outboundGuards(config);
  const containerPolicy: ContainerPolicy = config.containers;
  const containers = needs.has('containers')
    ? await openContainerRuntime(config, containerPolicy, logger, metrics)
    : null;
  const artifacts = needs.has('artifacts')
    ? await openArtifactStore(config.artifacts, config.database.dataDir)
    : null;
  const bus: Bus | null = database ? (kafka ?? new InProcessBus()) : null;
  let keys = null as ServiceKeys | null;
  // Redis is left out on purpose: without it live lines and wake-ups degrade (the database and
  // polling carry on), and a Redis blip must not take every replica out of its load balancer.
  const readinessChecks: ReadinessCheck[] = [
    readinessOf(database ? { database: () => database.ping() } : {}),
  ];
  const declared = <T>(value: T | null, need: Need): T => {
    if (value === null) throw new Error(`a role uses ${need} without declaring it in its needs`);
    return value;
  };

  const infra: Infrastructure = {
    config,
    logger,
    clock: params.clock ?? databaseClock ?? systemClock,
    events,
    metrics,
    has,
    add: (...services) => lifecycle.add(...services),
    database,
    get db() {
      return declared(database, 'db').db;
    },
    get bus() {
      return declared(bus, 'db');
    },
    kafka,
    redis,
    live,
    get containers() {
      return declared(containers, 'containers');
    },
    get artifacts() {
      return declared(artifacts, 'artifacts');
    },
    containerPolicy,
    quotaDefaults: quotaDefaultsOf(config.quotas),
    guards,
    addOwnPort: (port) => {
      for (const guard of [guards.heartbeat, guards.webhook]) guard.addOwnPort(port);
    },
    local: {},
    serviceKeys: () =>
      (keys ??= loadServiceKeys({
        privateKeyPem: config.rpc.servicePrivateKey,
        publicKeyPem: config.rpc.servicePublicKey,
      })),
    readiness: async () => Object.assign({}, ...(await Promise.all(readinessChecks.map((check) => check())))),
    addReadiness: (check) => void readinessChecks.push(check),
    addresses: { http: null, rpc: null },
  };
  // Service roles without a gateway beside them serve over gRPC (the distributed profile); a
  // process without a gateway answers /healthz, /readyz and /metrics on its operations port.
  if (needs.has('rpc-server') && !has('gateway')) lifecycle.add(rpcServerService(infra));
  if (!has('gateway') && config.ops.port > 0) lifecycle.add(opsServerService(infra));
  return infra;
}

/**
 * The outbound policy (src/domain/outbound-policy.ts): one guard for heartbeats and one for
 * webhooks, which also honour the deprecated webhooks-only
 * CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS. Our own ports: the configured ones now, the ones
 * port 0 got once bound (`addOwnPort`).
 */
function outboundGuards(config: Config): Infrastructure['guards'] {
  const ownPorts = [config.server.port, config.rpc.port, config.ops.port];
  return {
    heartbeat: new OutboundGuard({ allowPrivateNetworks: config.outbound.allowPrivateNetworks, ownPorts }),
    webhook: new OutboundGuard({
      allowPrivateNetworks: config.outbound.allowPrivateNetworks || config.webhooks.allowPrivateNetworks,
      ownPorts,
    }),
  };
}

/** What the phase-0 services open; filled as they start. */
interface Connections {
  database: Database | null;
  redis: ProcessRedis | null;
  live: LiveLogs;
  kafka: KafkaBus | null;
}

/**
 * Starts the connections at once (phase 0: the rest is built on them, closed last), in the
 * order they depend on each other: the Kafka bus parks poison messages in the database.
 */
async function openConnections(params: {
  config: Config;
  logger: Logger;
  modules: readonly ModuleName[];
  needs: ReadonlySet<Need>;
  lifecycle: Lifecycle;
  databaseClock: DatabaseClock | null;
  events: Events;
}): Promise<Connections> {
  const { config, needs, lifecycle, databaseClock } = params;
  const opened: Connections = { database: null, redis: null, live: new InMemoryLiveLogs(), kafka: null };
  if (needs.has('db')) {
    lifecycle.add(databaseService(opened, params));
    if (databaseClock) lifecycle.add(clockSyncService(databaseClock, opened, params.logger));
  }
  if (config.redis.url) lifecycle.add(...redisServices(opened, params));
  if (needs.has('db') && config.kafka.brokers.trim() !== '') lifecycle.add(kafkaService(opened, params));
  await lifecycle.start();
  const kafka = opened.kafka;
  if (kafka) {
    lifecycle.add({
      // Joins the groups of every consumer subscribed in an earlier phase; a group cannot be
      // joined after the bus started. Closed by the `kafka` entry, after everything stopped.
      name: 'kafka-groups',
      phase: PHASE.busGroups,
      start: () => kafka.start(),
      stop: () => {},
    });
  }
  return opened;
}

function databaseService(
  opened: Connections,
  { config, logger, databaseClock }: { config: Config; logger: Logger; databaseClock: DatabaseClock | null },
): Service {
  return {
    name: 'db',
    phase: PHASE.infrastructure,
    start: async () => {
      const database = await openDatabase({
        url: config.database.url,
        dataDir: config.database.dataDir,
        poolSize: config.database.poolSize,
        pgliteSharedBuffersMb: config.database.pgliteSharedBuffersMb,
        seedFromTemplate: true,
        onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
      });
      try {
        if (database.seededFromTemplate) {
          logger.info(
            { dataDir: config.database.dataDir },
            'new data directory made from the PGlite template',
          );
        }
        const migrated = await migrate(database.db);
        if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
      } catch (err) {
        await database.close();
        throw err;
      }
      opened.database = database;
      if (databaseClock) await syncClock(databaseClock, database.db, logger);
      try {
        await ensureJobLogPartitions(database.db);
      } catch (err) {
        // Lines still land in the default partition; never a reason not to start.
        logger.warn({ err: { message: (err as Error).message } }, 'could not create job log partitions');
      }
    },
    stop: () => opened.database?.close(),
  };
}

/**
 * Redis (distributed profile): live lines across processes, wake-ups between processes (the
 * event bridge), shared login counters and the principal cache. Connects in the background.
 */
function redisServices(
  opened: Connections,
  {
    config,
    logger,
    modules,
    events,
  }: { config: Config; logger: Logger; modules: readonly ModuleName[]; events: Events },
): Service[] {
  let bridge: EventBridge | null = null;
  let live: RedisLiveLogs | null = null;
  return [
    {
      name: 'redis',
      phase: PHASE.infrastructure,
      start: async () => {
        const redis = (await import('../platform/redis/connection.ts')).openRedis(
          config.redis,
          logger,
          `chronoverse-${modules.join('+')}`,
        )!; // not null: redis.url is set
        opened.redis = redis;
        live = new RedisLiveLogs({ publisher: redis.connection, subscriber: redis.subscriber, logger });
        opened.live = live;
      },
      stop: () => opened.redis?.close(),
    },
    {
      name: 'event-bridge',
      phase: PHASE.infrastructure,
      start: () => {
        const redis = opened.redis!;
        bridge = new EventBridge({
          events,
          publisher: redis.connection,
          subscriber: redis.subscriber,
          logger,
        });
        bridge.start();
      },
      stop: () => {
        bridge?.stop();
        live?.close();
      },
    },
  ];
}

function kafkaService(
  opened: Connections,
  { config, logger, modules }: { config: Config; logger: Logger; modules: readonly ModuleName[] },
): Service {
  return {
    name: 'kafka',
    phase: PHASE.infrastructure,
    start: async () => {
      const { KafkaBus, parseBrokers } = await import('../platform/bus/kafka-bus.ts');
      opened.kafka = new KafkaBus({
        brokers: parseBrokers(config.kafka.brokers),
        clientId: `${config.kafka.clientId}-${modules.filter((m) => m !== 'db').join('+')}`,
        topicPrefix: config.kafka.topicPrefix,
        partitions: config.kafka.partitions,
        replicationFactor: config.kafka.replicationFactor,
        maxHandleAttempts: config.kafka.maxHandleAttempts,
        db: opened.database!.db,
        logger,
      });
    },
    // Closed after every worker stopped (reverse order): the batch in hand is committed.
    stop: () => opened.kafka?.close(),
  };
}

function clockSyncService(clock: DatabaseClock, opened: Connections, logger: Logger): Service {
  let timer: NodeJS.Timeout | null = null;
  return {
    name: 'clock-sync',
    phase: PHASE.infrastructure,
    start: () => {
      // Every minute: enough for a drifting machine clock (NTP slews ≤ 0.5 ms/s).
      timer = setInterval(() => {
        if (opened.database) void syncClock(clock, opened.database.db, logger).catch(() => undefined);
      }, 60_000);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}

/**
 * Measures the database clock's offset; says so when this machine's clock is over a second off
 * (the scheduler and the leases use the database's time either way). A failed measurement keeps
 * the offset in use.
 */
async function syncClock(clock: DatabaseClock, db: Kysely<DB>, logger: Logger): Promise<void> {
  try {
    const before = clock.offsetMs;
    const offsetMs = await clock.sync(db);
    if (Math.abs(offsetMs) > 1000 && Math.abs(offsetMs - before) > 1000) {
      logger.warn(
        { offsetMs },
        "this machine's clock is over a second off the database server's: Chronoverse uses the database's time (fix NTP on one of them)",
      );
    }
  } catch (err) {
    logger.warn({ err: { message: (err as Error).message } }, 'could not read the database clock');
  }
}

/**
 * The container runtime is optional: without one, HEARTBEAT workflows still run, CONTAINER builds
 * wait for it (retried until it answers) and jobs fail with a clear reason, instead of the process
 * failing to start.
 */
async function openContainerRuntime(
  config: Config,
  policy: ContainerPolicy,
  logger: Logger,
  metrics: ReturnType<typeof createMetricsRegistry>,
): Promise<ContainerRuntime> {
  const runtime = new DockerContainerRuntime({
    dockerHost: config.containers.dockerHost,
    logger,
    // The last gate before a registry is contacted (the build and the executor check first).
    pullPolicy: (image) => imageProblem(image, policy),
  });
  if (!(await runtime.ping())) {
    logger.warn(
      { dockerHost: config.containers.dockerHost },
      'no container runtime answers at DOCKER_HOST: CONTAINER builds wait and their jobs fail until one does; HEARTBEAT workflows are unaffected',
    );
  }
  // Used even when down: calls then fail with a SYSTEM error, and a runtime that comes up later is picked up.
  return instrumentContainerRuntime(runtime, metrics);
}

/** The gRPC server of the service roles this process runs (`infra.local`, filled by the roles). */
function rpcServerService(infra: Infrastructure): Service {
  let server: Awaited<ReturnType<typeof startRpcServer>> | null = null;
  return {
    name: 'rpc-server',
    phase: PHASE.rpc,
    start: async () => {
      server = await startRpcServer({
        rpc: infra.config.rpc,
        keys: infra.serviceKeys(),
        services: infra.local,
        logger: infra.logger,
      });
      infra.addresses.rpc = server.url;
      infra.addOwnPort(Number(new URL(server.url).port));
    },
    stop: () => server?.close(),
  };
}

function opsServerService(infra: Infrastructure): Service {
  let ops: Awaited<ReturnType<typeof startOpsServer>> | null = null;
  return {
    name: 'ops-server',
    phase: PHASE.front,
    start: async () => {
      const { host, port } = infra.config.ops;
      ops = await startOpsServer({ host, port, readiness: infra.readiness, metrics: infra.metrics });
    },
    stop: () => ops?.close(),
  };
}

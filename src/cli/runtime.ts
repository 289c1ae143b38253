/**
 * One running Chronoverse process: opens the database, starts the requested modules in order,
 * stops them in reverse. Shared by `chronoverse start` and the tests (which start on port 0).
 *
 * What only some profiles use is imported when used (Kafka, Redis, SMTP): the embedded profile
 * (`npm start`) does not load their clients, which was about a second of CPU at every start on
 * the 2-core machine (docs/performance.md, Startup).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.ts';
import type { DB } from '../platform/db/schema.ts';
import { resolveSignupMode } from '../domain/user-input.ts';
import { imageProblem, type ContainerPolicy } from '../domain/container-policy.ts';
import { buildGateway } from '../gateway/app.ts';
import { openArtifactStore } from '../platform/artifacts/open.ts';
import type { ArtifactStore } from '../platform/artifacts/store.ts';
import { InProcessBus, type Bus } from '../platform/bus/bus.ts';
import type { KafkaBus } from '../platform/bus/kafka-bus.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { DatabaseClock } from '../platform/db/database-clock.ts';
import { DockerContainerRuntime } from '../platform/containers/docker-runtime.ts';
import type { ContainerRuntime } from '../platform/containers/runtime.ts';
import { openDatabase, type Database } from '../platform/db/database.ts';
import { ensureJobLogPartitions, migrate } from '../platform/db/migrate.ts';
import { Events } from '../platform/events.ts';
import { InMemoryLiveLogs, type LiveLogs } from '../platform/live-logs.ts';
import type { Logger } from '../platform/logger.ts';
import { instrumentContainerRuntime } from '../platform/metrics/containers.ts';
import {
  createMetricsRegistry,
  registerConsumerLagMetrics,
  registerDeliveryMetrics,
  registerOutboxMetrics,
} from '../platform/metrics/registry.ts';
import { readinessOf, startOpsServer } from '../platform/ops/ops-server.ts';
import { OutboundGuard } from '../platform/outbound/guard.ts';
import type { ProcessRedis } from '../platform/redis/connection.ts';
import { EventBridge } from '../platform/redis/event-bridge.ts';
import { RedisLiveLogs } from '../platform/redis/live-logs.ts';
import { loadServiceKeys } from '../platform/rpc/identity.ts';
import { createServiceClients, startRpcServer, type LocalServices } from '../platform/rpc/wiring.ts';
import { AnalyticsService } from '../services/analytics/service.ts';
import { BusAdminService } from '../services/bus-admin/service.ts';
import { JobsService } from '../services/jobs/service.ts';
import { LogsService } from '../services/logs/service.ts';
import { NotificationsService } from '../services/notifications/service.ts';
import { SubscriptionsService } from '../services/notifications/subscriptions.ts';
import { PrincipalCache, withPrincipalCache } from '../services/users/principal-cache.ts';
import { RedisLoginThrottle } from '../services/users/redis-login-throttle.ts';
import { PASSWORD_RESET_DEFAULTS, UsersService } from '../services/users/service.ts';
import { WebhooksService } from '../services/webhooks/service.ts';
import { WorkflowsService } from '../services/workflows/service.ts';
import { quotaDefaultsOf } from '../services/quotas/enforce.ts';
import { QuotasService } from '../services/quotas/service.ts';
import { AnalyticsProcessor } from '../workers/analytics-processor/processor.ts';
import { Executor } from '../workers/executor/executor.ts';
import { Housekeeping } from '../workers/housekeeping/housekeeping.ts';
import { MissedFireDetector } from '../workers/scheduler/missed-fires.ts';
import { LogRetention } from '../workers/log-retention/log-retention.ts';
import { NotificationsConsumer } from '../workers/notifications/consumer.ts';
import { EmailConsumer } from '../workers/email/consumer.ts';
import { EmailSender } from '../workers/email/sender.ts';
import { OutboxRelay } from '../workers/outbox-relay/relay.ts';
import { Scheduler } from '../workers/scheduler/scheduler.ts';
import { WebhookConsumer } from '../workers/webhooks/consumer.ts';
import { WebhookSender } from '../workers/webhooks/sender.ts';
import { WorkflowWorker } from '../workers/workflow-worker/workflow-worker.ts';
import { Lifecycle, service } from '../workers/service.ts';
import { resolveModules, SERVICE_ROLES, type ModuleName, type ServiceRole } from './roles.ts';
import { VERSION } from './version.ts';

export interface Runtime {
  readonly modules: ModuleName[];
  /** The database, unless this process runs only roles that reach it over gRPC (a gateway). */
  readonly database: Database | null;
  /** The gateway's URL when the gateway runs. */
  readonly url: string | null;
  stop(): Promise<void>;
}

/**
 * Start phases of the table in `startRuntime`: lower phases start first, services of one phase
 * in the order the table adds them; stopping is the exact reverse (docs/architecture.md, "Start
 * order and stopping").
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

export async function startRuntime(params: {
  config: Config;
  logger: Logger;
  roles: readonly string[];
  clock?: Clock;
}): Promise<Runtime> {
  const { config, logger } = params;
  const embeddedDb = config.database.url === '';
  // One clock for every process (src/platform/db/database-clock.ts): the database server's, read
  // through this process's with a measured offset; PGlite runs in this process, its clock is ours.
  const databaseClock = params.clock || embeddedDb ? null : new DatabaseClock();
  const clock: Clock = params.clock ?? databaseClock ?? systemClock;
  const kafka = config.kafka.brokers.trim() !== '';
  const remoteServices = SERVICE_ROLES.filter((s) => serviceUrl(config, s) !== '');
  const modules = resolveModules(params.roles, { remoteServices, kafka });
  const has = (m: ModuleName) => modules.includes(m);
  const lifecycle = new Lifecycle(logger);

  try {
    // ── infrastructure: database, Redis, the bus (started at once: the rest is built on them) ──
    const events = new Events();
    // Before the workers: they register their series in it (src/platform/metrics).
    const metrics = createMetricsRegistry();
    let database = null as Database | null;
    let redis = null as ProcessRedis | null;
    let live: LiveLogs = new InMemoryLiveLogs();
    let kafkaBus = null as KafkaBus | null;
    // Opened once, by the first role that needs it (executor, jobs, workflows, housekeeping).
    let artifacts: Promise<ArtifactStore> | null = null;
    const artifactStore = () => (artifacts ??= openArtifactStore(config.artifacts, config.database.dataDir));
    if (has('db')) {
      lifecycle.add({
        name: 'db',
        phase: PHASE.infrastructure,
        start: async () => {
          const opened = await openDatabase({
            url: config.database.url,
            dataDir: config.database.dataDir,
            poolSize: config.database.poolSize,
            pgliteSharedBuffersMb: config.database.pgliteSharedBuffersMb,
            seedFromTemplate: true,
            onPoolError: (err) =>
              logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
          });
          try {
            if (opened.seededFromTemplate) {
              logger.info(
                { dataDir: config.database.dataDir },
                'new data directory made from the PGlite template',
              );
            }
            const migrated = await migrate(opened.db);
            if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
          } catch (err) {
            await opened.close();
            throw err;
          }
          database = opened;
          if (databaseClock) await syncClock(databaseClock, opened.db, logger);
          try {
            await ensureJobLogPartitions(opened.db);
          } catch (err) {
            // Lines still land in the default partition; never a reason not to start.
            logger.warn({ err: { message: (err as Error).message } }, 'could not create job log partitions');
          }
        },
        stop: () => database?.close(),
      });
      if (databaseClock) {
        let timer: NodeJS.Timeout | null = null;
        lifecycle.add({
          name: 'clock-sync',
          phase: PHASE.infrastructure,
          start: () => {
            // Every minute: enough for a drifting machine clock (NTP slews ≤ 0.5 ms/s).
            timer = setInterval(() => {
              if (database) void syncClock(databaseClock, database.db, logger).catch(() => undefined);
            }, 60_000);
            timer.unref();
          },
          stop: () => {
            if (timer) clearInterval(timer);
          },
        });
      }
    }
    // Redis (distributed profile): live lines across processes, wake-ups between processes,
    // shared login counters and the principal cache. Connects in the background.
    if (config.redis.url) {
      let bridge: EventBridge | null = null;
      lifecycle.add(
        {
          name: 'redis',
          phase: PHASE.infrastructure,
          start: async () => {
            const opened = (await import('../platform/redis/connection.ts')).openRedis(
              config.redis,
              logger,
              `chronoverse-${modules.join('+')}`,
            )!; // not null: redis.url is set
            redis = opened;
            live = new RedisLiveLogs({ publisher: opened.connection, subscriber: opened.subscriber, logger });
          },
          stop: () => redis?.close(),
        },
        {
          name: 'event-bridge',
          phase: PHASE.infrastructure,
          start: () => {
            bridge = new EventBridge({
              events,
              publisher: redis!.connection,
              subscriber: redis!.subscriber,
              logger,
            });
            bridge.start();
          },
          stop: () => {
            bridge?.stop();
            (live as RedisLiveLogs).close();
          },
        },
      );
    }
    if (has('db') && kafka) {
      lifecycle.add({
        name: 'kafka',
        phase: PHASE.infrastructure,
        start: async () => {
          const { KafkaBus, parseBrokers } = await import('../platform/bus/kafka-bus.ts');
          kafkaBus = new KafkaBus({
            brokers: parseBrokers(config.kafka.brokers),
            clientId: `${config.kafka.clientId}-${modules.filter((m) => m !== 'db').join('+')}`,
            topicPrefix: config.kafka.topicPrefix,
            partitions: config.kafka.partitions,
            replicationFactor: config.kafka.replicationFactor,
            maxHandleAttempts: config.kafka.maxHandleAttempts,
            db: database!.db,
            logger,
          });
        },
        // Closed after every worker stopped (reverse order): the batch in hand is committed.
        stop: () => kafkaBus?.close(),
      });
    }
    await lifecycle.start();

    // The outbound and container policies (src/domain/outbound-policy.ts, container-policy.ts).
    // One guard for heartbeats and one for webhooks, which also honour the deprecated
    // webhooks-only CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS. Our own ports: the configured
    // ones now, the ones port 0 got once bound.
    const ownPorts = [config.server.port, config.rpc.port, config.ops.port];
    const heartbeatGuard = new OutboundGuard({
      allowPrivateNetworks: config.outbound.allowPrivateNetworks,
      ownPorts,
    });
    const webhookGuard = new OutboundGuard({
      allowPrivateNetworks: config.outbound.allowPrivateNetworks || config.webhooks.allowPrivateNetworks,
      ownPorts,
    });
    const containerPolicy: ContainerPolicy = config.containers;

    const db = database?.db ?? null;
    const bus: Bus | null = db ? (kafkaBus ?? new InProcessBus()) : null;
    const needDb = (role: string) => {
      if (!db || !bus) throw new Error(`role ${role} needs the database`);
      return { db, bus };
    };

    // ── domain services ─────────────────────────────────────────────────────────────────────
    const local: LocalServices = {};
    const quotaDefaults = quotaDefaultsOf(config.quotas);
    if (has('users')) {
      const { db: udb } = needDb('users');
      local.users = new UsersService(
        udb,
        clock,
        {
          ...config.auth,
          // `auto`: open only when this very process serves the API on a loopback address.
          signupMode: resolveSignupMode(config.auth.signup, config.server.host, has('gateway')),
          // Reset links are emailed through the email outbox, sent by the notifications role.
          passwordReset: {
            ...PASSWORD_RESET_DEFAULTS,
            emailEnabled: config.email.smtpUrl !== '',
            publicUrl: config.email.publicUrl,
          },
        },
        redis
          ? {
              throttle: new RedisLoginThrottle(
                { redis: redis.connection, logger },
                config.auth.loginWindowMs,
              ),
              principalCache: new PrincipalCache({ redis: redis.connection, logger }),
            }
          : {},
      );
    }
    if (has('workflows')) {
      local.workflows = new WorkflowsService(
        needDb('workflows').db,
        clock,
        {
          idempotencyTtlMs: config.workflows.idempotencyTtlMs,
          policy: { outbound: heartbeatGuard.rules, containers: containerPolicy },
          quotas: quotaDefaults,
          artifacts: await artifactStore(),
        },
        events,
      );
      local.quotas = new QuotasService(needDb('workflows').db, clock, quotaDefaults);
    }
    if (has('jobs')) {
      const { db: jdb } = needDb('jobs');
      local.jobs = new JobsService(jdb, clock, events, {
        idempotencyTtlMs: config.workflows.idempotencyTtlMs,
        quotas: quotaDefaults,
        artifacts: await artifactStore(),
        artifactUrlTtlMs: config.artifacts.downloadUrlTtlMs,
      });
      local.logs = new LogsService(jdb, clock);
      const republishTo = kafkaBus;
      local.busAdmin = new BusAdminService({
        db: jdb,
        republish: republishTo ? (r) => republishTo.republish(r) : undefined,
        events,
      });
    }
    if (has('analytics')) {
      local.analytics = new AnalyticsService(needDb('analytics').db, clock);
    }
    if (has('notifications')) {
      // Notifications, webhooks, subscriptions and email: the services, the consumers that turn
      // facts into notifications, deliveries and emails, and the webhook and email senders.
      const { db: ndb, bus: nbus } = needDb('notifications');
      local.notifications = new NotificationsService(ndb, clock);
      lifecycle.add(
        service(
          'notifications-consumer',
          PHASE.notifications,
          new NotificationsConsumer({ db: ndb, bus: nbus, events, logger }),
        ),
      );
      const w = config.webhooks;
      local.webhooks = new WebhooksService(
        ndb,
        clock,
        {
          allowPrivateNetworks: webhookGuard.rules.allowPrivateNetworks,
          ownPorts: webhookGuard.rules.ownPorts,
        },
        events,
      );
      lifecycle.add(
        service(
          'webhook-consumer',
          PHASE.notifications,
          new WebhookConsumer({ db: ndb, bus: nbus, clock, events, logger }),
        ),
        service(
          'webhook-sender',
          PHASE.notifications,
          new WebhookSender(
            { db: ndb, clock, events, logger, outbound: webhookGuard },
            {
              timeoutMs: w.timeoutMs,
              concurrency: w.concurrency,
              retryBaseMs: w.retryBaseMs,
              retryMaxMs: Math.max(w.retryMaxMs, w.retryBaseMs),
              maxAgeMs: w.maxAgeMs,
              pollIntervalMs: w.pollIntervalMs,
              retentionMs: w.retentionMs,
              userAgent: `Chronoverse-Webhooks/${VERSION}`,
            },
          ),
        ),
      );
      // Without CHRONOVERSE_SMTP_URL the service still keeps subscriptions (and says email is
      // off); no consumer queues email.
      const e = config.email;
      local.subscriptions = new SubscriptionsService(ndb, clock, { emailEnabled: e.smtpUrl !== '' });
      if (e.smtpUrl !== '') {
        const { SmtpMailer } = await import('../platform/email/mailer.ts');
        const mailer = new SmtpMailer({
          url: e.smtpUrl,
          from: e.from,
          starttls: e.starttls,
          tlsVerify: e.tlsVerify,
          tlsCaFile: e.tlsCaFile,
          timeoutMs: e.timeoutMs,
        });
        lifecycle.add(
          service(
            'email-consumer',
            PHASE.notifications,
            new EmailConsumer({ db: ndb, bus: nbus, clock, events, logger }, { publicUrl: e.publicUrl }),
          ),
          service(
            'email-sender',
            PHASE.notifications,
            new EmailSender(
              { db: ndb, clock, events, logger, mailer },
              {
                timeoutMs: e.timeoutMs,
                concurrency: e.concurrency,
                retryBaseMs: e.retryBaseMs,
                retryMaxMs: Math.max(e.retryMaxMs, e.retryBaseMs),
                maxAgeMs: e.maxAgeMs,
                pollIntervalMs: e.pollIntervalMs,
                retentionMs: e.retentionMs,
              },
            ),
          ),
        );
      }
    }
    const keys = loadServiceKeys({
      privateKeyPem: config.rpc.servicePrivateKey,
      publicKeyPem: config.rpc.servicePublicKey,
    });
    // Service roles without a gateway beside them serve over gRPC (the distributed profile).
    let rpcUrl = null as string | null;
    if (SERVICE_ROLES.some((s) => has(s)) && !has('gateway')) {
      let server: Awaited<ReturnType<typeof startRpcServer>> | null = null;
      lifecycle.add({
        name: 'rpc-server',
        phase: PHASE.rpc,
        start: async () => {
          server = await startRpcServer({ rpc: config.rpc, keys, services: local, logger });
          rpcUrl = server.url;
          for (const guard of [heartbeatGuard, webhookGuard])
            guard.addOwnPort(Number(new URL(server.url).port));
        },
        stop: () => server?.close(),
      });
    }

    // ── workers ─────────────────────────────────────────────────────────────────────────────
    // The container runtime is optional: without one, HEARTBEAT workflows still run, CONTAINER
    // builds wait for it (retried until it answers) and jobs fail with a clear reason, instead of
    // the process failing to start.
    let containers: ContainerRuntime | null = null;
    if (has('executor') || has('workflow-worker')) {
      const runtime = new DockerContainerRuntime({
        dockerHost: config.containers.dockerHost,
        logger,
        // The last gate before a registry is contacted (the build and the executor check first).
        pullPolicy: (image) => imageProblem(image, containerPolicy),
      });
      if (!(await runtime.ping())) {
        logger.warn(
          { dockerHost: config.containers.dockerHost },
          'no container runtime answers at DOCKER_HOST: CONTAINER builds wait and their jobs fail until one does; HEARTBEAT workflows are unaffected',
        );
      }
      // Used even when down: calls then fail with a SYSTEM error, and a runtime that comes up later is picked up.
      containers = instrumentContainerRuntime(runtime, metrics);
    }
    const deps = () => ({ db: needDb('worker').db, clock, events, logger });

    if (has('workflow-worker')) {
      const workflowWorker = new WorkflowWorker({
        ...deps(),
        bus: needDb('workflow-worker').bus,
        containers,
        imagePolicy: containerPolicy,
      });
      lifecycle.add(service('workflow-worker', PHASE.consumers, workflowWorker));
    }
    if (has('executor')) {
      const executor = new Executor(
        {
          ...deps(),
          bus: needDb('executor').bus,
          live,
          containers,
          metrics,
          outbound: heartbeatGuard,
          artifacts: await artifactStore(),
        },
        {
          heartbeatConcurrency: config.executor.heartbeatConcurrency,
          containerConcurrency: config.executor.containerConcurrency,
          leaseMs: config.executor.leaseMs,
          renewIntervalMs: Math.max(1_000, Math.floor(config.executor.leaseMs / 3)),
          containerDefaults: {
            cpus: config.executor.defaultCpus,
            memoryMb: config.executor.defaultMemoryMb,
            pids: config.executor.defaultPids,
          },
          containerPolicy,
          maxConcurrentContainers: config.quotas.maxConcurrentContainers,
          artifactLimits: {
            maxArtifactBytes: config.artifacts.maxArtifactMb * 1024 * 1024,
            maxJobBytes: config.artifacts.maxJobMb * 1024 * 1024,
          },
        },
      );
      lifecycle.add(service('executor', PHASE.consumers, executor));
    }
    if (has('analytics-processor')) {
      const { db: adb, bus: abus } = needDb('analytics-processor');
      lifecycle.add(
        service(
          'analytics-processor',
          PHASE.consumers,
          new AnalyticsProcessor({ db: adb, bus: abus, logger }),
        ),
      );
    }
    const joining = kafkaBus;
    if (joining) {
      // Closed by the `kafka` entry, after everything that uses it stopped.
      lifecycle.add({
        name: 'kafka-groups',
        phase: PHASE.busGroups,
        start: () => joining.start(),
        stop: () => {},
      });
    }
    if (has('scheduler')) {
      lifecycle.add(
        service(
          'scheduler',
          PHASE.producers,
          new Scheduler(deps(), { batchSize: config.scheduler.batchSize, ledger: config.scheduler.ledger }),
        ),
      );
    }
    if (has('joblogs')) {
      lifecycle.add(
        service(
          'joblogs',
          PHASE.producers,
          new LogRetention(deps(), { retentionDays: config.logs.retentionDays }),
        ),
      );
    }
    if (has('outbox-relay')) {
      lifecycle.add(
        service(
          'outbox-relay',
          PHASE.producers,
          new OutboxRelay({ ...deps(), bus: needDb('outbox-relay').bus }),
        ),
        service(
          'missed-fires',
          PHASE.producers,
          new MissedFireDetector(deps(), { afterMs: config.scheduler.missedAlertAfterMs }),
        ),
        service(
          'housekeeping',
          PHASE.producers,
          new Housekeeping(
            { ...deps(), artifacts: await artifactStore() },
            {
              auditRetentionMs: config.audit.retentionMs,
              artifactRetentionMs: config.artifacts.retentionMs,
            },
          ),
        ),
      );
    }

    // ── readiness, gateway or operations server ─────────────────────────────────────────────
    if (db) {
      registerDeliveryMetrics(metrics, local.busAdmin ?? new BusAdminService({ db }));
      registerOutboxMetrics(metrics, db);
    }
    if (kafkaBus) {
      const lagOf = kafkaBus;
      registerConsumerLagMetrics(metrics, () => lagOf.lags());
    }
    const checks: Record<string, () => Promise<boolean>> = {};
    const opened = database;
    if (opened) checks.database = () => opened.ping();
    // Redis is left out on purpose: without it live lines and wake-ups degrade (the database and
    // polling carry on), and a Redis blip must not take every replica out of its load balancer.
    let remoteHealth: (() => Promise<Record<string, boolean>>) | null = null;
    const ownChecks = readinessOf(checks);
    const readiness = async () => ({ ...(await ownChecks()), ...(remoteHealth ? await remoteHealth() : {}) });

    let url = null as string | null;
    if (has('gateway')) {
      let clients: ReturnType<typeof createServiceClients> | null = null;
      let app: Awaited<ReturnType<typeof buildGateway>> | null = null;
      const gatewayLive = live;
      lifecycle.add(
        {
          name: 'rpc-clients',
          phase: PHASE.front,
          start: () => {
            clients = createServiceClients({ rpc: config.rpc, keys, caller: 'gateway', local, logger });
            const made = clients;
            remoteHealth = () => made.health();
          },
          stop: async () => clients?.close(),
        },
        {
          name: 'gateway',
          phase: PHASE.front,
          start: async () => {
            const c = clients!;
            const users = redis
              ? withPrincipalCache(c.users, new PrincipalCache({ redis: redis.connection, logger }))
              : c.users;
            app = await buildGateway(
              {
                logger,
                users,
                workflows: c.workflows,
                jobs: c.jobs,
                logs: c.logs,
                live: gatewayLive,
                events,
                busAdmin: c.busAdmin,
                ...(c.quotas ? { quotas: c.quotas } : {}),
                ...(c.analytics ? { analytics: c.analytics } : {}),
                ...(c.notifications ? { notifications: c.notifications } : {}),
                ...(c.webhooks ? { webhooks: c.webhooks } : {}),
                ...(c.subscriptions ? { subscriptions: c.subscriptions } : {}),
                readiness,
                metrics,
                artifacts: await artifactStore(),
              },
              {
                bodyLimitBytes: config.server.bodyLimitBytes,
                bodyTimeoutMs: config.server.bodyTimeoutMs,
                trustProxy: config.server.trustProxy,
                version: VERSION,
              },
            );
            await app.listen({ host: config.server.host, port: config.server.port });
            const address = app.server.address();
            const port = typeof address === 'object' && address ? address.port : config.server.port;
            for (const guard of [heartbeatGuard, webhookGuard]) guard.addOwnPort(port);
            const host =
              config.server.host === '0.0.0.0' || config.server.host === '::'
                ? 'localhost'
                : config.server.host;
            url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
          },
          // Stopped first (reverse order): no new requests while workers wind down.
          stop: () => app?.close(),
        },
      );
    } else if (config.ops.port > 0) {
      let ops: Awaited<ReturnType<typeof startOpsServer>> | null = null;
      lifecycle.add({
        name: 'ops-server',
        phase: PHASE.front,
        start: async () => {
          ops = await startOpsServer({ host: config.ops.host, port: config.ops.port, readiness, metrics });
        },
        stop: () => ops?.close(),
      });
    }
    await lifecycle.start();
    logger.info(
      {
        modules,
        services: lifecycle.started,
        engine: database?.engine ?? null,
        bus: kafka ? 'kafka' : 'in-process',
        redis: redis !== null,
        ...(embeddedDb && database ? { dataDir: config.database.dataDir } : {}),
        ...(rpcUrl ? { rpc: rpcUrl } : {}),
        url,
      },
      url ? `Chronoverse is up: ${url} (API docs at ${url}/api/docs)` : 'Chronoverse is up',
    );
    return { modules, database, url, stop: () => lifecycle.stop() };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

function serviceUrl(config: Config, service: ServiceRole): string {
  const urls: Record<ServiceRole, string> = {
    users: config.rpc.usersUrl,
    workflows: config.rpc.workflowsUrl,
    jobs: config.rpc.jobsUrl,
    notifications: config.rpc.notificationsUrl,
    analytics: config.rpc.analyticsUrl,
  };
  return urls[service].trim();
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

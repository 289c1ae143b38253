/**
 * One running Chronoverse process: opens the database, starts the requested modules in order,
 * stops them in reverse. Shared by `chronoverse start` and the tests (which start on port 0).
 *
 * What only some profiles use is imported when used (Kafka, Redis, SMTP): the embedded profile
 * (`npm start`) does not load their clients, which was about a second of CPU at every start on
 * the 2-core machine (docs/performance.md, Startup).
 */
import type { Config } from '../config/schema.ts';
import { resolveSignupMode } from '../domain/user-input.ts';
import { imageProblem, type ContainerPolicy } from '../domain/container-policy.ts';
import { buildGateway } from '../gateway/app.ts';
import { InProcessBus, type Bus } from '../platform/bus/bus.ts';
import type { KafkaBus } from '../platform/bus/kafka-bus.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
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
import { LogRetention } from '../workers/log-retention/log-retention.ts';
import { NotificationsConsumer } from '../workers/notifications/consumer.ts';
import { EmailConsumer } from '../workers/email/consumer.ts';
import { EmailSender } from '../workers/email/sender.ts';
import { OutboxRelay } from '../workers/outbox-relay/relay.ts';
import { Scheduler } from '../workers/scheduler/scheduler.ts';
import { WebhookConsumer } from '../workers/webhooks/consumer.ts';
import { WebhookSender } from '../workers/webhooks/sender.ts';
import { WorkflowWorker } from '../workers/workflow-worker/workflow-worker.ts';
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

interface Started {
  name: string;
  stop: () => Promise<void>;
}

export async function startRuntime(params: {
  config: Config;
  logger: Logger;
  roles: readonly string[];
  clock?: Clock;
}): Promise<Runtime> {
  const { config, logger } = params;
  const clock = params.clock ?? systemClock;
  const kafka = config.kafka.brokers.trim() !== '';
  const remoteServices = SERVICE_ROLES.filter((s) => serviceUrl(config, s) !== '');
  const modules = resolveModules(params.roles, { remoteServices, kafka });
  const has = (m: ModuleName) => modules.includes(m);
  const started: Started[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        logger.error({ err, module: s.name }, 'module failed to stop');
      }
    }
    started.length = 0;
  };

  try {
    // ── infrastructure: database, Redis, the bus ────────────────────────────────────────────
    const embedded = config.database.url === '';
    let database: Database | null = null;
    if (has('db')) {
      database = await openDatabase({
        url: config.database.url,
        dataDir: config.database.dataDir,
        poolSize: config.database.poolSize,
        pgliteSharedBuffersMb: config.database.pgliteSharedBuffersMb,
        seedFromTemplate: true,
        onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
      });
      const opened = database;
      started.push({ name: 'db', stop: () => opened.close() });
      if (database.seededFromTemplate) {
        logger.info({ dataDir: config.database.dataDir }, 'new data directory made from the PGlite template');
      }
      const migrated = await migrate(database.db);
      if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
      try {
        await ensureJobLogPartitions(database.db);
      } catch (err) {
        // Lines still land in the default partition; never a reason not to start.
        logger.warn({ err: { message: (err as Error).message } }, 'could not create job log partitions');
      }
    }

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

    const events = new Events();
    // Before the workers: they register their series in it (src/platform/metrics).
    const metrics = createMetricsRegistry();
    // Redis (distributed profile): live lines across processes, wake-ups between processes,
    // shared login counters and the principal cache. Connects in the background.
    const redis = config.redis.url
      ? (await import('../platform/redis/connection.ts')).openRedis(
          config.redis,
          logger,
          `chronoverse-${modules.join('+')}`,
        )
      : null;
    if (redis) started.push({ name: 'redis', stop: () => redis.close() });
    const live: LiveLogs = redis
      ? new RedisLiveLogs({ publisher: redis.connection, subscriber: redis.subscriber, logger })
      : new InMemoryLiveLogs();
    if (redis) {
      const bridge = new EventBridge({
        events,
        publisher: redis.connection,
        subscriber: redis.subscriber,
        logger,
      });
      bridge.start();
      started.push({
        name: 'event-bridge',
        stop: async () => {
          bridge.stop();
          (live as RedisLiveLogs).close();
        },
      });
    }

    const db = database?.db ?? null;
    let bus: Bus | null = null;
    let kafkaBus: KafkaBus | null = null;
    if (db) {
      if (kafka) {
        const { KafkaBus, parseBrokers } = await import('../platform/bus/kafka-bus.ts');
        kafkaBus = new KafkaBus({
          brokers: parseBrokers(config.kafka.brokers),
          clientId: `${config.kafka.clientId}-${modules.filter((m) => m !== 'db').join('+')}`,
          topicPrefix: config.kafka.topicPrefix,
          partitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
          maxHandleAttempts: config.kafka.maxHandleAttempts,
          db,
          logger,
        });
        const closing = kafkaBus;
        // Closed after every worker stopped (reverse order): the batch in hand is committed.
        started.push({ name: 'kafka', stop: () => closing.close() });
        bus = kafkaBus;
      } else {
        bus = new InProcessBus();
      }
    }
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
      });
      local.logs = new LogsService(jdb, clock);
      local.busAdmin = new BusAdminService({
        db: jdb,
        republish: kafkaBus ? (r) => kafkaBus.republish(r) : undefined,
        events,
      });
    }
    if (has('analytics')) {
      local.analytics = new AnalyticsService(needDb('analytics').db, clock);
    }
    if (has('notifications')) {
      // The service, and the consumer that creates notifications from facts (subscribed here,
      // before the Kafka bus joins its groups below).
      const { db: ndb, bus: nbus } = needDb('notifications');
      local.notifications = new NotificationsService(ndb, clock);
      new NotificationsConsumer({ db: ndb, bus: nbus, events, logger });
    }
    if (has('notifications')) {
      // Webhooks live with notifications: the service, the consumer that turns facts into
      // deliveries (subscribed before the Kafka bus joins its groups below) and the sender.
      const { db: wdb, bus: wbus } = needDb('notifications');
      const w = config.webhooks;
      local.webhooks = new WebhooksService(
        wdb,
        clock,
        {
          allowPrivateNetworks: webhookGuard.rules.allowPrivateNetworks,
          ownPorts: webhookGuard.rules.ownPorts,
        },
        events,
      );
      new WebhookConsumer({ db: wdb, bus: wbus, clock, events, logger });
      const sender = new WebhookSender(
        { db: wdb, clock, events, logger, outbound: webhookGuard },
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
      );
      sender.start();
      started.push({ name: 'webhook-sender', stop: () => sender.stop() });
    }
    if (has('notifications')) {
      // Subscriptions and email live with notifications too. Without CHRONOVERSE_SMTP_URL the
      // service still keeps subscriptions (and says email is off); no consumer queues email.
      const { db: edb, bus: ebus } = needDb('notifications');
      const e = config.email;
      local.subscriptions = new SubscriptionsService(edb, clock, { emailEnabled: e.smtpUrl !== '' });
      if (e.smtpUrl !== '') {
        new EmailConsumer({ db: edb, bus: ebus, clock, events, logger }, { publicUrl: e.publicUrl });
        const { SmtpMailer } = await import('../platform/email/mailer.ts');
        const mailer = new SmtpMailer({
          url: e.smtpUrl,
          from: e.from,
          starttls: e.starttls,
          tlsVerify: e.tlsVerify,
          tlsCaFile: e.tlsCaFile,
          timeoutMs: e.timeoutMs,
        });
        const emailSender = new EmailSender(
          { db: edb, clock, events, logger, mailer },
          {
            timeoutMs: e.timeoutMs,
            concurrency: e.concurrency,
            retryBaseMs: e.retryBaseMs,
            retryMaxMs: Math.max(e.retryMaxMs, e.retryBaseMs),
            maxAgeMs: e.maxAgeMs,
            pollIntervalMs: e.pollIntervalMs,
            retentionMs: e.retentionMs,
          },
        );
        emailSender.start();
        started.push({ name: 'email-sender', stop: () => emailSender.stop() });
      }
    }
    const keys = loadServiceKeys({
      privateKeyPem: config.rpc.servicePrivateKey,
      publicKeyPem: config.rpc.servicePublicKey,
    });
    // Service roles without a gateway beside them serve over gRPC (the distributed profile).
    const servesRpc = SERVICE_ROLES.some((s) => has(s)) && !has('gateway');
    let rpcUrl: string | null = null;
    if (servesRpc) {
      const server = await startRpcServer({ rpc: config.rpc, keys, services: local, logger });
      rpcUrl = server.url;
      for (const guard of [heartbeatGuard, webhookGuard]) guard.addOwnPort(Number(new URL(server.url).port));
      started.push({ name: 'rpc-server', stop: () => server.close() });
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
      workflowWorker.start();
      started.push({ name: 'workflow-worker', stop: () => workflowWorker.stop() });
    }
    if (has('executor')) {
      const executor = new Executor(
        { ...deps(), bus: needDb('executor').bus, live, containers, metrics, outbound: heartbeatGuard },
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
        },
      );
      executor.start();
      started.push({ name: 'executor', stop: () => executor.stop() });
    }
    if (has('analytics-processor')) {
      const { db: adb, bus: abus } = needDb('analytics-processor');
      new AnalyticsProcessor({ db: adb, bus: abus, logger });
    }
    // Every consumer subscribed above: join the groups (creates the topics on first start).
    if (kafkaBus) await kafkaBus.start();
    if (has('scheduler')) {
      const scheduler = new Scheduler(deps(), { batchSize: config.scheduler.batchSize });
      scheduler.start();
      started.push({ name: 'scheduler', stop: () => scheduler.stop() });
    }
    if (has('joblogs')) {
      const retention = new LogRetention(deps(), { retentionDays: config.logs.retentionDays });
      retention.start();
      started.push({ name: 'joblogs', stop: () => retention.stop() });
    }
    if (has('outbox-relay')) {
      const relay = new OutboxRelay({ ...deps(), bus: needDb('outbox-relay').bus });
      relay.start();
      started.push({ name: 'outbox-relay', stop: () => relay.stop() });
      const housekeeping = new Housekeeping(deps(), { auditRetentionMs: config.audit.retentionMs });
      housekeeping.start();
      started.push({ name: 'housekeeping', stop: () => housekeeping.stop() });
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
    if (database) checks.database = () => database.ping();
    // Redis is left out on purpose: without it live lines and wake-ups degrade (the database and
    // polling carry on), and a Redis blip must not take every replica out of its load balancer.
    let remoteHealth: (() => Promise<Record<string, boolean>>) | null = null;
    const ownChecks = readinessOf(checks);
    const readiness = async () => ({ ...(await ownChecks()), ...(remoteHealth ? await remoteHealth() : {}) });

    let url: string | null = null;
    if (has('gateway')) {
      const clients = createServiceClients({ rpc: config.rpc, keys, caller: 'gateway', local, logger });
      started.push({ name: 'rpc-clients', stop: async () => clients.close() });
      remoteHealth = () => clients.health();
      const users = redis
        ? withPrincipalCache(clients.users, new PrincipalCache({ redis: redis.connection, logger }))
        : clients.users;
      const app = await buildGateway(
        {
          logger,
          users,
          workflows: clients.workflows,
          jobs: clients.jobs,
          logs: clients.logs,
          live,
          events,
          busAdmin: clients.busAdmin,
          ...(clients.quotas ? { quotas: clients.quotas } : {}),
          ...(clients.analytics ? { analytics: clients.analytics } : {}),
          ...(clients.notifications ? { notifications: clients.notifications } : {}),
          ...(clients.webhooks ? { webhooks: clients.webhooks } : {}),
          ...(clients.subscriptions ? { subscriptions: clients.subscriptions } : {}),
          readiness,
          metrics,
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
        config.server.host === '0.0.0.0' || config.server.host === '::' ? 'localhost' : config.server.host;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      // Stopped first (reverse order): no new requests while workers wind down.
      started.push({ name: 'gateway', stop: () => app.close() });
    } else if (config.ops.port > 0) {
      const ops = await startOpsServer({ host: config.ops.host, port: config.ops.port, readiness, metrics });
      started.push({ name: 'ops-server', stop: () => ops.close() });
    }
    logger.info(
      {
        modules,
        engine: database?.engine ?? null,
        bus: kafka ? 'kafka' : 'in-process',
        redis: redis !== null,
        ...(embedded && database ? { dataDir: config.database.dataDir } : {}),
        ...(rpcUrl ? { rpc: rpcUrl } : {}),
        url,
      },
      url ? `Chronoverse is up: ${url} (API docs at ${url}/api/docs)` : 'Chronoverse is up',
    );
    return { modules, database, url, stop: stopAll };
  } catch (err) {
    await stopAll();
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

/**
 * The role table: for every role, the infrastructure it needs (src/cli/infrastructure.ts) and a
 * function that builds its domain services (into `infra.local`, served over gRPC or called by the
 * gateway) and adds its background services to the lifecycle, each with its start phase.
 *
 * Which roles run is decided by src/cli/roles.ts (aliases and dependencies); the table's order is
 * only the order of services within one phase, so the phases alone say what starts before what.
 * Constructors only build: services subscribe and start their loops in `start()`.
 */
import { resolveSignupMode } from '../domain/user-input.ts';
import { buildGateway } from '../gateway/app.ts';
import { createServiceClients } from '../platform/rpc/wiring.ts';
import { AnalyticsService } from '../services/analytics/service.ts';
import { BusAdminService } from '../services/bus-admin/service.ts';
import { JobsService } from '../services/jobs/service.ts';
import { LogsService } from '../services/logs/service.ts';
import { NotificationsService } from '../services/notifications/service.ts';
import { SubscriptionsService } from '../services/notifications/subscriptions.ts';
import { QuotasService } from '../services/quotas/service.ts';
import { PrincipalCache, withPrincipalCache } from '../services/users/principal-cache.ts';
import { RedisLoginThrottle } from '../services/users/redis-login-throttle.ts';
import { PASSWORD_RESET_DEFAULTS, UsersService } from '../services/users/service.ts';
import { WebhooksService } from '../services/webhooks/service.ts';
import { WorkflowsService } from '../services/workflows/service.ts';
import { AnalyticsProcessor } from '../workers/analytics-processor/processor.ts';
import { EmailConsumer } from '../workers/email/consumer.ts';
import { EmailSender } from '../workers/email/sender.ts';
import { Executor } from '../workers/executor/executor.ts';
import { Housekeeping } from '../workers/housekeeping/housekeeping.ts';
import { LogRetention } from '../workers/log-retention/log-retention.ts';
import { NotificationsConsumer } from '../workers/notifications/consumer.ts';
import { OutboxRelay } from '../workers/outbox-relay/relay.ts';
import { MissedFireDetector } from '../workers/scheduler/missed-fires.ts';
import { Scheduler } from '../workers/scheduler/scheduler.ts';
import { WebhookConsumer } from '../workers/webhooks/consumer.ts';
import { WebhookSender } from '../workers/webhooks/sender.ts';
import { WorkflowWorker } from '../workers/workflow-worker/workflow-worker.ts';
import { service, type Service } from '../workers/service.ts';
import { PHASE, type Infrastructure, type Need } from './infrastructure.ts';
import type { RoleName } from './roles.ts';
import { VERSION } from './version.ts';

export interface RoleServices {
  readonly needs: readonly Need[];
  /** Builds the role's domain services into `infra.local` and adds its services to the lifecycle. */
  add(infra: Infrastructure): void | Promise<void>;
}

export const ROLE_SERVICES = {
  users: { needs: ['db', 'rpc-server'], add: users },
  workflows: { needs: ['db', 'artifacts', 'rpc-server'], add: workflows },
  jobs: { needs: ['db', 'artifacts', 'rpc-server'], add: jobs },
  analytics: { needs: ['db', 'rpc-server'], add: analytics },
  notifications: { needs: ['db', 'rpc-server'], add: notifications },
  'workflow-worker': { needs: ['db', 'containers'], add: workflowWorker },
  executor: { needs: ['db', 'containers', 'artifacts'], add: executor },
  'analytics-processor': { needs: ['db'], add: analyticsProcessor },
  scheduler: { needs: ['db'], add: scheduler },
  joblogs: { needs: ['db'], add: joblogs },
  'outbox-relay': { needs: ['db', 'artifacts'], add: outboxRelay },
  gateway: { needs: ['artifacts'], add: gateway },
} as const satisfies Record<RoleName, RoleServices>;

/** What every worker is built with. */
function workerDeps(infra: Infrastructure) {
  return { db: infra.db, clock: infra.clock, events: infra.events, logger: infra.logger };
}

function users(infra: Infrastructure): void {
  const { config, redis, logger } = infra;
  infra.local.users = new UsersService(
    infra.db,
    infra.clock,
    {
      ...config.auth,
      // `auto`: open only when this very process serves the API on a loopback address.
      signupMode: resolveSignupMode(config.auth.signup, config.server.host, infra.has('gateway')),
      // Reset links are emailed through the email outbox, sent by the notifications role.
      passwordReset: {
        ...PASSWORD_RESET_DEFAULTS,
        emailEnabled: config.email.smtpUrl !== '',
        publicUrl: config.email.publicUrl,
      },
    },
    redis
      ? {
          throttle: new RedisLoginThrottle({ redis: redis.connection, logger }, config.auth.loginWindowMs),
          principalCache: new PrincipalCache({ redis: redis.connection, logger }),
        }
      : {},
  );
}

function workflows(infra: Infrastructure): void {
  const { config, db, clock, quotaDefaults } = infra;
  infra.local.workflows = new WorkflowsService(
    db,
    clock,
    {
      idempotencyTtlMs: config.workflows.idempotencyTtlMs,
      policy: { outbound: infra.guards.heartbeat.rules, containers: infra.containerPolicy },
      quotas: quotaDefaults,
      artifacts: infra.artifacts,
    },
    infra.events,
  );
  infra.local.quotas = new QuotasService(db, clock, quotaDefaults);
}

function jobs(infra: Infrastructure): void {
  const { config, db, clock, events, kafka } = infra;
  infra.local.jobs = new JobsService(db, clock, events, {
    idempotencyTtlMs: config.workflows.idempotencyTtlMs,
    quotas: infra.quotaDefaults,
    artifacts: infra.artifacts,
    artifactUrlTtlMs: config.artifacts.downloadUrlTtlMs,
  });
  infra.local.logs = new LogsService(db, clock);
  infra.local.busAdmin = new BusAdminService({
    db,
    republish: kafka ? (r) => kafka.republish(r) : undefined,
    events,
  });
}

function analytics(infra: Infrastructure): void {
  infra.local.analytics = new AnalyticsService(infra.db, infra.clock);
}

/**
 * Notifications, webhooks, subscriptions and email: the services, the consumers that turn facts
 * into notifications, deliveries and emails, and the webhook and email senders. Without
 * CHRONOVERSE_SMTP_URL the subscriptions service still runs (and says email is off) and no
 * consumer queues email.
 */
async function notifications(infra: Infrastructure): Promise<void> {
  const { config, db, bus, clock, events, logger } = infra;
  const webhookRules = infra.guards.webhook.rules;
  infra.local.notifications = new NotificationsService(db, clock);
  infra.local.webhooks = new WebhooksService(
    db,
    clock,
    { allowPrivateNetworks: webhookRules.allowPrivateNetworks, ownPorts: webhookRules.ownPorts },
    events,
  );
  infra.local.subscriptions = new SubscriptionsService(db, clock, {
    emailEnabled: config.email.smtpUrl !== '',
  });
  const w = config.webhooks;
  infra.add(
    service(
      'notifications-consumer',
      PHASE.notifications,
      new NotificationsConsumer({ db, bus, events, logger }),
    ),
    service('webhook-consumer', PHASE.notifications, new WebhookConsumer({ db, bus, clock, events, logger })),
    service(
      'webhook-sender',
      PHASE.notifications,
      new WebhookSender(
        { db, clock, events, logger, outbound: infra.guards.webhook },
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
  const e = config.email;
  if (e.smtpUrl === '') return;
  const { SmtpMailer } = await import('../platform/email/mailer.ts');
  const mailer = new SmtpMailer({
    url: e.smtpUrl,
    from: e.from,
    starttls: e.starttls,
    tlsVerify: e.tlsVerify,
    tlsCaFile: e.tlsCaFile,
    timeoutMs: e.timeoutMs,
  });
  infra.add(
    service(
      'email-consumer',
      PHASE.notifications,
      new EmailConsumer({ db, bus, clock, events, logger }, { publicUrl: e.publicUrl }),
    ),
    service(
      'email-sender',
      PHASE.notifications,
      new EmailSender(
        { db, clock, events, logger, mailer },
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

function workflowWorker(infra: Infrastructure): void {
  infra.add(
    service(
      'workflow-worker',
      PHASE.consumers,
      new WorkflowWorker({
        ...workerDeps(infra),
        bus: infra.bus,
        containers: infra.containers,
        imagePolicy: infra.containerPolicy,
      }),
    ),
  );
}

function executor(infra: Infrastructure): void {
  const { executor: x, quotas, artifacts } = infra.config;
  const built = new Executor(
    {
      ...workerDeps(infra),
      bus: infra.bus,
      live: infra.live,
      containers: infra.containers,
      metrics: infra.metrics,
      outbound: infra.guards.heartbeat,
      artifacts: infra.artifacts,
    },
    {
      heartbeatConcurrency: x.heartbeatConcurrency,
      containerConcurrency: x.containerConcurrency,
      leaseMs: x.leaseMs,
      renewIntervalMs: Math.max(1_000, Math.floor(x.leaseMs / 3)),
      containerDefaults: { cpus: x.defaultCpus, memoryMb: x.defaultMemoryMb, pids: x.defaultPids },
      containerPolicy: infra.containerPolicy,
      maxConcurrentContainers: quotas.maxConcurrentContainers,
      artifactLimits: {
        maxArtifactBytes: artifacts.maxArtifactMb * 1024 * 1024,
        maxJobBytes: artifacts.maxJobMb * 1024 * 1024,
      },
    },
  );
  infra.add(service('executor', PHASE.consumers, built));
}

function analyticsProcessor(infra: Infrastructure): void {
  const { db, bus, logger } = infra;
  infra.add(service('analytics-processor', PHASE.consumers, new AnalyticsProcessor({ db, bus, logger })));
}

function scheduler(infra: Infrastructure): void {
  const { batchSize, ledger } = infra.config.scheduler;
  infra.add(service('scheduler', PHASE.producers, new Scheduler(workerDeps(infra), { batchSize, ledger })));
}

function joblogs(infra: Infrastructure): void {
  const { retentionDays } = infra.config.logs;
  infra.add(service('joblogs', PHASE.producers, new LogRetention(workerDeps(infra), { retentionDays })));
}

/** The relay, and the maintenance loops that run once per deployment beside it. */
function outboxRelay(infra: Infrastructure): void {
  const { config } = infra;
  infra.add(
    service('outbox-relay', PHASE.producers, new OutboxRelay({ ...workerDeps(infra), bus: infra.bus })),
    service(
      'missed-fires',
      PHASE.producers,
      new MissedFireDetector(workerDeps(infra), { afterMs: config.scheduler.missedAlertAfterMs }),
    ),
    service(
      'housekeeping',
      PHASE.producers,
      new Housekeeping(
        { ...workerDeps(infra), artifacts: infra.artifacts },
        { auditRetentionMs: config.audit.retentionMs, artifactRetentionMs: config.artifacts.retentionMs },
      ),
    ),
  );
}

/**
 * The HTTP API in front: clients of the services (in this process, or over gRPC where an address
 * is configured), then the server; stopped first, so no request arrives while workers wind down.
 */
function gateway(infra: Infrastructure): void {
  const { config, logger, redis } = infra;
  let clients: ReturnType<typeof createServiceClients> | null = null;
  let app: Awaited<ReturnType<typeof buildGateway>> | null = null;
  const rpcClients: Service = {
    name: 'rpc-clients',
    phase: PHASE.front,
    start: () => {
      const made = createServiceClients({
        rpc: config.rpc,
        keys: infra.serviceKeys(),
        caller: 'gateway',
        local: infra.local,
        logger,
      });
      clients = made;
      infra.addReadiness(() => made.health());
    },
    stop: async () => clients?.close(),
  };
  const server: Service = {
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
          live: infra.live,
          events: infra.events,
          busAdmin: c.busAdmin,
          ...(c.quotas ? { quotas: c.quotas } : {}),
          ...(c.analytics ? { analytics: c.analytics } : {}),
          ...(c.notifications ? { notifications: c.notifications } : {}),
          ...(c.webhooks ? { webhooks: c.webhooks } : {}),
          ...(c.subscriptions ? { subscriptions: c.subscriptions } : {}),
          readiness: infra.readiness,
          metrics: infra.metrics,
          artifacts: infra.artifacts,
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
      infra.addOwnPort(port);
      const host =
        config.server.host === '0.0.0.0' || config.server.host === '::' ? 'localhost' : config.server.host;
      infra.addresses.http = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    stop: () => app?.close(),
  };
  infra.add(rpcClients, server);
}

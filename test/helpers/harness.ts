/**
 * Per-test-file fixtures on a real database: `pglite` (in memory, migrated) or `postgres` (a
 * fresh database cloned from the run's migrated template). `createTestGateway` builds the real
 * gateway over real services, reached through their RPC clients over the in-memory transport (as
 * the all-in-one process does), so the API suites exercise the RPC layer too; tests drive it with
 * `app.inject()`.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { buildGateway } from '../../src/gateway/app.ts';
import type { ArtifactStore } from '../../src/platform/artifacts/store.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs, type LiveLogs } from '../../src/platform/live-logs.ts';
import { openDatabase, type Database, type Engine } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadServiceKeys } from '../../src/platform/rpc/identity.ts';
import { createServiceClients } from '../../src/platform/rpc/wiring.ts';
import { BusAdminService, type BusAdminDeps } from '../../src/services/bus-admin/service.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { LogsService } from '../../src/services/logs/service.ts';
import { AnalyticsService } from '../../src/services/analytics/service.ts';
import { NotificationsService } from '../../src/services/notifications/service.ts';
import { SubscriptionsService } from '../../src/services/notifications/subscriptions.ts';
import { PASSWORD_RESET_DEFAULTS, UsersService } from '../../src/services/users/service.ts';
import { resolveSignupMode } from '../../src/domain/user-input.ts';
import { WebhooksService } from '../../src/services/webhooks/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { quotaDefaultsOf } from '../../src/services/quotas/enforce.ts';
import { QuotasService } from '../../src/services/quotas/service.ts';
import { adminUrl, databaseUrl } from './postgres.ts';

/** Runs `fn` with a short-lived connection to the server's maintenance database. */
export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export const ENGINES: readonly Engine[] = ['pglite', 'postgres'];

export async function createTestDatabase(engine: Engine): Promise<Database> {
  if (engine === 'pglite') {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    await migrate(database.db);
    return database;
  }
  const name = `${inject('pgRunPrefix')}${randomBytes(6).toString('hex')}`;
  await withAdminClient((admin) =>
    admin.query(`create database "${name}" template "${inject('pgTemplate')}"`),
  );
  const database = await openDatabase({ url: databaseUrl(name), dataDir: '', poolSize: 10 });
  return {
    ...database,
    async close() {
      await database.close();
      await withAdminClient((admin) => admin.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/** A clock tests can move. */
export class TestClock implements Clock {
  #now: number;
  constructor(start = Date.now()) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Captures every log line the gateway writes, for "no secret is ever logged" checks. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.lines.join('');
  }
}

export interface TestGateway {
  app: Awaited<ReturnType<typeof buildGateway>>;
  database: Database;
  config: Config;
  logs: LogCapture;
  /** The gateway's in-process event bus: subscribe to observe wake-ups its services emit. */
  events: Events;
  jobs: JobsService;
  /** The job-log read side the gateway serves (`logs` is taken: the gateway's own log output). */
  jobLogs: LogsService;
  /** Live lines the gateway's SSE streams follow: publish here (or share an engine's). */
  live: LiveLogs;
  /** The admin bus service behind the gateway's /admin/outbox and /admin/bus routes. */
  busAdmin: BusAdminService;
  /** The webhooks service behind /webhooks (its sender is not running: tests drive one). */
  webhooks: WebhooksService;
  /** Closes the gateway, and the database unless the caller passed its own. */
  close(): Promise<void>;
}

/**
 * The real gateway over real services on a fresh database. `env` overrides configuration.
 * `events` and `live` let the gateway share an engine's (test/helpers/engine.ts), as one process does.
 * `republish` is the bus parked messages are re-driven to (none by default: a redrive is a 503).
 */
export async function createTestGateway(
  engine: Engine,
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    database?: Database;
    events?: Events;
    live?: LiveLogs;
    republish?: BusAdminDeps['republish'];
    /** Safety poll of the notifications SSE stream (wake-ups aside). */
    notificationPollMs?: number;
    /**
     * Webhooks may target loopback and private addresses (the admin setting). Default: the
     * configuration's (CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS in `env`).
     */
    allowPrivateNetworks?: boolean;
    /** What the subscriptions service says of email (`email_enabled`). Default: off. */
    emailEnabled?: boolean;
    /** The artifact store the jobs service and the download route use. Default: none. */
    artifacts?: ArtifactStore;
  } = {},
): Promise<TestGateway> {
  // Every test file registers its users from one address (inject's 127.0.0.1): no registration
  // limit unless a test sets one.
  const config = loadConfig({}, { CHRONOVERSE_AUTH_REGISTER_MAX_PER_IP: '100000', ...options.env });
  const database = options.database ?? (await createTestDatabase(engine));
  const clock = options.clock ?? { now: () => new Date() };
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const users = new UsersService(database.db, clock, {
    ...config.auth,
    signupMode: resolveSignupMode(config.auth.signup, config.server.host, true),
    passwordReset: {
      ...PASSWORD_RESET_DEFAULTS,
      emailEnabled: options.emailEnabled ?? false,
      publicUrl: config.email.publicUrl,
    },
  });
  const events = options.events ?? new Events();
  const quotaDefaults = quotaDefaultsOf(config.quotas);
  const workflows = new WorkflowsService(
    database.db,
    clock,
    {
      idempotencyTtlMs: config.workflows.idempotencyTtlMs,
      // The outbound and container policies as `env` configures them (no own listeners: inject).
      policy: {
        outbound: {
          allowPrivateNetworks: config.outbound.allowPrivateNetworks,
          ownPorts: new Set(),
          ownAddresses: new Set(),
        },
        containers: config.containers,
      },
      quotas: quotaDefaults,
      ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    },
    events,
  );
  const live = options.live ?? new InMemoryLiveLogs();
  const jobLogs = new LogsService(database.db, clock);
  const jobs = new JobsService(database.db, clock, events, {
    idempotencyTtlMs: config.workflows.idempotencyTtlMs,
    quotas: quotaDefaults,
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    artifactUrlTtlMs: config.artifacts.downloadUrlTtlMs,
  });
  const busAdmin = new BusAdminService({ db: database.db, republish: options.republish, events });
  const webhooks = new WebhooksService(
    database.db,
    clock,
    {
      allowPrivateNetworks:
        options.allowPrivateNetworks ??
        (config.outbound.allowPrivateNetworks || config.webhooks.allowPrivateNetworks),
    },
    events,
  );
  // Every service, reached through its RPC client on the in-memory transport, as one process runs them.
  const clients = createServiceClients({
    rpc: config.rpc,
    keys: loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' }),
    caller: 'gateway',
    local: {
      users,
      workflows,
      quotas: new QuotasService(database.db, clock, quotaDefaults),
      jobs,
      logs: jobLogs,
      busAdmin,
      notifications: new NotificationsService(database.db, clock),
      analytics: new AnalyticsService(database.db, clock),
      webhooks,
      subscriptions: new SubscriptionsService(database.db, clock, {
        emailEnabled: options.emailEnabled ?? false,
      }),
    },
    logger,
  });
  const app = await buildGateway(
    {
      logger,
      users: clients.users,
      workflows: clients.workflows,
      jobs: clients.jobs,
      logs: clients.logs,
      live,
      events,
      busAdmin: clients.busAdmin,
      ...(clients.quotas ? { quotas: clients.quotas } : {}),
      notifications: clients.notifications ?? undefined,
      analytics: clients.analytics ?? undefined,
      webhooks: clients.webhooks ?? undefined,
      subscriptions: clients.subscriptions ?? undefined,
      readiness: async () => ({ database: await database.ping() }),
      ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    },
    {
      bodyLimitBytes: config.server.bodyLimitBytes,
      bodyTimeoutMs: config.server.bodyTimeoutMs,
      trustProxy: config.server.trustProxy,
      version: 'test',
      ...(options.notificationPollMs !== undefined ? { notificationPollMs: options.notificationPollMs } : {}),
    },
  );
  await app.ready();
  return {
    app,
    database,
    config,
    logs,
    events,
    jobs,
    jobLogs,
    live,
    busAdmin,
    webhooks,
    async close() {
      await app.close();
      clients.close();
      if (!options.database) await database.close();
    },
  };
}

let emailCounter = 0;
/** A unique email per call within a file. */
export function uniqueEmail(label = 'user'): string {
  emailCounter += 1;
  return `${label}-${emailCounter}-${randomBytes(3).toString('hex')}@example.com`;
}

export const PASSWORD = 'correct horse battery';

/** Registers a user and returns its bearer headers and identity. */
export async function registerUser(gw: TestGateway, email = uniqueEmail()) {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { user: { id: string; email: string; role: string }; token: string };
  return {
    user: body.user,
    token: body.token,
    headers: { authorization: `Bearer ${body.token}` },
    cookies: Object.fromEntries(res.cookies.map((c) => [c.name, c.value])),
  };
}

/**
 * What the runtime calls: service clients for the gateway, and the RPC server of the service
 * roles. For each service the gateway uses the remote URL when one is configured, else the class
 * running in this process through the in-memory router transport (the full RPC stack: messages,
 * identity, errors, deadlines), so both profiles run the same code. The logs and bus admin
 * services live with jobs (CHRONOVERSE_JOBS_URL), the quotas service with workflows
 * (CHRONOVERSE_WORKFLOWS_URL).
 */
import { createClient, type Transport } from '@connectrpc/connect';
import type { Config } from '../../config/schema.ts';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import type { AnalyticsApi } from '../../services/analytics/api.ts';
import type { BusAdmin } from '../../services/bus-admin/types.ts';
import type { JobsApi } from '../../services/jobs/api.ts';
import type { LogsApi } from '../../services/logs/api.ts';
import type { NotificationsApi } from '../../services/notifications/api.ts';
import type { SubscriptionsApi } from '../../services/notifications/subscriptions-api.ts';
import type { QuotasApi } from '../../services/quotas/api.ts';
import type { UsersApi } from '../../services/users/api.ts';
import type { WebhooksApi } from '../../services/webhooks/api.ts';
import type { WorkflowsApi } from '../../services/workflows/api.ts';
import { workflowsOverrides } from '../../services/workflows/bulk.ts';
import { AnalyticsService } from '../../gen/chronoverse/analytics/v1/analytics_pb.js';
import { BusAdminService } from '../../gen/chronoverse/jobs/v1/bus_admin_pb.js';
import { JobsService } from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import { LogsService } from '../../gen/chronoverse/jobs/v1/logs_pb.js';
import { NotificationsService } from '../../gen/chronoverse/notifications/v1/notifications_pb.js';
import { SubscriptionsService } from '../../gen/chronoverse/notifications/v1/subscriptions_pb.js';
import { QuotasService } from '../../gen/chronoverse/quotas/v1/quotas_pb.js';
import { UsersService } from '../../gen/chronoverse/users/v1/users_pb.js';
import { WebhooksService } from '../../gen/chronoverse/webhooks/v1/webhooks_pb.js';
import { WorkflowsService } from '../../gen/chronoverse/workflows/v1/workflows_pb.js';
import type { Logger } from '../logger.ts';
import { ServiceTokenSigner, type ServiceKeys } from './identity.ts';
import type { ServiceRegistration } from './registration.ts';
import { apiClient, serveApi, type Overrides, type ServiceFor } from './service-adapter.ts';
import { startRpcServer as startServer, type RpcServer } from './server.ts';
import type { InternalErrorLogger } from './server-interceptors.ts';
import { createInMemoryTransport, createRemoteTransport, type CallPolicy } from './transport.ts';

export type RpcConfig = Config['rpc'];

/** The domain services this process runs (any subset). */
export interface LocalServices {
  users?: UsersApi;
  workflows?: WorkflowsApi;
  /** Users' quotas for administrators; served by the workflows role. */
  quotas?: QuotasApi;
  jobs?: JobsApi;
  logs?: LogsApi;
  /** Dead outbox rows and parked bus messages; served by the jobs role. */
  busAdmin?: BusAdmin;
  analytics?: AnalyticsApi;
  notifications?: NotificationsApi;
  /** Webhook endpoints and deliveries; served by the notifications role. */
  webhooks?: WebhooksApi;
  /** Notification subscriptions and the email history; served by the notifications role. */
  subscriptions?: SubscriptionsApi;
}

export interface ServiceClients {
  users: UsersApi;
  workflows: WorkflowsApi;
  /**
   * Null only when the workflows role neither runs this service in this process nor has an address
   * (CHRONOVERSE_WORKFLOWS_URL): the gateway then has no quota routes.
   */
  quotas: QuotasApi | null;
  jobs: JobsApi;
  logs: LogsApi;
  busAdmin: BusAdmin;
  /**
   * Null only when the analytics role neither runs in this process nor has an address
   * (CHRONOVERSE_ANALYTICS_URL): a gateway always has one of them (src/cli/roles.ts).
   */
  analytics: AnalyticsApi | null;
  /**
   * Null only when the notifications role neither runs in this process nor has an address
   * (CHRONOVERSE_NOTIFICATIONS_URL): a gateway always has one of them (src/cli/roles.ts).
   */
  notifications: NotificationsApi | null;
  /** Like `notifications` (same role, same address): null only when neither runs nor is reachable. */
  webhooks: WebhooksApi | null;
  /** Like `notifications` (same role, same address). */
  subscriptions: SubscriptionsApi | null;
  /** Readiness of the remote services: each answers the standard gRPC health check as SERVING. */
  health(): Promise<Record<string, boolean>>;
  /** Ends remote connections. */
  close(): void;
}

function registrations(local: LocalServices): ServiceRegistration[] {
  return [
    ...(local.users ? [serveApi(UsersService, local.users)] : []),
    ...(local.workflows ? [serveApi(WorkflowsService, local.workflows, workflowsOverrides)] : []),
    ...(local.quotas ? [serveApi(QuotasService, local.quotas)] : []),
    ...(local.jobs ? [serveApi(JobsService, local.jobs)] : []),
    ...(local.logs ? [serveApi(LogsService, local.logs)] : []),
    ...(local.busAdmin ? [serveApi(BusAdminService, local.busAdmin)] : []),
    ...(local.analytics ? [serveApi(AnalyticsService, local.analytics)] : []),
    ...(local.notifications ? [serveApi(NotificationsService, local.notifications)] : []),
    ...(local.webhooks ? [serveApi(WebhooksService, local.webhooks)] : []),
    ...(local.subscriptions ? [serveApi(SubscriptionsService, local.subscriptions)] : []),
  ];
}

function internalErrorLogger(logger: Logger): InternalErrorLogger {
  return (err, procedure) => logger.error({ err, procedure }, 'rpc handler failed');
}

export function createServiceClients(params: {
  rpc: RpcConfig;
  keys: ServiceKeys;
  /** The calling role(s), the `sub` of service tokens, e.g. 'gateway'. */
  caller: string;
  local: LocalServices;
  logger: Logger;
}): ServiceClients {
  const { rpc, keys, local } = params;
  if (!keys.privateKey) {
    throw new Error('calling services needs CHRONOVERSE_SERVICE_PRIVATE_KEY (chronoverse keys generate)');
  }
  const policy: CallPolicy = {
    timeoutMs: rpc.timeoutMs,
    retries: rpc.retries,
    signer: new ServiceTokenSigner(keys.privateKey, params.caller),
  };
  const tls = { caFile: rpc.tlsCaFile, certFile: rpc.tlsCertFile, keyFile: rpc.tlsKeyFile };
  const closers: (() => void)[] = [];
  const remote = new Map<string, ReturnType<typeof createRemoteTransport>>();
  const remoteTransport = (url: string) => {
    let t = remote.get(url);
    if (!t) {
      t = createRemoteTransport(url, policy, tls);
      remote.set(url, t);
      closers.push(t.close);
    }
    return t.transport;
  };
  let memory: ReturnType<typeof createInMemoryTransport> | undefined;
  const memoryTransport = () =>
    (memory ??= createInMemoryTransport(
      registrations(local),
      { publicKey: keys.publicKey, onInternalError: internalErrorLogger(params.logger) },
      policy,
    ));
  const pick = (name: string, url: string, present: boolean, env: string) => {
    if (url !== '') return remoteTransport(url);
    if (present) return memoryTransport();
    throw new Error(
      `the ${name} service is neither configured (${env}) nor running in this process (role ${name})`,
    );
  };
  /** `Api` over `transport`; `serviceName` is the role whose errors it rebuilds. */
  const client = <Api extends object>(
    desc: ServiceFor<Api>,
    transport: Transport,
    serviceName: string,
    overrides?: Overrides<Api>,
  ) => apiClient<Api>(desc, transport, { serviceName, openTimeoutMs: rpc.timeoutMs, overrides });
  return {
    users: client<UsersApi>(
      UsersService,
      pick('users', rpc.usersUrl, !!local.users, 'CHRONOVERSE_USERS_URL'),
      'users',
    ),
    workflows: client<WorkflowsApi>(
      WorkflowsService,
      pick('workflows', rpc.workflowsUrl, !!local.workflows, 'CHRONOVERSE_WORKFLOWS_URL'),
      'workflows',
      workflowsOverrides,
    ),
    quotas:
      rpc.workflowsUrl !== '' || local.quotas
        ? client<QuotasApi>(
            QuotasService,
            pick('workflows', rpc.workflowsUrl, !!local.quotas, 'CHRONOVERSE_WORKFLOWS_URL'),
            'workflows',
          )
        : null,
    jobs: client<JobsApi>(
      JobsService,
      pick('jobs', rpc.jobsUrl, !!local.jobs, 'CHRONOVERSE_JOBS_URL'),
      'jobs',
    ),
    logs: client<LogsApi>(
      LogsService,
      pick('jobs', rpc.jobsUrl, !!local.logs, 'CHRONOVERSE_JOBS_URL'),
      'jobs',
    ),
    busAdmin: client<BusAdmin>(
      BusAdminService,
      pick('jobs', rpc.jobsUrl, !!local.busAdmin, 'CHRONOVERSE_JOBS_URL'),
      'jobs',
    ),
    analytics:
      rpc.analyticsUrl !== '' || local.analytics
        ? client<AnalyticsApi>(
            AnalyticsService,
            pick('analytics', rpc.analyticsUrl, !!local.analytics, 'CHRONOVERSE_ANALYTICS_URL'),
            'analytics',
          )
        : null,
    notifications:
      rpc.notificationsUrl !== '' || local.notifications
        ? client<NotificationsApi>(
            NotificationsService,
            pick(
              'notifications',
              rpc.notificationsUrl,
              !!local.notifications,
              'CHRONOVERSE_NOTIFICATIONS_URL',
            ),
            'notifications',
          )
        : null,
    webhooks:
      rpc.notificationsUrl !== '' || local.webhooks
        ? client<WebhooksApi>(
            WebhooksService,
            pick('notifications', rpc.notificationsUrl, !!local.webhooks, 'CHRONOVERSE_NOTIFICATIONS_URL'),
            'notifications',
          )
        : null,
    subscriptions:
      rpc.notificationsUrl !== '' || local.subscriptions
        ? client<SubscriptionsApi>(
            SubscriptionsService,
            pick(
              'notifications',
              rpc.notificationsUrl,
              !!local.subscriptions,
              'CHRONOVERSE_NOTIFICATIONS_URL',
            ),
            'notifications',
          )
        : null,
    health: async () => {
      const checks = Object.entries({
        users: rpc.usersUrl,
        workflows: rpc.workflowsUrl,
        jobs: rpc.jobsUrl,
        analytics: rpc.analyticsUrl,
        notifications: rpc.notificationsUrl,
      })
        .filter(([, url]) => url !== '')
        .map(async ([name, url]) => {
          try {
            const health = createClient(Health, remoteTransport(url));
            const res = await health.check({ service: '' }, { timeoutMs: 1_000 });
            return [`${name}-service`, res.status === HealthCheckResponse_ServingStatus.SERVING] as const;
          } catch {
            return [`${name}-service`, false] as const;
          }
        });
      return Object.fromEntries(await Promise.all(checks));
    },
    close: () => {
      for (const close of closers.splice(0)) close();
    },
  };
}

/** The gRPC server of the service roles this process runs, on rpc.host:rpc.port. */
export function startRpcServer(params: {
  rpc: RpcConfig;
  keys: ServiceKeys;
  services: LocalServices;
  logger: Logger;
}): Promise<RpcServer> {
  const { rpc } = params;
  return startServer({
    host: rpc.host,
    port: rpc.port,
    tls: { certFile: rpc.tlsCertFile, keyFile: rpc.tlsKeyFile, caFile: rpc.tlsCaFile },
    services: registrations(params.services),
    publicKey: params.keys.publicKey,
    onInternalError: internalErrorLogger(params.logger),
  });
}

/**
 * One running Chronoverse process, shared by `chronoverse start` and the tests (which start on
 * port 0): the roles asked for (with their dependencies, src/cli/roles.ts) are looked up in the
 * role table (src/cli/role-services.ts); the infrastructure they need is opened once
 * (src/cli/infrastructure.ts); each role adds its services to one `Lifecycle`
 * (src/workers/service.ts), which starts them by phase and stops them in reverse.
 */
import type { Config } from '../config/schema.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import type { Logger } from '../platform/logger.ts';
import {
  registerConsumerLagMetrics,
  registerDeliveryMetrics,
  registerOutboxMetrics,
} from '../platform/metrics/registry.ts';
import { BusAdminService } from '../services/bus-admin/service.ts';
import { Lifecycle } from '../workers/service.ts';
import { openInfrastructure, type Infrastructure } from './infrastructure.ts';
import { ROLE_SERVICES, type RoleServices } from './role-services.ts';
import { resolveModules, SERVICE_ROLES, type ModuleName, type ServiceRole } from './roles.ts';

export interface Runtime {
  readonly modules: ModuleName[];
  /** The database, unless this process runs only roles that reach it over gRPC (a gateway). */
  readonly database: Database | null;
  /** The gateway's URL when the gateway runs. */
  readonly url: string | null;
  stop(): Promise<void>;
}

export async function startRuntime(params: {
  config: Config;
  logger: Logger;
  roles: readonly string[];
  clock?: Clock;
}): Promise<Runtime> {
  const { config, logger } = params;
  const kafka = config.kafka.brokers.trim() !== '';
  const remoteServices = SERVICE_ROLES.filter((s) => serviceUrl(config, s) !== '');
  const modules = resolveModules(params.roles, { remoteServices, kafka });
  // In table order: the order of services within a phase.
  const roles: RoleServices[] = Object.entries(ROLE_SERVICES)
    .filter(([name]) => modules.includes(name as ModuleName))
    .map(([, role]) => role);
  const lifecycle = new Lifecycle(logger);
  try {
    const infra = await openInfrastructure({
      config,
      logger,
      clock: params.clock,
      modules,
      needs: new Set(roles.flatMap((role) => role.needs)),
      lifecycle,
    });
    for (const role of roles) await role.add(infra);
    registerProcessMetrics(infra);
    await lifecycle.start();

    const { database, addresses } = infra;
    const url = addresses.http;
    logger.info(
      {
        modules,
        services: lifecycle.started,
        engine: database?.engine ?? null,
        bus: kafka ? 'kafka' : 'in-process',
        redis: infra.redis !== null,
        ...(config.database.url === '' && database ? { dataDir: config.database.dataDir } : {}),
        ...(addresses.rpc ? { rpc: addresses.rpc } : {}),
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

/** The series about the bus and the outbox that /metrics serves (the gateway's or the operations server's). */
function registerProcessMetrics(infra: Infrastructure): void {
  const { metrics, database, kafka } = infra;
  if (database) {
    registerDeliveryMetrics(metrics, infra.local.busAdmin ?? new BusAdminService({ db: database.db }));
    registerOutboxMetrics(metrics, database.db);
  }
  if (kafka) registerConsumerLagMetrics(metrics, () => kafka.lags());
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

/**
 * One running Chronoverse process: opens the database, starts the requested modules in order,
 * stops them in reverse. Shared by `chronoverse start` and the tests (which start on port 0).
 */
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { openDatabase, type Database } from '../platform/db/database.ts';
import { ensureJobLogPartitions, migrate } from '../platform/db/migrate.ts';
import { InProcessBus } from '../platform/bus/bus.ts';
import { DockerContainerRuntime } from '../platform/containers/docker-runtime.ts';
import type { ContainerRuntime } from '../platform/containers/runtime.ts';
import { Events } from '../platform/events.ts';
import { LiveLogs } from '../platform/live-logs.ts';
import type { Logger } from '../platform/logger.ts';
import { buildGateway } from '../gateway/app.ts';
import { JobsService } from '../services/jobs/service.ts';
import { LogsService } from '../services/logs/service.ts';
import { UsersService } from '../services/users/service.ts';
import { WorkflowsService } from '../services/workflows/service.ts';
import { Executor } from '../workers/executor/executor.ts';
import { Housekeeping } from '../workers/housekeeping/housekeeping.ts';
import { LogRetention } from '../workers/log-retention/log-retention.ts';
import { OutboxRelay } from '../workers/outbox-relay/relay.ts';
import { Scheduler } from '../workers/scheduler/scheduler.ts';
import { WorkflowWorker } from '../workers/workflow-worker/workflow-worker.ts';
import { resolveModules, type ModuleName } from './roles.ts';
import { VERSION } from './version.ts';

export interface Runtime {
  readonly modules: ModuleName[];
  readonly database: Database;
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
  const modules = resolveModules(params.roles);
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
    const embedded = config.database.url === '';
    if (embedded && !config.database.dataDir.startsWith('memory://')) {
      const release = await lockDataDir(config.database.dataDir);
      started.push({ name: 'data-dir-lock', stop: release });
    }
    const database = await openDatabase({
      url: config.database.url,
      dataDir: config.database.dataDir,
      poolSize: config.database.poolSize,
      onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
    });
    started.push({ name: 'db', stop: () => database.close() });
    const migrated = await migrate(database.db);
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
    try {
      await ensureJobLogPartitions(database.db);
    } catch (err) {
      // Lines still land in the default partition; never a reason not to start.
      logger.warn({ err: { message: (err as Error).message } }, 'could not create job log partitions');
    }

    const events = new Events();
    const bus = new InProcessBus();
    const live = new LiveLogs();
    const users = new UsersService(database.db, clock, config.auth);
    const workflows = new WorkflowsService(
      database.db,
      clock,
      { idempotencyTtlMs: config.workflows.idempotencyTtlMs },
      events,
    );
    const jobs = new JobsService(database.db, clock, events, {
      idempotencyTtlMs: config.workflows.idempotencyTtlMs,
    });
    const deps = { db: database.db, clock, events, logger };

    // The container runtime is optional: without one, HEARTBEAT workflows still run and CONTAINER
    // builds and jobs fail with a clear reason instead of the process failing to start.
    let containers: ContainerRuntime | null = null;
    if (modules.includes('executor') || modules.includes('workflow-worker')) {
      const runtime = new DockerContainerRuntime({ dockerHost: config.containers.dockerHost, logger });
      if (!(await runtime.ping())) {
        logger.warn(
          { dockerHost: config.containers.dockerHost },
          'no container runtime answers at DOCKER_HOST: CONTAINER workflows fail until one does; HEARTBEAT workflows are unaffected',
        );
      }
      // Used even when down: calls then fail with a SYSTEM error, and a runtime that comes up later is picked up.
      containers = runtime;
    }

    if (modules.includes('workflow-worker')) {
      new WorkflowWorker({ ...deps, bus, containers });
    }
    if (modules.includes('executor')) {
      const executor = new Executor(
        { ...deps, bus, live, containers },
        {
          concurrency: config.executor.concurrency,
          leaseMs: config.executor.leaseMs,
          renewIntervalMs: Math.max(1_000, Math.floor(config.executor.leaseMs / 3)),
          containerDefaults: {
            cpus: config.executor.defaultCpus,
            memoryMb: config.executor.defaultMemoryMb,
            pids: config.executor.defaultPids,
          },
        },
      );
      executor.start();
      started.push({ name: 'executor', stop: () => executor.stop() });
    }
    if (modules.includes('scheduler')) {
      const scheduler = new Scheduler(deps, { batchSize: config.scheduler.batchSize });
      scheduler.start();
      started.push({ name: 'scheduler', stop: () => scheduler.stop() });
    }
    if (modules.includes('joblogs')) {
      const retention = new LogRetention({ ...deps }, { retentionDays: config.logs.retentionDays });
      retention.start();
      started.push({ name: 'joblogs', stop: () => retention.stop() });
    }
    if (modules.includes('outbox-relay')) {
      const relay = new OutboxRelay({ ...deps, bus });
      relay.start();
      started.push({ name: 'outbox-relay', stop: () => relay.stop() });
      const housekeeping = new Housekeeping(deps);
      housekeeping.start();
      started.push({ name: 'housekeeping', stop: () => housekeeping.stop() });
    }

    let url: string | null = null;
    if (modules.includes('gateway')) {
      const app = await buildGateway(
        {
          logger,
          users,
          workflows,
          jobs,
          logs: new LogsService(database.db, clock),
          live,
          events,
          readiness: async () => ({ database: await database.ping() }),
        },
        {
          bodyLimitBytes: config.server.bodyLimitBytes,
          trustProxy: config.server.trustProxy,
          version: VERSION,
        },
      );
      await app.listen({ host: config.server.host, port: config.server.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.server.port;
      const host =
        config.server.host === '0.0.0.0' || config.server.host === '::' ? 'localhost' : config.server.host;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      // Stopped first (reverse order): no new requests while workers wind down.
      started.push({ name: 'gateway', stop: () => app.close() });
    }
    logger.info(
      { modules, engine: database.engine, ...(embedded ? { dataDir: config.database.dataDir } : {}), url },
      url ? `Chronoverse is up: ${url} (API docs at ${url}/api/docs)` : 'Chronoverse is up',
    );
    return { modules, database, url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * PGlite is a single-process database: two processes on one data directory would corrupt it.
 * A lock file next to the directory holds the owner's pid; a stale lock (dead pid) is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${path.resolve(dataDir)}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `another Chronoverse process (pid ${pid}) is using DATA_DIR ${dataDir}; stop it or choose another DATA_DIR`,
        );
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`could not lock DATA_DIR ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

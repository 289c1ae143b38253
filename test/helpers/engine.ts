/**
 * The execution engine on a test database: real relay, in-process bus, scheduler, workflow
 * worker and executor, with short timings. Plus a local HTTP server for heartbeats.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArtifactStore } from '../../src/platform/artifacts/store.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { systemClock } from '../../src/platform/clock.ts';
import type { ContainerRuntime } from '../../src/platform/containers/runtime.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger, type Logger } from '../../src/platform/logger.ts';
import { OutboundGuard } from '../../src/platform/outbound/guard.ts';
import { loopbackOnlyBlockList } from './loopback-only.ts';
import {
  CONTAINER_POLICY_DEFAULTS,
  DEFAULT_ALLOWED_REGISTRIES,
  type ContainerPolicy,
} from '../../src/domain/container-policy.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { Executor, EXECUTOR_DEFAULTS, type ExecutorConfig } from '../../src/workers/executor/executor.ts';
import { OutboxRelay } from '../../src/workers/outbox-relay/relay.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { WorkflowWorker } from '../../src/workers/workflow-worker/workflow-worker.ts';

/**
 * The production lease (EXECUTOR_DEFAULTS): tests that are not about leases run with it, so a
 * slow machine never lets a lease run out under them (and `attempts: 1` holds). The lease tests
 * set their own.
 */
export const PRODUCTION_LEASE: Partial<ExecutorConfig> = {
  leaseMs: EXECUTOR_DEFAULTS.leaseMs,
  renewIntervalMs: EXECUTOR_DEFAULTS.renewIntervalMs,
};

export const FAST_EXECUTOR: Partial<ExecutorConfig> = {
  heartbeatConcurrency: 4,
  containerConcurrency: 4,
  leaseMs: 2_000,
  renewIntervalMs: 300,
  rescueIntervalMs: 200,
  pollIntervalMs: 100,
  retryBaseMs: 50,
  retryMaxMs: 200,
  softStopMs: 2_000,
};

/**
 * The policies engine tests run under unless they say otherwise: heartbeat targets listen on
 * 127.0.0.1 and fixture users are ordinary users, so private networks are allowed; the test image
 * is `localhost/…` (present in the test engine, never pulled), so `localhost` is a listed registry.
 */
export const TEST_CONTAINER_POLICY: ContainerPolicy = {
  ...CONTAINER_POLICY_DEFAULTS,
  allowedRegistries: [...DEFAULT_ALLOWED_REGISTRIES, 'localhost'],
};

export function createEngine(
  database: Database,
  options: {
    containers?: ContainerRuntime | null;
    executor?: Partial<ExecutorConfig>;
    withExecutor?: boolean;
    /** Default: private networks allowed (see TEST_CONTAINER_POLICY's note), loopback dials only. */
    outbound?: OutboundGuard;
    /** Default: TEST_CONTAINER_POLICY. */
    containerPolicy?: ContainerPolicy;
    /** Default: silent. */
    logger?: Logger;
    /** Where CONTAINER jobs' artifacts go. Default: none (declared artifacts are not kept). */
    artifacts?: ArtifactStore;
  } = {},
) {
  const outbound =
    options.outbound ?? new OutboundGuard({ allowPrivateNetworks: true, blockList: loopbackOnlyBlockList() });
  const containerPolicy = options.containerPolicy ?? TEST_CONTAINER_POLICY;
  const events = new Events();
  const bus = new InProcessBus();
  const logger = options.logger ?? createLogger('silent');
  const live = new InMemoryLiveLogs();
  const deps = { db: database.db, clock: systemClock, events, logger };
  const relay = new OutboxRelay({ ...deps, bus }, { pollIntervalMs: 50, retryBaseMs: 20 });
  const scheduler = new Scheduler(deps, { maxSleepMs: 100 });
  const worker = new WorkflowWorker({
    ...deps,
    bus,
    containers: options.containers ?? null,
    imagePolicy: containerPolicy,
  });
  const executor =
    options.withExecutor === false
      ? null
      : new Executor(
          {
            ...deps,
            bus,
            live,
            containers: options.containers ?? null,
            outbound,
            ...(options.artifacts ? { artifacts: options.artifacts } : {}),
          },
          { ...FAST_EXECUTOR, containerPolicy, ...options.executor },
        );
  // The service the API cancels jobs through (its wake-ups reach this engine's executor).
  const jobs = new JobsService(database.db, systemClock, events, { idempotencyTtlMs: 60_000 });
  return {
    events,
    bus,
    jobs,
    live,
    relay,
    scheduler,
    worker,
    executor,
    start() {
      relay.start();
      scheduler.start();
      worker.start();
      executor?.start();
    },
    async stop() {
      await executor?.stop();
      await worker.stop();
      await scheduler.stop();
      await relay.stop();
    },
  };
}

export type Engine = ReturnType<typeof createEngine>;

/**
 * A local HTTP server for heartbeats: /ok, /status/<code>, /slow/<ms>, /hang, /gate (held until
 * `release()` answers 200). Counts hits per path.
 */
export async function startTarget(): Promise<{
  url: string;
  hits: Map<string, number>;
  /** Answers 200 to every /gate request held now. */
  release(): void;
  /** Per path: requests being answered now, and the most there ever were at once. */
  inFlight: Map<string, { now: number; most: number }>;
  close(): Promise<void>;
}> {
  const hits = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const gated = new Set<ServerResponse>();
  const inFlight = new Map<string, { now: number; most: number }>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const flight = inFlight.get(path) ?? { now: 0, most: 0 };
    inFlight.set(path, flight);
    flight.now += 1;
    flight.most = Math.max(flight.most, flight.now);
    // 'close' follows 'finish' (answered) or an abort: before the client has the answer.
    res.on('close', () => (flight.now -= 1));
    const status = /^\/status\/(\d{3})$/.exec(path);
    const slow = /^\/slow\/(\d+)$/.exec(path);
    if (status) {
      res.writeHead(Number(status[1])).end();
    } else if (slow) {
      setTimeout(() => res.writeHead(200).end('ok'), Number(slow[1]));
    } else if (path === '/hang') {
      hanging.add(res);
    } else if (path === '/gate') {
      gated.add(res);
    } else {
      res.writeHead(200).end('ok');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    inFlight,
    release() {
      for (const res of gated) res.writeHead(200).end('ok');
      gated.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of [...hanging, ...gated]) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

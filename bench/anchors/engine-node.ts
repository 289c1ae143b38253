/**
 * Chronoverse's side of the shared anchor harness (`../shared/bench-anchors/harness.mjs`), used by
 * bench/anchors/ours.mjs. Typed and typechecked with the rest of the project, so a change of the
 * engine's constructors shows up here at `tsc` time.
 *
 * What one harness job is: a `once` HEARTBEAT workflow whose endpoint is the HTTP target of the
 * worker processes, with the harness's job data (`{p, t, ...}`) in the URL's query string. The
 * engine has no per-job input (a job runs its workflow's payload), so the data lives where a user
 * would put it: in the heartbeat's request. Its job is created by the real scheduler at `run_at`
 * (delayed or not), woken by the real `schedules:changed` wake-up over the Redis event bridge;
 * the scheduler's DISPATCH row goes through the real outbox relay; the real executor claims the
 * job, makes the heartbeat request (onJob fires when it arrives) and writes the batched
 * completion; the relay then delivers JOB_COMPLETED to the workflow worker, which completes the
 * once workflow.
 *
 * What is NOT in the measured path: the workflow's creation through the API (validation, quotas,
 * idempotency, the BUILD event and the HEARTBEAT build through relay + workflow worker). The rows
 * are written the way bench/workflows.ts writes them, in one statement per batch, exactly as
 * WorkflowsService.create plus a HEARTBEAT build leave them; the bulk endpoint of issue 11 is what
 * will stand for `enqueueBatch`.
 *
 * Processes: the harness parent stands for the API process (it writes the rows and emits what the
 * workflows service emits after a commit); every worker process is one engine node with the roles
 * bench/engine.ts wires (scheduler, outbox relay, workflow worker, executor), configured as
 * `npm start` would configure them from the environment (src/config: 256 heartbeat slots,
 * pool 10, scheduler batch 1000 by default), with REDIS_URL set because several processes on one
 * PostgreSQL need it for their wake-ups (src/config: "Empty: in memory (single process only)").
 * Without Kafka the bus is in-process: a DISPATCH relayed in one process wakes that process's
 * executor; the other one finds work on its own poll or after its own completions.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { ensureJobLogPartitions, migrate } from '../../src/platform/db/migrate.ts';
import type { DB } from '../../src/platform/db/schema.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { OutboundGuard } from '../../src/platform/outbound/guard.ts';
import { openRedis, type ProcessRedis } from '../../src/platform/redis/connection.ts';
import { EventBridge } from '../../src/platform/redis/event-bridge.ts';
import { Executor } from '../../src/workers/executor/executor.ts';
import { OutboxRelay } from '../../src/workers/outbox-relay/relay.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { WorkflowWorker } from '../../src/workers/workflow-worker/workflow-worker.ts';

/** Where the parent and the workers meet; read from the environment the harness passes on. */
export interface Site {
  pgAdminUrl: string;
  pgUrl: string;
  redisUrl: string;
  redisPrefix: string;
  targetPort: number;
}

const DB_NAME = 'anchors_ours';

export function siteFromEnv(env: Record<string, string | undefined>): Site {
  const host = env.PGHOST_TCP || '127.0.0.1';
  const base = `postgres://${env.PGUSER || 'postgres'}@${host}:${env.PGPORT || 55432}`;
  return {
    pgAdminUrl: `${base}/postgres`,
    pgUrl: env.OURS_DATABASE_URL || `${base}/${DB_NAME}`,
    redisUrl: env.OURS_REDIS_URL || `redis://127.0.0.1:${env.REDIS_PORT || 56379}/0`,
    redisPrefix: env.OURS_REDIS_PREFIX || 'cv-anchors:',
    targetPort: Number(env.OURS_TARGET_PORT || 0),
  };
}

/** The configuration `npm start` would resolve with these settings (everything else default). */
export function engineConfig(site: Site, env: Record<string, string> = {}): Config {
  return loadConfig({
    ...env,
    DATABASE_URL: site.pgUrl,
    REDIS_URL: site.redisUrl,
    CHRONOVERSE_REDIS_KEY_PREFIX: site.redisPrefix,
  });
}

/** A port nothing listens on now (the workers bind it later with reusePort). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function withAdmin(url: string, query: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

function redisWithBridge(
  config: Config,
  events: Events,
  logger: ReturnType<typeof createLogger>,
  name: string,
) {
  const redis = openRedis(config.redis, logger, name) as ProcessRedis;
  const bridge = new EventBridge({
    events,
    publisher: redis.connection,
    subscriber: redis.subscriber,
    logger,
  });
  bridge.start();
  return {
    /** Until both connections are up: a wake-up sent before that is lost (best effort by design). */
    async ready() {
      for (let i = 0; i < 100 && !(redis.connection.ready && redis.subscriber.ready); i++) await settle(50);
      await settle(100);
    },
    async close() {
      bridge.stop();
      await redis.close();
    },
  };
}

/** Logs go to stderr: the harness reads its results from the processes' stdout. */
const quietLogger = () => createLogger('warn', process.stderr);

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- the API side (harness parent)

export interface Api {
  enqueue(items: Array<{ data: unknown; runAt?: number }>): Promise<void>;
  pending(): Promise<number>;
  purge(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh, migrated database with one account (an administrator, as the first account is). */
export async function openApi(site: Site, env: Record<string, string>): Promise<Api> {
  await withAdmin(site.pgAdminUrl, `drop database if exists "${DB_NAME}" with (force)`);
  await withAdmin(site.pgAdminUrl, `create database "${DB_NAME}"`);
  const config = engineConfig(site, env);
  const logger = quietLogger();
  const database: Database = await openDatabase({
    url: config.database.url,
    dataDir: '',
    poolSize: config.database.poolSize,
  });
  await migrate(database.db);
  await ensureJobLogPartitions(database.db);
  const db = database.db;
  const userId = newId();
  // Heartbeats to loopback: allowed for administrators by the default outbound policy.
  await db
    .insertInto('users')
    .values({ id: userId, email: 'anchors@example.com', password_hash: 'x', role: 'admin' })
    .execute();
  const events = new Events();
  const redis = redisWithBridge(config, events, logger, 'chronoverse-anchors-api');
  await redis.ready();
  const endpoint = `http://127.0.0.1:${site.targetPort}/hb?d=`;
  return {
    async enqueue(items) {
      const ids = await insertOnceHeartbeats(db, userId, endpoint, items, env.OURS_TRACE === '1');
      // What WorkflowsService emits after a create commits: the schedulers re-plan at once.
      events.emit('schedules:changed', { workflowId: ids[0]! });
    },
    async pending() {
      const { rows } = await sql<{ n: number }>`
        SELECT (SELECT count(*) FROM workflows WHERE next_run_at IS NOT NULL)::int
             + (SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'QUEUED', 'RUNNING'))::int AS n`.execute(
        db,
      );
      return rows[0]!.n;
    },
    async purge() {
      await sql`UPDATE workflows SET next_run_at = NULL, state = 'TERMINATED', terminated_at = now(), updated_at = now()
                WHERE next_run_at IS NOT NULL`.execute(db);
      await sql`UPDATE jobs SET status = 'CANCELED', completed_at = now(), updated_at = now()
                WHERE status IN ('PENDING', 'QUEUED')`.execute(db);
    },
    async close() {
      await redis.close();
      await database.close();
    },
  };
}

/**
 * Built `once` HEARTBEAT workflows, one statement per batch: the row WorkflowsService.create writes
 * for `{kind: HEARTBEAT, payload: {endpoint}, schedule: {type: once, run_at}}` (the payload with
 * its defaults), as the HEARTBEAT build leaves it (build COMPLETED, next_run_at = run_at).
 */
async function insertOnceHeartbeats(
  db: Kysely<DB>,
  userId: string,
  endpoint: string,
  items: Array<{ data: unknown; runAt?: number }>,
  trace = false,
): Promise<string[]> {
  const now = Date.now();
  const ids = items.map(() => newId());
  const payloads = items.map((x, i) =>
    JSON.stringify({
      // Tracing (OURS_TRACE=1): the workflow id rides along, to match the stages of one job.
      endpoint: endpoint + encodeURIComponent(JSON.stringify(x.data)) + (trace ? `&w=${ids[i]}` : ''),
      method: 'GET',
      headers: {},
      body: null,
      expected_status_code: 200,
      timeout: '10s',
    }),
  );
  const runAts = items.map((x) => new Date(x.runAt ?? now).toISOString());
  await sql`
    INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, run_at, build_status, state, log_retention,
                           next_run_at, max_consecutive_job_failures_allowed)
    SELECT w.id, ${userId}, 'anchor', 'HEARTBEAT', w.payload, 'once', w.run_at, 'COMPLETED', 'ACTIVE', false, w.run_at, 3
    FROM unnest(${ids}::uuid[], ${payloads}::jsonb[], ${runAts}::timestamptz[]) AS w(id, payload, run_at)`.execute(
    db,
  );
  return ids;
}

// ---------------------------------------------------------------- an engine node (harness worker)

/**
 * The HTTP target (on the shared port, SO_REUSEPORT: the kernel spreads the executors' connections
 * over the worker processes) and one engine node, wired as src/cli/runtime.ts wires these roles.
 */
export async function startEngineNode(
  site: Site,
  env: Record<string, string>,
  onJob: (data: unknown) => void,
): Promise<{ stop(): Promise<void> }> {
  const trace = env.OURS_TRACE === '1' ? new PickupTrace() : null;
  const server: Server = createServer((req, res) => {
    const q = req.url?.indexOf('?d=') ?? -1;
    if (q >= 0) {
      const w = req.url!.indexOf('&w=', q);
      const data: unknown = JSON.parse(decodeURIComponent(req.url!.slice(q + 3, w < 0 ? undefined : w)));
      onJob(data);
      if (trace && w >= 0) trace.arrived(req.url!.slice(w + 3), data);
    }
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) =>
    server.listen({ port: site.targetPort, host: '127.0.0.1', reusePort: true }, r),
  );

  const config = engineConfig(site, env);
  const logger = quietLogger();
  const database = await openDatabase({
    url: config.database.url,
    dataDir: '',
    poolSize: config.database.poolSize,
    onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
  });
  const events = new Events();
  const redis = redisWithBridge(config, events, logger, 'chronoverse-anchors-engine');
  const bus = new InProcessBus();
  const deps = { db: database.db, clock: systemClock, events, logger };
  const outbound = new OutboundGuard({
    allowPrivateNetworks: config.outbound.allowPrivateNetworks,
    ownPorts: [config.server.port, config.rpc.port, config.ops.port],
  });
  const workflowWorker = new WorkflowWorker({
    ...deps,
    bus,
    containers: null,
    imagePolicy: config.containers,
  });
  const executor = new Executor(
    { ...deps, bus, live: new InMemoryLiveLogs(), containers: null, outbound },
    {
      heartbeatConcurrency: config.executor.heartbeatConcurrency,
      containerConcurrency: config.executor.containerConcurrency,
      leaseMs: config.executor.leaseMs,
      renewIntervalMs: Math.max(1_000, Math.floor(config.executor.leaseMs / 3)),
      containerPolicy: config.containers,
      maxConcurrentContainers: config.quotas.maxConcurrentContainers,
    },
  );
  const scheduler = new Scheduler(deps, { batchSize: config.scheduler.batchSize });
  const relay = new OutboxRelay({ ...deps, bus });
  await redis.ready();
  trace?.listen(events);
  if (trace) {
    const orig = executor.claimOnce.bind(executor);
    (executor as unknown as { claimOnce: () => Promise<number> }).claimOnce = async () => {
      const t0 = epochNow();
      const n = await orig();
      trace.round(t0, epochNow(), n);
      return n;
    };
  }
  workflowWorker.start();
  executor.start();
  scheduler.start();
  relay.start();
  return {
    async stop() {
      await scheduler.stop();
      await executor.stop();
      await relay.stop();
      await workflowWorker.stop();
      await redis.close();
      await database.close();
      await new Promise((r) => server.close(r));
      trace?.report();
    },
  };
}

const epochNow = () => performance.timeOrigin + performance.now();

/**
 * OURS_TRACE=1: the harness's pickup split by stage for the single adds (`p: 'l'`), per worker
 * process, printed to stderr at stop: add call (the harness's `t`) → this process hears
 * `schedules:changed` over Redis → its scheduler's tick commits the job (`jobs:runnable`) → its
 * executor claims the job → the heartbeat request arrives.
 * The clocks are one machine's (epoch ms of each process's performance clock).
 */
class PickupTrace {
  readonly #woken = new Map<string, number>();
  readonly #claimed = new Map<string, number>();
  /** When this process's ticks committed jobs (`jobs:runnable`, in order). */
  readonly #created: number[] = [];
  readonly #stages: Record<'woken' | 'created' | 'claimed' | 'arrived' | 'total', number[]> = {
    woken: [],
    created: [],
    claimed: [],
    arrived: [],
    total: [],
  };

  readonly rounds: Array<[number, number, number]> = [];
  round(t0: number, t1: number, n: number): void {
    this.rounds.push([t0, t1, n]);
  }
  readonly extra: Record<string, number[]> = { wait: [], dur: [] };
  /** The burst (`p: 'd'`): due time, arrival times, tick commits [at, count]. */
  readonly ticks: Array<[number, number]> = [];
  readonly burst: number[] = [];
  burstDue = 0;
  listen(events: Events): void {
    events.on('schedules:changed', (p) => this.#woken.set(p.workflowId, epochNow()));
    events.on('jobs:runnable', (p) => {
      this.#created.push(epochNow());
      this.ticks.push([epochNow(), p.count]);
    });
    events.on('executor:job:claimed', (p) => this.#claimed.set(p.workflowId, epochNow()));
  }

  arrived(workflowId: string, data: unknown): void {
    const at = epochNow();
    const d = data as { p?: string; t?: number };
    if (d.p === 'd' && typeof d.t === 'number') {
      this.burstDue = d.t;
      this.burst.push(at);
    }
    const woken = this.#woken.get(workflowId);
    const claimed = this.#claimed.get(workflowId);
    if (d.p !== 'l' || typeof d.t !== 'number' || woken === undefined || claimed === undefined) return;
    // The first tick of this process that committed jobs after the wake-up (the job's, when this
    // process's scheduler created it: the claim is of this process's executor, woken in-process).
    const created = this.#created.find((c) => c >= woken && c <= claimed) ?? claimed;
    this.#stages.woken.push(woken - d.t);
    this.#stages.created.push(created - woken);
    this.#stages.claimed.push(claimed - created);
    const r = this.rounds.find(([a, b]) => b >= claimed - 0.5 && a <= claimed);
    if (r) {
      this.extra.wait!.push(r[0] - created);
      this.extra.dur!.push(r[1] - r[0]);
    }
    this.#stages.arrived.push(at - claimed);
    this.#stages.total.push(at - d.t);
  }

  report(): void {
    const pct = (xs: number[], q: number) =>
      [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? NaN;
    const line = Object.entries(this.#stages)
      .map(([k, xs]) => `${k} p50 ${pct(xs, 0.5).toFixed(1)} p99 ${pct(xs, 0.99).toFixed(1)}`)
      .join(' | ');
    process.stderr.write(`pickup trace (pid ${process.pid}, n=${this.#stages.total.length}): ${line}\n`);
    const l2 = Object.entries(this.extra)
      .map(
        ([k, xs]) =>
          `${k} n ${xs.length} p50 ${pct(xs, 0.5).toFixed(1)} p90 ${pct(xs, 0.9).toFixed(1)} p99 ${pct(xs, 0.99).toFixed(1)}`,
      )
      .join(' | ');
    process.stderr.write(`claim rounds: ${l2}; rounds ${this.rounds.length}\n`);
    if (this.burst.length > 0) {
      const due = this.burstDue;
      const rel = (t: number) => Math.round(t - due);
      // Ticks only: a completion's wake-up is a jobs:runnable of one job.
      const ticks = this.ticks
        .filter(([t, n]) => n > 1 && t >= due - 50 && t <= due + 3000)
        .map(([t, n]) => `${rel(t)}:${n}`);
      const rounds = this.rounds
        .filter(([a]) => a >= due - 50 && a <= due + 3000)
        .map(([a, b, n]) => `${rel(a)}+${Math.round(b - a)}:${n}`);
      const buckets = new Map<number, number>();
      for (const t of this.burst) {
        const bucket = Math.floor(rel(t) / 50) * 50;
        buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      }
      process.stderr.write(
        `burst (pid ${process.pid}, n=${this.burst.length}): ticks ${ticks.join(' ')}\n  rounds ${rounds.join(' ')}\n  arrivals/50ms ${[
          ...buckets,
        ]
          .sort((a, b) => a[0] - b[0])
          .map(([k, v]) => `${k}:${v}`)
          .join(' ')}\n`,
      );
    }
  }
}

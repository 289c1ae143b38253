/**
 * One-off tasks at volume (issue 11, item 3; seed 004's question) on the local PostgreSQL:
 *
 *   node bench/bulk.ts [pending=1000000] [rate=1000] [seconds=30]
 *
 * 1. builds: 1,000 `once` HEARTBEAT workflows (run_at far ahead) created by one bulk create, built
 *    by the real outbox relay and workflow worker → builds/s;
 * 2. the scheduler's tick with those 1,000 pending, nothing due: Scheduler.runOnce() (claim query,
 *    plus its min(next_run_at) for the sleep) and EXPLAIN ANALYZE of the claim query;
 * 3. bulk creation through WorkflowsService.createMany (validation, policies, quotas, one INSERT
 *    of the rows and one of their BUILD events per batch) in batches of 10,000 up to `pending`
 *    → workflows/s. Their builds are then marked done in SQL (what the workflow worker does for a
 *    HEARTBEAT: build_status COMPLETED, BUILD events published), as (1) measured the worker apart;
 * 4. the tick again with `pending` pending, nothing due;
 * 5. `rate` once workflows a second coming due for `seconds` s on top of the pending ones (created
 *    by bulk, built in SQL as above), run by the real scheduler, relay and executor against a local
 *    HTTP server: fire lag (job started_at − scheduled_at) p50/p99, and the tick cost while they ran.
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_bulk_<pid> is created and dropped), BENCH_CONCURRENCY (executor slots, default 64).
 * Prints its figures; asserts nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { InProcessBus } from '../src/platform/bus/bus.ts';
import { systemClock } from '../src/platform/clock.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import type { DB } from '../src/platform/db/schema.ts';
import { Events } from '../src/platform/events.ts';
import { newId } from '../src/platform/ids.ts';
import { InMemoryLiveLogs } from '../src/platform/live-logs.ts';
import { createLogger } from '../src/platform/logger.ts';
import { OutboundGuard } from '../src/platform/outbound/guard.ts';
import { WORKFLOW_POLICY_DEFAULTS } from '../src/services/workflows/policy.ts';
import { WorkflowsService } from '../src/services/workflows/service.ts';
import { EXECUTOR_DEFAULTS, Executor } from '../src/workers/executor/executor.ts';
import { OutboxRelay } from '../src/workers/outbox-relay/relay.ts';
import { Scheduler } from '../src/workers/scheduler/scheduler.ts';
import { WorkflowWorker } from '../src/workers/workflow-worker/workflow-worker.ts';

const [pendingArg, rateArg, secondsArg] = process.argv.slice(2);
const PENDING = Number(pendingArg ?? 1_000_000);
const RATE = Number(rateArg ?? 1_000);
const SECONDS = Number(secondsArg ?? 30);
const BATCH = 10_000;
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? EXECUTOR_DEFAULTS.heartbeatConcurrency);
const dbName = `cv_bench_bulk_${process.pid}`;
const FAR = '2099-01-01T00:00:00.000Z';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`;

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

/** The scheduler's claim query (src/workers/scheduler/scheduler.ts), for EXPLAIN. */
async function explainDue(db: Kysely<DB>, batchSize: number): Promise<string> {
  const now = new Date();
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`
      EXPLAIN (ANALYZE, BUFFERS)
      SELECT id, user_id, generation, schedule_type, interval_minutes, cron_expression, timezone, run_at, next_run_at
      FROM workflows
      WHERE next_run_at <= ${now}
        AND build_status = 'COMPLETED' AND terminated_at IS NULL AND paused_at IS NULL
      ORDER BY next_run_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED`.execute(trx);
    const { rows: min } = await sql<{ 'QUERY PLAN': string }>`
      EXPLAIN (ANALYZE, BUFFERS)
      SELECT min(next_run_at) AS next FROM workflows
      WHERE next_run_at IS NOT NULL AND build_status = 'COMPLETED' AND terminated_at IS NULL AND paused_at IS NULL`.execute(
      trx,
    );
    const text = (r: { 'QUERY PLAN': string }[]) => r.map((x) => `    ${x['QUERY PLAN']}`).join('\n');
    return `  claim:\n${text(rows)}\n  min(next_run_at):\n${text(min)}`;
  });
}

async function tickCost(scheduler: Scheduler, rounds = 50): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const r = await scheduler.runOnce();
    times.push(performance.now() - t0);
    if (r.claimed > 0) throw new Error('something was due');
  }
  times.sort((a, b) => a - b);
  return `Scheduler.runOnce() nothing due, ${rounds} rounds: p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}`;
}

function onceItems(n: number, runAt: (i: number) => string, endpoint: string, offset = 0) {
  return Array.from({ length: n }, (_, i) => ({
    name: `once ${offset + i}`,
    kind: 'HEARTBEAT',
    payload: { endpoint, timeout: '5s' },
    schedule: { type: 'once', run_at: runAt(offset + i) },
  }));
}

/** What the workflow worker does for a HEARTBEAT's build, in SQL for many (events left published). */
async function markBuilt(db: Kysely<DB>): Promise<number> {
  const t0 = performance.now();
  await sql`UPDATE workflows SET build_status = 'COMPLETED', state = 'ACTIVE', updated_at = now() WHERE build_status = 'QUEUED'`.execute(
    db,
  );
  await sql`UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE status = 'PENDING'`.execute(
    db,
  );
  await sql`VACUUM ANALYZE workflows`.execute(db);
  await sql`VACUUM ANALYZE outbox`.execute(db);
  return performance.now() - t0;
}

async function main() {
  await withAdmin(`create database "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 20 });
  await migrate(database.db);
  const db = database.db;
  const server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const events = new Events();
  const bus = new InProcessBus();
  const logger = createLogger('warn');
  const deps = { db, clock: systemClock, events, logger };
  const policy = {
    ...WORKFLOW_POLICY_DEFAULTS,
    outbound: { ...WORKFLOW_POLICY_DEFAULTS.outbound, allowPrivateNetworks: true },
  };
  const service = new WorkflowsService(db, systemClock, { idempotencyTtlMs: 86_400_000, policy }, events);
  const relay = new OutboxRelay({ ...deps, bus }, { batchSize: 2000 });
  const worker = new WorkflowWorker({ ...deps, bus, containers: null });
  const scheduler = new Scheduler(deps, { batchSize: 2000 });
  const executor = new Executor(
    {
      ...deps,
      bus,
      live: new InMemoryLiveLogs(),
      containers: null,
      outbound: new OutboundGuard({ allowPrivateNetworks: true }),
    },
    { heartbeatConcurrency: concurrency },
  );
  try {
    const userId = newId();
    // An administrator: no quotas (a user's max_workflows defaults to 500).
    await db
      .insertInto('users')
      .values({ id: userId, email: 'bench@example.com', password_hash: 'x', role: 'admin' })
      .execute();
    const count = async (where: ReturnType<typeof sql>) =>
      (await sql<{ n: number }>`select count(*)::int as n from workflows where ${where}`.execute(db)).rows[0]!
        .n;

    // 1. builds by the real worker
    await service.createMany(userId, { workflows: onceItems(1_000, () => FAR, endpoint) });
    const b0 = performance.now();
    relay.start();
    worker.start();
    while ((await count(sql`build_status = 'COMPLETED'`)) < 1_000)
      await new Promise((r) => setTimeout(r, 50));
    const buildMs = performance.now() - b0;
    await worker.stop();
    await relay.stop();
    console.log(
      `builds: 1,000 HEARTBEAT builds by one relay + workflow worker: ${(buildMs / 1000).toFixed(2)} s = ${Math.round(1_000 / (buildMs / 1000))} builds/s`,
    );
    await sql`VACUUM ANALYZE workflows`.execute(db);

    // 2. tick with 1k pending
    console.log(`tick, 1,000 once pending, nothing due: ${await tickCost(scheduler)}`);
    console.log(await explainDue(db, 2000));

    // 3. bulk creation
    const batchTimes: number[] = [];
    const a0 = performance.now();
    for (let made = 1_000; made < PENDING; made += BATCH) {
      const n = Math.min(BATCH, PENDING - made);
      const items = onceItems(n, () => FAR, endpoint, made);
      const t0 = performance.now();
      const res = await service.createMany(userId, { workflows: items });
      batchTimes.push(performance.now() - t0);
      if (res.body.length !== n) throw new Error('short batch');
      if (batchTimes.length % 20 === 0) {
        const s = (performance.now() - a0) / 1000;
        console.log(`  … ${made + n} workflows, ${Math.round((made + n - 1_000) / s)} workflows/s so far`);
      }
    }
    const createdSecs = (performance.now() - a0) / 1000;
    batchTimes.sort((a, b) => a - b);
    console.log(
      `bulk create: ${PENDING - 1_000} once workflows in batches of ${BATCH} through WorkflowsService.createMany: ` +
        `${createdSecs.toFixed(1)} s = ${Math.round((PENDING - 1_000) / createdSecs)} workflows/s; ` +
        `per batch p50 ${ms(percentile(batchTimes, 50))}, max ${ms(batchTimes.at(-1) ?? NaN)}`,
    );
    console.log(
      `  (builds marked done in SQL: ${((await markBuilt(db)) / 1000).toFixed(1)} s, with VACUUM ANALYZE)`,
    );

    // 4. tick with `pending` pending
    console.log(
      `tick, ${PENDING.toLocaleString('en')} once pending, nothing due: ${await tickCost(scheduler)}`,
    );
    console.log(await explainDue(db, 2000));

    // 5. `rate`/s coming due for `seconds` s
    const due = RATE * SECONDS;
    const lead = 15_000;
    const start = Date.now() + lead;
    // Item k of this set (named `once <PENDING + k>`) is due at start + k/RATE s.
    const runAt = (i: number) => new Date(start + Math.floor(((i - PENDING) * 1000) / RATE)).toISOString();
    const c0 = performance.now();
    for (let made = 0; made < due; made += BATCH) {
      await service.createMany(userId, {
        workflows: onceItems(Math.min(BATCH, due - made), runAt, endpoint, PENDING + made),
      });
    }
    await markBuilt(db);
    const prepared = performance.now() - c0;
    if (prepared > lead - 1_000) {
      console.log(
        `  (preparing ${due} took ${(prepared / 1000).toFixed(1)} s, more than the lead: early ones late)`,
      );
    }
    relay.start();
    // BENCH_NO_WORKER=1: no workflow worker in this phase (JOB_COMPLETED events are published to
    // nobody), to see its share of the lag.
    if (!process.env.BENCH_NO_WORKER) worker.start();
    executor.start();
    scheduler.start();
    const until = start + SECONDS * 1000 + 10_000;
    while (Date.now() < until) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from jobs where started_at is not null and scheduled_at >= ${new Date(start)}`.execute(
        db,
      );
      if (rows[0]!.n >= due) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await scheduler.stop();
    await executor.stop();
    await worker.stop();
    await relay.stop();
    const { rows } = await sql<{ ms: number }>`
      select extract(epoch from (started_at - scheduled_at)) * 1000 as ms from jobs
      where started_at is not null and scheduled_at >= ${new Date(start)}`.execute(db);
    const lag = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    // The scheduler's share: job created_at − scheduled_at (the executor's is the rest).
    const { rows: made } = await sql<{ ms: number }>`
      select extract(epoch from (created_at - scheduled_at)) * 1000 as ms from jobs
      where scheduled_at >= ${new Date(start)}`.execute(db);
    const tickLag = made.map((r) => Number(r.ms)).sort((a, b) => a - b);
    const { rows: stats } = await sql<{ n: number; per_wf: number; statuses: string }>`
      select count(*)::int as n, count(distinct workflow_id)::int as per_wf,
        (select string_agg(status || ' ' || c, ', ') from (select status, count(*) as c from jobs
          where scheduled_at >= ${new Date(start)} group by status) s) as statuses
      from jobs where scheduled_at >= ${new Date(start)}`.execute(db);
    console.log(
      `${RATE}/s coming due for ${SECONDS} s (${due} once workflows) with ${PENDING.toLocaleString('en')} pending: ` +
        `${lag.length} started (${stats[0]!.n} jobs for ${stats[0]!.per_wf} workflows: ${stats[0]!.statuses}); fire lag p50 ${ms(percentile(lag, 50))}, ` +
        `p99 ${ms(percentile(lag, 99))}, max ${ms(lag.at(-1) ?? NaN)}; ` +
        `job created (scheduler) lag p50 ${ms(percentile(tickLag, 50))}, p99 ${ms(percentile(tickLag, 99))}, max ${ms(tickLag.at(-1) ?? NaN)}`,
    );
  } finally {
    server.close();
    await database.close();
    await withAdmin(`drop database if exists "${dbName}" with (force)`);
  }
}

await main();

/**
 * Engine benchmarks on the local PostgreSQL: HEARTBEAT jobs against a local HTTP server, the
 * real scheduler, outbox relay, workflow worker and executor in this process.
 *
 *   node bench/engine.ts throughput [jobs=50000] [workflows=5000]
 *   node bench/engine.ts pickup [rate=200] [seconds=20]
 *   node bench/engine.ts firelag [workflows=10000] [minutes=3]
 *   node bench/engine.ts duepickup [rate=50] [seconds=10]   (a workflow made due now, one at a time:
 *     the anchor harness's pickup path in one process, split into scheduler and claim stages)
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_<pid> is created and dropped), BENCH_CONCURRENCY (heartbeat slots;
 * default: the product's, CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY's default),
 * CHRONOVERSE_SCHEDULER_LEDGER=false (the scheduler without the tick ledger; default on).
 * Prints its figures; asserts nothing.
 */
import { percentile, privateDatabase } from './private-database.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompiledQuery, sql } from 'kysely';
import { InProcessBus } from '../src/platform/bus/bus.ts';
import { systemClock } from '../src/platform/clock.ts';
import { Events } from '../src/platform/events.ts';
import { newId } from '../src/platform/ids.ts';
import { insertHeartbeatWorkflows } from './workflows.ts';
import { InMemoryLiveLogs } from '../src/platform/live-logs.ts';
import { createLogger } from '../src/platform/logger.ts';
import { OutboundGuard } from '../src/platform/outbound/guard.ts';
import { loopbackOnlyBlockList } from '../test/helpers/loopback-only.ts';
import { JobsService } from '../src/services/jobs/service.ts';
import { EXECUTOR_DEFAULTS, Executor } from '../src/workers/executor/executor.ts';
import { OutboxRelay } from '../src/workers/outbox-relay/relay.ts';
import { Scheduler } from '../src/workers/scheduler/scheduler.ts';
import { WorkflowWorker } from '../src/workers/workflow-worker/workflow-worker.ts';

const [mode = 'throughput', arg1, arg2] = process.argv.slice(2);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? EXECUTOR_DEFAULTS.heartbeatConcurrency);

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

async function main() {
  const { database, drop } = await privateDatabase('cv_bench', 20);
  const server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const events = new Events();
  const bus = new InProcessBus();
  const logger = createLogger('warn');
  const deps = { db: database.db, clock: systemClock, events, logger };
  const relay = new OutboxRelay({ ...deps, bus }, { batchSize: 2000 });
  // CHRONOVERSE_SCHEDULER_LEDGER=false: the tick ledger off, for comparing its cost (docs/performance.md).
  const ledger = process.env.CHRONOVERSE_SCHEDULER_LEDGER !== 'false';
  const scheduler = new Scheduler(deps, { batchSize: 2000, ledger });
  new WorkflowWorker({ ...deps, bus, containers: null });
  const executor = new Executor(
    {
      ...deps,
      bus,
      live: new InMemoryLiveLogs(),
      containers: null,
      // The target listens on 127.0.0.1: private networks allowed, dials to loopback only (as the
      // engine tests run); the default policy would refuse every heartbeat before any request.
      outbound: new OutboundGuard({ allowPrivateNetworks: true, blockList: loopbackOnlyBlockList() }),
    },
    { heartbeatConcurrency: concurrency },
  );
  try {
    const userId = newId();
    await database.db
      .insertInto('users')
      // An administrator: the per-user quotas (runs_per_minute 60) would refuse the pickup run.
      .values({ id: userId, email: 'bench@example.com', password_hash: 'x', role: 'admin' })
      .execute();
    const makeWorkflows = (n: number, nextRunAt: (i: number) => Date | null) =>
      insertHeartbeatWorkflows((text, params) => database.db.executeQuery(CompiledQuery.raw(text, params)), {
        userId,
        endpoint,
        count: n,
        nextRunAt,
      });
    relay.start();
    executor.start();

    if (mode === 'throughput') {
      const jobs = Number(arg1 ?? 50_000);
      const workflows = Math.min(Number(arg2 ?? 5_000), jobs);
      const ids = await makeWorkflows(workflows, () => null);
      const t0 = performance.now();
      for (let offset = 0; offset < jobs; offset += 10_000) {
        const n = Math.min(10_000, jobs - offset);
        await sql`
          INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, trigger, scheduled_at, kind, spec)
          SELECT j.id, j.wf, ${userId}, 1, 'MANUAL', now(), w.kind, w.payload
          FROM workflows w JOIN unnest(${Array.from({ length: n }, () => newId())}::uuid[],
                      ${Array.from({ length: n }, (_, k) => ids[(offset + k) % ids.length]!)}::uuid[]) AS j(id, wf) ON w.id = j.wf`.execute(
          database.db,
        );
      }
      const submitted = performance.now();
      events.emit('jobs:runnable', { count: jobs });
      for (;;) {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from jobs where status in ('COMPLETED','FAILED')`.execute(database.db);
        if (rows[0]!.n >= jobs) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const done = performance.now();
      const { rows: failed } = await sql<{
        n: number;
      }>`select count(*)::int as n from jobs where status = 'FAILED'`.execute(database.db);
      console.log(
        `throughput: ${jobs} jobs over ${workflows} workflows, executor concurrency ${concurrency}\n` +
          `  submit ${(submitted - t0).toFixed(0)} ms; submit→all final ${((done - submitted) / 1000).toFixed(1)} s = ` +
          `${Math.round(jobs / ((done - submitted) / 1000))} jobs/s; failed ${failed[0]!.n}`,
      );
    } else if (mode === 'pickup') {
      const rate = Number(arg1 ?? 200);
      const seconds = Number(arg2 ?? 20);
      const total = rate * seconds;
      const ids = await makeWorkflows(total, () => null);
      const jobs = new JobsService(database.db, systemClock, events, { idempotencyTtlMs: 86_400_000 });
      await database.db
        .updateTable('workflows')
        .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
        .execute();
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        void jobs.runNow(userId, ids[i]!);
      }
      for (;;) {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from jobs where started_at is not null`.execute(database.db);
        if (rows[0]!.n >= total) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const { rows } = await sql<{ ms: number }>`
        select extract(epoch from (started_at - created_at)) * 1000 as ms from jobs order by 1`.execute(
        database.db,
      );
      const lat = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
      console.log(
        `pickup: ${total} manual runs at ${rate}/s through the API service; created_at → started_at ` +
          `p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, max ${lat.at(-1)!.toFixed(1)} ms`,
      );
    } else if (mode === 'duepickup') {
      const rate = Number(arg1 ?? 50);
      const seconds = Number(arg2 ?? 10);
      const total = rate * seconds;
      const ids = await makeWorkflows(total, () => null);
      scheduler.start();
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        // What a create or an edit does: the next fire time is now, then the wake-up after commit.
        await sql`UPDATE workflows SET next_run_at = now() WHERE id = ${ids[i]!}`.execute(database.db);
        events.emit('schedules:changed', { workflowId: ids[i]! });
      }
      for (;;) {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from jobs where started_at is not null`.execute(database.db);
        if (rows[0]!.n >= total) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await scheduler.stop();
      const { rows } = await sql<{ tick: number; claim: number; all: number }>`
        select extract(epoch from (created_at - scheduled_at)) * 1000 as tick,
               extract(epoch from (started_at - created_at)) * 1000 as claim,
               extract(epoch from (started_at - scheduled_at)) * 1000 as all
        from jobs`.execute(database.db);
      const stage = (k: 'tick' | 'claim' | 'all') => {
        const v = rows.map((r) => Number(r[k])).sort((a, b) => a - b);
        return `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms`;
      };
      console.log(
        `due pickup: ${total} workflows made due at ${rate}/s, scheduler + executor in this process\n` +
          `  due → job created (scheduler): ${stage('tick')}\n` +
          `  job created → claimed (executor): ${stage('claim')}\n` +
          `  due → claimed: ${stage('all')}`,
      );
    } else if (mode === 'firelag') {
      const workflows = Number(arg1 ?? 10_000);
      const minutes = Number(arg2 ?? 3);
      const start = Date.now() + 5_000;
      await makeWorkflows(workflows, (i) => new Date(start + Math.floor((i / workflows) * 60_000)));
      const since = new Date(start);
      scheduler.start();
      await new Promise((r) => setTimeout(r, 5_000 + minutes * 60_000));
      await scheduler.stop();
      const { rows } = await sql<{ ms: number }>`
        select extract(epoch from (started_at - scheduled_at)) * 1000 as ms from jobs
        where started_at is not null and scheduled_at >= ${since} and scheduled_at < ${new Date(start + minutes * 60_000)}
        order by 1`.execute(database.db);
      const { rows: counts } = await sql<{ n: number; not_started: number }>`
        select count(*)::int as n, count(*) filter (where started_at is null)::int as not_started from jobs
        where scheduled_at >= ${since} and scheduled_at < ${new Date(start + minutes * 60_000)}`.execute(
        database.db,
      );
      const lag = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
      // This machine's PostgreSQL runs without autovacuum (its CI configuration): every tick and
      // claim leaves dead index entries and statistics are never refreshed, unlike a deployment.
      const { rows: vacuum } = await sql<{ autovacuum: string }>`SHOW autovacuum`.execute(database.db);
      console.log(
        `fire lag: ${workflows} interval workflows (1 min), ${minutes} min, ticks due ${counts[0]!.n}, not started ${counts[0]!.not_started}\n` +
          `  scheduled_at → started_at p50 ${percentile(lag, 50).toFixed(0)} ms, p99 ${percentile(lag, 99).toFixed(0)} ms, ` +
          `max ${lag.at(-1)?.toFixed(0)} ms; sustained ${Math.round(counts[0]!.n / (minutes * 60))} jobs/s; ledger ${ledger ? 'on' : 'off'}; ` +
          `autovacuum ${vacuum[0]!.autovacuum}`,
      );
    }
    console.log(
      `  peak RSS ${(peakRss / 1048576).toFixed(0)} MiB (one process: every role + the HTTP target)`,
    );
  } finally {
    await executor.stop();
    await scheduler.stop();
    await relay.stop();
    server.close();
    clearInterval(rssTimer);
    await drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * DAG run benchmarks on the local PostgreSQL (issue 12): HEARTBEAT tasks against a local HTTP
 * server, the real executor (and relay) in this process, one DAG run at a time.
 *
 *   node bench/dag.ts chain [tasks=400]            a sequential chain: a → b → c …
 *   node bench/dag.ts fanout [items=10000] [max_parallel=256]
 *
 * Step overhead = a task's started_at − its upstream's completed_at (both the database's now() of
 * the transactions that claimed and completed them): the time from "upstream committed" to
 * "dependent started", which the resolver in the completing transaction is there to keep short.
 * Compare fan-out items/s with `node bench/engine.ts throughput` run the same hour (jobs/s of
 * single-task jobs on the same machine). Environment: BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres; a database cv_bench_dag_<pid> is created and
 * dropped), BENCH_CONCURRENCY (heartbeat slots; default the product's). Prints; asserts nothing.
 */
import { percentile, privateDatabase } from './private-database.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { validateDagPayload } from '../src/domain/dag-definition.ts';
import { InProcessBus } from '../src/platform/bus/bus.ts';
import { systemClock } from '../src/platform/clock.ts';
import { Events } from '../src/platform/events.ts';
import { newId } from '../src/platform/ids.ts';
import { InMemoryLiveLogs } from '../src/platform/live-logs.ts';
import { createLogger } from '../src/platform/logger.ts';
import { OutboundGuard } from '../src/platform/outbound/guard.ts';
import { loopbackOnlyBlockList } from '../test/helpers/loopback-only.ts';
import { EXECUTOR_DEFAULTS, Executor } from '../src/workers/executor/executor.ts';
import { OutboxRelay } from '../src/workers/outbox-relay/relay.ts';

const [mode = 'chain', arg1, arg2] = process.argv.slice(2);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? EXECUTOR_DEFAULTS.heartbeatConcurrency);

async function main() {
  const { database, drop } = await privateDatabase('cv_bench_dag', 20);
  const server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const events = new Events();
  const bus = new InProcessBus();
  const deps = { db: database.db, clock: systemClock, events, logger: createLogger('warn') };
  const relay = new OutboxRelay({ ...deps, bus }, { batchSize: 2000 });
  const executor = new Executor(
    {
      ...deps,
      bus,
      live: new InMemoryLiveLogs(),
      containers: null,
      outbound: new OutboundGuard({ allowPrivateNetworks: true, blockList: loopbackOnlyBlockList() }),
    },
    { heartbeatConcurrency: concurrency },
  );
  try {
    const task = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      kind: 'HEARTBEAT',
      payload: { endpoint, timeout: '10s' },
      ...extra,
    });
    let payload: Record<string, unknown>;
    let label: string;
    if (mode === 'chain') {
      const n = Number(arg1 ?? 400);
      payload = {
        tasks: Array.from({ length: n }, (_, i) =>
          task(`t${i}`, i === 0 ? {} : { depends_on: [`t${i - 1}`] }),
        ),
      };
      label = `chain of ${n} tasks`;
    } else if (mode === 'fanout') {
      const items = Number(arg1 ?? 10_000);
      const parallel = Number(arg2 ?? 256);
      payload = {
        tasks: [
          task('each', { for_each: Array.from({ length: items }, (_, i) => i), max_parallel: parallel }),
        ],
      };
      label = `fan-out of ${items} items, max_parallel ${parallel}`;
    } else {
      throw new Error(`unknown mode ${mode}: chain or fanout`);
    }
    const checked = validateDagPayload(payload);
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const userId = newId();
    const workflowId = newId();
    const runId = newId();
    await database.db
      .insertInto('users')
      .values({ id: userId, email: 'bench@example.com', password_hash: 'x', role: 'admin' })
      .execute();
    await sql`
      INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, build_status, state, log_retention, next_run_at)
      VALUES (${workflowId}, ${userId}, 'bench-dag', 'DAG', ${JSON.stringify(checked.value.stored)}::jsonb, 'interval', 60, 'COMPLETED', 'ACTIVE', false, NULL)`.execute(
      database.db,
    );
    relay.start();
    executor.start();
    const t0 = performance.now();
    await sql`
      INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, trigger, scheduled_at, kind, spec)
      VALUES (${runId}, ${workflowId}, ${userId}, 1, 'MANUAL', now(), 'DAG', ${JSON.stringify(checked.value.stored)}::jsonb)`.execute(
      database.db,
    );
    events.emit('jobs:runnable', { count: 1 });
    for (;;) {
      const row = await database.db
        .selectFrom('jobs')
        .select('status')
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
      if (row.status !== 'PENDING' && row.status !== 'QUEUED' && row.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = performance.now() - t0;
    const { rows: stats } = await sql<{ status: string; n: number }>`
      SELECT status, count(*)::int AS n FROM jobs WHERE run_id = ${runId} GROUP BY status`.execute(
      database.db,
    );
    const run = await database.db
      .selectFrom('jobs')
      .select(['status', 'started_at', 'completed_at'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    console.log(
      `${label}, executor heartbeat concurrency ${concurrency}\n` +
        `  run ${run.status} in ${(elapsed / 1000).toFixed(2)} s (submit → final, measured by polling every 20 ms); ` +
        `tasks ${stats.map((s) => `${s.status} ${s.n}`).join(', ')}`,
    );
    if (mode === 'chain') {
      const { rows } = await sql<{ gap_ms: number }>`
        SELECT extract(epoch FROM (t.started_at - u.completed_at)) * 1000 AS gap_ms
        FROM jobs t JOIN jobs u ON u.run_id = t.run_id AND u.task_name = 't' || (substr(t.task_name, 2)::int - 1)
        WHERE t.run_id = ${runId} AND t.task_name <> 't0'`.execute(database.db);
      const gaps = rows.map((r) => Number(r.gap_ms)).sort((a, b) => a - b);
      console.log(
        `  step overhead (upstream completed → dependent started), ${gaps.length} steps: ` +
          `p50 ${percentile(gaps, 50).toFixed(2)} ms, p99 ${percentile(gaps, 99).toFixed(2)} ms, ` +
          `max ${gaps.at(-1)!.toFixed(2)} ms`,
      );
    } else {
      const items = stats.reduce((n, s) => n + s.n, 0);
      console.log(`  ${Math.round(items / (elapsed / 1000))} task instances/s`);
    }
  } finally {
    await executor.stop();
    await relay.stop();
    server.close();
    await drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

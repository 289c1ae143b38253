/**
 * The tick ledger's cost on the scheduler's hot path (issue 13): the scheduler alone, on the local
 * PostgreSQL, with a controlled clock, with the ledger off and on, each on a database of its own
 * (cv_bench_<pid>_off / _on, created and dropped), minute by minute in turn.
 *
 *   node bench/scheduler-ledger.ts [workflows=20000] [minutes=5]
 *
 * `workflows` HEARTBEAT workflows every minute, all due at the same instant; each simulated minute
 * the clock moves on and `runOnce()` runs until nothing is due (batches of 2,000, as bench/engine.ts).
 * Nothing executes the jobs: this measures the scheduler's transactions, not the engine. Prints the
 * wall time per minute of ticks (the batch of N fire times), ticks/s, and with the ledger on its
 * rows and storage (table + indexes) per million ticks. Environment: BENCH_PG_URL as bench/engine.ts.
 * Prints its figures; asserts nothing.
 */
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import type { Clock } from '../src/platform/clock.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { Events } from '../src/platform/events.ts';
import { newId } from '../src/platform/ids.ts';
import { createLogger } from '../src/platform/logger.ts';
import { Scheduler } from '../src/workers/scheduler/scheduler.ts';
import { insertHeartbeatWorkflows } from './workflows.ts';

const workflows = Number(process.argv[2] ?? 20_000);
const minutes = Number(process.argv[3] ?? 5);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const START = Date.parse('2030-01-01T00:00:00Z');

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

interface Side {
  ledger: boolean;
  dbName: string;
  database: Awaited<ReturnType<typeof openDatabase>>;
  scheduler: Scheduler;
  perMinute: number[];
}

async function open(ledger: boolean, clock: Clock): Promise<Side> {
  const dbName = `cv_bench_${process.pid}_${ledger ? 'on' : 'off'}`;
  await withAdmin(`create database "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 5 });
  await migrate(database.db);
  const userId = newId();
  await database.db
    .insertInto('users')
    .values({ id: userId, email: 'bench@example.com', password_hash: 'x', role: 'admin' })
    .execute();
  await insertHeartbeatWorkflows(
    (text, params) => database.db.executeQuery(CompiledQuery.raw(text, params)),
    {
      userId,
      endpoint: 'http://127.0.0.1:9/',
      count: workflows,
      nextRunAt: () => new Date(START),
    },
  );
  await sql`ANALYZE`.execute(database.db);
  const scheduler = new Scheduler(
    { db: database.db, clock, events: new Events(), logger: createLogger('warn') },
    { batchSize: 2000, ledger },
  );
  return { ledger, dbName, database, scheduler, perMinute: [] };
}

/** One simulated minute: every workflow due once, ticked until nothing is due. */
async function minute(side: Side, m: number) {
  const t0 = performance.now();
  let claimed = 0;
  for (;;) {
    const tick = await side.scheduler.runOnce();
    claimed += tick.claimed;
    if (tick.claimed === 0) break;
  }
  side.perMinute.push(performance.now() - t0);
  if (claimed !== workflows) throw new Error(`minute ${m}: claimed ${claimed} of ${workflows}`);
}

async function report(side: Side) {
  const { rows } = await sql<{ n: string; bytes: string }>`
    SELECT count(*) AS n, pg_total_relation_size('workflow_ticks') AS bytes FROM workflow_ticks`.execute(
    side.database.db,
  );
  const rowsWritten = Number(rows[0]!.n);
  const bytes = Number(rows[0]!.bytes);
  const sorted = [...side.perMinute].sort((a, b) => a - b);
  const total = side.perMinute.reduce((s, x) => s + x, 0);
  console.log(
    `ledger ${side.ledger ? 'on ' : 'off'}: ${workflows} workflows × ${minutes} min; per minute of fire times ` +
      `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms ` +
      `(${side.perMinute.map((x) => x.toFixed(0)).join(', ')}); ${Math.round((workflows * minutes) / (total / 1000))} ticks/s` +
      (side.ledger
        ? `; ledger rows ${rowsWritten}, ${(bytes / 1048576).toFixed(1)} MiB (${(((bytes / Math.max(1, rowsWritten)) * 1e6) / 1048576).toFixed(0)} MiB per million ticks)`
        : `; ledger rows ${rowsWritten}`),
  );
}

async function main() {
  let now = START;
  const clock: Clock = { now: () => new Date(now) };
  const sides: Side[] = [];
  try {
    sides.push(await open(false, clock), await open(true, clock));
    // Minute by minute, alternating which side goes first: the machine's load (shared, 2 cores)
    // drifts over a run, and interleaving spreads the drift over both sides alike.
    for (let m = 0; m < minutes; m++) {
      now = START + m * 60_000 + 100;
      for (const side of m % 2 === 0 ? sides : [...sides].reverse()) await minute(side, m);
    }
    for (const side of sides) await report(side);
  } finally {
    for (const side of sides) {
      await side.database.close();
      await withAdmin(`drop database if exists "${side.dbName}" with (force)`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * The missed-fire detector's round (src/workers/scheduler/missed-fires.ts) beside 100k built
 * workflows on schedule and 20k waiting jobs, none of them late: what every round costs while
 * schedulers and executors keep up. Prints the median and p95 of 30 rounds.
 *
 *   node bench/missed-fires.ts   (BENCH_PG_URL: a PostgreSQL server, default the local one)
 */
import { sql } from 'kysely';
import { systemClock } from '../src/platform/clock.ts';
import { Events } from '../src/platform/events.ts';
import { createLogger } from '../src/platform/logger.ts';
import { MissedFireDetector } from '../src/workers/scheduler/missed-fires.ts';
import { percentile, privateDatabase } from './private-database.ts';

const WORKFLOWS = 100_000;
const { database, drop } = await privateDatabase('bench_missed_fires', 4);
try {
  const db = database.db;
  await sql`INSERT INTO users (id, email, password_hash) VALUES ('00000000-0000-7000-8000-000000000001', 'b@example.com', 'x')`.execute(
    db,
  );
  await sql`
    INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, build_status, state,
                           max_consecutive_job_failures_allowed, log_retention, next_run_at)
    SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', 'w' || i, 'HEARTBEAT', '{}', 'interval', 1,
           'COMPLETED', 'ACTIVE', 3, false, now() + (i % 60) * interval '1 second'
    FROM generate_series(1, ${WORKFLOWS}) i`.execute(db);
  await sql`
    INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, trigger, scheduled_at, status)
    SELECT gen_random_uuid(), w.id, w.user_id, 1, 'HEARTBEAT', '{}', 'AUTOMATIC', now(), 'QUEUED'
    FROM (SELECT id, user_id FROM workflows LIMIT 20000) w`.execute(db);
  await sql`ANALYZE`.execute(db);
  const detector = new MissedFireDetector(
    { db, clock: systemClock, events: new Events(), logger: createLogger('silent') },
    { afterMs: 60_000 },
  );
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const r = await detector.runOnce();
    times.push(performance.now() - t);
    if (r.late !== 0) throw new Error(`expected nothing late, got ${r.late}`);
  }
  times.sort((a, b) => a - b);
  console.log(
    `missed-fire round, ${WORKFLOWS} workflows, 20k waiting jobs, none late: median ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms`,
  );
} finally {
  await drop();
}

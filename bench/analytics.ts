/**
 * Analytics: how fast the processor folds JOB_FINISHED facts into the aggregates, and what the
 * read queries cost on a large table.
 *
 *   node bench/analytics.ts [events=100000] [batch=1000] [rows=1000000]
 *
 * 1. `events` facts (one user, 100 workflows, completions spread over the last 60 days) through
 *    AnalyticsProcessor.handle in batches of `batch` (one statement each), then the same facts
 *    again (a full replay: everything is a duplicate). Prints events/s for both.
 * 2. Fills analytics_job_durations up to `rows` rows with generated jobs (plain INSERT … SELECT,
 *    buckets rolled up to match), ANALYZEs, and prints EXPLAIN (ANALYZE, BUFFERS) of the
 *    percentile query (user and workflow) and the time-series query (user: 30 days daily and 24 h
 *    hourly), plus the service's own timing of each endpoint's work.
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_analytics_<pid> is created and dropped). Prints its figures; asserts nothing.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { JobFinishedPayload } from '../src/domain/events.ts';
import type { BusMessage } from '../src/platform/bus/bus.ts';
import { systemClock } from '../src/platform/clock.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { newId } from '../src/platform/ids.ts';
import { createLogger } from '../src/platform/logger.ts';
import { AnalyticsService, PERCENTILE_WINDOW_DAYS } from '../src/services/analytics/service.ts';
import { AnalyticsProcessor } from '../src/workers/analytics-processor/processor.ts';

const events = Number(process.argv[2] ?? 100_000);
const batchSize = Number(process.argv[3] ?? 1000);
const targetRows = Number(process.argv[4] ?? 1_000_000);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `cv_bench_analytics_${process.pid}`;
const DAY = 86_400_000;

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

async function main() {
  await withAdmin(`create database "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 4 });
  try {
    await migrate(database.db);
    const db = database.db;
    const userId = newId();
    await db
      .insertInto('users')
      .values({ id: userId, email: `${userId}@example.com`, password_hash: 'x', role: 'user' })
      .execute();
    const workflows = Array.from({ length: 100 }, () => newId());
    const now = Date.now();

    // ── 1. processor throughput ─────────────────────────────────────────────────────────────
    const messages: BusMessage[] = [];
    for (let i = 0; i < events; i++) {
      const completed = now - Math.floor(Math.random() * 60 * DAY);
      const duration = Math.floor(Math.random() * 5_000);
      const lag = Math.floor(Math.random() * 500);
      const started = i % 50 === 0 ? null : completed - duration;
      const payload: JobFinishedPayload = {
        job_id: newId(),
        workflow_id: workflows[i % workflows.length]!,
        user_id: userId,
        generation: 1,
        status: i % 10 === 0 ? 'FAILED' : i % 50 === 0 ? 'CANCELED' : 'COMPLETED',
        trigger: 'AUTOMATIC',
        attempts: 1,
        scheduled_at: new Date((started ?? completed) - lag).toISOString(),
        started_at: started === null ? null : new Date(started).toISOString(),
        completed_at: new Date(completed).toISOString(),
        exit_code: null,
        http_status_code: 200,
        error_code: null,
        error_message: null,
        log_lines: 3,
        bulk: false,
      };
      messages.push({
        id: String(i),
        topic: 'analytics',
        key: payload.workflow_id,
        type: 'JOB_FINISHED',
        payload: payload as unknown as Record<string, unknown>,
      });
    }
    const processor = new AnalyticsProcessor({ db, logger: createLogger('warn') });
    for (const pass of ['first delivery', 'full replay'] as const) {
      const t0 = performance.now();
      let applied = 0;
      for (let i = 0; i < messages.length; i += batchSize) {
        applied += (await processor.handle(messages.slice(i, i + batchSize))).applied;
      }
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${pass}: ${events} events in batches of ${batchSize}: ${s.toFixed(2)} s, ` +
          `${Math.round(events / s)} events/s, ${applied} applied`,
      );
    }

    // ── 2. read queries on a large table ────────────────────────────────────────────────────
    const missing = targetRows - events;
    if (missing > 0) {
      const t0 = performance.now();
      // Generated jobs: uuid-shaped ids from md5, completions over the last 60 days.
      await sql`
        INSERT INTO analytics_job_durations (job_id, user_id, workflow_id, status, trigger, duration_ms, fire_lag_ms, finished_at)
        SELECT md5('bench' || g)::uuid, ${userId}::uuid, (${workflows}::uuid[])[1 + g % 100],
               CASE WHEN g % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, 'AUTOMATIC',
               (random() * 5000)::int, (random() * 500)::int,
               now() - random() * interval '60 days'
        FROM generate_series(1, ${missing}) g`.execute(db);
      await sql`TRUNCATE analytics_job_buckets`.execute(db);
      await sql`
        INSERT INTO analytics_job_buckets (user_id, workflow_id, bucket, completed, failed, canceled,
                                           duration_ms_total, duration_count, fire_lag_ms_total, fire_lag_count)
        SELECT user_id, workflow_id, date_trunc('hour', finished_at, 'UTC'),
               count(*) FILTER (WHERE status = 'COMPLETED'), count(*) FILTER (WHERE status = 'FAILED'),
               count(*) FILTER (WHERE status = 'CANCELED'),
               coalesce(sum(duration_ms), 0), count(duration_ms), coalesce(sum(fire_lag_ms), 0), count(fire_lag_ms)
        FROM analytics_job_durations GROUP BY 1, 2, 3`.execute(db);
      await sql`VACUUM ANALYZE analytics_job_durations`.execute(db);
      await sql`VACUUM ANALYZE analytics_job_buckets`.execute(db);
      console.log(`filled to ${targetRows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const counts = await sql<{ n: number; window: number; buckets: number }>`
      SELECT (SELECT count(*) FROM analytics_job_durations)::int AS n,
             (SELECT count(*) FROM analytics_job_durations
               WHERE finished_at >= now() - make_interval(days => ${PERCENTILE_WINDOW_DAYS}))::int AS window,
             (SELECT count(*) FROM analytics_job_buckets)::int AS buckets`.execute(db);
    console.log(
      `analytics_job_durations: ${counts.rows[0]!.n} rows (${counts.rows[0]!.window} in the ` +
        `${PERCENTILE_WINDOW_DAYS}-day window); analytics_job_buckets: ${counts.rows[0]!.buckets} rows`,
    );

    const since = new Date(Date.now() - PERCENTILE_WINDOW_DAYS * DAY);
    const percentiles = (where: ReturnType<typeof sql>) => sql`
      SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms),
             percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms),
             percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms),
             percentile_disc(0.5) WITHIN GROUP (ORDER BY fire_lag_ms),
             percentile_disc(0.95) WITHIN GROUP (ORDER BY fire_lag_ms),
             percentile_disc(0.99) WITHIN GROUP (ORDER BY fire_lag_ms)
      FROM analytics_job_durations WHERE ${where} AND finished_at >= ${since}`;
    const series = (unit: 'hour' | 'day', from: Date) => sql`
      SELECT date_trunc(${unit}, b.bucket, 'UTC') AS ts, sum(b.completed), sum(b.failed), sum(b.canceled),
             sum(b.duration_ms_total), sum(b.duration_count), sum(b.fire_lag_ms_total), sum(b.fire_lag_count)
      FROM analytics_job_buckets b
      WHERE b.user_id = ${userId} AND b.bucket >= ${from} AND b.bucket < ${new Date()}
      GROUP BY 1`;
    const plans: [string, ReturnType<typeof sql>][] = [
      ['percentiles, user (30 days)', percentiles(sql`user_id = ${userId}`)],
      ['percentiles, one workflow (30 days)', percentiles(sql`workflow_id = ${workflows[0]}`)],
      ['time series, user, 30 days daily', series('day', new Date(Date.now() - 30 * DAY))],
      ['time series, user, 24 h hourly', series('hour', new Date(Date.now() - DAY))],
    ];
    for (const [name, query] of plans) {
      const plan = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${query}`.execute(db);
      console.log(`\n── ${name}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    }

    const service = new AnalyticsService(db, systemClock);
    const time = async (name: string, fn: () => Promise<unknown>) => {
      await fn(); // warm
      const t0 = performance.now();
      const n = 5;
      for (let i = 0; i < n; i++) await fn();
      console.log(`${name}: ${((performance.now() - t0) / n).toFixed(1)} ms`);
    };
    console.log('');
    await time('GET /analytics (service)', () => service.user(userId));
    await time('GET /analytics/{id} (service)', () => service.workflow(userId, workflows[0]!));
    await time('GET /analytics/timeseries?bucket=day (30 days)', () =>
      service.timeseries(userId, null, { bucket: 'day' }),
    );
    await time('GET /analytics/timeseries (24 h hourly)', () =>
      service.timeseries(userId, null, { bucket: 'hour' }),
    );
  } finally {
    await database.close();
    await withAdmin(`drop database if exists "${dbName}" with (force)`);
  }
}

await main();

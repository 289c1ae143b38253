/**
 * The executor's claim with the container quota (src/workers/executor/sql.ts `jobsClaim`): its
 * plan and time on a large queue, against the statement before quotas.
 *
 *   node bench/claim-quota.ts [queuedPerWorkflow=6]
 *
 * Fills a scratch database with 100 users (role user) and 5,450 built workflows: user H owns 500
 * CONTAINER workflows (the most a user may have by default), users 1…99 own 25 CONTAINER and 25
 * HEARTBEAT workflows each. 200,000 finished jobs; RUNNING now: 4 CONTAINER jobs of H holding its
 * 4 slots (H is at the default quota of 4), 2 of each of users 1…50 (slots 1 and 2), and 300
 * HEARTBEAT jobs; queued: 40 jobs on each of H's workflows (20,000, due earliest: H's backlog sits
 * at the head of the queue) and `queuedPerWorkflow` on each of the others' (29,700 by default).
 * ANALYZEs, then prints EXPLAIN (ANALYZE, BUFFERS) and the median of 7 timed runs of a claim of 64,
 * each in a transaction rolled back, with the claim's own planner settings:
 * 1. the statement before quotas (it would start 64 of H's containers); 1b. the same when each of
 *    H's 500 workflows already runs a job (what an unlimited H gets to): the 19,500 behind them
 *    are passed by the sibling probe, the cost the quota's scan has as well;
 * 2. the quota statement, H full: the ordered scan passes H's 500 runnable heads (one workflows
 *    probe each) and the 19,500 rows behind them (the sibling probe, as before), and claims 64 of
 *    the others' jobs, ranked against their caps, with slots;
 * 3. the quota statement with the default quota 0 (no limit): the cost of the quota parts alone.
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_claim_quota_<pid> is created and dropped). Prints its figures; asserts nothing.
 */
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrate } from '../src/platform/db/migrate.ts';
import type { DB } from '../src/platform/db/schema.ts';
import { newId } from '../src/platform/ids.ts';
import { jobsClaim } from '../src/workers/executor/sql.ts';

const queuedPerWorkflow = Number(process.argv[2] ?? 6);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = process.env.BENCH_KEEP ?? `cv_bench_claim_quota_${process.pid}`;
const LIMIT = 64;

/** The claim statement as it was before quotas (git show cf65225~1:src/workers/executor/sql.ts). */
const BEFORE = `
    WITH candidates AS (
      SELECT j.id FROM jobs j
      WHERE j.status IN ('PENDING', 'QUEUED')
        AND j.id <> ALL($1::uuid[])
        AND j.scheduled_at <= now()
        AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
        AND NOT EXISTS (
          SELECT 1 FROM jobs e
          WHERE e.workflow_id = j.workflow_id AND e.status IN ('PENDING', 'QUEUED', 'RUNNING')
            AND (e.status = 'RUNNING' OR (e.scheduled_at, e.id) < (j.scheduled_at, j.id)))
      ORDER BY j.scheduled_at, j.id
      LIMIT $2
      FOR UPDATE OF j SKIP LOCKED
    )
    UPDATE jobs j
    SET status = 'RUNNING', attempts = j.attempts + 1, lease_owner = $3,
        lease_expires_at = now() + make_interval(secs => $4),
        started_at = COALESCE(j.started_at, now()), next_attempt_at = NULL, updated_at = now()
    FROM candidates c, workflows w
    WHERE j.id = c.id AND w.id = j.workflow_id
    RETURNING j.id, j.workflow_id, j.user_id, j.workflow_generation, j.attempts, j.max_attempts, j.scheduled_at,
              w.kind, w.payload, w.log_retention, j.trace_context,
              (SELECT u.role FROM users u WHERE u.id = j.user_id) AS user_role`;

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
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // Every statement jobsClaim sends, captured to be EXPLAINed as sent.
  const captured: CompiledQuery[] = [];
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
  try {
    await migrate(db);
    const t0 = performance.now();
    const h = await fill(db);
    await sql`ANALYZE`.execute(db);
    console.log(`data ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The statements jobsClaim sends, once per default quota (then the claim is undone).
    const statementOf = async (maxConcurrentContainers: number) => {
      captured.length = 0;
      const claimed = await jobsClaim(db, 'bench-capture', LIMIT, 30_000, [], { maxConcurrentContainers });
      await sql`UPDATE jobs SET status = 'PENDING', attempts = attempts - 1, lease_owner = NULL,
                  lease_expires_at = NULL, started_at = NULL, container_slot = NULL
                WHERE lease_owner = 'bench-capture'`.execute(db);
      const claim = captured.find((q) => q.sql.includes('WITH slotted'))!;
      return { claim, claimed };
    };
    const capped = await statementOf(4);
    const free = await statementOf(0);
    const users = await sql<{ user_id: string; n: number }>`
      SELECT j.user_id, count(*)::int AS n FROM jobs j WHERE j.id = ANY(${capped.claimed.map((c) => c.id)}::uuid[])
      GROUP BY 1 ORDER BY 2 DESC`.execute(db);
    console.log(
      `quota 4 claims ${capped.claimed.length} jobs of ${users.rows.length} users (most of one user: ${users.rows[0]?.n}), ` +
        `${capped.claimed.filter((c) => c.kind === 'CONTAINER').length} CONTAINER; quota 0 claims ${free.claimed.length}`,
    );

    const before = CompiledQuery.raw(BEFORE, [[], LIMIT, 'bench', 30]);
    await report(pool, '1. before quotas', before);
    // What the quota replaces: H runs a job of each of its 500 workflows, and the 19,500 behind
    // them are passed by the sibling probe.
    await report(
      pool,
      '1b. before quotas, H running 500 containers (its backlog behind them)',
      before,
      `UPDATE jobs j SET status = 'RUNNING', lease_owner = 'x', lease_expires_at = now() + interval '1 hour',
              started_at = now()
       FROM (SELECT DISTINCT ON (workflow_id) id FROM jobs
             WHERE user_id = '${h}' AND status = 'PENDING' ORDER BY workflow_id, scheduled_at) f
       WHERE j.id = f.id AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.workflow_id = j.workflow_id AND r.status = 'RUNNING')`,
    );
    await report(pool, '2. with the quota (4), user H full', capped.claim);
    await report(pool, '3. with no quota (0)', free.claim);
  } finally {
    await db.destroy();
    if (process.env.BENCH_KEEP) console.log(`kept database ${dbName}`);
    else await withAdmin(`drop database if exists "${dbName}" with (force)`);
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) once, then the median of 7 timed runs, each rolled back. */
async function report(pool: pg.Pool, title: string, query: CompiledQuery, setup = ''): Promise<void> {
  const client = await pool.connect();
  const run = async (prefix: string) => {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
                                 set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)`);
      if (setup) await client.query(setup);
      const started = performance.now();
      const res = await client.query(prefix + query.sql, [...query.parameters]);
      return { ms: performance.now() - started, rows: res.rows };
    } finally {
      await client.query('ROLLBACK');
    }
  };
  try {
    const plan = await run('EXPLAIN (ANALYZE, BUFFERS) ');
    console.log(`\n── ${title}`);
    for (const r of plan.rows as { 'QUERY PLAN': string }[]) console.log(`   ${r['QUERY PLAN']}`);
    const times: number[] = [];
    for (let i = 0; i < 7; i += 1) times.push((await run('')).ms);
    times.sort((a, b) => a - b);
    console.log(`   median of 7 (client side): ${times[3]!.toFixed(2)} ms`);
  } finally {
    client.release();
  }
}

/** Fills the database; returns H's id. */
async function fill(db: Kysely<DB>): Promise<string> {
  const run = (text: string, params: unknown[] = []) => db.executeQuery(CompiledQuery.raw(text, params));
  const users = Array.from({ length: 100 }, () => newId());
  await run(
    `INSERT INTO users (id, email, password_hash, role)
     SELECT u, 'bench-' || i || '@example.com', 'x', 'user' FROM unnest($1::uuid[]) WITH ORDINALITY AS t(u, i)`,
    [users],
  );
  const container = JSON.stringify({ image: 'alpine:3.20', cmd: ['true'] });
  const heartbeat = JSON.stringify({
    endpoint: 'https://example.com/',
    method: 'GET',
    headers: {},
    body: null,
  });
  // Workflows: H (users[0]) 500 CONTAINER; users 1…99: 25 CONTAINER + 25 HEARTBEAT. `n` numbers
  // each user's workflows from 1.
  await run(
    `INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, build_status, state,
                           log_retention, max_consecutive_job_failures_allowed)
     SELECT gen_random_uuid(), ($1::uuid[])[u], 'wf-' || lpad(n::text, 3, '0'),
            CASE WHEN u = 1 OR n <= 25 THEN 'CONTAINER' ELSE 'HEARTBEAT' END,
            CASE WHEN u = 1 OR n <= 25 THEN $2::jsonb ELSE $3::jsonb END,
            'interval', 5, 'COMPLETED', 'ACTIVE', u = 1 OR n <= 25, 100
     FROM generate_series(1, 100) AS u, generate_series(1, 500) AS n
     WHERE u = 1 OR n <= 50`,
    [users, container, heartbeat],
  );
  await run(
    `CREATE TEMP TABLE wf AS
             SELECT w.id, w.user_id, w.kind, u.i AS u,
                    row_number() OVER (PARTITION BY w.user_id ORDER BY w.name COLLATE "C") AS n
             FROM workflows w JOIN unnest($1::uuid[]) WITH ORDINALITY AS u(id, i) ON u.id = w.user_id`,
    [users],
  );
  // 200,000 finished jobs, spread over every workflow, days ago.
  await run(`INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at, started_at,
                              completed_at, attempts)
             SELECT gen_random_uuid(), wf.id, wf.user_id, 1, (SELECT x.kind FROM workflows x WHERE x.id = wf.id), (SELECT x.payload FROM workflows x WHERE x.id = wf.id), 'COMPLETED', 'AUTOMATIC',
                    now() - interval '3 days' + g * interval '1 second', now() - interval '3 days',
                    now() - interval '3 days', 1
             FROM generate_series(1, 200000) AS g
             JOIN wf ON wf.n = 1 + g % 50 AND wf.u = 1 + g % 100`);
  // RUNNING: H's 4 slots; 2 containers of each of users 1…50; 300 heartbeats of users 51…99.
  await run(`INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at, started_at,
                              attempts, lease_owner, lease_expires_at, container_slot)
             SELECT gen_random_uuid(), wf.id, wf.user_id, 1, (SELECT x.kind FROM workflows x WHERE x.id = wf.id), (SELECT x.payload FROM workflows x WHERE x.id = wf.id), 'RUNNING', 'AUTOMATIC', now() - interval '3 hours',
                    now() - interval '3 hours', 1, 'other-executor', now() + interval '1 hour',
                    CASE WHEN wf.kind = 'CONTAINER' THEN wf.n END
             FROM wf
             WHERE (wf.u = 1 AND wf.n <= 4) OR (wf.u BETWEEN 2 AND 51 AND wf.n <= 2)
                OR (wf.u BETWEEN 52 AND 100 AND wf.n BETWEEN 26 AND 31)`);
  // Queued: H's backlog first (40 per workflow), then the others' (queuedPerWorkflow each).
  await run(`INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at)
             SELECT gen_random_uuid(), wf.id, wf.user_id, 1, (SELECT x.kind FROM workflows x WHERE x.id = wf.id), (SELECT x.payload FROM workflows x WHERE x.id = wf.id), 'PENDING', 'MANUAL',
                    now() - interval '2 hours' + (wf.n * 40 + k) * interval '100 ms'
             FROM wf, generate_series(1, 40) AS k WHERE wf.u = 1`);
  await run(
    `INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, kind, spec, status, trigger, scheduled_at)
     SELECT gen_random_uuid(), wf.id, wf.user_id, 1, (SELECT x.kind FROM workflows x WHERE x.id = wf.id), (SELECT x.payload FROM workflows x WHERE x.id = wf.id), 'PENDING', 'MANUAL',
            now() - interval '1 hour' + ((wf.u * 50 + wf.n) * $1::int + k) * interval '10 ms'
     FROM wf, generate_series(1, $1::int) AS k WHERE wf.u > 1`,
    [queuedPerWorkflow],
  );
  const { rows } = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM jobs GROUP BY 1 ORDER BY 1`.execute(db);
  console.log(`jobs: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
  return users[0]!;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

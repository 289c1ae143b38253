/**
 * Job lists: the plans of `GET /jobs` (src/services/jobs/list-all.ts) and of the workflow objects'
 * `recent_jobs` (src/services/workflows/recent-jobs.ts) on a large jobs table.
 *
 *   node bench/job-lists.ts [jobs=1000000]
 *
 * Fills a scratch database with 10 users and 2,000 HEARTBEAT workflows (user A owns 1,200, users
 * B…I 97 each, user J 24: J has about 1 % of the jobs), then `jobs` jobs spread evenly over the
 * workflows and over 60 days (UUIDv7 ids in creation order; 2 % FAILED, 2 % CANCELED, the newest
 * 500 PENDING, the rest COMPLETED; 10 % MANUAL), ANALYZEs, and prints EXPLAIN (ANALYZE, BUFFERS)
 * of each statement exactly as the services build it: first pages for A and for J with no filter,
 * with a status they have none of, with rare statuses, one workflow, time windows, a later page;
 * the first ones again without jobs_user_status_idx (migration 0011); and the recent jobs of a
 * page of 20 and of 100 workflows.
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_job_lists_<pid> is created and dropped). Prints its figures; asserts nothing.
 */
import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import type { DB } from '../src/platform/db/schema.ts';
import { newId } from '../src/platform/ids.ts';
import { jobsListAll } from '../src/services/jobs/list-all.ts';
import { workflowsRecentJobsQuery } from '../src/services/workflows/recent-jobs.ts';
import { insertHeartbeatWorkflows } from './workflows.ts';

const jobCount = Number(process.argv[2] ?? 1_000_000);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `cv_bench_job_lists_${process.pid}`;
const DAY = 86_400_000;
const PAGE = 20;

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

async function explain(db: Kysely<DB>, title: string, query: RawBuilder<unknown>): Promise<void> {
  const compiled = query.compile(db);
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': string }>(
    CompiledQuery.raw(`EXPLAIN (ANALYZE, BUFFERS) ${compiled.sql}`, [...compiled.parameters]),
  );
  console.log(`\n── ${title}`);
  for (const r of rows) console.log(`   ${r['QUERY PLAN']}`);
}

async function main() {
  await withAdmin(`create database "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 2 });
  try {
    await migrate(database.db);
    const db = database.db;
    const run = (text: string, params: unknown[]) => db.executeQuery(CompiledQuery.raw(text, params));

    const sizes = [1200, 97, 97, 97, 97, 97, 97, 97, 97, 24];
    const users: string[] = [];
    const workflowIds: string[] = [];
    const workflowUsers: string[] = [];
    for (const [i, count] of sizes.entries()) {
      const userId = newId();
      users.push(userId);
      await db
        .insertInto('users')
        .values({ id: userId, email: `bench-${i}-${userId}@example.com`, password_hash: 'x', role: 'user' })
        .execute();
      const ids = await insertHeartbeatWorkflows(run, {
        userId,
        endpoint: 'http://127.0.0.1:1/',
        count,
        nextRunAt: () => null,
      });
      workflowIds.push(...ids);
      workflowUsers.push(...ids.map(() => userId));
    }
    const [userA, userJ] = [users[0]!, users[9]!];

    // Jobs i = 0…n-1 created every (60 days / n), oldest first, on workflow (i·7919 mod 2000).
    const start = Date.now() - 60 * DAY;
    const step = (60 * DAY) / jobCount;
    const t0 = performance.now();
    for (let lo = 0; lo < jobCount; lo += 100_000) {
      const hi = Math.min(jobCount, lo + 100_000) - 1;
      await run(
        `INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, status, trigger, scheduled_at,
                           started_at, completed_at, attempts, created_at, updated_at, kind, spec)
         SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3)
                 || '-' || substr(r, 7, 12))::uuid,
                ($1::uuid[])[k], ($2::uuid[])[k], 1, st,
                CASE WHEN i % 10 = 0 THEN 'MANUAL' ELSE 'AUTOMATIC' END,
                ts, CASE WHEN st = 'PENDING' THEN NULL ELSE ts + interval '50 ms' END,
                CASE WHEN st = 'PENDING' THEN NULL ELSE ts + interval '1 second' END,
                CASE WHEN st = 'PENDING' THEN 0 ELSE 1 END, ts, ts,
                (SELECT w.kind FROM workflows w WHERE w.id = ($1::uuid[])[k]),
                (SELECT w.payload FROM workflows w WHERE w.id = ($1::uuid[])[k])
         FROM generate_series($3::int, $4::int) AS i,
              LATERAL (SELECT to_timestamp(($5::float8 + i * $6::float8) / 1000) AS ts,
                              1 + (i::bigint * 7919) % array_length($1::uuid[], 1) AS k,
                              CASE WHEN i >= $7::int - 500 THEN 'PENDING'
                                   WHEN i % 50 = 0 THEN 'FAILED'
                                   WHEN i % 50 = 1 THEN 'CANCELED'
                                   ELSE 'COMPLETED' END AS st) AS v,
              LATERAL (SELECT lpad(to_hex((extract(epoch FROM v.ts) * 1000)::bigint), 12, '0') AS h,
                              md5(i::text) AS r) AS u`,
        [workflowIds, workflowUsers, lo, hi, start, step, jobCount],
      );
    }
    await sql`ANALYZE`.execute(db);
    const { rows: counts } = await sql<{ user_id: string; n: string }>`
      SELECT user_id, count(*) AS n FROM jobs WHERE user_id IN (${userA}, ${userJ}) GROUP BY user_id`.execute(
      db,
    );
    console.log(
      `${jobCount} jobs over ${workflowIds.length} workflows inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `user A: ${counts.find((c) => c.user_id === userA)?.n} jobs, user J: ${counts.find((c) => c.user_id === userJ)?.n} jobs`,
    );

    const monthAgo = new Date(Date.now() - 30 * DAY);
    const aWorkflow = workflowIds[5]!;
    const first = async (label: string) => {
      await explain(db, `${label}: user A, no filter`, jobsListAll(userA, {}, undefined, PAGE + 1));
      await explain(db, `${label}: user J, no filter`, jobsListAll(userJ, {}, undefined, PAGE + 1));
      await explain(
        db,
        `${label}: user J, status=FAILED (J has none)`,
        jobsListAll(userJ, { status: ['FAILED'] }, undefined, PAGE + 1),
      );
      await explain(
        db,
        `${label}: user A, status=RUNNING (none)`,
        jobsListAll(userA, { status: ['RUNNING'] }, undefined, PAGE + 1),
      );
    };
    await first('with jobs_user_status_idx');
    await explain(
      db,
      'user A, status=FAILED',
      jobsListAll(userA, { status: ['FAILED'] }, undefined, PAGE + 1),
    );
    await explain(
      db,
      'user A, status=FAILED,CANCELED + trigger=AUTOMATIC',
      jobsListAll(userA, { status: ['FAILED', 'CANCELED'], trigger: 'AUTOMATIC' }, undefined, PAGE + 1),
    );
    await explain(
      db,
      'user A, workflow_id',
      jobsListAll(userA, { workflow_id: aWorkflow }, undefined, PAGE + 1),
    );
    await explain(
      db,
      'user A, workflow_id + status=FAILED',
      jobsListAll(userA, { workflow_id: aWorkflow, status: ['FAILED'] }, undefined, PAGE + 1),
    );
    await explain(
      db,
      'user A, since = a day ago',
      jobsListAll(userA, { since: new Date(Date.now() - DAY) }, undefined, PAGE + 1),
    );
    await explain(
      db,
      'user A, since..until = one day a month ago',
      jobsListAll(userA, { since: new Date(monthAgo.getTime() - DAY), until: monthAgo }, undefined, PAGE + 1),
    );
    const { rows: mid } = await sql<{ id: string }>`
      SELECT id FROM jobs WHERE user_id = ${userA} ORDER BY id DESC OFFSET 5000 LIMIT 1`.execute(db);
    await explain(
      db,
      'user A, a page after 5,000 rows (cursor)',
      jobsListAll(userA, {}, mid[0]!.id, PAGE + 1),
    );

    await sql`DROP INDEX jobs_user_status_idx`.execute(db);
    await first('without jobs_user_status_idx');
    await sql`CREATE INDEX jobs_user_status_idx ON jobs (user_id, status, id DESC)`.execute(db);

    const { rows: page } = await sql<{ id: string }>`
      SELECT id FROM workflows WHERE user_id = ${userA} ORDER BY id DESC LIMIT 100`.execute(db);
    await explain(
      db,
      'recent_jobs of a page of 20 workflows',
      workflowsRecentJobsQuery(page.slice(0, 20).map((p) => p.id)),
    );
    await explain(
      db,
      'recent_jobs of a page of 100 workflows',
      workflowsRecentJobsQuery(page.map((p) => p.id)),
    );
  } finally {
    await database.close();
    await withAdmin(`drop database if exists "${dbName}" with (force)`);
  }
}

await main();

/**
 * Engine benchmarks in the distributed profile: every role in its own OS process (test/helpers/
 * cluster.ts) on the local PostgreSQL, a private Redis and a private single-node Kafka (KRaft);
 * HEARTBEAT jobs against a local HTTP server in this process. Same scenarios as bench/engine.ts.
 *
 *   node bench/distributed.ts throughput [jobs=20000] [workflows=2000]
 *   node bench/distributed.ts pickup [rate=100] [seconds=20]
 *   node bench/distributed.ts firelag [workflows=10000] [minutes=3]
 *
 * Processes: outbox-relay, workflow-worker, scheduler ×2, executor ×2; pickup adds the users,
 * workflows and jobs services (gRPC) and one gateway. Wake-ups go the production way: an outbox
 * DISPATCH row → relay → Kafka topic `jobs` → executors (which then claim from the jobs table).
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_<pid> is created and dropped), BENCH_CONCURRENCY (slots per executor, default 32),
 * BENCH_POOL_SIZE (PostgreSQL connections per process, default 10), BENCH_PARTITIONS (Kafka
 * partitions per topic, default 6), BENCH_LOG_LEVEL (processes' log level, default warn),
 * BENCH_NODE_OPTIONS (NODE_OPTIONS of every role process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`:
 * a profile per process, written when the bench stops the cluster).
 * Process logs stay in the folder printed at start. Prints its figures; asserts nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { newId } from '../src/platform/ids.ts';
import { insertHeartbeatWorkflows } from './workflows.ts';
import { Cluster } from '../test/helpers/cluster.ts';
import { KafkaBroker } from '../test/helpers/kafka-broker.ts';
import { freePort } from '../test/helpers/ports.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.ts');
const [mode = 'throughput', arg1, arg2] = process.argv.slice(2);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 10);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 6);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const dbName = `cv_bench_${process.pid}`;
const DISPATCH_CHUNK = 100; // job ids per DISPATCH row, as the scheduler writes them

if (!['throughput', 'pickup', 'firelag'].includes(mode)) {
  console.error(
    'usage: node bench/distributed.ts throughput [jobs] [workflows] | pickup [rate] [seconds] | firelag [workflows] [minutes]',
  );
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function dist(values: number[], digits = 1): string {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 'no samples';
  return `p50 ${percentile(s, 50).toFixed(digits)} ms, p99 ${percentile(s, 99).toFixed(digits)} ms, max ${s.at(-1)!.toFixed(digits)} ms`;
}

/** Peak resident set (VmHWM) of a live process, in MiB; null when it cannot be read. */
function peakRssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The pid listening on a local TCP port (for the broker's JVM and redis-server), via `ss`. */
async function listenerPid(port: number): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)('ss', ['-Hltnp', `sport = :${port}`]);
    const m = /pid=(\d+)/.exec(stdout);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

async function runCli(args: string[], env: Record<string, string>): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`${args.join(' ')} exited ${code}: ${out}`)),
    );
  });
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'cv-bench-dist-'));
  console.log(`distributed bench (${mode}): process logs in ${dir}`);
  let requests = 0;
  const target = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;

  const tInfra = performance.now();
  const [kafka, redis] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
  await withAdmin(`create database "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  let cluster: Cluster | null = null;
  try {
    const keys = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const [usersPort, workflowsPort, jobsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const common: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers,
      CHRONOVERSE_KAFKA_TOPIC_PREFIX: `bench-${process.pid}.`,
      CHRONOVERSE_KAFKA_PARTITIONS: String(partitions),
      CHRONOVERSE_REDIS_KEY_PREFIX: `bench-${process.pid}:`,
      CHRONOVERSE_SERVICE_PRIVATE_KEY: keys.privateKey,
      CHRONOVERSE_SERVICE_PUBLIC_KEY: keys.publicKey,
      CHRONOVERSE_USERS_URL: `http://127.0.0.1:${usersPort}`,
      CHRONOVERSE_WORKFLOWS_URL: `http://127.0.0.1:${workflowsPort}`,
      CHRONOVERSE_JOBS_URL: `http://127.0.0.1:${jobsPort}`,
      CHRONOVERSE_DATABASE_POOL_SIZE: String(poolSize),
      CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY: String(concurrency),
      DOCKER_HOST: 'unix:///nonexistent/docker.sock', // HEARTBEAT only
      LOG_LEVEL: logLevel,
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    };
    await runCli(['migrate'], common);

    cluster = new Cluster(dir, common);
    if (mode === 'pickup') {
      await cluster.add('users', 'users', { CHRONOVERSE_RPC_PORT: String(usersPort) });
      await cluster.add('workflows', 'workflows', { CHRONOVERSE_RPC_PORT: String(workflowsPort) });
      await cluster.add('jobs', 'jobs', { CHRONOVERSE_RPC_PORT: String(jobsPort) });
      await cluster.add('gateway', 'gateway');
    }
    await cluster.add('outbox-relay', 'outbox-relay');
    await cluster.add('workflow-worker', 'workflow-worker');
    for (const name of ['scheduler-1', 'scheduler-2']) await cluster.add(name, 'scheduler');
    for (const name of ['executor-1', 'executor-2']) await cluster.add(name, 'executor');
    await cluster.waitReady(180_000);
    // Executors join the `jobs` consumer group before their ops server answers; give the group
    // a moment to settle its assignment so the first DISPATCH messages are not held by a rebalance.
    await sleep(3_000);
    console.log(
      `  infrastructure + ${cluster.processes.length} role processes ready in ${((performance.now() - tInfra) / 1000).toFixed(1)} s ` +
        `(executor concurrency ${concurrency} ×2, pool ${poolSize}/process, ${partitions} partitions)`,
    );

    let userId: string;
    let token = '';
    if (mode === 'pickup') {
      const res = await fetch(`${cluster.get('gateway').url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'bench@example.com', password: 'a long enough password' }),
      });
      const body = (await res.json()) as { token: string; user: { id: string } };
      if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
      token = body.token;
      userId = body.user.id;
    } else {
      userId = newId();
      await db.query(
        `INSERT INTO users (id, email, password_hash, role) VALUES ($1, 'bench@example.com', 'x', 'user')`,
        [userId],
      );
    }
    // An administrator: the heartbeats' target is on the loopback, which the outbound policy
    // refuses to other users (as a user, every job FAILED "refused" without a request: 93 jobs/s
    // of refusals, 2026-12-07), as bench/engine.ts's user is.
    await db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [userId]);
    const makeWorkflows = (n: number, nextRunAt: (i: number) => Date | null) =>
      insertHeartbeatWorkflows((text, params) => db.query(text, params), {
        userId,
        endpoint,
        count: n,
        nextRunAt,
      });
    const count = async (where: string): Promise<number> =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE ${where}`)).rows[0]!.n;

    if (mode === 'throughput') {
      const jobs = Number(arg1 ?? 20_000);
      const workflows = Math.min(Number(arg2 ?? 2_000), jobs);
      const ids = await makeWorkflows(workflows, () => null);
      const t0 = performance.now();
      for (let offset = 0; offset < jobs; offset += 10_000) {
        const n = Math.min(10_000, jobs - offset);
        const jobIds = Array.from({ length: n }, () => newId());
        const keys: string[] = [];
        const payloads: string[] = [];
        for (let i = 0; i < n; i += DISPATCH_CHUNK) {
          const chunk = jobIds.slice(i, i + DISPATCH_CHUNK);
          keys.push(chunk[0]!);
          payloads.push(JSON.stringify({ job_ids: chunk }));
        }
        const client = await db.connect();
        try {
          await client.query('BEGIN');
          await client.query(
            `INSERT INTO jobs (id, workflow_id, user_id, workflow_generation, trigger, scheduled_at, kind, spec)
             SELECT j.id, j.wf, $1, 1, 'MANUAL', now(), w.kind, w.payload
             FROM workflows w JOIN unnest($2::uuid[], $3::uuid[]) AS j(id, wf) ON w.id = j.wf`,
            [userId, jobIds, jobIds.map((_, k) => ids[(offset + k) % ids.length]!)],
          );
          await client.query(
            `INSERT INTO outbox (topic, key, event_type, payload)
             SELECT 'jobs', o.key, 'DISPATCH', o.payload::jsonb FROM unnest($1::text[], $2::text[]) AS o(key, payload)`,
            [keys, payloads],
          );
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
      const submitted = performance.now();
      let firstStart = NaN;
      for (;;) {
        const final = await count(`status IN ('COMPLETED','FAILED')`);
        if (Number.isNaN(firstStart) && (await count('started_at IS NOT NULL')) > 0)
          firstStart = performance.now();
        if (final >= jobs) break;
        await sleep(200);
      }
      const done = performance.now();
      const failed = await count(`status = 'FAILED'`);
      const { rows: span } = await db.query<{ first_pub: number; last_pub: number; n: number }>(
        `SELECT count(*)::int AS n,
                extract(epoch FROM min(published_at) - min(created_at)) * 1000 AS first_pub,
                extract(epoch FROM max(published_at) - min(created_at)) * 1000 AS last_pub
         FROM outbox WHERE topic = 'jobs' AND event_type = 'DISPATCH'`,
      );
      const { rows: run } = await db.query<{ active_s: number }>(
        `SELECT extract(epoch FROM max(completed_at) - min(started_at)) AS active_s FROM jobs`,
      );
      console.log(
        `throughput: ${jobs} jobs over ${workflows} workflows, ${span[0]!.n} DISPATCH rows; executors 2 × ${concurrency} slots\n` +
          `  submit ${(submitted - t0).toFixed(0)} ms; submit→all final ${((done - submitted) / 1000).toFixed(1)} s = ` +
          `${Math.round(jobs / ((done - submitted) / 1000))} jobs/s; failed ${failed}; target saw ${requests} requests\n` +
          `  DISPATCH rows published ${Number(span[0]!.first_pub).toFixed(0)}–${Number(span[0]!.last_pub).toFixed(0)} ms after insert; ` +
          `first start seen ≤ ${(firstStart - submitted).toFixed(0)} ms after submit; first start → last finish ${Number(run[0]!.active_s).toFixed(1)} s`,
      );
    } else if (mode === 'pickup') {
      const rate = Number(arg1 ?? 100);
      const seconds = Number(arg2 ?? 20);
      const total = rate * seconds;
      const ids = await makeWorkflows(total, () => null);
      const gateway = cluster.get('gateway').url;
      const sentAt = new Map<string, number>(); // job id → wall-clock ms the request was sent
      const responseMs: number[] = [];
      const errors = new Map<string, number>();
      const inflight: Promise<void>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const sent = Date.now();
        const p0 = performance.now();
        inflight.push(
          fetch(`${gateway}/api/v1/workflows/${ids[i]}/jobs/schedule`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(30_000),
          })
            .then(async (res) => {
              const body = (await res.json()) as { id?: string };
              responseMs.push(performance.now() - p0);
              if (res.status !== 201 || !body.id)
                errors.set(String(res.status), (errors.get(String(res.status)) ?? 0) + 1);
              else sentAt.set(body.id, sent);
            })
            .catch((err: Error) => void errors.set(err.name, (errors.get(err.name) ?? 0) + 1)),
        );
      }
      const sendSeconds = (performance.now() - t0) / 1000;
      await Promise.all(inflight);
      const accepted = sentAt.size;
      const deadline = Date.now() + 120_000;
      while ((await count('started_at IS NOT NULL')) < accepted && Date.now() < deadline) await sleep(200);
      const { rows } = await db.query<{
        id: string;
        created: number;
        pickup: number;
        pub: number | null;
        claim: number | null;
      }>(
        `SELECT j.id,
                extract(epoch FROM j.created_at) * 1000 AS created,
                extract(epoch FROM j.started_at - j.created_at) * 1000 AS pickup,
                extract(epoch FROM o.published_at - o.created_at) * 1000 AS pub,
                extract(epoch FROM j.started_at - o.published_at) * 1000 AS claim
         FROM jobs j
         LEFT JOIN outbox o ON o.topic = 'jobs' AND o.event_type = 'DISPATCH' AND o.payload->'job_ids'->>0 = j.id::text
         WHERE j.started_at IS NOT NULL`,
      );
      const num = (v: number | null) => (v === null ? NaN : Number(v));
      const pickup = rows.map((r) => num(r.pickup));
      const pub = rows.map((r) => num(r.pub)).filter((v) => !Number.isNaN(v));
      const claim = rows.map((r) => num(r.claim)).filter((v) => !Number.isNaN(v));
      const toCreated = rows.filter((r) => sentAt.has(r.id)).map((r) => num(r.created) - sentAt.get(r.id)!);
      const errText = [...errors].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
      console.log(
        `pickup: ${total} manual runs at ${rate}/s through gateway → gRPC jobs service (sent in ${sendSeconds.toFixed(1)} s); ` +
          `accepted ${accepted}, errors ${errText}, started ${rows.length}\n` +
          `  created_at → started_at      ${dist(pickup)}\n` +
          `  of which outbox created_at → published_at (commit, relay wake-up + claim, Kafka produce ack, mark) ${dist(pub)}\n` +
          `  and published_at → started_at (consumer fetch → executor wake → claim; may be < 0: the ack precedes the mark) ${dist(claim)}\n` +
          `  client: request sent → job created_at ${dist(toCreated)}; HTTP response ${dist(responseMs)}`,
      );
    } else {
      const workflows = Number(arg1 ?? 10_000);
      const minutes = Number(arg2 ?? 3);
      const start = Date.now() + 10_000;
      await makeWorkflows(workflows, (i) => new Date(start + Math.floor((i / workflows) * 60_000)));
      const since = new Date(start);
      const until = new Date(start + minutes * 60_000);
      await sleep(Math.max(0, start - Date.now()) + minutes * 60_000);
      // Ticks due in the window's last moment get 2 s to start (bench/engine.ts gives none).
      await sleep(2_000);
      const { rows } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM started_at - scheduled_at) * 1000 AS ms FROM jobs
         WHERE started_at IS NOT NULL AND scheduled_at >= $1 AND scheduled_at < $2`,
        [since, until],
      );
      const { rows: counts } = await db.query<{ n: number; not_started: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE started_at IS NULL)::int AS not_started FROM jobs
         WHERE scheduled_at >= $1 AND scheduled_at < $2`,
        [since, until],
      );
      const { rows: pubs } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM outbox
         WHERE topic = 'jobs' AND event_type = 'DISPATCH' AND published_at IS NOT NULL`,
      );
      console.log(
        `fire lag: ${workflows} interval workflows (1 min), ${minutes} min, ticks due ${counts[0]!.n}, not started ${counts[0]!.not_started}\n` +
          `  scheduled_at → started_at ${dist(
            rows.map((r) => Number(r.ms)),
            0,
          )}; sustained ${Math.round(counts[0]!.n / (minutes * 60))} jobs/s\n` +
          `  DISPATCH rows (${pubs.length}) created_at → published_at ${dist(pubs.map((r) => Number(r.ms)))}`,
      );
    }

    // Peak RSS (VmHWM) of every process, read while they still run.
    const rss = cluster.processes.map((p) => `${p.name} ${peakRssMiB(p.pid) ?? '?'}`);
    rss.push(`kafka (JVM) ${peakRssMiB(await listenerPid(Number(kafka.brokers.split(':')[1]))) ?? '?'}`);
    rss.push(`redis ${peakRssMiB(await listenerPid(redis.port)) ?? '?'}`);
    rss.push(`bench (HTTP target) ${peakRssMiB(process.pid) ?? '?'}`);
    console.log(`  peak RSS MiB: ${rss.join(', ')}`);
    const crashed = cluster.processes.filter((p) => p.unexpectedExits > 0).map((p) => p.name);
    if (crashed.length > 0)
      console.log(`  processes that exited on their own: ${crashed.join(', ')} (see ${dir})`);
  } finally {
    await cluster?.stop();
    await db.end();
    await Promise.all([kafka.destroy(), redis.destroy()]);
    target.close();
    await withAdmin(`drop database if exists "${dbName}" with (force)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

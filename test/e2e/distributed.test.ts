/**
 * The distributed profile end to end: every role in its own OS process (gateway ×2, the users,
 * workflows, jobs, notifications and analytics services, scheduler ×2, executor ×2, outbox-relay,
 * workflow-worker, joblogs, analytics-processor)
 * on a private PostgreSQL server, a private Redis and a private single-node Kafka (KRaft), driven
 * only through the public HTTP API. Fault injection, each case asserting that no tick is lost and
 * none runs twice: kill -9 of an executor mid-job, Kafka down for 20 s, PostgreSQL restarted under
 * load, Redis restarted, a poison message on every topic.
 *
 * Load: three cron workflows fire every 2 s against a local HTTP target for the whole suite; the
 * target counts requests per workflow, so a tick that ran twice shows up as an extra hit.
 * Process logs stay in the folder printed at start.
 */
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Producer, stringSerializers } from '@platformatic/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UsersService } from '../../src/gen/chronoverse/users/v1/users_pb.js';
import { Cluster, waitUntil } from '../helpers/cluster.ts';
import { KafkaBroker } from '../helpers/kafka-broker.ts';
import { PgServer } from '../helpers/pg-server.ts';
import { freePort } from '../helpers/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { sseEvents } from '../helpers/sse.ts';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');
const CRON_EVERY_2S = '*/2 * * * * *';
const TOPICS = ['workflows', 'jobs', 'job_logs', 'analytics', 'notifications'] as const;

interface JobRow {
  id: string;
  workflow_id: string;
  status: string;
  attempts: number;
  scheduled_at: Date;
  skipped_ticks: number;
  trigger: string;
  lease_owner: string | null;
}

/**
 * Heartbeat target: /ok?w=<name> answers 200, /slow?w=<name>&ms=<n> after n ms, /fail?w=<name> 500;
 * counts per name.
 */
async function startTarget() {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://target');
    const name = url.searchParams.get('w') ?? '';
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const delay = url.pathname === '/slow' ? Number(url.searchParams.get('ms') ?? 0) : 0;
    setTimeout(() => res.writeHead(url.pathname === '/fail' ? 500 : 200).end('ok'), delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)),
    );
  });
}

describe('distributed profile: every role in its own process', { timeout: 240_000 }, () => {
  let pgServer: PgServer;
  let redis: RedisServer;
  let kafka: KafkaBroker;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let cluster: Cluster;
  let db: pg.Pool;
  let topicPrefix: string;
  let token: string;
  const cronWorkflows: string[] = [];

  const gateway = (n: 1 | 2) => cluster.get(`gateway-${n}`).url;

  async function api<T = Record<string, unknown>>(
    n: 1 | 2,
    method: string,
    path: string,
    body?: unknown,
    authToken = token,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${gateway(n)}/api/v1${path}`, {
      method,
      headers: {
        ...(authToken ? { authorization: `Bearer ${authToken}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async function createWorkflow(body: Record<string, unknown>, n: 1 | 2 = 1): Promise<string> {
    const res = await api<{ id: string }>(n, 'POST', '/workflows', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  }

  async function waitActive(workflowId: string, timeoutMs = 60_000) {
    await waitUntil(
      `workflow ${workflowId} to be built`,
      async () => {
        const { body } = await api<{ status: string; build_error: string | null }>(
          2,
          'GET',
          `/workflows/${workflowId}`,
        );
        if (body.status === 'BUILD_FAILED') throw new Error(`build failed: ${body.build_error}`);
        return body.status === 'ACTIVE';
      },
      timeoutMs,
    );
  }

  async function runNow(workflowId: string, n: 1 | 2 = 1): Promise<string> {
    const res = await api<{ id: string }>(n, 'POST', `/workflows/${workflowId}/jobs/schedule`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  }

  async function job(jobId: string): Promise<JobRow> {
    const { rows } = await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [jobId]);
    return rows[0]!;
  }

  async function waitFinal(jobId: string, timeoutMs = 60_000): Promise<JobRow> {
    return waitUntil(
      `job ${jobId} to finish`,
      async () => {
        const row = await job(jobId);
        return ['COMPLETED', 'FAILED', 'CANCELED'].includes(row.status) ? row : null;
      },
      timeoutMs,
    );
  }

  /**
   * No tick lost, none run twice: the automatic jobs of each cron workflow are consecutive ticks
   * (a gap is exactly the ticks folded into the previous job's catch-up count), every job older
   * than a few seconds has finished COMPLETED on its first attempt, and the target saw exactly one
   * request per attempt.
   */
  async function expectEveryTickOnce() {
    for (const [i, workflowId] of cronWorkflows.entries()) {
      // Let the newest ticks finish before counting.
      const settleBefore = new Date(Date.now() - 8_000);
      const { rows } = await db.query<JobRow>(
        `SELECT * FROM jobs WHERE workflow_id = $1 AND trigger = 'AUTOMATIC' ORDER BY scheduled_at`,
        [workflowId],
      );
      expect(rows.length).toBeGreaterThan(3);
      for (let k = 1; k < rows.length; k++) {
        const gapTicks = (rows[k]!.scheduled_at.getTime() - rows[k - 1]!.scheduled_at.getTime()) / 2_000;
        expect(gapTicks, `ticks between job ${k - 1} and ${k} of cron-${i}`).toBe(
          rows[k - 1]!.skipped_ticks + 1,
        );
      }
      const settled = rows.filter((r) => r.scheduled_at < settleBefore);
      expect(settled.filter((r) => r.status !== 'COMPLETED').map((r) => [r.id, r.status])).toEqual([]);
      // Every request the target saw is one attempt of one job (manual runs included).
      const { rows: all } = await db.query<JobRow>('SELECT * FROM jobs WHERE workflow_id = $1', [workflowId]);
      const attempts = all.reduce((sum, r) => sum + r.attempts, 0);
      const hits = target.hits.get(`cron-${i}`) ?? 0;
      // Jobs still running may not have reached the target yet.
      const inFlight = all.filter((r) => r.status === 'RUNNING').length;
      expect(hits).toBeLessThanOrEqual(attempts);
      expect(hits).toBeGreaterThanOrEqual(attempts - inFlight);
      expect(settled.every((r) => r.attempts === 1)).toBe(true);
    }
  }

  function expectNoCrash(except: string[] = []) {
    const crashed = cluster.processes
      .filter((p) => !except.includes(p.name) && (p.unexpectedExits > 0 || !p.running))
      .map((p) => `${p.name} (see ${p.logFile})`);
    expect(crashed).toEqual([]);
  }

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cv-e2e-'));
    console.log(`distributed e2e: process logs in ${dir}`);
    [pgServer, redis, kafka, target] = await Promise.all([
      PgServer.start(),
      RedisServer.start(),
      KafkaBroker.start(),
      startTarget(),
    ]);
    const admin = new pg.Client(pgServer.url());
    await admin.connect();
    await admin.query('CREATE DATABASE chronoverse');
    await admin.end();
    const databaseUrl = pgServer.url('chronoverse');
    db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    db.on('error', () => {}); // the PostgreSQL restart case cuts idle connections

    const keys = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const [usersPort, workflowsPort, jobsPort, notificationsPort, analyticsPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    topicPrefix = `e2e-${process.pid}.`;
    const common: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers,
      CHRONOVERSE_KAFKA_TOPIC_PREFIX: topicPrefix,
      CHRONOVERSE_KAFKA_PARTITIONS: '4',
      CHRONOVERSE_KAFKA_MAX_HANDLE_ATTEMPTS: '3',
      CHRONOVERSE_REDIS_KEY_PREFIX: `e2e-${process.pid}:`,
      CHRONOVERSE_SERVICE_PRIVATE_KEY: keys.privateKey,
      CHRONOVERSE_SERVICE_PUBLIC_KEY: keys.publicKey,
      CHRONOVERSE_USERS_URL: `http://127.0.0.1:${usersPort}`,
      CHRONOVERSE_WORKFLOWS_URL: `http://127.0.0.1:${workflowsPort}`,
      CHRONOVERSE_JOBS_URL: `http://127.0.0.1:${jobsPort}`,
      CHRONOVERSE_NOTIFICATIONS_URL: `http://127.0.0.1:${notificationsPort}`,
      CHRONOVERSE_ANALYTICS_URL: `http://127.0.0.1:${analyticsPort}`,
      CHRONOVERSE_DATABASE_POOL_SIZE: '4',
      // Two accounts register through the gateway; the users service runs without a gateway of
      // its own, so its sign-up mode would otherwise be invite.
      CHRONOVERSE_SIGNUP: 'open',
      CHRONOVERSE_EXECUTOR_LEASE: '3s',
      DOCKER_HOST: inject('dockerHost'),
      // The test image is localhost/…: a registry the administrator must list.
      CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: 'docker.io,localhost',
      LOG_LEVEL: 'info',
    };
    await runCli(['migrate'], common);

    cluster = new Cluster(dir, common);
    await cluster.add('users', 'users', { CHRONOVERSE_RPC_PORT: String(usersPort) });
    await cluster.add('workflows', 'workflows', { CHRONOVERSE_RPC_PORT: String(workflowsPort) });
    await cluster.add('jobs', 'jobs', { CHRONOVERSE_RPC_PORT: String(jobsPort) });
    await cluster.add('notifications', 'notifications', {
      CHRONOVERSE_RPC_PORT: String(notificationsPort),
      // The test's webhook receiver listens on 127.0.0.1.
      CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    await cluster.add('analytics', 'analytics', { CHRONOVERSE_RPC_PORT: String(analyticsPort) });
    for (const name of ['gateway-1', 'gateway-2']) await cluster.add(name, 'gateway');
    for (const name of ['scheduler-1', 'scheduler-2']) await cluster.add(name, 'scheduler');
    for (const name of ['executor-1', 'executor-2']) await cluster.add(name, 'executor');
    await cluster.add('outbox-relay', 'outbox-relay');
    await cluster.add('workflow-worker', 'workflow-worker');
    await cluster.add('joblogs', 'joblogs');
    await cluster.add('analytics-processor', 'analytics-processor');
    await cluster.waitReady(180_000);

    const registered = await api<{ token: string }>(
      1,
      'POST',
      '/auth/register',
      {
        email: 'e2e@example.com',
        password: 'a long enough password',
      },
      '',
    );
    expect(registered.status).toBe(201);
    token = registered.body.token;
    for (let i = 0; i < 3; i++) {
      cronWorkflows.push(
        await createWorkflow({
          name: `cron-${i}`,
          kind: 'HEARTBEAT',
          payload: { endpoint: `${target.url}/ok?w=cron-${i}` },
          schedule: { type: 'cron', cron: CRON_EVERY_2S, timezone: 'UTC' },
        }),
      );
    }
    await Promise.all(cronWorkflows.map((id) => waitActive(id)));
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    await db?.end();
    await Promise.all([pgServer?.destroy(), redis?.destroy(), kafka?.destroy(), target?.close()]);
  }, 120_000);

  it('serves one user through either gateway, and nobody else', async () => {
    const created = await createWorkflow(
      {
        name: 'seen from both',
        kind: 'HEARTBEAT',
        payload: { endpoint: `${target.url}/ok?w=both` },
        interval: 60,
      },
      2,
    );
    // Readiness follows the services a gateway calls.
    const ready = await fetch(`${gateway(2)}/readyz`);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: {
        'users-service': true,
        'workflows-service': true,
        'jobs-service': true,
        'notifications-service': true,
        'analytics-service': true,
      },
    });
    await cluster.get('jobs').kill('SIGTERM');
    const degraded = await fetch(`${gateway(2)}/readyz`);
    expect(degraded.status).toBe(503);
    expect(((await degraded.json()) as { checks: Record<string, boolean> }).checks['jobs-service']).toBe(
      false,
    );
    cluster.get('jobs').start();
    await cluster.get('jobs').waitReady();
    await cluster.get('gateway-2').waitReady();
    const listed = await api<{ workflows: { id: string }[] }>(1, 'GET', '/workflows?limit=100');
    expect(listed.body.workflows.map((w) => w.id)).toContain(created);
    const other = await api<{ token: string }>(
      2,
      'POST',
      '/auth/register',
      {
        email: 'other@example.com',
        password: 'another long password',
      },
      '',
    );
    expect((await api(1, 'GET', `/workflows/${created}`, undefined, other.body.token)).status).toBe(404);
    // A user token is no service identity: the users service refuses it, over real gRPC.
    const transport = createGrpcTransport({
      baseUrl: cluster.get('gateway-1').env.CHRONOVERSE_USERS_URL!,
      interceptors: [
        (next) => async (req) => {
          req.header.set('authorization', `Bearer ${token}`);
          return next(req);
        },
      ],
    });
    const users = createClient(UsersService, transport);
    const refused = await users
      .getUser({ userId: '00000000-0000-7000-8000-000000000000' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it('runs a container job and streams its lines live through the other gateway', async () => {
    const wf = await createWorkflow({
      name: 'counter',
      kind: 'CONTAINER',
      payload: {
        image: inject('testImage'),
        cmd: ['sh', '-c', 'for i in $(seq 1 30); do echo line $i; sleep 0.1; done'],
      },
      interval: 60,
    });
    await waitActive(wf);
    const jobId = await runNow(wf, 1);
    const lines = await followLogs(2, wf, jobId);
    expect(lines).toEqual(Array.from({ length: 30 }, (_, i) => `line ${i + 1}`));
    expect((await job(jobId)).status).toBe('COMPLETED');
  });

  it('a failing workflow: one alert on the other gateway, a signed webhook, the runs in analytics', async () => {
    // An independent receiver: verifies the Stripe-style signature itself (docs/webhooks.md).
    const secret = 'whsec_e2e_0123456789abcdefghij';
    const received: {
      event: string;
      verified: boolean;
      body: { type: string; data: Record<string, unknown> };
    }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const fields = Object.fromEntries(
          String(req.headers['chronoverse-signature'] ?? '')
            .split(',')
            .map((kv) => kv.split('=', 2) as [string, string]),
        );
        const expected = createHmac('sha256', secret).update(`${fields.t}.${raw}`).digest();
        const given = Buffer.from(fields.v1 ?? '', 'hex');
        received.push({
          event: String(req.headers['chronoverse-event']),
          verified: given.length === expected.length && timingSafeEqual(given, expected),
          body: JSON.parse(raw) as { type: string; data: Record<string, unknown> },
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const hook = await api<{ id: string }>(1, 'POST', '/webhooks', {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        secret,
        event_types: ['workflow.terminated', 'job.failed'],
      });
      expect(hook.status, JSON.stringify(hook.body)).toBe(201);
      expect((await api(1, 'PUT', '/users', { notification_preference: 'ALERTS' })).status).toBe(200);

      // The live stream on gateway 2; the workflow is created and run through gateway 1.
      const stream = await fetch(`${gateway(2)}/api/v1/notifications/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(120_000),
      });
      expect(stream.status).toBe(200);
      const seen: { kind: string; message: string; entity_id: string; action_url: string | null }[] = [];
      const alert = (async () => {
        for await (const event of sseEvents(stream.body!)) {
          if (event.event !== 'notification') continue;
          const n = JSON.parse(event.data) as (typeof seen)[number];
          seen.push(n);
          // The job facts and the termination fact travel on different topics: either may come first.
          const alerts = seen.filter((x) => x.kind === 'ALERT');
          if (alerts.length > 0 && seen.filter((x) => x.kind === 'ERROR').length >= 2) return alerts[0]!;
        }
        return null;
      })();

      const wf = await createWorkflow({
        name: 'always failing',
        kind: 'HEARTBEAT',
        payload: { endpoint: `${target.url}/fail?w=failing` },
        interval: 3600,
        max_consecutive_job_failures_allowed: 2,
      });
      await waitActive(wf);
      expect(await waitFinal(await runNow(wf))).toMatchObject({ status: 'FAILED' });
      expect(await waitFinal(await runNow(wf))).toMatchObject({ status: 'FAILED' });

      const terminated = await alert;
      expect(terminated).toMatchObject({ kind: 'ALERT', entity_id: wf, action_url: `/workflows/${wf}` });
      expect(terminated!.message).toContain('always failing');
      // ALERTS preference: the two job failures and the one termination, nothing else, each once.
      expect(seen.map((n) => n.kind).sort()).toEqual(['ALERT', 'ERROR', 'ERROR']);
      const listed = await api<{ notifications: { kind: string; entity_id: string }[] }>(
        1,
        'GET',
        '/notifications?unread=true&limit=100',
      );
      expect(listed.body.notifications.filter((n) => n.kind === 'ALERT')).toHaveLength(1);

      await waitUntil('the webhook deliveries', async () => received.length >= 3, 60_000);
      await sleep(1_000); // a duplicate would show up by now
      expect(received.every((r) => r.verified)).toBe(true);
      expect(received.map((r) => r.event).sort()).toEqual([
        'job.failed',
        'job.failed',
        'workflow.terminated',
      ]);
      expect(received.find((r) => r.event === 'workflow.terminated')!.body.data).toMatchObject({
        workflow_id: wf,
        reason: 'auto',
      });

      const stats = await waitUntil('the analytics of the failing workflow', async () => {
        const res = await api<{ jobs_by_status: Record<string, number>; success_rate: number | null }>(
          2,
          'GET',
          `/analytics/${wf}`,
        );
        return res.status === 200 && res.body.jobs_by_status.FAILED === 2 ? res.body : null;
      });
      expect(stats).toMatchObject({ success_rate: 0 });
      expect((await api(1, 'PUT', '/users', { notification_preference: 'ALL' })).status).toBe(200);
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
    expectNoCrash();
  });

  /** Follows a job's SSE stream on gateway `n` to its `end`; returns the messages in order. */
  async function followLogs(n: 1 | 2, workflowId: string, jobId: string, onLine?: (count: number) => void) {
    const res = await fetch(`${gateway(n)}/api/v1/workflows/${workflowId}/jobs/${jobId}/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(120_000),
    });
    expect(res.status).toBe(200);
    const messages: string[] = [];
    const sequences: number[] = [];
    for await (const event of sseEvents(res.body!)) {
      if (event.event === 'log') {
        const line = JSON.parse(event.data) as { message: string; sequence_num: number };
        messages.push(line.message);
        sequences.push(line.sequence_num);
        onLine?.(messages.length);
      }
      if (event.event === 'end') break;
    }
    expect(new Set(sequences).size).toBe(sequences.length);
    return messages;
  }

  it('kill -9 of an executor mid-job: the job finishes on the other one after the lease', async () => {
    const wf = await createWorkflow({
      name: 'slow',
      kind: 'HEARTBEAT',
      payload: { endpoint: `${target.url}/slow?w=slow&ms=5000`, timeout: '30s' },
      interval: 60,
    });
    await waitActive(wf);
    const jobId = await runNow(wf);
    // Mid-job: claimed, and its request already at the target (a claim whose executor dies
    // before it dials makes no request, and the test would count one attempt too few).
    const running = await waitUntil('the job to run', async () => {
      const row = await job(jobId);
      return row.status === 'RUNNING' && row.lease_owner && target.hits.get('slow') === 1 ? row : null;
    });
    const owner = cluster.processes.find(
      (p) => p.name.startsWith('executor-') && running.lease_owner!.includes(`-${p.pid}-`),
    );
    expect(owner, `lease owner ${running.lease_owner}`).toBeDefined();
    await owner!.kill('SIGKILL');
    const finished = await waitFinal(jobId, 90_000);
    expect(finished).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(target.hits.get('slow')).toBe(2);
    owner!.start();
    await owner!.waitReady();
    await expectEveryTickOnce();
    expectNoCrash();
  });

  it('Kafka down for 20 s while jobs come due: everything due runs once it is back', async () => {
    const before = await runNow(cronWorkflows[0]!);
    await waitFinal(before);
    await kafka.stop();
    const createdDuringOutage = await createWorkflow({
      name: 'born during the outage',
      kind: 'HEARTBEAT',
      payload: { endpoint: `${target.url}/ok?w=outage` },
      interval: 60,
    });
    await sleep(20_000);
    await kafka.start();
    // Its BUILD event waited in the outbox: it is built once Kafka is back, and runs.
    await waitActive(createdDuringOutage, 120_000);
    const after = await runNow(createdDuringOutage);
    expect(await waitFinal(after, 60_000)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    await sleep(6_000);
    await expectEveryTickOnce();
    expectNoCrash();
  });

  it('PostgreSQL restarted under load: the roles reconnect without being restarted', async () => {
    await pgServer.stop();
    await sleep(3_000);
    await pgServer.start();
    const restartedAt = Date.now();
    await waitUntil(
      'new ticks after the restart',
      async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM jobs WHERE status = 'COMPLETED' AND completed_at > $1`,
          [new Date(restartedAt + 2_000)],
        );
        return Number(rows[0]!.n) >= 6;
      },
      90_000,
    );
    const jobId = await runNow(cronWorkflows[1]!, 2);
    expect(await waitFinal(jobId)).toMatchObject({ status: 'COMPLETED' });
    await sleep(6_000);
    await expectEveryTickOnce();
    expectNoCrash();
  });

  it('Redis restarted: users stay logged in and live logs resume', async () => {
    const wf = await createWorkflow({
      name: 'talker',
      kind: 'CONTAINER',
      payload: {
        image: inject('testImage'),
        cmd: ['sh', '-c', 'for i in $(seq 1 40); do echo tick $i; sleep 0.15; done'],
      },
      interval: 60,
    });
    await waitActive(wf);
    const jobId = await runNow(wf, 2);
    let restarted: Promise<void> | null = null;
    const lines = await followLogs(1, wf, jobId, (count) => {
      if (count === 5 && !restarted) {
        restarted = (async () => {
          await redis.stop();
          for (const n of [1, 2] as const) {
            expect((await api(n, 'GET', '/users')).status).toBe(200);
          }
          await sleep(2_000);
          await redis.start();
        })();
      }
    });
    await restarted;
    expect(lines).toEqual(Array.from({ length: 40 }, (_, i) => `tick ${i + 1}`));
    for (const n of [1, 2] as const) expect((await api(n, 'GET', '/users')).status).toBe(200);
    expectNoCrash();
  });

  it('a poison message on each topic is parked and the partitions keep flowing', async () => {
    const producer = new Producer({
      clientId: 'e2e-poison',
      bootstrapBrokers: [kafka.brokers],
      serializers: stringSerializers,
    });
    try {
      for (const topic of TOPICS) {
        // Sent to every partition, so whichever one a consumer owns, it meets the poison.
        for (let partition = 0; partition < 4; partition++) {
          await producer.send({
            messages: [
              { topic: `${topicPrefix}${topic}`, key: `poison-${partition}`, value: 'not json {', partition },
            ],
          });
        }
      }
      // Well-formed, but its handler fails every time (no workflow can have that id): retried,
      // then parked, while the partition moves on.
      for (let partition = 0; partition < 4; partition++) {
        await producer.send({
          messages: [
            {
              topic: `${topicPrefix}workflows`,
              key: `bad-build-${partition}`,
              value: JSON.stringify({ type: 'BUILD', payload: { workflow_id: 'not-a-uuid' } }),
              headers: { id: `bad-build-${partition}`, type: 'BUILD' },
              partition,
            },
          ],
        });
      }
    } finally {
      await producer.close();
    }
    await waitUntil(
      'the poison to be parked by every consumer group',
      async () => {
        const { rows } = await db.query<{ topic: string; n: string }>(
          'SELECT topic, count(*) AS n FROM bus_parked_messages GROUP BY topic',
        );
        const parked = Object.fromEntries(rows.map((r) => [r.topic.replace(topicPrefix, ''), Number(r.n)]));
        // workflows: workflow-worker (poison + bad builds); jobs: executor; analytics:
        // analytics-processor, notifications, webhooks; notifications: notifications, webhooks.
        return (
          (parked.workflows ?? 0) >= 8 &&
          (parked.jobs ?? 0) >= 4 &&
          (parked.analytics ?? 0) >= 12 &&
          (parked.notifications ?? 0) >= 8
        );
      },
      60_000,
    );
    const wf = await createWorkflow({
      name: 'after the poison',
      kind: 'HEARTBEAT',
      payload: { endpoint: `${target.url}/ok?w=after-poison` },
      interval: 60,
    });
    await waitActive(wf);
    expect(await waitFinal(await runNow(wf))).toMatchObject({ status: 'COMPLETED' });
    const parked = await api<{
      messages: { topic: string; event_type: string | null; group: string; attempts: number }[];
    }>(1, 'GET', '/admin/bus/parked?limit=100');
    expect(parked.status).toBe(200);
    expect(parked.body.messages.length).toBeGreaterThanOrEqual(32);
    // The same backlog as a Prometheus gauge, on a process without a gateway.
    const metrics = await (await fetch(`${cluster.get('outbox-relay').url}/metrics`)).text();
    const parkedGauge = metrics.split('\n').find((l) => l.startsWith('chronoverse_bus_parked_messages '));
    expect(Number(parkedGauge?.split(' ')[1])).toBe(parked.body.messages.length);
    const badBuilds = parked.body.messages.filter((m) => m.event_type === 'BUILD');
    expect(badBuilds).toHaveLength(4);
    expect(badBuilds.every((m) => m.group.endsWith('workflow-worker') && m.attempts === 3)).toBe(true);
    await expectEveryTickOnce();
    expectNoCrash();
  });
});

/**
 * Tracing across processes: the roles run as separate OS processes (gateway; the services; the
 * outbox relay; an executor; scheduler + workflow worker + analytics processor) on PostgreSQL,
 * Kafka and Redis, each exporting spans over OTLP/HTTP (JSON) to a receiver this test runs. One
 * manual run through the public API must come back as ONE connected trace (every parent span
 * present) spanning at least three processes, told apart by their resource attributes. Every
 * process also serves /metrics.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Cluster, waitUntil } from '../helpers/cluster.ts';
import { KafkaBroker } from '../helpers/kafka-broker.ts';
import { PgServer } from '../helpers/pg-server.ts';
import { freePort } from '../helpers/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
}
interface ReceivedSpan extends OtlpSpan {
  resource: Record<string, string>;
}

/** An OTLP/HTTP receiver for JSON-encoded traces (`POST /v1/traces`); keeps every span. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      contentTypes.add(String(req.headers['content-type']));
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const doc = JSON.parse(body.toString('utf8')) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: OtlpValue }> };
          scopeSpans: Array<{ spans: OtlpSpan[] }>;
        }>;
      };
      for (const rs of doc.resourceSpans) {
        const resource = Object.fromEntries(
          rs.resource.attributes.map((a) => [a.key, String(a.value.stringValue ?? a.value.intValue)]),
        );
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, resource });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function startTarget() {
  const server: Server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v ? String(v.stringValue ?? v.intValue) : undefined;
};

describe('one trace across processes (OTLP/HTTP)', { timeout: 240_000 }, () => {
  let pgServer: PgServer;
  let redis: RedisServer;
  let kafka: KafkaBroker;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let cluster: Cluster;
  let db: pg.Pool;

  async function api<T>(method: string, path: string, body?: unknown, token?: string) {
    const res = await fetch(`${cluster.get('gateway').url}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cv-e2e-tracing-'));
    console.log(`tracing e2e: process logs in ${dir}`);
    [pgServer, redis, kafka, receiver, target] = await Promise.all([
      PgServer.start(),
      RedisServer.start(),
      KafkaBroker.start(),
      startReceiver(),
      startTarget(),
    ]);
    const admin = new pg.Client(pgServer.url());
    await admin.connect();
    await admin.query('CREATE DATABASE chronoverse');
    await admin.end();
    const databaseUrl = pgServer.url('chronoverse');
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    db.on('error', () => {});

    const keys = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const rpcPort = await freePort();
    const services = `http://127.0.0.1:${rpcPort}`;
    cluster = new Cluster(dir, {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers,
      CHRONOVERSE_KAFKA_TOPIC_PREFIX: `tracing-${process.pid}.`,
      CHRONOVERSE_KAFKA_PARTITIONS: '2',
      CHRONOVERSE_REDIS_KEY_PREFIX: `tracing-${process.pid}:`,
      CHRONOVERSE_SERVICE_PRIVATE_KEY: keys.privateKey,
      CHRONOVERSE_SERVICE_PUBLIC_KEY: keys.publicKey,
      CHRONOVERSE_USERS_URL: services,
      CHRONOVERSE_WORKFLOWS_URL: services,
      CHRONOVERSE_JOBS_URL: services,
      CHRONOVERSE_NOTIFICATIONS_URL: services,
      CHRONOVERSE_ANALYTICS_URL: services,
      CHRONOVERSE_DATABASE_POOL_SIZE: '4',
      DOCKER_HOST: inject('dockerHost'),
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });
    // The services first: they migrate the database before the others start.
    await cluster.add('services', 'users,workflows,jobs,notifications,analytics', {
      CHRONOVERSE_RPC_PORT: String(rpcPort),
    });
    await cluster.waitReady(180_000);
    await cluster.add('gateway', 'gateway');
    await cluster.add('outbox-relay', 'outbox-relay');
    await cluster.add('executor', 'executor');
    await cluster.add('workers', 'scheduler,workflow-worker,analytics-processor');
    await cluster.waitReady(180_000);
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    await db?.end();
    await Promise.all([
      pgServer?.destroy(),
      redis?.destroy(),
      kafka?.destroy(),
      receiver?.close(),
      target?.close(),
    ]);
  }, 120_000);

  it('follows a manual run from the gateway to the consumers of its result', async () => {
    const registered = await api<{ token: string }>('POST', '/auth/register', {
      email: 'tracing@example.com',
      password: 'a long enough password',
    });
    expect(registered.status).toBe(201);
    const token = registered.body.token;
    const created = await api<{ id: string }>(
      'POST',
      '/workflows',
      { name: 'traced', kind: 'HEARTBEAT', payload: { endpoint: `${target.url}/ok` }, interval: 60 },
      token,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const workflowId = created.body.id;
    await waitUntil('the build', async () => {
      const w = await api<{ build_status: string }>('GET', `/workflows/${workflowId}`, undefined, token);
      return w.body.build_status === 'COMPLETED';
    });
    const run = await api<{ id: string }>('POST', `/workflows/${workflowId}/jobs/schedule`, undefined, token);
    expect(run.status).toBe(201);
    await waitUntil('the job to finish', async () => {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [
        run.body.id,
      ]);
      return rows[0]?.status === 'COMPLETED';
    });

    // JSON it is (OTLP/HTTP with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json).
    const root = await waitUntil('the request span', async () =>
      receiver.spans.find(
        (s) =>
          s.name === 'POST /api/v1/workflows/:id/jobs/schedule' &&
          attr(s, 'url.path') === `/api/v1/workflows/${workflowId}/jobs/schedule`,
      ),
    );
    expect([...receiver.contentTypes].every((t) => t.includes('application/json'))).toBe(true);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = await waitUntil('the completion consumers', async () => {
      const all = receiver.spans.filter((s) => s.traceId === root.traceId);
      const names = new Set(all.map((s) => s.name));
      return [
        'publish jobs',
        'process jobs',
        'job.run',
        'job.heartbeat',
        'publish analytics',
        'process analytics',
      ].every((n) => names.has(n))
        ? all
        : null;
    });
    const names = spans.map((s) => s.name);
    for (const name of ['publish jobs', 'process jobs', 'job.run', 'job.heartbeat'])
      expect(names, name).toContain(name);
    expect(
      spans
        .filter((s) => attr(s, 'rpc.method') === 'RunNow')
        .map((s) => s.kind)
        .sort(),
    ).toEqual([2, 3]); // OTLP: SERVER=2, CLIENT=3

    // One connected tree rooted at the request.
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual([root.name]);
    for (const s of spans) if (s.parentSpanId) expect(ids, `parent of ${s.name}`).toContain(s.parentSpanId);

    // Across processes: each hop where it runs.
    const rolesOf = (name: string) =>
      new Set(spans.filter((s) => s.name === name).map((s) => s.resource['chronoverse.roles']));
    expect(rolesOf(root.name)).toEqual(new Set(['gateway']));
    expect(rolesOf('job.run')).toEqual(new Set(['executor']));
    expect(rolesOf('publish jobs')).toEqual(new Set(['outbox-relay']));
    // A success writes no `workflows` event (the completion applies the failure policy); its
    // fact reaches the analytics processor in another process.
    expect([...rolesOf('process analytics')]).toContain('scheduler,workflow-worker,analytics-processor');
    const processes = new Set(spans.map((s) => s.resource['process.pid']));
    console.log(`trace ${root.traceId}: ${spans.length} spans in ${processes.size} processes`);
    expect(processes.size).toBeGreaterThanOrEqual(3);
    for (const s of spans) expect(s.resource['service.name']).toBe('chronoverse');

    // /metrics everywhere; the executor observed the run's fire lag.
    for (const p of cluster.processes) {
      const res = await fetch(`${p.url}/metrics`);
      expect(res.status, p.name).toBe(200);
      const text = await res.text();
      expect(text, p.name).toContain('process_cpu_seconds_total');
      if (p.name === 'executor') {
        expect(text).toMatch(/chronoverse_job_fire_lag_seconds_count\{kind="HEARTBEAT"\} [1-9]/);
        expect(text).toMatch(/chronoverse_jobs_finished_total\{status="COMPLETED",kind="HEARTBEAT"\} [1-9]/);
      }
      if (p.name === 'outbox-relay') expect(text).toContain('chronoverse_outbox_pending_rows');
    }
  });
});

/**
 * Live log latency over Server-Sent Events: from a line's capture timestamp (CapturedLine
 * timestamp: when its first byte reached the container runtime client) to its arrival at an SSE
 * client, through the executor's log sink (batched store, then live publish), the gateway's
 * `…/events` stream and a real socket. Everything runs in this process: an in-memory PGlite
 * database, the real engine (relay, workflow worker, scheduler, executor), the gateway on a free
 * port, and a CONTAINER job printing one line every `intervalMs` for `seconds`.
 *
 *   DOCKER_HOST=unix:///path/to/podman.sock node bench/sse-latency.ts [seconds=3] [intervalMs=10]
 *
 * A test podman can be started with `scripts/podman-env.sh <dir>` (prints the socket URL; stop it
 * with `scripts/podman-env.sh <dir> stop`). BENCH_IMAGE names an image with `sh`, `seq` and
 * `sleep` (default: the test busybox image that script imports). The client connects before the
 * job starts, so every line is measured live. Prints its figures; asserts nothing. Both clocks are
 * this machine's, so no skew is involved.
 */
import type { AddressInfo } from 'node:net';
import { buildGateway } from '../src/gateway/app.ts';
import { DockerContainerRuntime } from '../src/platform/containers/docker-runtime.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createLogger } from '../src/platform/logger.ts';
import { systemClock } from '../src/platform/clock.ts';
import { BusAdminService } from '../src/services/bus-admin/service.ts';
import { JobsService } from '../src/services/jobs/service.ts';
import { LogsService } from '../src/services/logs/service.ts';
import { UsersService } from '../src/services/users/service.ts';
import { WorkflowsService } from '../src/services/workflows/service.ts';
import { loadConfig } from '../src/config/load.ts';
import { createEngine } from '../test/helpers/engine.ts';

const seconds = Number(process.argv[2] ?? 3);
const intervalMs = Number(process.argv[3] ?? 10);
const dockerHost = process.env.DOCKER_HOST;
const image = process.env.BENCH_IMAGE ?? 'localhost/chronoverse-test/busybox:latest';
if (!dockerHost) {
  console.error('set DOCKER_HOST to a Docker or Podman API socket (see the header of this file)');
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const config = loadConfig({}, {});
  const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
  await migrate(database.db);
  const runtime = new DockerContainerRuntime({ dockerHost: dockerHost!, stopGraceMs: 500 });
  if (!(await runtime.ping())) throw new Error(`no container runtime answers at ${dockerHost}`);
  const engine = createEngine(database, { containers: runtime });
  const clock = systemClock;
  const app = await buildGateway(
    {
      logger: createLogger('silent'),
      users: new UsersService(database.db, clock, config.auth),
      workflows: new WorkflowsService(database.db, clock, { idempotencyTtlMs: 60_000 }, engine.events),
      jobs: new JobsService(database.db, clock, engine.events, { idempotencyTtlMs: 60_000 }),
      logs: new LogsService(database.db, clock),
      live: engine.live,
      events: engine.events,
      busAdmin: new BusAdminService({ db: database.db, events: engine.events }),
      readiness: async () => ({ database: await database.ping() }),
    },
    { bodyLimitBytes: 1_048_576, trustProxy: false, version: 'bench' },
  );
  engine.start();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1`;
  try {
    const call = async <T>(
      method: string,
      path: string,
      token: string | null,
      body?: unknown,
    ): Promise<T> => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const { token } = await call<{ token: string }>('POST', '/auth/register', null, {
      email: 'bench@example.com',
      password: 'correct horse battery',
    });
    const lines = Math.round((seconds * 1000) / intervalMs);
    const sleep = (intervalMs / 1000).toFixed(3);
    const wf = await call<{ id: string }>('POST', '/workflows', token, {
      name: 'sse latency',
      kind: 'CONTAINER',
      payload: {
        image,
        cmd: ['sh', '-c', `for i in $(seq 1 ${lines}); do echo line-$i; sleep ${sleep}; done`],
        timeout: `${seconds * 3 + 30}s`,
      },
      interval: 600,
    });
    for (let built = false; !built;) {
      const w = await call<{ build_status: string; build_error: string | null }>(
        'GET',
        `/workflows/${wf.id}`,
        token,
      );
      if (w.build_status === 'FAILED') throw new Error(`build failed: ${w.build_error}`);
      built = w.build_status === 'COMPLETED';
      if (!built) await new Promise((r) => setTimeout(r, 50));
    }
    // Hold the executor back until the client follows: create the job, connect, then wake it.
    await engine.executor!.stop();
    const job = await call<{ id: string }>('POST', `/workflows/${wf.id}/jobs/schedule`, token);
    const res = await fetch(`${base}/workflows/${wf.id}/jobs/${job.id}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200 || !res.body) throw new Error(`events: ${res.status}`);
    engine.executor!.start();

    const latencies: number[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    let status = '';
    read: for await (const chunk of res.body) {
      const now = Date.now();
      buffer += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'log' && data) {
          latencies.push(now - Date.parse((JSON.parse(data) as { timestamp: string }).timestamp));
        } else if (event === 'end' && data) {
          status = (JSON.parse(data) as { status: string }).status;
          break read;
        }
      }
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
    console.log(
      JSON.stringify({
        engine: database.engine,
        job: status,
        lines: { expected: lines, received: latencies.length },
        latencyMs: {
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? NaN,
          min: sorted[0] ?? NaN,
          mean: Math.round(mean * 10) / 10,
        },
      }),
    );
  } finally {
    await app.close();
    await engine.stop();
    await runtime.removeContainers().catch(() => 0);
    await database.close();
  }
}

await main();

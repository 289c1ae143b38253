/**
 * scripts/local-cluster.sh, as the README uses it: `up` in a fresh folder starts a private
 * PostgreSQL, Redis, Kafka and every role; a user signs up and a HEARTBEAT workflow runs through
 * the gateway; `status` sees every process alive; `down` leaves none of the recorded pids running,
 * and a second `down` is harmless. The script's logs stay in the folder printed at start.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/local-cluster.sh');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script with only PATH, HOME and `env`: nothing from the caller's shell leaks in. */
function cluster(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Running, and not a zombie waiting for its (re)parent to reap it. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function recordedPids(dir: string): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  for (const file of await readdir(join(dir, 'pids'))) {
    if (file.endsWith('.pid')) {
      pids.set(file.slice(0, -4), Number((await readFile(join(dir, 'pids', file), 'utf8')).trim()));
    }
  }
  return pids;
}

describe('scripts/local-cluster.sh', { timeout: 300_000 }, () => {
  let dir: string;
  let gateway: string;
  let target: Server;
  let hits = 0;
  let passed = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cv-local-cluster-'));
    console.log(`local-cluster e2e: state and logs in ${dir}`);
    target = createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    // Whatever happened above: nothing keeps running (down is safe to repeat).
    if (dir) await cluster(['down', dir]);
    await new Promise((r) => target?.close(r));
    if (passed) {
      // PostgreSQL's data lives under /tmp when the postgres user cannot reach the folder (mode 700).
      const pgDir = await readFile(join(dir, 'pg.dir'), 'utf8').catch(() => '');
      if (pgDir.trim()) await rm(pgDir.trim(), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('up: every role, Kafka, Redis and PostgreSQL, ready behind the printed gateway URL', async () => {
    // Not 8080: the test must not take a port a developer may be using.
    const port = await freePort();
    const started = Date.now();
    const up = await cluster(['up', dir], { PORT: String(port) });
    console.log(`local-cluster up: ${Date.now() - started} ms`);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    gateway = `http://127.0.0.1:${port}`;
    expect(up.stdout).toContain(gateway);
    expect(up.stdout).toContain(`${dir}/cluster.env`);
    const env = await readFile(join(dir, 'cluster.env'), 'utf8');
    expect(env).toContain(`export GATEWAY_URL=${gateway}\n`);
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'CHRONOVERSE_SERVICE_PUBLIC_KEY']) {
      expect(env).toMatch(new RegExp(`\\b${name}=`));
    }
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200);
  });

  it('runs a HEARTBEAT workflow through the gateway', async () => {
    const api = async <T>(method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${gateway}/api/v1${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const registered = await api<{ token: string }>('POST', '/auth/register', {
      email: 'me@example.com',
      password: 'correct horse battery',
    });
    expect(registered.status).toBe(201);
    const token = registered.body.token;
    const { port } = target.address() as AddressInfo;
    const created = await api<{ id: string }>(
      'POST',
      '/workflows',
      { name: 'up', kind: 'HEARTBEAT', payload: { endpoint: `http://127.0.0.1:${port}/` }, interval: 60 },
      token,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const wf = created.body.id;
    await waitUntil('the workflow to be built (workflow-worker over Kafka)', async () => {
      const { body } = await api<{ status: string }>('GET', `/workflows/${wf}`, undefined, token);
      return body.status === 'ACTIVE';
    });
    const job = await api<{ id: string }>('POST', `/workflows/${wf}/jobs/schedule`, undefined, token);
    expect(job.status).toBe(201);
    await waitUntil('the job to complete (scheduler and executors)', async () => {
      const { body } = await api<{ status: string }>(
        'GET',
        `/workflows/${wf}/jobs/${job.body.id}`,
        undefined,
        token,
      );
      return body.status === 'COMPLETED';
    });
    expect(hits).toBe(1);
  });

  it('status lists every process alive with its ports', async () => {
    const status = await cluster(['status', dir]);
    expect(status.code, status.stdout).toBe(0);
    const rows = status.stdout.trim().split('\n').slice(1);
    const names = rows.map((r) => r.split(/\s+/)[0]);
    expect(names).toEqual([
      'postgresql',
      'redis',
      'kafka',
      'users',
      'workflows',
      'jobs',
      'notifications',
      'analytics',
      'gateway',
      'outbox-relay',
      'scheduler',
      'workflow-worker',
      'executor-a',
      'executor-b',
      'joblogs',
      'analytics-processor',
    ]);
    expect(rows.every((r) => r.split(/\s+/)[2] === 'alive')).toBe(true);
    expect(status.stdout).toMatch(/^gateway\s+\d+\s+alive\s+http \d+$/m);
    expect(status.stdout).toMatch(/^users\s+\d+\s+alive\s+rpc \d+, ops \d+$/m);
  });

  it('down stops every recorded process, and is safe to run twice', async () => {
    const pids = await recordedPids(dir);
    expect(pids.size).toBe(16);
    const down = await cluster(['down', dir]);
    expect(down.code, down.stderr).toBe(0);
    expect([...pids].filter(([, pid]) => isRunning(pid))).toEqual([]);
    expect((await cluster(['down', dir])).code).toBe(0);
    const status = await cluster(['status', dir]);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('nothing started');
    passed = true;
  });
});

/**
 * Shared by the observability suites: a whole embedded Chronoverse process (`startRuntime`, every
 * role, in-process bus) on PGlite or on a fresh PostgreSQL database cloned from the run's template,
 * a user, built HEARTBEAT workflows, and a Prometheus text parser.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Engine } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { withAdminClient } from '../helpers/harness.ts';
import { databaseUrl } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/fixtures.ts';

export interface EmbeddedProcess {
  runtime: Runtime;
  url: string;
  stop(): Promise<void>;
}

export async function startEmbedded(
  engine: Engine,
  env: Record<string, string> = {},
): Promise<EmbeddedProcess> {
  let dropDatabase: (() => Promise<void>) | null = null;
  const dbEnv: Record<string, string> = { DATA_DIR: 'memory://' };
  if (engine === 'postgres') {
    const name = `${inject('pgRunPrefix')}${randomBytes(6).toString('hex')}`;
    await withAdminClient((admin) =>
      admin.query(`create database "${name}" template "${inject('pgTemplate')}"`),
    );
    dbEnv.DATABASE_URL = databaseUrl(name);
    dropDatabase = () =>
      withAdminClient((admin) => admin.query(`drop database if exists "${name}" with (force)`)).then(
        () => {},
      );
  }
  const config = loadConfig(
    {},
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DOCKER_HOST: 'unix:///nonexistent/chronoverse-test.sock',
      // The heartbeat targets of these tests listen on loopback and their schedules tick every
      // second, and not every test user is the first (admin) account: the outbound policy and the
      // schedule quota would refuse them for other users by default.
      CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
      CHRONOVERSE_QUOTA_MIN_SCHEDULE_SECONDS: '0',
      ...dbEnv,
      ...env,
    },
  );
  const runtime = await startRuntime({ config, logger: createLogger('silent'), roles: ['all'] });
  return {
    runtime,
    url: runtime.url!,
    async stop() {
      await runtime.stop();
      await dropDatabase?.();
    },
  };
}

export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function registerAt(base: string): Promise<string> {
  const email = `obs-${randomBytes(4).toString('hex')}@example.com`;
  const res = await api<{ token: string }>(base, 'POST', '/api/v1/auth/register', {
    body: { email, password: 'correct horse battery' },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

/** A HEARTBEAT workflow through the API, once its build completed (the workflow worker builds it). */
export async function builtWorkflow(
  base: string,
  token: string,
  endpoint: string,
  schedule: Record<string, unknown> = { interval: 60 },
): Promise<string> {
  const created = await api<{ id: string }>(base, 'POST', '/api/v1/workflows', {
    token,
    body: { name: 'observed', kind: 'HEARTBEAT', payload: { endpoint }, ...schedule },
  });
  if (created.status !== 201)
    throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  await waitFor(async () => {
    const w = await api<{ build_status: string }>(base, 'GET', `/api/v1/workflows/${id}`, { token });
    return w.body.build_status === 'COMPLETED';
  });
  return id;
}

export async function runNow(base: string, token: string, workflowId: string): Promise<string> {
  const res = await api<{ id: string }>(base, 'POST', `/api/v1/workflows/${workflowId}/jobs/schedule`, {
    token,
  });
  if (res.status !== 201) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function finishedJob(base: string, token: string, workflowId: string, jobId: string) {
  return waitFor(async () => {
    const res = await api<{ status: string }>(base, 'GET', `/api/v1/workflows/${workflowId}/jobs/${jobId}`, {
      token,
    });
    return ['COMPLETED', 'FAILED', 'CANCELED'].includes(res.body.status) ? res.body : null;
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format (0.0.4): one sample per line, `# HELP/TYPE` lines skipped. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = m[3]!;
    samples.push({
      name: m[1]!,
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    });
  }
  return samples;
}

export function sample(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

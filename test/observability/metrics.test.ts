/**
 * `/metrics` of a whole embedded process after real work (PGlite and PostgreSQL): each series of
 * docs/observability.md is there with its labels, and moves with what happened (jobs finished,
 * fire lag observed once per run, requests timed under their route pattern). The Kafka case
 * checks the consumer lag gauge of the distributed bus.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../helpers/fixtures.ts';
import { startTarget } from '../helpers/engine.ts';
import { ENGINES } from '../helpers/harness.ts';
import {
  api,
  builtWorkflow,
  finishedJob,
  parsePrometheus,
  registerAt,
  runNow,
  sample,
  startEmbedded,
  type EmbeddedProcess,
  type Sample,
} from './support.ts';

async function scrape(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await res.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  sample(samples, name, labels)?.value ?? 0;

describe.each(ENGINES)('/metrics of the embedded process (%s)', (engine) => {
  let proc: EmbeddedProcess;
  let target: Awaited<ReturnType<typeof startTarget>>;

  beforeAll(async () => {
    target = await startTarget();
    proc = await startEmbedded(engine, {
      CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY: '3',
      CHRONOVERSE_EXECUTOR_CONTAINER_CONCURRENCY: '2',
    });
  });
  afterAll(async () => {
    await proc?.stop();
    await target?.close();
  });

  it('exposes every series, and they move with the work done', async () => {
    const before = await scrape(proc.url);
    for (const name of [
      'chronoverse_executor_slots_busy',
      'chronoverse_executor_slots_total',
      'chronoverse_outbox_pending_rows',
      'chronoverse_outbox_oldest_pending_age_seconds',
      'chronoverse_outbox_dead_rows',
      'chronoverse_bus_parked_messages',
      'chronoverse_job_fire_lag_seconds_count',
    ]) {
      expect(
        before.map((s) => s.name),
        name,
      ).toContain(name);
    }
    expect(value(before, 'chronoverse_executor_slots_total')).toBe(5);
    for (const operation of ['ping', 'ensure_image', 'run', 'remove']) {
      expect(sample(before, 'chronoverse_container_runtime_errors_total', { operation })).toBeDefined();
    }
    // The in-process bus has no consumer lag of its own (the outbox backlog is its lag).
    expect(sample(before, 'chronoverse_bus_consumer_lag_messages')).toBeUndefined();

    const token = await registerAt(proc.url);
    const ok = await builtWorkflow(proc.url, token, `${target.url}/ok?w=metrics-${engine}`);
    const failing = await builtWorkflow(proc.url, token, `${target.url}/status/500`);
    const ran: Array<[string, string]> = [];
    for (let i = 0; i < 3; i++) ran.push([ok, await runNow(proc.url, token, ok)]);
    ran.push([failing, await runNow(proc.url, token, failing)]);
    for (const [w, j] of ran) await finishedJob(proc.url, token, w, j);

    // A CONTAINER build with no container runtime reachable: one failed ensure_image call, and the
    // build waits for the runtime (QUEUED, with the reason) instead of failing.
    const container = await api<{ id: string }>(proc.url, 'POST', '/api/v1/workflows', {
      token,
      body: {
        name: 'no runtime',
        kind: 'CONTAINER',
        payload: { image: 'alpine:3.20', cmd: ['true'] },
        interval: 60,
      },
    });
    expect(container.status).toBe(201);
    await waitFor(async () => {
      const w = await api<{ build_status: string; build_error: string | null }>(
        proc.url,
        'GET',
        `/api/v1/workflows/${container.body.id}`,
        {
          token,
        },
      );
      return (
        w.body.build_status === 'QUEUED' &&
        /^waiting for the container runtime/.test(w.body.build_error ?? '')
      );
    });
    const missing = await fetch(`${proc.url}/no/such/route/${randomBytes(4).toString('hex')}`);
    expect(missing.status).toBe(404);

    // Everything that ran (the manual runs, and each workflow's first scheduled run) is final.
    const jobsOf = async (w: string) =>
      (
        await api<{ jobs: Array<{ status: string; attempts: number }> }>(
          proc.url,
          'GET',
          `/api/v1/workflows/${w}/jobs`,
          { token },
        )
      ).body.jobs;
    const all = await waitFor(async () => {
      const jobs = [...(await jobsOf(ok)), ...(await jobsOf(failing))];
      return jobs.every((j) => ['COMPLETED', 'FAILED'].includes(j.status)) ? jobs : null;
    });
    const count = (status: string) => all.filter((j) => j.status === status).length;
    expect(count('COMPLETED')).toBeGreaterThanOrEqual(3);
    expect(count('FAILED')).toBeGreaterThanOrEqual(1);

    const after = await waitFor(async () => {
      const s = await scrape(proc.url);
      // Every delivery done: nothing pending any more.
      return value(s, 'chronoverse_outbox_pending_rows') === 0 ? s : null;
    });
    const finished = (status: string) =>
      value(after, 'chronoverse_jobs_finished_total', { status, kind: 'HEARTBEAT' }) -
      value(before, 'chronoverse_jobs_finished_total', { status, kind: 'HEARTBEAT' });
    expect(finished('COMPLETED')).toBe(count('COMPLETED'));
    expect(finished('FAILED')).toBe(count('FAILED'));

    const lagCount = (s: Sample[]) =>
      value(s, 'chronoverse_job_fire_lag_seconds_count', { kind: 'HEARTBEAT' });
    expect(lagCount(after) - lagCount(before)).toBe(all.length); // once per job (first attempt)
    const inf = sample(after, 'chronoverse_job_fire_lag_seconds_bucket', { kind: 'HEARTBEAT', le: '+Inf' });
    expect(inf?.value).toBe(lagCount(after));
    expect(
      value(after, 'chronoverse_job_fire_lag_seconds_sum', { kind: 'HEARTBEAT' }),
    ).toBeGreaterThanOrEqual(0);

    expect(
      value(after, 'chronoverse_container_runtime_errors_total', { operation: 'ensure_image' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(after, 'chronoverse_executor_slots_busy')).toBe(0);
    expect(value(after, 'chronoverse_outbox_oldest_pending_age_seconds')).toBe(0);

    // Requests, under their route pattern; unknown routes share one label value.
    const runs = sample(after, 'chronoverse_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/v1/workflows/:id/jobs/schedule',
      status_code: '201',
    });
    expect(runs?.value).toBe(4);
    expect(
      sample(after, 'chronoverse_http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status_code: '404',
      })?.value,
    ).toBe(1);
    const routes = new Set(
      after
        .filter((s) => s.name === 'chronoverse_http_request_duration_seconds_count')
        .map((s) => s.labels.route),
    );
    for (const route of routes) expect(route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/); // no ids in labels
  });
});

describe('/metrics with the Kafka bus (postgres)', () => {
  let proc: EmbeddedProcess;

  beforeAll(async () => {
    proc = await startEmbedded('postgres', {
      KAFKA_BROKERS: inject('kafkaBrokers'),
      CHRONOVERSE_KAFKA_TOPIC_PREFIX: `obs-${randomBytes(3).toString('hex')}-`,
      CHRONOVERSE_KAFKA_PARTITIONS: '2',
    });
  }, 120_000);
  afterAll(async () => {
    await proc?.stop();
  });

  it('reports consumer lag per topic and group', { timeout: 60_000 }, async () => {
    const samples = await waitFor(async () => {
      const s = await scrape(proc.url);
      return sample(s, 'chronoverse_bus_consumer_lag_messages', {
        topic: 'workflows',
        group: 'workflow-worker',
      })
        ? s
        : null;
    }, 45_000);
    const lags = samples.filter((s) => s.name === 'chronoverse_bus_consumer_lag_messages');
    expect(lags.map((s) => `${s.labels.topic}/${s.labels.group}`)).toContain('jobs/executor');
    for (const l of lags) expect(l.value).toBeGreaterThanOrEqual(0);
  });
});

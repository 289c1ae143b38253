/**
 * Webhooks in a whole embedded Chronoverse process (`startRuntime`, roles `all`): the wiring of
 * the notifications role (service behind the gateway, consumer on the in-process bus fed by the
 * outbox relay, sender woken by the consumer's commit). The sender's polling is set to an hour,
 * so only the wake-up can deliver within the test's wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { startReceiver } from './setup.ts';

let runtime: Runtime;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver([200]);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    CHRONOVERSE_WEBHOOKS_POLL_INTERVAL: '1h',
  });
  runtime = await startRuntime({ config, logger: createLogger('silent'), roles: ['all'] });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await receiver?.close();
});

describe('webhooks in the embedded runtime', { timeout: 90_000 }, () => {
  it('delivers a ping, the build events and a finished job, each signed, within the wait', async () => {
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${runtime.url}/api/v1${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
    };
    const { json: session } = await api('POST', '/auth/register', undefined, {
      email: 'hooks@example.com',
      password: 'correct horse battery',
    });
    const token = session.token as string;
    const created = await api('POST', '/webhooks', token, { url: receiver.url(), event_types: ['*'] });
    expect(created.status).toBe(201);
    receiver.setSecret(created.json.secret as string);
    const hookEvents = () => receiver.received.filter((r) => r.headers['chronoverse-event'] !== undefined);
    const seen = (type: string) =>
      waitFor(async () => hookEvents().find((r) => r.headers['chronoverse-event'] === type), 30_000);

    expect((await api('POST', `/webhooks/${created.json.id as string}/ping`, token)).status).toBe(202);
    await seen('ping');

    // A heartbeat against the receiver itself: it answers 200, so the job completes.
    const workflow = await api('POST', '/workflows', token, {
      name: 'receiver up',
      kind: 'HEARTBEAT',
      payload: { endpoint: receiver.url() },
      interval: 60,
    });
    expect(workflow.status, JSON.stringify(workflow.json)).toBe(201);
    const workflowId = workflow.json.id as string;
    await seen('build.completed');
    const run = await api('POST', `/workflows/${workflowId}/jobs/schedule`, token);
    expect(run.status, JSON.stringify(run.json)).toBeLessThan(300);
    const done = await seen('job.completed');
    const body = JSON.parse(done.body) as { type: string; data: { workflow_id: string; status: string } };
    expect(body).toMatchObject({
      type: 'job.completed',
      data: { workflow_id: workflowId, status: 'COMPLETED' },
    });

    expect(hookEvents().every((r) => r.signatureValid)).toBe(true);
    expect(hookEvents().map((r) => r.headers['user-agent'])).toEqual(
      hookEvents().map(() => expect.stringMatching(/^Chronoverse-Webhooks\/\d+\.\d+\.\d+/)),
    );
    // Each event exactly once.
    const types = hookEvents().map((r) => r.headers['chronoverse-event']);
    expect(types.filter((t) => t === 'job.completed')).toHaveLength(1);
    expect(types.filter((t) => t === 'build.completed')).toHaveLength(1);
  });
});

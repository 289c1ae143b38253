/**
 * Which services a process starts, and in which order, for the profiles people run: the embedded
 * `npm start`, and the distributed roles on PostgreSQL with Redis and Kafka (the service roles
 * behind their gRPC server, the workers, a gateway whose services are all remote). Read from the
 * `services` field of the "Chronoverse is up" line, written once everything started; stopping is
 * the exact reverse (test/workers/service.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROLES } from '../../src/cli/roles.ts';
import { startRuntime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { LogCapture, withAdminClient } from '../helpers/harness.ts';
import { freePort } from '../helpers/ports.ts';
import { databaseUrl } from '../helpers/postgres.ts';

let databaseName: string;

beforeAll(async () => {
  databaseName = `${inject('pgRunPrefix')}${randomBytes(6).toString('hex')}`;
  await withAdminClient((admin) =>
    admin.query(`create database "${databaseName}" template "${inject('pgTemplate')}"`),
  );
});
afterAll(async () => {
  await withAdminClient((admin) => admin.query(`drop database if exists "${databaseName}" with (force)`));
});

/** Starts a process with these settings and roles, stops it, and returns what it started. */
async function servicesOf(env: Record<string, string>, roles: string[]): Promise<string[]> {
  const logs = new LogCapture();
  const runtime = await startRuntime({
    config: loadConfig({ PORT: '0', HOST: '127.0.0.1', CHRONOVERSE_RPC_PORT: '0', ...env }),
    logger: createLogger('info', logs),
    roles,
  });
  await runtime.stop();
  const up = logs.lines
    .map((line) => JSON.parse(line) as { msg: string; services?: string[] })
    .find((entry) => entry.msg.startsWith('Chronoverse is up'));
  return up?.services ?? [];
}

function distributed(): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl(databaseName),
    REDIS_URL: inject('redisUrl'),
    KAFKA_BROKERS: inject('kafkaBrokers'),
    CHRONOVERSE_KAFKA_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}.`,
    // Never contacted: the sender only connects to send a queued email.
    CHRONOVERSE_SMTP_URL: 'smtp://127.0.0.1:1',
  };
}

describe('services started by profile, in start order', { timeout: 120_000 }, () => {
  it('embedded (`npm start`): every role on PGlite, the in-process bus, the gateway in front', async () => {
    expect(await servicesOf({ DATA_DIR: 'memory://' }, ['all'])).toEqual([
      'db',
      'notifications-consumer',
      'webhook-consumer',
      'webhook-sender',
      'workflow-worker',
      'executor',
      'analytics-processor',
      'scheduler',
      'joblogs',
      'outbox-relay',
      'missed-fires',
      'housekeeping',
      'rpc-clients',
      'gateway',
    ]);
  });

  it('the service roles on PostgreSQL, Redis and Kafka: served over gRPC, the operations server in front', async () => {
    expect(
      await servicesOf({ ...distributed(), CHRONOVERSE_OPS_PORT: String(await freePort()) }, [
        'users',
        'workflows',
        'jobs',
        'notifications',
        'analytics',
      ]),
    ).toEqual([
      'db',
      'clock-sync',
      'redis',
      'event-bridge',
      'kafka',
      'notifications-consumer',
      'webhook-consumer',
      'webhook-sender',
      'email-consumer',
      'email-sender',
      'rpc-server',
      'kafka-groups',
      'ops-server',
    ]);
  });

  it('the workers on PostgreSQL, Redis and Kafka: consumers join their groups before the loops that write work', async () => {
    expect(await servicesOf(distributed(), ['workers'])).toEqual([
      'db',
      'clock-sync',
      'redis',
      'event-bridge',
      'kafka',
      'workflow-worker',
      'executor',
      'analytics-processor',
      'kafka-groups',
      'scheduler',
      'joblogs',
      'outbox-relay',
      'missed-fires',
      'housekeeping',
    ]);
  });

  it('a gateway whose services are all remote: no database, Redis for live lines and the principal cache', async () => {
    const remote = 'http://127.0.0.1:1';
    expect(
      await servicesOf(
        {
          REDIS_URL: inject('redisUrl'),
          CHRONOVERSE_USERS_URL: remote,
          CHRONOVERSE_WORKFLOWS_URL: remote,
          CHRONOVERSE_JOBS_URL: remote,
          CHRONOVERSE_NOTIFICATIONS_URL: remote,
          CHRONOVERSE_ANALYTICS_URL: remote,
          DATA_DIR: 'memory://',
        },
        ['gateway'],
      ),
    ).toEqual(['redis', 'event-bridge', 'rpc-clients', 'gateway']);
  });

  it('one worker role alone on PostgreSQL, with its operations server', async () => {
    expect(
      await servicesOf(
        { DATABASE_URL: databaseUrl(databaseName), CHRONOVERSE_OPS_PORT: String(await freePort()) },
        ['scheduler'],
      ),
    ).toEqual(['db', 'clock-sync', 'scheduler', 'ops-server']);
  });

  // A role that uses what it did not declare in src/cli/role-services.ts fails to start; run
  // together, another role's needs could hide the omission.
  it.each(ROLES)('%s alone starts on what it declares it needs', async (role) => {
    const services = await servicesOf({ DATABASE_URL: databaseUrl(databaseName) }, [role]);
    expect(services).toContain('db');
  });
});

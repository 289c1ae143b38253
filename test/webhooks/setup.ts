/**
 * Webhook test fixtures: the real gateway with the webhooks service behind its RPC client (over
 * the in-memory transport, as the all-in-one process runs it), and a local receiver that checks
 * signatures with node:crypto itself, independently of our signing code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load.ts';
import { buildGateway } from '../../src/gateway/app.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database, Engine } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadServiceKeys } from '../../src/platform/rpc/identity.ts';
import { createServiceClients } from '../../src/platform/rpc/wiring.ts';
import { BusAdminService } from '../../src/services/bus-admin/service.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { LogsService } from '../../src/services/logs/service.ts';
import { UsersService } from '../../src/services/users/service.ts';
import { WebhooksService } from '../../src/services/webhooks/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { createTestDatabase, LogCapture } from '../helpers/harness.ts';

export interface WebhookGateway {
  app: Awaited<ReturnType<typeof buildGateway>>;
  database: Database;
  events: Events;
  webhooks: WebhooksService;
  logs: LogCapture;
  close(): Promise<void>;
}

export async function createWebhookGateway(
  engine: Engine,
  options: { allowPrivateNetworks?: boolean; clock?: Clock; database?: Database } = {},
): Promise<WebhookGateway> {
  const config = loadConfig({}, {});
  const database = options.database ?? (await createTestDatabase(engine));
  const clock = options.clock ?? { now: () => new Date() };
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const events = new Events();
  const webhooks = new WebhooksService(
    database.db,
    clock,
    { allowPrivateNetworks: options.allowPrivateNetworks ?? false },
    events,
  );
  const local = {
    users: new UsersService(database.db, clock, config.auth),
    workflows: new WorkflowsService(database.db, clock, { idempotencyTtlMs: 60_000 }, events),
    jobs: new JobsService(database.db, clock, events, { idempotencyTtlMs: 60_000 }),
    logs: new LogsService(database.db, clock),
    busAdmin: new BusAdminService({ db: database.db, events }),
    webhooks,
  };
  const clients = createServiceClients({
    rpc: config.rpc,
    keys: loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' }),
    caller: 'gateway',
    local,
    logger,
  });
  const app = await buildGateway(
    {
      logger,
      users: clients.users,
      workflows: clients.workflows,
      jobs: clients.jobs,
      logs: clients.logs,
      live: new InMemoryLiveLogs(),
      events,
      busAdmin: clients.busAdmin,
      webhooks: clients.webhooks!,
      readiness: async () => ({ database: await database.ping() }),
    },
    { bodyLimitBytes: config.server.bodyLimitBytes, trustProxy: false, version: 'test' },
  );
  await app.ready();
  return {
    app,
    database,
    events,
    webhooks,
    logs,
    async close() {
      await app.close();
      clients.close();
      await database.close();
    },
  };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The signature checked here with node:crypto: HMAC-SHA256(secret, "<t>.<body>"), 5-minute tolerance. */
  signatureValid: boolean;
}

/**
 * A webhook receiver on 127.0.0.1. `answers` are the status codes of successive requests (the
 * last one repeats). It knows the secret through `setSecret` and verifies like docs/webhooks.md.
 */
export async function startReceiver(answers: number[] = [200]) {
  const received: Received[] = [];
  let secret = '';
  let n = 0;
  const verify = (header: string | undefined, body: string): boolean => {
    if (!header) return false;
    const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    const t = Number(parts.t);
    if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false;
    const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
    const given = Buffer.from(parts.v1 ?? '', 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({
        headers: req.headers,
        body,
        signatureValid: verify(req.headers['chronoverse-signature'] as string | undefined, body),
      });
      const status = answers[Math.min(n, answers.length - 1)]!;
      n += 1;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    received,
    port,
    url: (host = '127.0.0.1') => `http://${host}:${port}/hook`,
    setSecret: (s: string) => {
      secret = s;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

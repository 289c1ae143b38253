/**
 * Heartbeats under the outbound policy, run by the real engine (scheduler aside: manual jobs) on
 * both databases, against a listener on 127.0.0.1 that counts connections. The guard is the
 * production one with the default setting (private networks not allowed), a fake resolver for
 * names and the loopback-only block list of the tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { OutboundGuard, type Resolver } from '../../src/platform/outbound/guard.ts';
import { finalJob, insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { createEngine, type Engine } from '../helpers/engine.ts';
import { loopbackOnlyBlockList } from '../helpers/loopback-only.ts';

function heartbeat(url: string) {
  return { endpoint: url, method: 'GET', headers: {}, body: null, expected_status_code: 200, timeout: '2s' };
}

describe.each(ENGINES)('heartbeats under the outbound policy (%s)', (engineName) => {
  let database: Database;
  let server: Server;
  let port: number;
  let connections = 0;
  let engine: Engine | undefined;
  /** What `rebind.test` resolves to at the moment of each connection. */
  let rebindAnswer = '127.0.0.1';

  const resolve: Resolver = async (hostname) => {
    if (hostname !== 'rebind.test') throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return [{ address: rebindAnswer, family: rebindAnswer.includes(':') ? 6 : 4 }];
  };
  const start = (options: { ownPorts?: number[] } = {}) => {
    engine = createEngine(database, {
      outbound: new OutboundGuard({
        allowPrivateNetworks: false,
        ownPorts: options.ownPorts ?? [],
        ownAddresses: [],
        resolve,
        blockList: loopbackOnlyBlockList(),
      }),
    });
    engine.start();
  };
  const run = async (userId: string, url: string) => {
    const [wf] = await insertWorkflows(database.db, [{ userId, payload: heartbeat(url), nextRunAt: null }]);
    const jobId = await insertManualJob(database, wf!, userId, 3);
    engine!.events.emit('jobs:runnable', { count: 1 });
    return finalJob(database, jobId);
  };
  const makeAdmin = (userId: string) =>
    database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', userId).execute();

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    server = createServer((req, res) => {
      req.resume();
      // No keep-alive: each run opens its own connection, so each run's name is decided afresh
      // (a pooled connection would stay on the address that passed; test/outbound/guard.test.ts).
      res.writeHead(200, { connection: 'close' }).end('ok');
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await database.close();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  it('refuses a normal user’s heartbeat to a loopback listener: the listener sees no connection', async () => {
    start();
    const userId = await insertUser(database.db);
    const before = connections;
    const job = await run(userId, `http://127.0.0.1:${port}/`);
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1, // a USER failure: never retried
      error_kind: 'USER',
      error_code: 'OUTBOUND_REFUSED',
      error_message: 'refused by outbound policy',
      http_status_code: null,
      latency_ms: null,
    });
    expect(connections).toBe(before);
  });

  it('records the same for an open and a closed port: no scanning oracle', async () => {
    start();
    const userId = await insertUser(database.db);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const pick = (j: Record<string, unknown>) =>
      Object.fromEntries(
        [
          'status',
          'attempts',
          'error_kind',
          'error_code',
          'error_message',
          'http_status_code',
          'latency_ms',
        ].map((k) => [k, j[k]]),
      );
    const open = await run(userId, `http://127.0.0.1:${port}/`);
    const shut = await run(userId, `http://127.0.0.1:${closedPort}/`);
    expect(pick(shut)).toEqual(pick(open));
  });

  it('runs the same heartbeat for an administrator', async () => {
    start();
    const adminId = await insertUser(database.db);
    await makeAdmin(adminId);
    const before = connections;
    const job = await run(adminId, `http://127.0.0.1:${port}/`);
    expect(job).toMatchObject({ status: 'COMPLETED', http_status_code: 200 });
    expect(connections).toBe(before + 1);
  });

  it('decides names at every run (DNS rebinding) and by the owner’s role at that moment', async () => {
    start();
    const userId = await insertUser(database.db);
    const before = connections;
    rebindAnswer = '127.0.0.1';
    expect(await run(userId, `http://rebind.test:${port}/`)).toMatchObject({
      error_code: 'OUTBOUND_REFUSED',
    });
    await makeAdmin(userId);
    expect(await run(userId, `http://rebind.test:${port}/`)).toMatchObject({ status: 'COMPLETED' });
    rebindAnswer = '169.254.169.254';
    expect(await run(userId, `http://rebind.test:${port}/`)).toMatchObject({
      error_code: 'OUTBOUND_REFUSED',
      error_message: 'refused by outbound policy',
    });
    expect(connections).toBe(before + 1);
  });

  it("refuses the server's own listener even to an administrator", async () => {
    start({ ownPorts: [port] });
    const adminId = await insertUser(database.db);
    await makeAdmin(adminId);
    const before = connections;
    expect(await run(adminId, `http://localhost:${port}/api/v1/auth/register`)).toMatchObject({
      error_code: 'OUTBOUND_REFUSED',
    });
    expect(connections).toBe(before);
  });
});

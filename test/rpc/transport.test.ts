/**
 * Transport behaviour on real HTTP/2 servers: TLS and mTLS (certificates made here with openssl),
 * call deadlines, and the retry of a call whose server was not up yet.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Code, ConnectError, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { freePort } from '../helpers/ports.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/domain/errors.ts';
import { UsersService } from '../../src/gen/chronoverse/users/v1/users_pb.js';
import type { Database } from '../../src/platform/db/database.ts';
import { identityClientInterceptor, ServiceTokenSigner } from '../../src/platform/rpc/identity.ts';
import { retryInterceptor } from '../../src/platform/rpc/retry.ts';
import { apiClient } from '../../src/platform/rpc/service-adapter.ts';
import { createServiceClients, startRpcServer } from '../../src/platform/rpc/wiring.ts';
import type { UsersApi } from '../../src/services/users/api.ts';
import { createTestDatabase, PASSWORD, uniqueEmail } from '../helpers/harness.ts';
import { config, keys, loopbackClients, logger, realServices } from './fixtures.ts';

let database: Database;
let local: ReturnType<typeof realServices>;
let dir: string;

function openssl(args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, both CA-signed. */
function makeCertificates() {
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  const sans = { server: 'subjectAltName=DNS:localhost,IP:127.0.0.1', client: 'subjectAltName=DNS:gateway' };
  for (const [name, san] of Object.entries(sans)) {
    openssl(['req', ...EC, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    writeFileSync(path.join(dir, `${name}.ext`), `${san}\n`);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  }
}

beforeAll(async () => {
  database = await createTestDatabase('pglite');
  local = realServices(database);
  dir = mkdtempSync(path.join(tmpdir(), 'cv-rpc-tls-'));
  makeCertificates();
});
afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => (name === '' ? '' : path.join(dir, name));
const noTls = { tlsCertFile: '', tlsKeyFile: '', tlsCaFile: '' };

/** A server with the given TLS files, and a gateway-side client with its own. */
async function tlsPair(serverFiles: [string, string, string], clientFiles: [string, string, string]) {
  const [cert, key, ca] = serverFiles.map(file) as [string, string, string];
  const server = await startRpcServer({
    rpc: {
      ...config.rpc,
      ...noTls,
      host: '127.0.0.1',
      port: 0,
      tlsCertFile: cert,
      tlsKeyFile: key,
      tlsCaFile: ca,
    },
    keys,
    services: local,
    logger,
  });
  const [ccert, ckey, cca] = clientFiles.map(file) as [string, string, string];
  const clients = createServiceClients({
    rpc: {
      ...config.rpc,
      retries: 0,
      usersUrl: server.url,
      workflowsUrl: server.url,
      jobsUrl: server.url,
      tlsCertFile: ccert,
      tlsKeyFile: ckey,
      tlsCaFile: cca,
    },
    keys,
    caller: 'gateway',
    local: {},
    logger,
  });
  return { server, clients, close: async () => (clients.close(), await server.close()) };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('TLS and mTLS', () => {
  it('TLS: a client that trusts the CA gets answers', async () => {
    const t = await tlsPair(['server.pem', 'server.key', ''], ['', '', 'ca.pem']);
    try {
      expect(t.server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
      const s = await t.clients.users.register({ email: uniqueEmail(), password: PASSWORD });
      expect(await t.clients.users.getUser(s.user.id)).toEqual(s.user);
    } finally {
      await t.close();
    }
  });

  it('TLS: a client that does not trust the server certificate is refused', async () => {
    const t = await tlsPair(['server.pem', 'server.key', ''], ['', '', '']);
    try {
      expect(await failure(t.clients.users.getUser('x'))).toBeInstanceOf(Error);
    } finally {
      await t.close();
    }
  });

  it('mTLS: a client with a CA-signed certificate gets answers; one without is refused', async () => {
    const t = await tlsPair(['server.pem', 'server.key', 'ca.pem'], ['client.pem', 'client.key', 'ca.pem']);
    const anonymous = await tlsPair(['server.pem', 'server.key', 'ca.pem'], ['', '', 'ca.pem']);
    try {
      const s = await t.clients.users.register({ email: uniqueEmail(), password: PASSWORD });
      expect((await t.clients.users.getUser(s.user.id)).id).toBe(s.user.id);
      const err = await failure(anonymous.clients.users.getUser(s.user.id));
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toHaveProperty('code', 'CV_NOT_FOUND');
    } finally {
      await t.close();
      await anonymous.close();
    }
  });
});

/** A users service whose getUser answers after `ms`. */
function slowUsers(ms: number): UsersApi {
  return {
    ...local.users,
    authenticate: (t) => local.users.authenticate(t),
    getUser: async (id) => {
      await new Promise((r) => setTimeout(r, ms));
      return local.users.getUser(id);
    },
  } as UsersApi;
}

describe('deadlines', () => {
  it('a slow handler fails with DeadlineExceeded, which the gateway answers as 503', async () => {
    const lb = await loopbackClients({ ...local, users: slowUsers(3_000) }, { timeoutMs: 200 });
    try {
      const err = await failure(lb.clients.users.getUser('00000000-0000-7000-8000-000000000000'));
      expect(err).toBeInstanceOf(UnavailableError);
      const signer = new ServiceTokenSigner(keys.privateKey!, 'gateway');
      const raw = createClient(
        UsersService,
        createGrpcTransport({ baseUrl: lb.server.url, interceptors: [identityClientInterceptor(signer)] }),
      );
      const rawErr = await failure(raw.getUser({ userId: 'x' }, { timeoutMs: 200 }));
      expect(ConnectError.from(rawErr).code).toBe(Code.DeadlineExceeded);
    } finally {
      await lb.close();
    }
  });
});

const usersOver = (transport: Transport) =>
  apiClient<UsersApi>(UsersService, transport, { serviceName: 'users', openTimeoutMs: 10_000 });

describe('retries', () => {
  it('retries a call refused because the server was not up yet (even a write), then succeeds', async () => {
    const port = await freePort();
    let attempts = 0;
    let server: Awaited<ReturnType<typeof startRpcServer>> | undefined;
    // Inside the retry loop: after the first refused attempt, the server comes up.
    const startAfterFirstFailure: Interceptor = (next) => async (req) => {
      attempts++;
      try {
        return await next(req);
      } catch (err) {
        server ??= await startRpcServer({
          rpc: { ...config.rpc, ...noTls, host: '127.0.0.1', port },
          keys,
          services: local,
          logger,
        });
        throw err;
      }
    };
    const signer = new ServiceTokenSigner(keys.privateKey!, 'gateway');
    const transport = createGrpcTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      defaultTimeoutMs: 10_000,
      interceptors: [retryInterceptor(3, () => 1), identityClientInterceptor(signer), startAfterFirstFailure],
    });
    try {
      const session = await usersOver(transport).register({ email: uniqueEmail(), password: PASSWORD });
      expect(session.user.email).toContain('@');
      expect(attempts).toBe(2);
    } finally {
      await server?.close();
    }
  });

  it('gives up after the configured retries with 503', async () => {
    const port = await freePort();
    let attempts = 0;
    const count: Interceptor = (next) => (req) => (attempts++, next(req));
    const signer = new ServiceTokenSigner(keys.privateKey!, 'gateway');
    const transport = createGrpcTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      interceptors: [retryInterceptor(2, () => 0), identityClientInterceptor(signer), count],
    });
    expect(await failure(usersOver(transport).getUser('x'))).toBeInstanceOf(UnavailableError);
    expect(attempts).toBe(3);
  });
});

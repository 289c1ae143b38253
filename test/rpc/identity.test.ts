/** Service identity on a real HTTP/2 server: only a valid token for the called service gets in. */
import { generateKeyPairSync } from 'node:crypto';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersService } from '../../src/gen/chronoverse/users/v1/users_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health_pb.js';
import type { Database } from '../../src/platform/db/database.ts';
import {
  generateServiceKeyPair,
  loadServiceKeys,
  ServiceTokenSigner,
  ServiceTokenVerifier,
} from '../../src/platform/rpc/identity.ts';
import type { RpcServer } from '../../src/platform/rpc/server.ts';
import { startRpcServer } from '../../src/platform/rpc/wiring.ts';
import { createTestDatabase, PASSWORD, uniqueEmail } from '../helpers/harness.ts';
import { config, keys, logger, realServices } from './fixtures.ts';

let database: Database;
let server: RpcServer;
let userToken: string;

beforeAll(async () => {
  database = await createTestDatabase('pglite');
  const local = realServices(database);
  userToken = (await local.users.register({ email: uniqueEmail(), password: PASSWORD })).token;
  server = await startRpcServer({ rpc: { ...config.rpc, port: 0 }, keys, services: local, logger });
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

/** A raw client with no identity interceptor: each test sets the header itself. */
const raw = () => createClient(UsersService, createGrpcTransport({ baseUrl: server.url }));
const call = (authorization?: string) =>
  raw().authenticate({ token: 'cvs_x' }, authorization ? { headers: { authorization } } : {});

async function code(p: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe('service identity', () => {
  it('accepts a token for this service, signed with the installation key', async () => {
    const token = await new ServiceTokenSigner(keys.privateKey!, 'gateway').token(UsersService.typeName);
    expect(await code(call(`Bearer ${token}`))).toBe('ok');
  });

  it.each([
    ['no token', async () => undefined],
    ['a user session token', async () => `Bearer ${userToken}`],
    ['a personal access token', async () => 'Bearer cvp_abcdefghijklmnopqrstuvwxyz'],
    [
      'a token for another service',
      async () =>
        `Bearer ${await new ServiceTokenSigner(keys.privateKey!, 'gateway').token('chronoverse.jobs.v1.JobsService')}`,
    ],
    [
      'an expired token',
      async () =>
        `Bearer ${await new ServiceTokenSigner(keys.privateKey!, 'gateway', () => Date.now() - 10 * 60_000).token(UsersService.typeName)}`,
    ],
    [
      'a token signed with another key',
      async () =>
        `Bearer ${await new ServiceTokenSigner(generateKeyPairSync('ed25519').privateKey, 'gateway').token(UsersService.typeName)}`,
    ],
    ['garbage', async () => 'Bearer a.b.c'],
  ])('refuses %s with Unauthenticated', async (_name, header) => {
    expect(await code(call(await header()))).toBe(Code.Unauthenticated);
  });

  it('serves grpc.health.v1 to probes without a token', async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect((await health.check({ service: '' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: UsersService.typeName })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect(await code(health.check({ service: 'nope.Service' }))).toBe(Code.NotFound);
    expect(Object.keys((await health.list({})).statuses)).toContain('chronoverse.jobs.v1.LogsService');
  });
});

describe('ServiceTokenVerifier', () => {
  const t0 = Date.parse('2026-12-07T12:00:00Z');

  it('verifies a token once, answers from memory until its validity ends, and not a moment longer', async () => {
    let now = t0;
    const verifier = new ServiceTokenVerifier(keys.publicKey, () => now);
    const token = await new ServiceTokenSigner(keys.privateKey!, 'gateway', () => t0).token(
      UsersService.typeName,
    );
    for (let i = 0; i < 100; i++) expect(await verifier.verify(token, UsersService.typeName)).toBe(true);
    expect(verifier.signatureChecks).toBe(1);
    // exp is t0 + 60 s; with the 30 s clock tolerance it is valid before t0 + 90 s.
    now = t0 + 89_999;
    expect(await verifier.verify(token, UsersService.typeName)).toBe(true);
    expect(verifier.signatureChecks).toBe(1);
    now = t0 + 90_000;
    expect(await verifier.verify(token, UsersService.typeName)).toBe(false);
    expect(await verifier.verify(token, UsersService.typeName)).toBe(false);
    expect(verifier.signatureChecks).toBe(3);
  });

  it('remembers a token only for the service it was verified for, and never a failed one', async () => {
    const verifier = new ServiceTokenVerifier(keys.publicKey, () => t0);
    const token = await new ServiceTokenSigner(keys.privateKey!, 'gateway', () => t0).token(
      UsersService.typeName,
    );
    expect(await verifier.verify(token, UsersService.typeName)).toBe(true);
    expect(await verifier.verify(token, 'chronoverse.jobs.v1.JobsService')).toBe(false);
    const forged = await new ServiceTokenSigner(
      generateKeyPairSync('ed25519').privateKey,
      'gateway',
      () => t0,
    ).token(UsersService.typeName);
    expect(await verifier.verify(forged, UsersService.typeName)).toBe(false);
    expect(await verifier.verify(forged, UsersService.typeName)).toBe(false);
    expect(verifier.signatureChecks).toBe(4);
  });

  it('keeps at most 1,000 tokens: the oldest is verified again', async () => {
    let now = t0;
    const verifier = new ServiceTokenVerifier(keys.publicKey, () => now);
    const tokens: string[] = [];
    for (let i = 0; i <= 1_000; i++) {
      // A new second, a new token (the signer signs once per audience per 45 s).
      now = t0 + i * 10;
      tokens.push(
        await new ServiceTokenSigner(keys.privateKey!, `caller-${i}`, () => now).token(UsersService.typeName),
      );
      expect(await verifier.verify(tokens[i]!, UsersService.typeName)).toBe(true);
    }
    expect(verifier.signatureChecks).toBe(1_001);
    expect(await verifier.verify(tokens[1_000]!, UsersService.typeName)).toBe(true);
    expect(verifier.signatureChecks).toBe(1_001);
    expect(await verifier.verify(tokens[0]!, UsersService.typeName)).toBe(true);
    expect(verifier.signatureChecks).toBe(1_002);
  });
});

describe('service keys', () => {
  it('derives the public key from the private one, accepts one-line PEM, and makes an ephemeral pair', () => {
    const pair = generateServiceKeyPair();
    const oneLine = (pem: string) => pem.trim().replace(/\n/g, '\\n');
    const derived = loadServiceKeys({ privateKeyPem: oneLine(pair.privateKeyPem), publicKeyPem: '' });
    expect(derived.publicKey.export({ type: 'spki', format: 'pem' })).toBe(pair.publicKeyPem);
    const verifyOnly = loadServiceKeys({ privateKeyPem: '', publicKeyPem: pair.publicKeyPem });
    expect(verifyOnly.privateKey).toBeNull();
    const ephemeral = loadServiceKeys({ privateKeyPem: '', publicKeyPem: '' });
    expect(ephemeral.privateKey?.asymmetricKeyType).toBe('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => loadServiceKeys({ privateKeyPem: rsa.toString(), publicKeyPem: '' })).toThrow(/Ed25519/);
  });
});

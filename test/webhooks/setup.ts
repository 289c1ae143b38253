/**
 * Webhook test fixtures: the real gateway with the webhooks service behind its RPC client (over
 * the in-memory transport, as the all-in-one process runs it), and a local receiver that checks
 * signatures with node:crypto itself, independently of our signing code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database, Engine } from '../../src/platform/db/database.ts';
import { createTestGateway, type TestGateway } from '../helpers/harness.ts';

export type WebhookGateway = TestGateway;

/** test/helpers/harness.ts's gateway (every route, real services over the in-memory RPC transport). */
export function createWebhookGateway(
  engine: Engine,
  options: { allowPrivateNetworks?: boolean; clock?: Clock; database?: Database } = {},
): Promise<WebhookGateway> {
  return createTestGateway(engine, options);
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

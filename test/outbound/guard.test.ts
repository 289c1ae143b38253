/**
 * The outbound guard (src/platform/outbound/guard.ts) at connect time, against real listeners on
 * 127.0.0.1 and a fake resolver (injected: names answer what the test says, as a rebinding DNS
 * server would). Every guard here also carries the loopback-only block list, so whatever the
 * policy decides, nothing is ever dialled outside 127.0.0.0/8 and ::1; refusals are asserted to
 * come from the policy itself (before any dial), not from that safety net.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_BY_OUTBOUND_POLICY } from '../../src/domain/outbound-policy.ts';
import { OutboundGuard, type OutboundRequest, type Resolver } from '../../src/platform/outbound/guard.ts';
import { loopbackOnlyBlockList } from '../helpers/loopback-only.ts';

interface Listener {
  port: number;
  url: string;
  /** TCP connections accepted: a refused request must leave this at 0. */
  connections: number;
  requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** A listener on 127.0.0.1: `/ok` 200, `/to?u=<url>&s=<status>` redirects, anything else 404. */
async function listen(): Promise<Listener> {
  const state = { connections: 0, requests: [] as Listener['requests'] };
  const server: Server = createServer((req, res) => {
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    req.resume();
    if (url.pathname === '/ok') return res.writeHead(200).end('ok');
    if (url.pathname === '/to') {
      return res
        .writeHead(Number(url.searchParams.get('s') ?? 302), { location: url.searchParams.get('u')! })
        .end();
    }
    res.writeHead(404).end();
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver answering from `answers`; records every name it was asked. */
function fakeResolver(answers: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const list = answers[hostname];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, asked };
}

function guard(options: { allowPrivateNetworks?: boolean; ownPorts?: number[]; resolve?: Resolver } = {}) {
  return new OutboundGuard({
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    ownPorts: options.ownPorts ?? [],
    ownAddresses: [],
    resolve: options.resolve ?? fakeResolver({}).resolve,
    blockList: loopbackOnlyBlockList(),
  });
}

const GET = (url: string, role: 'admin' | 'user', extra: Partial<OutboundRequest> = {}): OutboundRequest => ({
  url,
  method: 'GET',
  headers: {},
  body: null,
  role,
  timeoutMs: 5_000,
  redirects: 5,
  readAnswerBytes: 0,
  ...extra,
});

/** A refusal by the policy itself (not by the test's block list: that would mean a dial was tried). */
function expectPolicyRefusal(result: unknown) {
  expect(result).toMatchObject({ kind: 'refused' });
  expect((result as { detail: string }).detail).not.toMatch(/block list/);
}

describe('outbound guard at connect time', () => {
  let target: Listener;
  let own: Listener;
  let closedPort: number;

  beforeAll(async () => {
    target = await listen();
    own = await listen();
    const closed = await listen();
    closedPort = closed.port;
    await closed.close();
  });
  afterAll(async () => {
    await target.close();
    await own.close();
  });

  it('refuses a name that resolves to loopback for a user: asked the resolver, dialled nothing', async () => {
    const dns = fakeResolver({ 'rebind.test': ['127.0.0.1'] });
    const before = target.connections;
    const result = await guard({ resolve: dns.resolve }).request(
      GET(`http://rebind.test:${target.port}/ok`, 'user'),
    );
    expectPolicyRefusal(result);
    expect(dns.asked).toEqual(['rebind.test']);
    expect(target.connections).toBe(before);
  });

  it('lets an administrator, or a user when private networks are allowed, reach the same name', async () => {
    const dns = fakeResolver({ 'rebind.test': ['127.0.0.1'] });
    const before = target.connections;
    expect(
      await guard({ resolve: dns.resolve }).request(GET(`http://rebind.test:${target.port}/ok`, 'admin')),
    ).toEqual({
      kind: 'answered',
      statusCode: 200,
    });
    expect(
      await guard({ resolve: dns.resolve, allowPrivateNetworks: true }).request(
        GET(`http://rebind.test:${target.port}/ok`, 'user'),
      ),
    ).toEqual({ kind: 'answered', statusCode: 200 });
    expect(target.connections).toBe(before + 2);
  });

  it('decides at every connection: the same name refused once it re-resolves to a metadata address', async () => {
    const answers: Record<string, string[]> = { 'flip.test': ['127.0.0.1'] };
    const g = guard({ resolve: fakeResolver(answers).resolve });
    const url = `http://flip.test:${target.port}/ok`;
    expect(await g.request(GET(url, 'admin'))).toMatchObject({ kind: 'answered' });
    for (const rebound of [
      ['169.254.169.254'],
      ['::ffff:169.254.169.254'],
      ['fd00:ec2::254'],
      ['100.100.100.200'],
    ]) {
      answers['flip.test'] = rebound;
      // A pooled connection stays on the address that passed when it opened; a new one (here,
      // after the pool is closed) is decided on what the name answers now.
      g.close();
      expectPolicyRefusal(await g.request(GET(url, 'admin')));
    }
  });

  it('keeps connections alive: one connection serves consecutive requests, and a rebound name reaches only the address that passed', async () => {
    const answers: Record<string, string[]> = { 'pooled.test': ['127.0.0.1'] };
    const dns = fakeResolver(answers);
    const g = guard({ resolve: dns.resolve });
    const before = target.connections;
    const url = `http://pooled.test:${target.port}/ok`;
    for (let i = 0; i < 3; i++)
      expect(await g.request(GET(url, 'admin'))).toMatchObject({ kind: 'answered' });
    expect(target.connections).toBe(before + 1);
    answers['pooled.test'] = ['169.254.169.254'];
    // Served on the pooled connection to 127.0.0.1: the refused address is never dialled.
    expect(await g.request(GET(url, 'admin'))).toEqual({ kind: 'answered', statusCode: 200 });
    expect(target.connections).toBe(before + 1);
    g.close();
  });

  it("never lends one role's pooled connection to another role's request", async () => {
    // An administrator may reach a private address (allowPrivateNetworks applies to others only
    // when set); a user's request to the same name must be decided afresh, and refused.
    const g = guard({ resolve: fakeResolver({ 'inside.test': ['127.0.0.1'] }).resolve });
    const before = target.connections;
    const url = `http://inside.test:${target.port}/ok`;
    expect(await g.request(GET(url, 'admin'))).toMatchObject({ kind: 'answered' });
    expectPolicyRefusal(await g.request(GET(url, 'user')));
    expect(target.connections).toBe(before + 1);
    g.close();
  });

  it('connects only to the allowed addresses of a name that resolves to several', async () => {
    const dns = fakeResolver({ 'mixed.test': ['169.254.169.254', '127.0.0.1'] });
    const before = target.connections;
    expect(
      await guard({ resolve: dns.resolve, allowPrivateNetworks: true }).request(
        GET(`http://mixed.test:${target.port}/ok`, 'admin'),
      ),
    ).toEqual({ kind: 'answered', statusCode: 200 });
    expect(target.connections).toBe(before + 1);
  });

  it('refuses link-local and metadata hosts to an administrator with private networks allowed, in every spelling', async () => {
    const g = guard({
      allowPrivateNetworks: true,
      resolve: fakeResolver({ 'imds.test': ['169.254.169.254'] }).resolve,
    });
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/',
      'http://0xa9fea9fe/',
      'http://0251.0376.0251.0376/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://100.100.100.200/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://imds.test/',
    ]) {
      expectPolicyRefusal(await g.request(GET(url, 'admin')));
    }
  });

  it('refuses loopback literals, in every spelling, to a user', async () => {
    const before = target.connections;
    for (const host of [
      '127.0.0.1',
      '2130706433',
      '0x7f000001',
      '127.1',
      '[::ffff:127.0.0.1]',
      'localhost',
    ]) {
      expectPolicyRefusal(await guard().request(GET(`http://${host}:${target.port}/ok`, 'user')));
    }
    expect(target.connections).toBe(before);
  });

  it("refuses this server's own listeners to everyone, whatever the setting", async () => {
    const g = guard({
      allowPrivateNetworks: true,
      ownPorts: [own.port],
      resolve: fakeResolver({ 'self.test': ['127.0.0.1'] }).resolve,
    });
    for (const url of [
      `${own.url}/ok`,
      `http://localhost:${own.port}/ok`,
      `http://self.test:${own.port}/ok`,
    ]) {
      expectPolicyRefusal(await g.request(GET(url, 'admin')));
    }
    const late = guard({ allowPrivateNetworks: true });
    late.addOwnPort(own.port); // a listener bound to port 0 registers the port it got
    expectPolicyRefusal(await late.request(GET(`${own.url}/ok`, 'admin')));
    expect(own.connections).toBe(0);
  });

  it('gives the same answer for an open and a closed refused port: no scanning oracle', async () => {
    const open = await guard().request(GET(`${target.url}/ok`, 'user'));
    const closed = await guard().request(GET(`http://127.0.0.1:${closedPort}/`, 'user'));
    expect(open.kind).toBe('refused');
    expect(closed.kind).toBe('refused');
    expect(REFUSED_BY_OUTBOUND_POLICY).toBe('refused by outbound policy');
  });

  describe('redirects', () => {
    it('follows a redirect to an allowed place', async () => {
      const from = target.requests.length;
      const result = await guard().request(GET(`${target.url}/to?u=/ok`, 'admin'));
      expect(result).toEqual({ kind: 'answered', statusCode: 200 });
      expect(target.requests.slice(from).map((r) => r.url)).toEqual(['/to?u=/ok', '/ok']);
    });

    it('checks every hop: a redirect to a refused address is refused, and never dialled', async () => {
      const g = guard({
        ownPorts: [own.port],
        resolve: fakeResolver({ 'imds.test': ['169.254.169.254'] }).resolve,
      });
      for (const location of [
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'http://[::ffff:a9fe:a9fe]/',
        'http://imds.test/',
        `http://127.0.0.1:${own.port}/ok`,
      ]) {
        expectPolicyRefusal(
          await g.request(GET(`${target.url}/to?u=${encodeURIComponent(location)}`, 'admin')),
        );
      }
      expect(own.connections).toBe(0);
    });

    it('is not followed with redirects: 0 (webhooks): the 3xx is the answer', async () => {
      const from = target.requests.length;
      const result = await guard().request(GET(`${target.url}/to?u=/ok&s=307`, 'admin', { redirects: 0 }));
      expect(result).toEqual({ kind: 'answered', statusCode: 307 });
      expect(target.requests.length - from).toBe(1);
    });

    it('turns a 303 into a GET without body and drops credentials when leaving the origin', async () => {
      const from = own.requests.length;
      const result = await guard({ resolve: fakeResolver({ 'other.test': ['127.0.0.1'] }).resolve }).request(
        GET(`${target.url}/to?s=303&u=${encodeURIComponent(`http://other.test:${own.port}/ok`)}`, 'admin', {
          method: 'POST',
          body: '{"a":1}',
          headers: { authorization: 'Bearer secret', 'content-type': 'application/json', 'x-kept': '1' },
        }),
      );
      expect(result).toEqual({ kind: 'answered', statusCode: 200 });
      const hop = own.requests.slice(from);
      expect(hop).toHaveLength(1);
      expect(hop[0]!.method).toBe('GET');
      expect(hop[0]!.headers.authorization).toBeUndefined();
      expect(hop[0]!.headers['content-type']).toBeUndefined();
      expect(hop[0]!.headers['x-kept']).toBe('1');
    });

    it('stops after the allowed number of hops', async () => {
      const loop = `${target.url}/to?u=${encodeURIComponent(`${target.url}/to?u=/to%3Fu%3D%2Fok`)}`;
      expect(await guard().request(GET(loop, 'admin', { redirects: 1 }))).toMatchObject({
        kind: 'failed',
        error: 'more than 1 redirects',
      });
    });
  });

  describe('deadline and cancel', () => {
    /** A listener that accepts and never answers; counts the requests it got. */
    let silent: Server;
    let silentUrl: string;
    let received = 0;
    beforeAll(async () => {
      silent = createServer(() => void (received += 1));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('fails with a timeout when no answer comes by the deadline', async () => {
      const before = received;
      const result = await guard().request(GET(silentUrl, 'admin', { timeoutMs: 200 }));
      expect(result).toEqual({ kind: 'failed', reason: 'timeout', error: 'no answer within 200 ms' });
      expect(received).toBe(before + 1);
    });

    it('is aborted (not a timeout) when the caller cancels while it waits', async () => {
      const cancel = new AbortController();
      const pending = guard().request(GET(silentUrl, 'admin', { timeoutMs: 60_000, signal: cancel.signal }));
      const before = received;
      await waitUntil(() => received > before);
      cancel.abort();
      expect(await pending).toEqual({ kind: 'aborted' });
    });

    it('sends nothing for a request canceled before it started', async () => {
      const before = received;
      const cancel = new AbortController();
      cancel.abort();
      expect(
        await guard().request(GET(silentUrl, 'admin', { timeoutMs: 60_000, signal: cancel.signal })),
      ).toEqual({ kind: 'aborted' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toBe(before);
    });
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

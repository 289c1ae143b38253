import { describe, expect, it } from 'vitest';
import {
  decideAddress,
  decideHost,
  endpointProblem,
  OUTBOUND_ROLES,
  type OutboundRules,
} from './outbound-policy.ts';

const OWN_PORT = 8080;
const rules = (allowPrivateNetworks: boolean): OutboundRules => ({
  allowPrivateNetworks,
  ownPorts: new Set([OWN_PORT, 50051]),
  ownAddresses: new Set(['10.9.8.7']),
});

type Tier = 'metadata' | 'internal' | 'public' | 'own';

/** Hosts (as a URL or a resolver may give them) and the tier the policy must put them in. */
const HOSTS: Array<[string, Tier]> = [
  // link-local and cloud metadata, in every spelling
  ['169.254.169.254', 'metadata'],
  ['169.254.0.1', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['fe80::1', 'metadata'],
  ['[fe80::1]', 'metadata'],
  ['febf::1', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['[fd00:ec2:0:0:0:0:0:254]', 'metadata'],
  ['fd20:ce::254', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['[::ffff:a9fe:a9fe]', 'metadata'],
  ['::169.254.169.254', 'metadata'],
  ['::ffff:0:169.254.169.254', 'metadata'],
  ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['::ffff:100.100.100.200', 'metadata'],
  ['2852039166', 'metadata'],
  ['0xa9fea9fe', 'metadata'],
  ['0XA9FEA9FE', 'metadata'],
  ['0251.0376.0251.0376', 'metadata'],
  ['0xa9.0xfe.0xa9.0xfe', 'metadata'],
  ['169.254.43518', 'metadata'],
  ['169.16689662', 'metadata'],
  ['1684301000', 'metadata'], // 100.100.100.200
  ['metadata.google.internal', 'metadata'],
  ['METADATA.Google.Internal.', 'metadata'],
  ['computeMetadata.metadata.google.internal', 'metadata'],
  ['metadata', 'metadata'],
  ['metadata.goog', 'metadata'],
  ['instance-data', 'metadata'],
  ['instance-data.ec2.internal', 'metadata'],
  ['metadata.tencentyun.com', 'metadata'],
  // internal: administrators yes, users only when allowed
  ['127.0.0.1', 'internal'],
  ['127.1', 'internal'],
  ['2130706433', 'internal'],
  ['0x7f000001', 'internal'],
  ['017700000001', 'internal'],
  ['127.0.0.2', 'internal'],
  ['0.0.0.0', 'internal'],
  ['0', 'internal'],
  ['10.0.0.1', 'internal'],
  ['10.255.255.254', 'internal'],
  ['172.16.0.1', 'internal'],
  ['172.31.255.1', 'internal'],
  ['192.168.1.1', 'internal'],
  ['100.64.0.1', 'internal'],
  ['100.127.255.254', 'internal'],
  ['198.18.0.1', 'internal'],
  ['192.0.2.10', 'internal'],
  ['::1', 'internal'],
  ['[::1]', 'internal'],
  ['::', 'internal'],
  ['fc00::1', 'internal'],
  ['fd12:3456::1', 'internal'],
  ['fd00::1', 'internal'],
  ['::ffff:127.0.0.1', 'internal'],
  ['::ffff:10.0.0.1', 'internal'],
  ['[::ffff:c0a8:101]', 'internal'],
  ['localhost', 'internal'],
  ['LOCALHOST.', 'internal'],
  ['api.localhost', 'internal'],
  ['10.9.8.7', 'internal'], // this host's own address, on a port that is not ours
  // public
  ['93.184.216.34', 'public'],
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['100.63.255.255', 'public'],
  ['169.253.255.255', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['::ffff:8.8.8.8', 'public'],
];

/** Hosts on the server's own port: refused for everyone, whatever the setting. */
const OWN: string[] = [
  '127.0.0.1',
  '127.0.0.53',
  '::1',
  '[::ffff:127.0.0.1]',
  '0.0.0.0',
  '::',
  'localhost',
  '10.9.8.7',
];

function expected(tier: Tier, role: 'admin' | 'user', allowPrivate: boolean): boolean {
  switch (tier) {
    case 'metadata':
    case 'own':
      return false;
    case 'internal':
      return role === 'admin' || allowPrivate;
    case 'public':
      return true;
  }
}

describe('outbound policy: addresses × roles × setting', () => {
  const cases = HOSTS.flatMap(([host, tier]) =>
    OUTBOUND_ROLES.flatMap((role) =>
      [false, true].map((allow) => [host, tier, role, allow] as [string, Tier, 'admin' | 'user', boolean]),
    ),
  );

  it.each(cases)('%s (%s) for %s, private networks allowed: %s', (host, tier, role, allow) => {
    const decision = decideHost(host, 443, role, rules(allow));
    const want = expected(tier, role, allow);
    expect(decision.allowed, JSON.stringify(decision)).toBe(want);
    if (!want) {
      expect(decision).toMatchObject({ reason: tier === 'metadata' ? 'metadata' : 'internal' });
    }
  });

  it.each(
    OWN.flatMap((host) =>
      OUTBOUND_ROLES.flatMap((role) => [false, true].map((allow) => [host, role, allow] as const)),
    ),
  )(
    "refuses this server's own listener %s:8080 for %s (private networks allowed: %s)",
    (host, role, allow) => {
      expect(decideHost(host, OWN_PORT, role, rules(allow))).toMatchObject({
        allowed: false,
        reason: 'own-listener',
      });
    },
  );

  it('resolves other names at connect time, and decides what they resolve to', () => {
    expect(decideHost('example.com', 443, 'user', rules(false))).toEqual({ allowed: 'resolve' });
    expect(decideHost('metadata.google.internal.example.com', 443, 'user', rules(false))).toEqual({
      allowed: 'resolve',
    });
    expect(decideAddress('169.254.169.254', 80, 'admin', rules(true))).toMatchObject({
      allowed: false,
      reason: 'metadata',
    });
    expect(decideAddress('not-an-address', 80, 'admin', rules(true))).toMatchObject({
      allowed: false,
      reason: 'invalid',
    });
  });
});

describe('endpointProblem (create and edit)', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://100.100.100.200/latest/meta-data',
    'https://metadata.google.internal./computeMetadata/v1/',
    'http://metadata/',
  ])('refuses %s to an administrator too, naming the metadata tier', (url) => {
    expect(endpointProblem(url, 'admin', rules(true))).toMatch(/link-local or cloud metadata/);
  });

  it.each([
    'http://127.0.0.1:9/',
    'http://10.0.0.1/',
    'http://[fd00::1]/',
    'http://100.64.0.1/',
    'http://localhost/',
  ])('refuses %s to a user unless private networks are allowed, never to an administrator', (url) => {
    expect(endpointProblem(url, 'user', rules(false))).toMatch(/private networks are not allowed/);
    expect(endpointProblem(url, 'user', rules(true))).toBeNull();
    expect(endpointProblem(url, 'admin', rules(false))).toBeNull();
  });

  it("refuses the server's own ports on loopback to everyone", () => {
    expect(endpointProblem('http://localhost:8080/api/v1/auth/register', 'admin', rules(true))).toMatch(
      /own listener on port 8080/,
    );
    expect(endpointProblem('http://127.0.0.1:50051/', 'admin', rules(true))).toMatch(/own listener/);
  });

  it('leaves public hosts and names to the connect-time check', () => {
    expect(endpointProblem('https://example.com/health', 'user', rules(false))).toBeNull();
    expect(endpointProblem('http://93.184.216.34/', 'user', rules(false))).toBeNull();
  });
});

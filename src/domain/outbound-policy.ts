/**
 * The outbound requests policy: may a request made on a user's behalf (a heartbeat, a webhook)
 * open a connection to this address?
 *
 * Design note
 *
 * - Three tiers, decided per address (src/domain/ip-ranges.ts classifies it):
 *   1. refused for everyone: link-local (169.254.0.0/16, fe80::/10) and the cloud metadata
 *      services (METADATA_ADDRESSES, METADATA_HOST_NAMES), whatever the role or setting, because
 *      they hand out the host's cloud credentials;
 *   2. refused for everyone: the server's own listeners (its HTTP, RPC and operations ports on a
 *      loopback, unspecified or own interface address), so a heartbeat cannot drive our own API
 *      or metrics from inside (e.g. register accounts, read /metrics);
 *   3. internal (loopback, RFC 1918 private, carrier-grade NAT, unique-local and the other
 *      non-routable ranges): allowed for administrators, refused for other users unless the
 *      administrator allows private networks (CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS).
 *   Everything else (globally routable unicast) is allowed.
 * - Every encoding of an address is judged by the address it stands for: IPv6 forms that carry an
 *   IPv4 address (`::ffff:169.254.169.254`, NAT64, 6to4) and the numeric IPv4 forms
 *   (`2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518`) that resolvers accept.
 * - Where it is applied: at create and edit, on the literal host of the URL and on the names known
 *   without resolving (metadata names, `localhost`) — `endpointProblem`; and at every connection,
 *   on each address a name resolves to at that moment — `decideAddress`, called by the guard in
 *   src/platform/outbound, which connects only to addresses that passed (DNS rebinding).
 * - What a user learns of a refusal at run time is only REFUSED_BY_OUTBOUND_POLICY: no address,
 *   no range, no connection attempt (so no "refused" versus "timed out" port-scanning oracle).
 *   The create and edit answers are more precise: they only describe what the user typed.
 *
 * Pure: no DNS, no sockets.
 */
import {
  classifyAddress,
  embeddedIpv4,
  formatIpv4,
  parseIpv4Loose,
  parseIpv6,
  type AddressKind,
} from './ip-ranges.ts';

export const OUTBOUND_ROLES = ['admin', 'user'] as const;
export type OutboundRole = (typeof OUTBOUND_ROLES)[number];

/** The whole of what a run records when the policy refused its connection. */
export const REFUSED_BY_OUTBOUND_POLICY = 'refused by outbound policy';

/** The setting that opens internal networks to every user. */
export const ALLOW_PRIVATE_NETWORKS_SETTING = 'CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS';

/**
 * Cloud metadata services outside link-local: Alibaba Cloud (100.100.100.200, in carrier-grade
 * NAT), Oracle Cloud Classic (192.0.0.192), AWS IMDS over IPv6 (fd00:ec2::254) and Google's
 * metadata server over IPv6 (fd20:ce::254), the last two inside unique-local.
 */
export const METADATA_ADDRESSES = [
  '100.100.100.200',
  '192.0.0.192',
  'fd00:ec2::254',
  'fd20:ce::254',
] as const;

/** Names of cloud metadata services (and every name under them). */
export const METADATA_HOST_NAMES = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
  'metadata.packet.net',
] as const;

/** Names that mean this host's loopback (RFC 6761: every name under `localhost` too). */
const LOOPBACK_HOST_NAMES = ['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback'];

export interface OutboundRules {
  /** Non-administrators may reach internal networks too (the administrator's setting). */
  allowPrivateNetworks: boolean;
  /** Ports of this server's own listeners (HTTP, RPC, operations). */
  ownPorts: ReadonlySet<number>;
  /** This host's interface addresses beyond loopback, as `addressKey` gives them. */
  ownAddresses: ReadonlySet<string>;
}

export type RefusalReason = 'metadata' | 'own-listener' | 'internal' | 'invalid';

export type OutboundDecision =
  | { allowed: true }
  /** `detail` is for the operator's log and the create/edit answer; never for a run's record. */
  | { allowed: false; reason: RefusalReason; detail: string };

const ALLOWED: OutboundDecision = { allowed: true };

const THIS_HOST_KINDS: ReadonlySet<AddressKind> = new Set(['loopback', 'unspecified', 'this-network']);

const METADATA_V4 = new Set(METADATA_ADDRESSES.filter((a) => !a.includes(':')).map((a) => embeddedIpv4(a)!));
const METADATA_V6 = new Set(METADATA_ADDRESSES.filter((a) => a.includes(':')).map((a) => addressKey(a)!));

/**
 * One spelling per address, to compare addresses: a dotted quad for IPv4 and for the IPv6 forms
 * that carry an IPv4 address, else the eight IPv6 groups in full lowercase hex. Null when not an
 * address.
 */
export function addressKey(address: string): string | null {
  const v4 = embeddedIpv4(address);
  if (v4 !== null) return formatIpv4(v4);
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const g = text.includes(':') ? parseIpv6(text) : null;
  return g === null ? null : g.map((x) => x.toString(16)).join(':');
}

/**
 * The decision on connecting to `address` (an IP literal, as a resolver answers or a URL holds
 * it) on `port`, for a user of `role`.
 */
export function decideAddress(
  address: string,
  port: number,
  role: OutboundRole,
  rules: OutboundRules,
): OutboundDecision {
  const verdict = classifyAddress(address);
  const key = addressKey(address);
  if (verdict === null || key === null) {
    return { allowed: false, reason: 'invalid', detail: `${address} is not an IP address` };
  }
  const v4 = embeddedIpv4(address);
  if ((v4 !== null && METADATA_V4.has(v4)) || METADATA_V6.has(key)) {
    return { allowed: false, reason: 'metadata', detail: `cloud metadata address ${key}` };
  }
  if (!verdict.allowed && verdict.kind === 'link-local') {
    return { allowed: false, reason: 'metadata', detail: verdict.range };
  }
  const thisHost = (!verdict.allowed && THIS_HOST_KINDS.has(verdict.kind)) || rules.ownAddresses.has(key);
  if (thisHost && rules.ownPorts.has(port)) {
    return { allowed: false, reason: 'own-listener', detail: `this server's own listener on port ${port}` };
  }
  if (verdict.allowed || role === 'admin' || rules.allowPrivateNetworks) return ALLOWED;
  return { allowed: false, reason: 'internal', detail: verdict.range };
}

function isUnder(name: string, parent: string): boolean {
  return name === parent || name.endsWith(`.${parent}`);
}

/**
 * The decision on a host as written in a URL, before any resolution: IP literals in any encoding
 * and the known names are decided; any other name is `resolve` (decided per address at connect
 * time).
 */
export function decideHost(
  host: string,
  port: number,
  role: OutboundRole,
  rules: OutboundRules,
): OutboundDecision | { allowed: 'resolve' } {
  let name = host.trim().toLowerCase();
  if (name.endsWith('.') && !name.endsWith('..')) name = name.slice(0, -1);
  if (classifyAddress(name) !== null) return decideAddress(name, port, role, rules);
  const loose = parseIpv4Loose(name);
  if (loose !== null) return decideAddress(formatIpv4(loose), port, role, rules);
  if (METADATA_HOST_NAMES.some((m) => isUnder(name, m))) {
    return { allowed: false, reason: 'metadata', detail: `cloud metadata name ${name}` };
  }
  if (LOOPBACK_HOST_NAMES.includes(name) || name.endsWith('.localhost')) {
    return decideAddress('127.0.0.1', port, role, rules);
  }
  return { allowed: 'resolve' };
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * What is wrong with an endpoint under the policy, as a field message (null: nothing known
 * before resolution). The URL's shape is the caller's to check; an unparsable URL is null here.
 */
export function endpointProblem(text: string, role: OutboundRole, rules: OutboundRules): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const decision = decideHost(url.hostname, portOf(url), role, rules);
  if (decision.allowed !== false) return null;
  return problemMessage(decision);
}

/** The create/edit message of a refusal. */
export function problemMessage(decision: Extract<OutboundDecision, { allowed: false }>): string {
  switch (decision.reason) {
    case 'metadata':
      return `must not point to a link-local or cloud metadata address (${decision.detail}); no account may reach it`;
    case 'own-listener':
      return `must not point to ${decision.detail}; no account may reach it`;
    case 'internal':
      return `must not point to an internal address (${decision.detail}); private networks are not allowed for your account unless an administrator allows them (${ALLOW_PRIVATE_NETWORKS_SETTING})`;
    case 'invalid':
      return `must name a valid host (${decision.detail})`;
  }
}

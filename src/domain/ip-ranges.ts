/**
 * The SSRF guard's address classifier: is an IP address one a webhook may be sent to?
 *
 * Pure (no DNS, no sockets): the webhook sender resolves a host name itself and asks this module
 * about every address before connecting to it, so a name that resolves (or re-resolves, DNS
 * rebinding) to an internal address is refused at the moment of the connection, and the create
 * endpoint refuses literal internal addresses early.
 *
 * Refused: everything that is not globally routable unicast, i.e. loopback, RFC 1918 private,
 * carrier-grade NAT, link-local (cloud metadata at 169.254.169.254), "this network", IETF protocol
 * assignments, benchmarking, documentation, multicast, reserved and broadcast; for IPv6 the
 * unspecified and loopback addresses, unique-local, link-local, site-local, multicast,
 * documentation and discard prefixes. IPv6 forms that carry an IPv4 address (IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are
 * judged by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback.
 */

export type AddressVerdict =
  { allowed: true; version: 4 | 6 } | { allowed: false; version: 4 | 6; range: string };

interface Range4 {
  base: number;
  bits: number;
  name: string;
}

function v4(text: string, bits: number, name: string): Range4 {
  return { base: parseIpv4(text)!, bits, name };
}

const BLOCKED_V4: readonly Range4[] = [
  v4('0.0.0.0', 8, '"this network" 0.0.0.0/8'),
  v4('10.0.0.0', 8, 'private 10.0.0.0/8'),
  v4('100.64.0.0', 10, 'carrier-grade NAT 100.64.0.0/10'),
  v4('127.0.0.0', 8, 'loopback 127.0.0.0/8'),
  v4('169.254.0.0', 16, 'link-local 169.254.0.0/16 (cloud metadata)'),
  v4('172.16.0.0', 12, 'private 172.16.0.0/12'),
  v4('192.0.0.0', 24, 'IETF protocol assignments 192.0.0.0/24'),
  v4('192.0.2.0', 24, 'documentation 192.0.2.0/24'),
  v4('192.168.0.0', 16, 'private 192.168.0.0/16'),
  v4('198.18.0.0', 15, 'benchmarking 198.18.0.0/15'),
  v4('198.51.100.0', 24, 'documentation 198.51.100.0/24'),
  v4('203.0.113.0', 24, 'documentation 203.0.113.0/24'),
  v4('224.0.0.0', 4, 'multicast 224.0.0.0/4'),
  v4('255.255.255.255', 32, 'broadcast 255.255.255.255'),
  v4('240.0.0.0', 4, 'reserved 240.0.0.0/4'),
];

/** An IPv4 dotted quad as an unsigned 32-bit number; null when `text` is not one. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const part of parts) {
    // Decimal only, no leading zeros: "010.0.0.1" is octal to some resolvers, so refuse the ambiguity.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const byte = Number(part);
    if (byte > 255) return null;
    n = n * 256 + byte;
  }
  return n;
}

/** An IPv6 address (optionally with a `%zone` and an IPv4 tail) as 8 16-bit groups; null if not one. */
export function parseIpv6(text: string): number[] | null {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s === '' || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const ipv4 = parseIpv4(s.slice(lastColon + 1));
    if (ipv4 === null) return null;
    tail = [ipv4 >>> 16, ipv4 & 0xffff];
    // "::ffff:1.2.3.4" → "::ffff" + tail; "::1.2.3.4" → "::" + tail.
    const prefix = s.slice(0, lastColon + 1);
    s = prefix.endsWith('::') ? prefix : prefix.slice(0, -1);
    if (s === '') return null;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  for (const g of [...head, ...rest]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const zeros = new Array<number>(8 - explicit).fill(0);
  return [
    ...head.map((g) => parseInt(g, 16)),
    ...(halves.length === 2 ? zeros : []),
    ...rest.map((g) => parseInt(g, 16)),
    ...tail,
  ];
}

function classifyV4(n: number): AddressVerdict {
  for (const r of BLOCKED_V4) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if ((n & mask) >>> 0 === (r.base & mask) >>> 0) return { allowed: false, version: 4, range: r.name };
  }
  return { allowed: true, version: 4 };
}

function v4From(hi: number, lo: number): number {
  return ((hi << 16) >>> 0) + lo;
}

function classifyV6(g: number[]): AddressVerdict {
  const blocked = (range: string): AddressVerdict => ({ allowed: false, version: 6, range });
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedded = (n: number, form: string): AddressVerdict => {
    const inner = classifyV4(n);
    return inner.allowed ? { allowed: true, version: 6 } : blocked(`${form} of ${inner.range}`);
  };
  if (g.every((x) => x === 0)) return blocked('unspecified ::');
  if (zeroUpTo(7) && g[7] === 1) return blocked('loopback ::1');
  if (zeroUpTo(5) && g[5] === 0xffff) return embedded(v4From(g[6]!, g[7]!), 'IPv4-mapped ::ffff:0:0/96');
  // IPv4-translated (RFC 2765) ::ffff:0:a.b.c.d
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return embedded(v4From(g[6]!, g[7]!), 'IPv4-translated');
  if (zeroUpTo(6)) return embedded(v4From(g[6]!, g[7]!), 'IPv4-compatible ::/96');
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return embedded(v4From(g[6]!, g[7]!), 'NAT64 64:ff9b::/96');
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return blocked('local-use NAT64 64:ff9b:1::/48');
  if (g[0] === 0x2002) return embedded(v4From(g[1]!, g[2]!), '6to4 2002::/16');
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return blocked('discard-only 100::/64');
  if (g[0] === 0x2001 && g[1] === 0x0db8) return blocked('documentation 2001:db8::/32');
  if ((g[0]! & 0xfe00) === 0xfc00) return blocked('unique-local fc00::/7');
  if ((g[0]! & 0xffc0) === 0xfe80) return blocked('link-local fe80::/10');
  if ((g[0]! & 0xffc0) === 0xfec0) return blocked('site-local fec0::/10');
  if ((g[0]! & 0xff00) === 0xff00) return blocked('multicast ff00::/8');
  return { allowed: true, version: 6 };
}

/**
 * The verdict on an IP address literal (IPv4 dotted quad, or IPv6 with or without brackets);
 * null when `address` is not an IP address (a host name, to be resolved first).
 */
export function classifyAddress(address: string): AddressVerdict | null {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const n4 = parseIpv4(text);
  if (n4 !== null) return classifyV4(n4);
  if (!text.includes(':')) return null;
  const g = parseIpv6(text);
  return g === null ? null : classifyV6(g);
}

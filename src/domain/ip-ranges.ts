/**
 * The address classifier under the outbound policy (src/domain/outbound-policy.ts): is an IP
 * address globally routable, and if not, what kind of internal address is it?
 *
 * Pure (no DNS, no sockets): the outbound guard (src/platform/outbound) resolves a host name
 * itself and has every address judged before connecting to it, so a name that resolves (or
 * re-resolves, DNS rebinding) to an internal address is refused at the moment of the connection,
 * and the create and edit endpoints refuse literal internal addresses early.
 *
 * Refused: everything that is not globally routable unicast, i.e. loopback, RFC 1918 private,
 * carrier-grade NAT, link-local (cloud metadata at 169.254.169.254), "this network", IETF protocol
 * assignments, benchmarking, documentation, multicast, reserved and broadcast; for IPv6 the
 * unspecified and loopback addresses, unique-local, link-local, site-local, multicast,
 * documentation and discard prefixes. IPv6 forms that carry an IPv4 address (IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are
 * judged by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback.
 */

/**
 * What a refused address is. The outbound policy (src/domain/outbound-policy.ts) decides from
 * this who may reach it: `link-local` nobody, the rest administrators (and everyone when the
 * administrator allows private networks).
 */
export type AddressKind =
  | 'this-network'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier-grade-nat'
  | 'unique-local'
  | 'link-local'
  | 'site-local'
  | 'special-purpose'
  | 'documentation'
  | 'multicast'
  | 'reserved';

export type AddressVerdict =
  { allowed: true; version: 4 | 6 } | { allowed: false; version: 4 | 6; range: string; kind: AddressKind };

interface Range4 {
  base: number;
  bits: number;
  name: string;
  kind: AddressKind;
}

function v4(text: string, bits: number, name: string, kind: AddressKind): Range4 {
  return { base: parseIpv4(text)!, bits, name, kind };
}

const BLOCKED_V4: readonly Range4[] = [
  v4('0.0.0.0', 8, '"this network" 0.0.0.0/8', 'this-network'),
  v4('10.0.0.0', 8, 'private 10.0.0.0/8', 'private'),
  v4('100.64.0.0', 10, 'carrier-grade NAT 100.64.0.0/10', 'carrier-grade-nat'),
  v4('127.0.0.0', 8, 'loopback 127.0.0.0/8', 'loopback'),
  v4('169.254.0.0', 16, 'link-local 169.254.0.0/16 (cloud metadata)', 'link-local'),
  v4('172.16.0.0', 12, 'private 172.16.0.0/12', 'private'),
  v4('192.0.0.0', 24, 'IETF protocol assignments 192.0.0.0/24', 'special-purpose'),
  v4('192.0.2.0', 24, 'documentation 192.0.2.0/24', 'documentation'),
  v4('192.168.0.0', 16, 'private 192.168.0.0/16', 'private'),
  v4('198.18.0.0', 15, 'benchmarking 198.18.0.0/15', 'special-purpose'),
  v4('198.51.100.0', 24, 'documentation 198.51.100.0/24', 'documentation'),
  v4('203.0.113.0', 24, 'documentation 203.0.113.0/24', 'documentation'),
  v4('224.0.0.0', 4, 'multicast 224.0.0.0/4', 'multicast'),
  v4('255.255.255.255', 32, 'broadcast 255.255.255.255', 'reserved'),
  v4('240.0.0.0', 4, 'reserved 240.0.0.0/4', 'reserved'),
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

/** The verdict on an IPv4 address given as a 32-bit number (see parseIpv4Loose). */
export function classifyIpv4(n: number): AddressVerdict {
  return classifyV4(n);
}

function classifyV4(n: number): AddressVerdict {
  for (const r of BLOCKED_V4) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if ((n & mask) >>> 0 === (r.base & mask) >>> 0) {
      return { allowed: false, version: 4, range: r.name, kind: r.kind };
    }
  }
  return { allowed: true, version: 4 };
}

function v4From(hi: number, lo: number): number {
  return ((hi << 16) >>> 0) + lo;
}

function classifyV6(g: number[]): AddressVerdict {
  const blocked = (range: string, kind: AddressKind): AddressVerdict => ({
    allowed: false,
    version: 6,
    range,
    kind,
  });
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedded = (n: number, form: string): AddressVerdict => {
    const inner = classifyV4(n);
    return inner.allowed ? { allowed: true, version: 6 } : blocked(`${form} of ${inner.range}`, inner.kind);
  };
  if (g.every((x) => x === 0)) return blocked('unspecified ::', 'unspecified');
  if (zeroUpTo(7) && g[7] === 1) return blocked('loopback ::1', 'loopback');
  if (zeroUpTo(5) && g[5] === 0xffff) return embedded(v4From(g[6]!, g[7]!), 'IPv4-mapped ::ffff:0:0/96');
  // IPv4-translated (RFC 2765) ::ffff:0:a.b.c.d
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return embedded(v4From(g[6]!, g[7]!), 'IPv4-translated');
  if (zeroUpTo(6)) return embedded(v4From(g[6]!, g[7]!), 'IPv4-compatible ::/96');
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return embedded(v4From(g[6]!, g[7]!), 'NAT64 64:ff9b::/96');
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) {
    return blocked('local-use NAT64 64:ff9b:1::/48', 'special-purpose');
  }
  if (g[0] === 0x2002) return embedded(v4From(g[1]!, g[2]!), '6to4 2002::/16');
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) {
    return blocked('discard-only 100::/64', 'special-purpose');
  }
  if (g[0] === 0x2001 && g[1] === 0x0db8) return blocked('documentation 2001:db8::/32', 'documentation');
  if ((g[0]! & 0xfe00) === 0xfc00) return blocked('unique-local fc00::/7', 'unique-local');
  if ((g[0]! & 0xffc0) === 0xfe80) return blocked('link-local fe80::/10', 'link-local');
  if ((g[0]! & 0xffc0) === 0xfec0) return blocked('site-local fec0::/10', 'site-local');
  if ((g[0]! & 0xff00) === 0xff00) return blocked('multicast ff00::/8', 'multicast');
  return { allowed: true, version: 6 };
}

/**
 * The IPv4 address an address literal stands for: itself for IPv4, the carried address for the
 * IPv6 forms that carry one (IPv4-mapped, -translated, -compatible, NAT64, 6to4); null for other
 * IPv6 addresses and for anything that is not an address.
 */
export function embeddedIpv4(address: string): number | null {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const n4 = parseIpv4(text);
  if (n4 !== null) return n4;
  const g = text.includes(':') ? parseIpv6(text) : null;
  if (g === null) return null;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (g.every((x) => x === 0) || (zeroUpTo(7) && g[7] === 1)) return null;
  if (zeroUpTo(5) && g[5] === 0xffff) return v4From(g[6]!, g[7]!);
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return v4From(g[6]!, g[7]!);
  if (zeroUpTo(6)) return v4From(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4From(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4From(g[1]!, g[2]!);
  return null;
}

/**
 * An IPv4 address in any form `inet_aton` (and so the system resolver) accepts: 1 to 4 parts,
 * each decimal, octal (leading 0) or hexadecimal (0x), the last part filling the remaining
 * bytes: `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518`, `127.1`. Null when
 * `text` is not one. URL hosts are already normalised this way by the WHATWG URL parser; this
 * catches the forms wherever a host reaches us by another way.
 */
export function parseIpv4Loose(text: string): number | null {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) value = part.length === 1 ? 0 : parseInt(part.slice(1), 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return null;
  if (last >= 256 ** (4 - values.length)) return null;
  let n = 0;
  for (const v of values) n = n * 256 + v;
  return n * 256 ** (4 - values.length) + last;
}

/** `n` as a dotted quad. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
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

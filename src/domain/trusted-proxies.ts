/**
 * Which reverse proxies the gateway believes about the client address (`X-Forwarded-For`), from
 * CHRONOVERSE_SERVER_TRUST_PROXY.
 *
 * The client address is the right-most address of the chain (socket peer, then X-Forwarded-For
 * read right to left) that is not a trusted proxy: every proxy appends the address it received
 * the request from, so entries left of the first untrusted hop were written by the client and
 * prove nothing. Taking the left-most entry (what "trust everything" does) lets any client choose
 * its own address, dodge the per-address login limits and put made-up addresses in the logs and
 * the audit log, so "trust everything" is not a value this setting takes:
 *
 * - empty / `false` / `0`: no proxy; the socket peer is the client (the default);
 * - a list of addresses and CIDR blocks (`127.0.0.1,10.0.0.0/8`, `loopback` for 127.0.0.0/8 and
 *   ::1): hops from these addresses are proxies;
 * - a whole number N ≥ 1: the N nearest hops are proxies, whatever their address. Only right when
 *   clients cannot reach the gateway except through exactly that many proxies.
 *
 * `true` is refused with the reason. Pure: the gateway compiles the setting once.
 */
import { parseIpv4, parseIpv6 } from './ip-ranges.ts';

export type TrustedProxies =
  | { kind: 'none' }
  | { kind: 'hops'; hops: number }
  | {
      kind: 'ranges';
      ranges: ReadonlyArray<{ text: string; family: 4 | 6; bits: number[]; prefix: number }>;
    };

const MAX_HOPS = 10;

export const TRUST_EVERYTHING_REFUSED =
  '"true" would believe X-Forwarded-For from every client, so anyone could pick the address the per-address ' +
  'login limits and the audit log see; list your proxies\' addresses or CIDR blocks ("127.0.0.1,10.0.0.0/8") ' +
  'or give the number of proxies in front of the gateway ("1")';

/** Parses the setting; throws an Error saying what is wrong (config load reports it). */
export function parseTrustedProxies(raw: string): TrustedProxies {
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (['', 'false', 'no', 'off', '0', 'none'].includes(lower)) return { kind: 'none' };
  if (['true', 'yes', 'on', 'all', '*'].includes(lower)) throw new Error(TRUST_EVERYTHING_REFUSED);
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) throw new Error(`a hop count must be between 1 and ${MAX_HOPS}, got ${hops}`);
    return { kind: 'hops', hops };
  }
  const ranges: Array<{ text: string; family: 4 | 6; bits: number[]; prefix: number }> = [];
  for (const entry of text.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    if (entry.toLowerCase() === 'loopback') {
      ranges.push(range('127.0.0.0/8')!, range('::1/128')!);
      continue;
    }
    const r = range(entry);
    if (!r) {
      throw new Error(
        `"${entry}" is not an IP address or CIDR block (a list such as "127.0.0.1,10.0.0.0/8", "loopback", or a hop count such as "1")`,
      );
    }
    if (r.prefix === 0) throw new Error(`"${entry}" trusts every address; ${TRUST_EVERYTHING_REFUSED}`);
    ranges.push(r);
  }
  if (ranges.length === 0) return { kind: 'none' };
  return { kind: 'ranges', ranges };
}

/** The setting written back in its canonical form (what `config print` shows). */
export function formatTrustedProxies(t: TrustedProxies): string {
  if (t.kind === 'none') return '';
  if (t.kind === 'hops') return String(t.hops);
  return t.ranges.map((r) => r.text).join(',');
}

/**
 * `trust(address, hop)`: is the hop at this position (0 = the socket peer, 1 = the right-most
 * X-Forwarded-For entry, …) a trusted proxy? The shape proxy-addr (Fastify's `trustProxy`)
 * takes; null when no proxy is trusted.
 */
export function proxyTrust(t: TrustedProxies): ((address: string, hop: number) => boolean) | null {
  if (t.kind === 'none') return null;
  if (t.kind === 'hops') {
    const hops = t.hops;
    return (_address, hop) => hop < hops;
  }
  const ranges = t.ranges;
  return (address) => {
    const parsed = parseAddress(address);
    if (!parsed) return false;
    return ranges.some((r) => r.family === parsed.family && sameprefix(r.bits, parsed.bits, r.prefix));
  };
}

function range(text: string): { text: string; family: 4 | 6; bits: number[]; prefix: number } | null {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const parsed = parseAddress(addressText);
  if (!parsed) return null;
  const max = parsed.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
    prefix = Number(p);
  }
  return { text: slash >= 0 ? text : addressText, family: parsed.family, bits: parsed.bits, prefix };
}

/**
 * An address as 16-bit groups (2 for IPv4, 8 for IPv6). IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what
 * a dual-stack socket reports) counts as the IPv4 address it carries.
 */
function parseAddress(text: string): { family: 4 | 6; bits: number[] } | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, bits: [v4 >>> 16, v4 & 0xffff] };
  if (!text.includes(':')) return null;
  const g = parseIpv6(text);
  if (!g) return null;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return { family: 4, bits: [g[6]!, g[7]!] };
  return { family: 6, bits: g };
}

function sameprefix(a: readonly number[], b: readonly number[], prefix: number): boolean {
  let left = prefix;
  for (let i = 0; i < a.length && left > 0; i++) {
    const take = Math.min(16, left);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
    left -= take;
  }
  return true;
}

import { describe, expect, it } from 'vitest';
import {
  formatTrustedProxies,
  parseTrustedProxies,
  proxyTrust,
  TRUST_EVERYTHING_REFUSED,
} from './trusted-proxies.ts';

/** The client address proxy-addr would pick: the right-most hop that is not trusted. */
function clientAddress(setting: string, socket: string, forwardedFor: string[]): string {
  const trust = proxyTrust(parseTrustedProxies(setting));
  const hops = [socket, ...[...forwardedFor].reverse()];
  if (!trust) return socket;
  let i = 0;
  while (i < hops.length - 1 && trust(hops[i]!, i)) i++;
  return hops[i]!;
}

describe('trusted proxies', () => {
  it('trusts nobody by default: the socket peer is the client', () => {
    expect(proxyTrust(parseTrustedProxies(''))).toBeNull();
    expect(clientAddress('', '127.0.0.1', ['203.0.113.9'])).toBe('127.0.0.1');
  });

  it('takes the right-most untrusted hop, so spoofed left-most entries change nothing', () => {
    const setting = '127.0.0.1,10.0.0.0/8';
    // The client sent "X-Forwarded-For: 203.0.113.7, 127.0.0.1"; the proxy appended its peer.
    expect(clientAddress(setting, '127.0.0.1', ['203.0.113.7', '127.0.0.1', '198.51.100.20'])).toBe(
      '198.51.100.20',
    );
    // Two proxies in a row (10.x then loopback).
    expect(clientAddress(setting, '127.0.0.1', ['198.51.100.20', '10.1.2.3'])).toBe('198.51.100.20');
    // A client talking to the gateway directly cannot claim anything.
    expect(clientAddress(setting, '198.51.100.20', ['203.0.113.7'])).toBe('198.51.100.20');
  });

  it('matches IPv4-mapped IPv6 peers and IPv6 blocks', () => {
    expect(clientAddress('10.0.0.0/8', '::ffff:10.0.0.5', ['198.51.100.1'])).toBe('198.51.100.1');
    expect(clientAddress('fd00::/8', 'fd12::1', ['2001:db8::7'])).toBe('2001:db8::7');
    expect(clientAddress('fd00::/8', 'fe80::1', ['2001:db8::7'])).toBe('fe80::1');
    expect(clientAddress('loopback', '::1', ['198.51.100.1'])).toBe('198.51.100.1');
  });

  it('with a hop count, trusts exactly that many hops', () => {
    expect(clientAddress('1', '172.18.0.4', ['203.0.113.7', '198.51.100.20'])).toBe('198.51.100.20');
    expect(clientAddress('2', '172.18.0.4', ['203.0.113.7', '198.51.100.20'])).toBe('203.0.113.7');
    expect(clientAddress('1', '172.18.0.4', [])).toBe('172.18.0.4');
  });
});

describe('CHRONOVERSE_TRUSTED_PROXIES as written', () => {
  it('reads every way of saying "nobody" as none, whatever the case and spaces', () => {
    for (const off of ['', '  ', 'false', 'NO', ' off ', '0', 'None', ',', ' , ']) {
      expect(parseTrustedProxies(off), JSON.stringify(off)).toEqual({ kind: 'none' });
    }
  });

  it('refuses every way of saying "everybody", and a block that covers every address', () => {
    for (const all of ['true', 'YES', ' on ', 'all', '*']) {
      expect(() => parseTrustedProxies(all), all).toThrow(TRUST_EVERYTHING_REFUSED);
    }
    expect(() => parseTrustedProxies('10.0.0.1, 0.0.0.0/0')).toThrow(
      `"0.0.0.0/0" trusts every address; ${TRUST_EVERYTHING_REFUSED}`,
    );
    expect(() => parseTrustedProxies('::/0')).toThrow('"::/0" trusts every address');
  });

  it('takes a hop count up to 10', () => {
    expect(parseTrustedProxies(' 1 ')).toEqual({ kind: 'hops', hops: 1 });
    expect(parseTrustedProxies('10')).toEqual({ kind: 'hops', hops: 10 });
    expect(() => parseTrustedProxies('11')).toThrow('a hop count must be between 1 and 10, got 11');
  });

  it('names an entry that is not an address or a block, and a prefix too long for its family', () => {
    for (const bad of [
      'proxy.internal',
      '10.0.0.1/33',
      '10.0.0.1/',
      '10.0.0.1/8x',
      '10.0.0.1/0008',
      '::1/129',
      '1.2.3',
    ]) {
      expect(() => parseTrustedProxies(`127.0.0.1,${bad}`), bad).toThrow(
        `"${bad}" is not an IP address or CIDR block (a list such as "127.0.0.1,10.0.0.0/8", "loopback", or a hop count such as "1")`,
      );
    }
  });

  it('keeps each entry as written (trimmed, blanks skipped), loopback as its two blocks', () => {
    const parsed = parseTrustedProxies(' 10.0.0.0/8 ,, 192.168.1.7 , loopback, 2001:db8::/32 ');
    expect(formatTrustedProxies(parsed)).toBe('10.0.0.0/8,192.168.1.7,127.0.0.0/8,::1/128,2001:db8::/32');
    expect(parsed.kind === 'ranges' && parsed.ranges.map((r) => [r.family, r.prefix])).toEqual([
      [4, 8],
      [4, 32],
      [4, 8],
      [6, 128],
      [6, 32],
    ]);
    expect(formatTrustedProxies(parseTrustedProxies('3'))).toBe('3');
    expect(formatTrustedProxies(parseTrustedProxies('off'))).toBe('');
  });

  it('matches an address against each block by its prefix only, and never a malformed one', () => {
    const trusted = proxyTrust(parseTrustedProxies('10.1.0.0/16,2001:db8:1::/48,192.168.1.7,fd00::1'))!;
    expect(trusted('10.1.255.255', 0)).toBe(true);
    expect(trusted('10.2.0.1', 0)).toBe(false);
    expect(trusted('192.168.1.7', 0)).toBe(true);
    expect(trusted('192.168.1.8', 0)).toBe(false);
    expect(trusted('2001:db8:1:ffff::9', 0)).toBe(true);
    expect(trusted('2001:db8:2::9', 0)).toBe(false);
    expect(trusted('fd00::1', 0)).toBe(true);
    expect(trusted('fd00::2', 0)).toBe(false);
    // An IPv4-mapped address is the IPv4 one; another IPv6 with those low bits is not.
    expect(trusted('::ffff:10.1.2.3', 0)).toBe(true);
    expect(trusted('::fffe:a01:203', 0)).toBe(false);
    expect(trusted('1::ffff:a01:203', 0)).toBe(false);
    for (const junk of ['', 'x', '10.1.2', '10.1.2.3.4', 'fd00::1::2'])
      expect(trusted(junk, 0), junk).toBe(false);
  });
});

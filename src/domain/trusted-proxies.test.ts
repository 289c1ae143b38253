import { describe, expect, it } from 'vitest';
import { parseTrustedProxies, proxyTrust } from './trusted-proxies.ts';

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

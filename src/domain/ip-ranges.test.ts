import { describe, expect, it } from 'vitest';
import { classifyAddress, parseIpv4, parseIpv6 } from './ip-ranges.ts';

const refused = (a: string) => {
  const v = classifyAddress(a);
  expect(v, a).not.toBeNull();
  return v!.allowed === false;
};

describe('classifyAddress: IPv4', () => {
  it.each([
    ['0.0.0.0', 'this network'],
    ['0.255.255.255', 'this network'],
    ['10.0.0.1', 'private 10'],
    ['10.255.255.255', 'private 10'],
    ['100.64.0.0', 'carrier-grade'],
    ['100.127.255.255', 'carrier-grade'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['172.16.0.1', 'private 172.16'],
    ['172.31.255.255', 'private 172.16'],
    ['192.0.0.8', 'IETF protocol'],
    ['192.0.2.1', 'documentation'],
    ['192.168.0.1', 'private 192.168'],
    ['192.168.255.255', 'private 192.168'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['254.1.2.3', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('refuses %s (%s)', (address, range) => {
    const v = classifyAddress(address);
    expect(v).toMatchObject({ allowed: false, version: 4 });
    expect((v as { range: string }).range).toContain(range);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.0',
    '192.0.3.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '93.184.216.34',
  ])('allows %s', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true, version: 4 });
  });

  it('rejects malformed and ambiguous quads as addresses', () => {
    for (const text of [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '010.0.0.1',
      '1.2.3.-1',
      '1..2.3',
      'a.b.c.d',
      '',
    ]) {
      expect(parseIpv4(text), text).toBeNull();
    }
    expect(classifyAddress('example.com')).toBeNull();
    expect(classifyAddress('localhost')).toBeNull();
  });
});

describe('classifyAddress: IPv6', () => {
  it.each([
    ['::', 'unspecified'],
    ['[::]', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff0e::101', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    // IPv4 carried inside IPv6
    ['::ffff:127.0.0.1', 'IPv4-mapped ::ffff:0:0/96 of loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped ::ffff:0:0/96 of loopback'],
    ['[::ffff:169.254.169.254]', 'IPv4-mapped ::ffff:0:0/96 of link-local'],
    ['::ffff:10.1.2.3', 'private 10'],
    ['0:0:0:0:0:ffff:192.168.1.1', 'private 192.168'],
    ['::ffff:0:10.0.0.1', 'IPv4-translated'],
    ['::127.0.0.1', 'IPv4-compatible ::/96 of loopback'],
    ['::10.0.0.1', 'IPv4-compatible'],
    ['::a00:1', 'IPv4-compatible'],
    ['64:ff9b::127.0.0.1', 'NAT64 64:ff9b::/96 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 64:ff9b::/96 of link-local'],
    ['2002:7f00:1::1', '6to4 2002::/16 of loopback'],
    ['2002:c0a8:101::', '6to4 2002::/16 of private 192.168'],
  ])('refuses %s (%s)', (address, range) => {
    const v = classifyAddress(address);
    expect(v).toMatchObject({ allowed: false, version: 6 });
    expect((v as { range: string }).range).toContain(range);
  });

  it.each([
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '[2a00:1450:4007:80e::200e]',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    'fbff::1',
    'fe00::1',
    'fe7f::1',
  ])('allows %s', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true, version: 6 });
  });

  it('parses the textual forms exactly', () => {
    expect(parseIpv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIpv6('1:2::7:8')).toEqual([1, 2, 0, 0, 0, 0, 7, 8]);
    expect(parseIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIpv6('1:2:3:4:5:6:1.2.3.4')).toEqual([1, 2, 3, 4, 5, 6, 0x0102, 0x0304]);
    for (const bad of [
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::',
      'g::1',
      ':1.2.3.4',
      '::1.2.3',
      '1:2:3:4:5:6:7:1.2.3.4',
    ]) {
      expect(parseIpv6(bad), bad).toBeNull();
    }
  });

  it('judges every address of the IPv4 block list the same inside IPv6 wrappers', () => {
    for (const inner of [
      '127.0.0.1',
      '10.0.0.1',
      '169.254.169.254',
      '192.168.1.1',
      '100.64.0.1',
      '0.0.0.0',
    ]) {
      for (const wrap of [`::ffff:${inner}`, `::${inner}`, `64:ff9b::${inner}`]) {
        expect(refused(wrap), wrap).toBe(true);
      }
    }
  });
});

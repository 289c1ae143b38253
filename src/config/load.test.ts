import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';

describe('loadConfig', () => {
  it('uses the defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(8080);
    expect(config.database.url).toBe('');
    expect(config.database.dataDir).toBe('./.chronoverse/data');
    expect(config.auth.sessionTtlMs).toBe(86_400_000);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('reads and parses every kind of value', () => {
    const config = loadConfig({
      PORT: '9090',
      DATABASE_URL: 'postgres://u:p@db:5432/cv',
      CHRONOVERSE_SERVER_TRUST_PROXY: ' 127.0.0.1 , 10.0.0.0/8,::1 ',
      CHRONOVERSE_AUTH_SESSION_TTL: '2h',
      LOG_LEVEL: 'debug',
    });
    expect(config.server.port).toBe(9090);
    expect(config.database.url).toBe('postgres://u:p@db:5432/cv');
    expect(config.server.trustProxy).toBe('127.0.0.1,10.0.0.0/8,::1');
    expect(config.auth.sessionTtlMs).toBe(7_200_000);
    expect(config.log.level).toBe('debug');
  });

  it('reports every bad value at once, naming the variable and the problem', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        CHRONOVERSE_AUTH_SESSION_TTL: 'forever',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT \(server\.port\) must be a whole number, got "eighty"/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL .*postgres:\/\/ scheme/);
    expect(problems.join('\n')).toMatch(/CHRONOVERSE_AUTH_SESSION_TTL .*duration/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL .*one of/);
  });

  it('takes trusted proxies as addresses, CIDR blocks or a hop count, and refuses "trust everything"', () => {
    const trust = (v: string) => loadConfig({ CHRONOVERSE_SERVER_TRUST_PROXY: v }).server.trustProxy;
    expect(trust('')).toBe('');
    expect(trust('false')).toBe('');
    expect(trust('0')).toBe('');
    expect(trust('1')).toBe('1');
    expect(trust('loopback')).toBe('127.0.0.0/8,::1/128');
    expect(trust('192.168.1.0/24,fd00::/8')).toBe('192.168.1.0/24,fd00::/8');
    for (const everything of ['true', 'yes', 'on', 'TRUE']) {
      expect(() => trust(everything)).toThrow(
        /CHRONOVERSE_SERVER_TRUST_PROXY .*"true" would believe X-Forwarded-For from every client/,
      );
    }
    expect(() => trust('0.0.0.0/0')).toThrow(/trusts every address/);
    expect(() => trust('::/0')).toThrow(/trusts every address/);
    expect(() => trust('10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not an IP address or CIDR block/);
    expect(() => trust('proxy.internal')).toThrow(/not an IP address or CIDR block/);
    expect(() => trust('11')).toThrow(/hop count must be between 1 and 10/);
  });

  it('reads the sign-up mode and the audit retention (days allowed)', () => {
    expect(loadConfig({}).auth.signup).toBe('auto');
    expect(loadConfig({ CHRONOVERSE_SIGNUP: 'closed' }).auth.signup).toBe('closed');
    expect(() => loadConfig({ CHRONOVERSE_SIGNUP: 'maybe' })).toThrow(/CHRONOVERSE_SIGNUP .*one of/);
    expect(loadConfig({}).audit.retentionMs).toBe(90 * 86_400_000);
    expect(loadConfig({ CHRONOVERSE_AUDIT_RETENTION: '30d' }).audit.retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ CHRONOVERSE_AUDIT_RETENTION: '48h' }).audit.retentionMs).toBe(48 * 3_600_000);
    expect(() => loadConfig({ CHRONOVERSE_AUDIT_RETENTION: '1h' })).toThrow(/at least/);
  });

  it('rejects out-of-range numbers', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/between 0 and 65535/);
  });

  it('lets overrides win over the environment', () => {
    expect(loadConfig({ PORT: '1' }, { PORT: '2' }).server.port).toBe(2);
  });
});

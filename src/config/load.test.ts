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
      CHRONOVERSE_SERVER_TRUST_PROXY: 'yes',
      CHRONOVERSE_AUTH_SESSION_TTL: '2h',
      LOG_LEVEL: 'debug',
    });
    expect(config.server.port).toBe(9090);
    expect(config.database.url).toBe('postgres://u:p@db:5432/cv');
    expect(config.server.trustProxy).toBe(true);
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

  it('rejects out-of-range numbers', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/between 0 and 65535/);
  });

  it('lets overrides win over the environment', () => {
    expect(loadConfig({ PORT: '1' }, { PORT: '2' }).server.port).toBe(2);
  });
});

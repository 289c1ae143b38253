/**
 * The per-kind payload rules (task-payload.ts) that workflow-input.test.ts does not already pin:
 * the messages a user reads for each refusal, and the bounds exactly at their edges.
 */
import { describe, expect, it } from 'vitest';
import { validatePayload } from './task-payload.ts';

const HEARTBEAT = { endpoint: 'https://example.com/health' };
const CONTAINER = { image: 'alpine:3.20' };

/** The issues of a payload, or [] when it is valid. */
function issues(kind: 'HEARTBEAT' | 'CONTAINER', raw: unknown) {
  const result = validatePayload(kind, raw);
  return result.ok ? [] : result.issues;
}

describe('heartbeat payloads', () => {
  it('takes http and https URLs with a host, nothing else', () => {
    expect(issues('HEARTBEAT', { endpoint: 'http://example.com' })).toEqual([]);
    for (const endpoint of ['ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'http://']) {
      expect(issues('HEARTBEAT', { endpoint }), endpoint).toEqual([
        { path: 'payload.endpoint', message: 'must be an http:// or https:// URL' },
      ]);
    }
  });

  it('checks a timeout: a duration, above zero, at most 5 minutes', () => {
    expect(issues('HEARTBEAT', { ...HEARTBEAT, timeout: '5m' })).toEqual([]);
    expect(issues('HEARTBEAT', { ...HEARTBEAT, timeout: '1ms' })).toEqual([]);
    const message = (timeout: string) => issues('HEARTBEAT', { ...HEARTBEAT, timeout })[0]?.message;
    expect(message('soon')).toBe('must be a duration such as "30s", "5m" or "1h30m"');
    expect(message('0s')).toBe('must be greater than zero');
    expect(message('5m1s')).toBe('must be at most 5m');
  });

  it('takes at most 64 headers', () => {
    const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));
    expect(issues('HEARTBEAT', { ...HEARTBEAT, headers: headers(64) })).toEqual([]);
    expect(issues('HEARTBEAT', { ...HEARTBEAT, headers: headers(65) })).toEqual([
      { path: 'payload.headers', message: 'must have at most 64 headers' },
    ]);
  });

  it('refuses a body with GET and HEAD only', () => {
    for (const method of ['GET', 'HEAD']) {
      expect(issues('HEARTBEAT', { ...HEARTBEAT, method, body: 'x' })).toEqual([
        { path: 'payload.body', message: `is not allowed with method ${method}` },
      ]);
    }
    expect(issues('HEARTBEAT', { ...HEARTBEAT, method: 'POST', body: 'x' })).toEqual([]);
  });

  it('looks inside a payload given as a JSON string for values it cannot store', () => {
    expect(issues('HEARTBEAT', JSON.stringify({ endpoint: 'https://example.com/\u0000' }))).toEqual([
      { path: 'payload.endpoint', message: 'must not contain NUL characters' },
    ]);
    expect(validatePayload('HEARTBEAT', JSON.stringify(HEARTBEAT))).toMatchObject({ ok: true });
    expect(issues('HEARTBEAT', '[1]')).toEqual([
      { path: 'payload', message: 'must be an object (or a JSON string of one)' },
    ]);
    expect(issues('HEARTBEAT', null)).toEqual([
      { path: 'payload', message: 'must be an object (or a JSON string of one)' },
    ]);
  });
});

describe('container payloads', () => {
  it('takes at most 256 environment variables', () => {
    const env = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'x']));
    expect(issues('CONTAINER', { ...CONTAINER, env: env(256) })).toEqual([]);
    expect(issues('CONTAINER', { ...CONTAINER, env: env(257) })).toEqual([
      { path: 'payload.env', message: 'must have at most 256 variables' },
    ]);
  });

  it('takes a numeric uid or uid:gid up to 2147483647', () => {
    expect(issues('CONTAINER', { ...CONTAINER, user: '1000:1000' })).toEqual([]);
    expect(issues('CONTAINER', { ...CONTAINER, user: '2147483647' })).toEqual([]);
    expect(issues('CONTAINER', { ...CONTAINER, user: 'root' })).toEqual([
      { path: 'payload.user', message: 'must be a numeric "uid" or "uid:gid", such as "1000:1000"' },
    ]);
    for (const user of ['2147483648', '1:2147483648']) {
      expect(issues('CONTAINER', { ...CONTAINER, user }), user).toEqual([
        { path: 'payload.user', message: 'must have a uid and gid of at most 2147483647' },
      ]);
    }
  });
});

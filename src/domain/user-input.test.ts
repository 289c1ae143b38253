import { describe, expect, it } from 'vitest';
import {
  canonicalScopes,
  DEFAULT_TOKEN_SCOPES,
  isLoopbackHost,
  PasswordSchema,
  resolveSignupMode,
  scopesOfRole,
  TokenCreateSchema,
  UserUpdateSchema,
} from './user-input.ts';

describe('scopes', () => {
  it('an admin session has every scope, a user session all but admin', () => {
    expect(scopesOfRole('admin')).toEqual(['read', 'write', 'tokens', 'admin']);
    expect(scopesOfRole('user')).toEqual(['read', 'write', 'tokens']);
  });

  it('a token created without scopes can neither mint tokens nor administer', () => {
    expect(DEFAULT_TOKEN_SCOPES).toEqual(['read', 'write']);
  });

  it('canonical scopes drop duplicates and follow the catalogue order', () => {
    expect(canonicalScopes(['admin', 'read', 'admin', 'tokens'])).toEqual(['read', 'tokens', 'admin']);
    expect(canonicalScopes([])).toEqual([]);
  });
});

describe('resolveSignupMode', () => {
  it('keeps a mode that is not auto, wherever the process runs', () => {
    expect(resolveSignupMode('closed', 'localhost', true)).toBe('closed');
    expect(resolveSignupMode('open', '0.0.0.0', false)).toBe('open');
    expect(resolveSignupMode('invite', '127.0.0.1', true)).toBe('invite');
  });

  it('auto is open only for a process serving the API on a loopback host', () => {
    expect(resolveSignupMode('auto', '127.0.0.1', true)).toBe('open');
    expect(resolveSignupMode('auto', '127.0.0.1', false)).toBe('invite');
    expect(resolveSignupMode('auto', '0.0.0.0', true)).toBe('invite');
  });
});

describe('isLoopbackHost', () => {
  it.each([
    'localhost',
    ' LocalHost ',
    'app.localhost',
    '127.0.0.1',
    '127.255.0.9',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '[::ffff:7f00:1]',
  ])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    '',
    'localhost.example.com',
    'mylocalhost',
    '0.0.0.0',
    '128.0.0.1',
    '10.0.0.1',
    '::',
    '::2',
    '::1:1',
    '1::1',
    '::ffff:128.0.0.1',
    '::fffe:127.0.0.1',
    '::127.0.0.1',
    'example.com',
    '[::1',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('account input', () => {
  it('a new password that is too short or too long is refused for its length only', () => {
    const short = PasswordSchema.safeParse('aaaa');
    expect(short.success).toBe(false);
    expect(short.error?.issues.map((i) => i.code)).toEqual(['too_small']);
    const long = PasswordSchema.safeParse('a'.repeat(129));
    expect(long.error?.issues.map((i) => i.code)).toEqual(['too_big']);
  });

  it('a weak new password of an accepted length is refused with the estimator’s words', () => {
    const weak = PasswordSchema.safeParse('aaaaaaaaaa');
    expect(weak.success).toBe(false);
    expect(weak.error?.issues).toHaveLength(1);
    expect(weak.error?.issues[0]?.code).toBe('custom');
    expect(PasswordSchema.safeParse('correct horse battery staple 42').success).toBe(true);
  });

  it('changing the password needs the current one', () => {
    const missing = UserUpdateSchema.safeParse({ new_password: 'correct horse battery staple 42' });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['current_password'], 'is required to change the password'],
    ]);
    expect(
      UserUpdateSchema.safeParse({
        current_password: 'x',
        new_password: 'correct horse battery staple 42',
      }).success,
    ).toBe(true);
    expect(UserUpdateSchema.safeParse({ current_password: 'x' }).success).toBe(true);
  });

  it('a token gets an expiry date or a number of days, not both', () => {
    const both = TokenCreateSchema.safeParse({
      name: 'ci',
      expires_at: '2030-01-01T00:00:00Z',
      expires_in_days: 3,
    });
    expect(both.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['expires_at'], 'give expires_at or expires_in_days, not both'],
    ]);
    expect(TokenCreateSchema.safeParse({ name: 'ci', expires_at: '2030-01-01T00:00:00Z' }).success).toBe(
      true,
    );
    expect(TokenCreateSchema.safeParse({ name: 'ci', expires_in_days: 3 }).success).toBe(true);
    expect(TokenCreateSchema.safeParse({ name: 'c\u0007i' }).success).toBe(false);
  });
});

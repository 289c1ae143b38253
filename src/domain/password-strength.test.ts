import { describe, expect, it } from 'vitest';
import { fieldIssuesFromZod } from './field-issues.ts';
import { PASSWORD_MIN_SCORE, passwordWeakness } from './password-strength.ts';
import { CredentialsSchema, isLoopbackHost, resolveSignupMode } from './user-input.ts';

describe('password strength', () => {
  it('refuses the passwords the probe got accepted, with the estimator’s feedback', () => {
    for (const weak of [
      'password',
      'abcdefgh',
      '        ',
      'passwordpassword',
      'abcdefghijkl',
      '1234567890',
    ]) {
      const weakness = passwordWeakness(weak);
      expect(weakness, weak).toMatch(/^is too easy to guess \(strength [0-2] of 4, at least 3 needed\)/);
    }
    expect(passwordWeakness('password')).toMatch(/heavily used password/);
    expect(passwordWeakness('          ')).toMatch(/Repeated characters/);
  });

  it('accepts a few unrelated words', () => {
    expect(PASSWORD_MIN_SCORE).toBe(3);
    for (const strong of ['correct horse battery', 'Kettle-Orbit-Saffron-92', 'a long enough password']) {
      expect(passwordWeakness(strong), strong).toBeNull();
    }
  });

  it('counts the account’s own email against the password', () => {
    const email = 'zorblatt.quenwick@example.com';
    expect(passwordWeakness('zorblattquenwick')).toBeNull();
    expect(passwordWeakness('zorblattquenwick', [email])).toMatch(/personal or page related data/);
  });

  it('says the whole refusal: the score, then the estimator’s warning and suggestions, in that order', () => {
    expect(passwordWeakness('password')).toBe(
      'is too easy to guess (strength 0 of 4, at least 3 needed): This is a heavily used password. ' +
        'Add more words that are less common.',
    );
    // No warning (not a known password), only suggestions: nothing empty in between.
    expect(passwordWeakness('Summer2024!')).toBe(
      'is too easy to guess (strength 2 of 4, at least 3 needed): Add more words that are less common. ' +
        'Capitalize more than the first letter.',
    );
  });

  it('accepts a password of exactly the minimum score', () => {
    // zxcvbn scores "horse battery" 3 of 4: the bar is "at least", not "more than".
    expect(passwordWeakness('horse battery')).toBeNull();
  });

  it('counts the words of the email’s domain too', () => {
    expect(passwordWeakness('zorblattquenwick')).toBeNull();
    expect(passwordWeakness('zorblattquenwick', ['ann@zorblattquenwick.example'])).toMatch(
      /personal or page related data/,
    );
  });

  it('reports one issue on `password`: the length rule first, then strength', () => {
    const issues = (password: string) => {
      const r = CredentialsSchema.safeParse({ email: 'a@example.com', password });
      return r.success ? [] : fieldIssuesFromZod(r.error.issues);
    };
    expect(issues('short')).toEqual([{ path: 'password', message: expect.stringMatching(/10/) }]);
    expect(issues('passwordpassword')).toEqual([
      { path: 'password', message: expect.stringMatching(/too easy to guess/) },
    ]);
    expect(issues('correct horse battery')).toEqual([]);
  });
});

describe('sign-up mode', () => {
  it('is open by default only for an API served on loopback', () => {
    for (const host of [
      'localhost',
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      'app.localhost',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(resolveSignupMode('auto', host, true)).toBe('open');
      expect(resolveSignupMode('auto', host, false)).toBe('invite');
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.4', 'example.com', '::2', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
      expect(resolveSignupMode('auto', host, true)).toBe('invite');
    }
    expect(resolveSignupMode('closed', 'localhost', true)).toBe('closed');
    expect(resolveSignupMode('open', '0.0.0.0', false)).toBe('open');
  });
});

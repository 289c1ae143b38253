import { describe, expect, it } from 'vitest';
import { formatRelativeTime } from './relative-time.ts';

describe('formatRelativeTime', () => {
  const now = new Date('2024-03-05T12:00:00Z');

  it('says "now" within a minute either way (clock skew)', () => {
    expect(formatRelativeTime('2024-03-05T11:59:30Z', now, 'en')).toBe('now');
    expect(formatRelativeTime('2024-03-05T12:00:20Z', now, 'en')).toBe('now');
  });

  it('picks the largest whole unit', () => {
    expect(formatRelativeTime('2024-03-05T11:57:00Z', now, 'en')).toBe('3 minutes ago');
    expect(formatRelativeTime('2024-03-05T09:00:00Z', now, 'en')).toBe('3 hours ago');
    expect(formatRelativeTime('2024-03-04T12:00:00Z', now, 'en')).toBe('yesterday');
    expect(formatRelativeTime('2024-02-20T12:00:00Z', now, 'en')).toBe('2 weeks ago');
  });

  it('returns an empty string for a malformed timestamp', () => {
    expect(formatRelativeTime('not a date', now, 'en')).toBe('');
  });
});

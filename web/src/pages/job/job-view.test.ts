import { describe, expect, it } from 'vitest';
import { attemptsText, jobResult, retryBlocker } from './job-view.ts';

describe('job wording', () => {
  it('says "of N" only while another attempt can still happen', () => {
    expect(attemptsText({ status: 'RUNNING', attempts: 1, max_attempts: 3 })).toBe('1 of 3');
    expect(attemptsText({ status: 'PENDING', attempts: 2, max_attempts: 3 })).toBe('2 of 3');
    expect(attemptsText({ status: 'RUNNING', attempts: 3, max_attempts: 3 })).toBe('3');
    expect(attemptsText({ status: 'COMPLETED', attempts: 1, max_attempts: 3 })).toBe('1');
    expect(attemptsText({ status: 'FAILED', attempts: 1, max_attempts: 3 })).toBe('1');
  });

  it('offers a retry only where the API accepts one', () => {
    const live = { terminated_at: null, build_status: 'COMPLETED' };
    expect(retryBlocker({ status: 'FAILED' }, live)).toBeNull();
    expect(retryBlocker({ status: 'CANCELED' }, live)).toBeNull();
    expect(retryBlocker({ status: 'COMPLETED' }, live)).not.toBeNull();
    expect(retryBlocker({ status: 'RUNNING' }, live)).not.toBeNull();
    expect(retryBlocker({ status: 'FAILED' }, { ...live, terminated_at: '2026-01-01T00:00:00Z' })).toMatch(
      /terminated/,
    );
    expect(retryBlocker({ status: 'FAILED' }, { ...live, build_status: 'FAILED' })).toMatch(/build/);
    expect(retryBlocker({ status: 'FAILED' }, undefined)).not.toBeNull();
  });

  it('sums up the result', () => {
    expect(jobResult({ error: null, exit_code: 0, http_status_code: null })).toBe('exit 0');
    expect(jobResult({ error: null, exit_code: null, http_status_code: 204 })).toBe('HTTP 204');
    expect(
      jobResult({
        error: { kind: 'USER', code: 'TIMEOUT', message: 'timed out' },
        exit_code: null,
        http_status_code: null,
      }),
    ).toBe('timed out');
  });
});

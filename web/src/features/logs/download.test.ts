import { describe, expect, it } from 'vitest';
import { logsDownloadName, logsDownloadUrl } from './download.ts';

const WF = '01900000-0000-7000-8000-000000000001';
const JOB = '01900000-0000-7000-8000-000000000002';

describe('log downloads', () => {
  it('points at the raw endpoint in each format', () => {
    for (const format of ['txt', 'json', 'jsonl'] as const) {
      const url = new URL(logsDownloadUrl(WF, JOB, format, { stream: 'all', query: '' }), 'http://x');
      expect(url.pathname).toBe(`/api/v1/workflows/${WF}/jobs/${JOB}/logs/raw`);
      expect([...url.searchParams]).toEqual([['format', format]]);
      expect(logsDownloadName(JOB, format)).toBe(`${JOB}-logs.${format}`);
    }
  });

  it('carries the stream and search filters, encoded', () => {
    const url = new URL(
      logsDownloadUrl(WF, JOB, 'jsonl', { stream: 'stderr', query: 'a&b=c %' }),
      'http://x',
    );
    expect(url.searchParams.get('format')).toBe('jsonl');
    expect(url.searchParams.get('stream')).toBe('stderr');
    expect(url.searchParams.get('q')).toBe('a&b=c %');
  });
});

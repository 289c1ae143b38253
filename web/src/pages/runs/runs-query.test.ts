import { describe, expect, it } from 'vitest';
import {
  isoToLocalInput,
  localInputToIso,
  rangeError,
  runFiltersFromSearch,
  runListParams,
  searchFromRunFilters,
} from './runs-query.ts';

describe('runs filters in the URL', () => {
  it('reads known values only, statuses in a fixed order', () => {
    const filters = runFiltersFromSearch(
      new URLSearchParams(
        'status=FAILED,BOGUS,CANCELED,FAILED&workflow=w1&trigger=NOPE&since=2026-01-05T08:00:00Z',
      ),
    );
    expect(filters).toEqual({
      status: ['FAILED', 'CANCELED'],
      workflowId: 'w1',
      trigger: '',
      since: '2026-01-05T08:00:00.000Z',
      until: '',
    });
    expect(searchFromRunFilters(filters).toString()).toBe(
      'status=FAILED%2CCANCELED&workflow=w1&since=2026-01-05T08%3A00%3A00.000Z',
    );
  });

  it('turns them into the GET /jobs query, leaving out an impossible range', () => {
    const filters = runFiltersFromSearch(
      new URLSearchParams(
        'status=COMPLETED&trigger=MANUAL&since=2026-01-05T08:00:00Z&until=2026-01-06T08:00:00Z',
      ),
    );
    expect(runListParams(filters, 'c2')).toEqual({
      limit: 25,
      status: ['COMPLETED'],
      trigger: 'MANUAL',
      since: '2026-01-05T08:00:00.000Z',
      until: '2026-01-06T08:00:00.000Z',
      cursor: 'c2',
    });
    const backwards = { ...filters, until: '2026-01-04T08:00:00.000Z' };
    expect(rangeError(backwards)).not.toBeNull();
    expect(runListParams(backwards, undefined)).not.toHaveProperty('until');
    expect(runListParams(runFiltersFromSearch(new URLSearchParams()), undefined)).toEqual({ limit: 25 });
  });

  it('converts between datetime-local values (browser zone) and UTC both ways', () => {
    const iso = localInputToIso('2026-03-29T02:30');
    expect(iso).toMatch(/^2026-03-2\dT\d\d:\d\d:00\.000Z$/);
    const local = isoToLocalInput('2026-01-05T08:15:00.000Z');
    expect(localInputToIso(local)).toBe('2026-01-05T08:15:00.000Z');
    expect(localInputToIso('2026-01-05')).toBe('');
    expect(isoToLocalInput('')).toBe('');
  });
});

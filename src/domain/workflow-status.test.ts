import { describe, expect, it } from 'vitest';
import { BUILD_STATUSES, deriveWorkflowStatus, type BuildStatus } from './workflow-status.ts';

const at = new Date('2021-01-01T00:00:00Z');

describe('deriveWorkflowStatus', () => {
  const expected: Record<BuildStatus, string> = {
    QUEUED: 'BUILDING',
    STARTED: 'BUILDING',
    COMPLETED: 'ACTIVE',
    FAILED: 'BUILD_FAILED',
    CANCELED: 'BUILD_FAILED',
  };
  it.each(BUILD_STATUSES)('build %s without flags', (buildStatus) => {
    expect(deriveWorkflowStatus({ buildStatus, terminatedAt: null, completedAt: null, pausedAt: null })).toBe(
      expected[buildStatus],
    );
  });
  it.each(BUILD_STATUSES)('terminated wins over build %s', (buildStatus) => {
    expect(deriveWorkflowStatus({ buildStatus, terminatedAt: at, completedAt: at, pausedAt: at })).toBe(
      'TERMINATED',
    );
  });
  it.each(BUILD_STATUSES)('completed (a once schedule that ran) wins over build %s', (buildStatus) => {
    expect(deriveWorkflowStatus({ buildStatus, terminatedAt: null, completedAt: at, pausedAt: at })).toBe(
      'COMPLETED',
    );
  });
  it('paused only matters once built', () => {
    expect(
      deriveWorkflowStatus({ buildStatus: 'COMPLETED', terminatedAt: null, completedAt: null, pausedAt: at }),
    ).toBe('PAUSED');
    expect(
      deriveWorkflowStatus({ buildStatus: 'QUEUED', terminatedAt: null, completedAt: null, pausedAt: at }),
    ).toBe('BUILDING');
  });
});

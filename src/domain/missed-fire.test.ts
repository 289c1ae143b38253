import { describe, expect, it } from 'vitest';
import { missedFire, type MissedFireInput } from './missed-fire.ts';

const NOW = new Date('2027-01-04T09:02:00Z');
const input = (over: Partial<MissedFireInput>): MissedFireInput => ({
  overdueNextRunAt: null,
  buildStatus: 'COMPLETED',
  waiting: null,
  lastTick: null,
  now: NOW,
  afterMs: 60_000,
  ...over,
});

describe('missedFire', () => {
  it('nothing overdue, nothing waiting: no miss', () => {
    expect(missedFire(input({}))).toBeNull();
  });

  it('a fire time no scheduler ran: SCHEDULER_DOWN, with the ledger gap', () => {
    const due = new Date('2027-01-04T09:00:00Z');
    const m = missedFire(
      input({
        overdueNextRunAt: due,
        lastTick: {
          nominalAt: new Date('2027-01-04T08:59:00Z'),
          recordedAt: new Date('2027-01-04T08:59:00.2Z'),
        },
      }),
    );
    expect(m).toMatchObject({ cause: 'SCHEDULER_DOWN', dueAt: due });
    expect(m!.reason).toBe(
      "its fire time of 2027-01-04T09:00:00.000Z had not started after 120 s: no scheduler ran it (none running, or none keeping up; alert after 60 s); the tick ledger's last entry is for 2027-01-04T08:59:00.000Z, recorded 2027-01-04T08:59:00.200Z",
    );
  });

  it('not built wins over the scheduler, and the scheduler over waiting runs', () => {
    const due = new Date('2027-01-04T09:00:00Z');
    const waiting = { since: new Date('2027-01-04T08:58:00Z'), count: 2 };
    expect(missedFire(input({ overdueNextRunAt: due, buildStatus: 'STARTED', waiting }))).toMatchObject({
      cause: 'NOT_BUILT',
    });
    expect(missedFire(input({ overdueNextRunAt: due, waiting }))?.cause).toBe('SCHEDULER_DOWN');
    const saturated = missedFire(input({ waiting }));
    expect(saturated).toMatchObject({ cause: 'EXECUTORS_SATURATED', dueAt: waiting.since });
    expect(saturated!.reason).toContain('(2 of its runs are waiting)');
  });
});

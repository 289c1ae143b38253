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

  it('a failed build: NOT_BUILT from the ledger as soon as its last entry is NOT_BUILT, or from an overdue fire time', () => {
    const last = (iso: string, outcome = 'NOT_BUILT') => ({
      nominalAt: new Date(iso),
      recordedAt: new Date(iso),
      outcome,
    });
    const failed = { buildStatus: 'FAILED', buildError: 'image x not found' };
    const m = missedFire(input({ ...failed, lastTick: last('2027-01-04T09:01:00Z') }));
    expect(m).toMatchObject({ cause: 'NOT_BUILT', dueAt: new Date('2027-01-04T09:01:00Z') });
    expect(m!.reason).toBe(
      "its fire time of 2027-01-04T09:01:00.000Z did not run: the workflow's build failed (image x not found); edit or rebuild it to run it again (fire times until then are recorded as NOT_BUILT)",
    );
    // At once (a NOT_BUILT fire time will not run); not when the last entry is another outcome.
    expect(missedFire(input({ ...failed, lastTick: last('2027-01-04T09:01:59Z') }))?.cause).toBe('NOT_BUILT');
    expect(missedFire(input({ ...failed, lastTick: last('2027-01-04T09:00:00Z', 'STARTED') }))).toBeNull();
    expect(
      missedFire(input({ buildStatus: 'COMPLETED', lastTick: last('2027-01-04T09:00:00Z') })),
    ).toBeNull();
    // No scheduler recording it: the overdue fire time, with the build's error.
    const due = new Date('2027-01-04T09:00:00Z');
    expect(missedFire(input({ ...failed, overdueNextRunAt: due }))!.reason).toContain(
      "had not started after 120 s: the workflow's build failed (image x not found)",
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCHEDULE_POLICY,
  decideOverlap,
  isDefaultPolicy,
  jitterMs,
  jitterProblem,
  keptFires,
  NONE_GRACE_SECONDS,
  SchedulePolicySchema,
  schedulePolicyFrom,
  schedulePolicyFromView,
  schedulePolicyView,
  minimalPolicyInput,
  type OverlapPolicy,
  type SchedulePolicyView,
} from './schedule-policy.ts';

describe('decideOverlap', () => {
  // [policy, new fire times, running, waiting] → [runs admitted, cancel the unfinished ones]
  it.each<[OverlapPolicy, number, number, number, number, boolean]>([
    ['BUFFER_ALL', 3, 1, 4, 3, false],
    ['BUFFER_ALL', 1, 0, 0, 1, false],
    ['SKIP', 1, 0, 0, 1, false],
    ['SKIP', 3, 0, 0, 1, false],
    ['SKIP', 1, 1, 0, 0, false],
    ['SKIP', 1, 0, 1, 0, false],
    ['BUFFER_ONE', 1, 0, 0, 1, false],
    ['BUFFER_ONE', 3, 0, 0, 2, false],
    ['BUFFER_ONE', 1, 1, 0, 1, false],
    ['BUFFER_ONE', 2, 1, 0, 1, false],
    ['BUFFER_ONE', 1, 1, 1, 0, false],
    ['BUFFER_ONE', 1, 0, 1, 1, false],
    ['CANCEL_OTHER', 1, 0, 0, 1, false],
    ['CANCEL_OTHER', 1, 1, 0, 1, true],
    ['CANCEL_OTHER', 4, 1, 2, 1, true],
    ['CANCEL_OTHER', 0, 1, 0, 0, false],
    ['ALLOW_ALL', 3, 2, 5, 3, false],
    ['ALLOW_ALL', 1, 0, 0, 1, false],
  ])(
    '%s with %d fire time(s), %d running, %d waiting: %d run(s), cancel %s',
    (policy, fires, running, waiting, admit, cancel) => {
      expect(decideOverlap(policy, fires, { running, waiting })).toEqual({ admit, cancelActive: cancel });
    },
  );

  it('keeps the earliest fire times, except CANCEL_OTHER which keeps the most recent', () => {
    expect(keptFires('BUFFER_ONE', ['a', 'b', 'c'], 2)).toEqual(['a', 'b']);
    expect(keptFires('SKIP', ['a', 'b', 'c'], 1)).toEqual(['a']);
    expect(keptFires('CANCEL_OTHER', ['a', 'b', 'c'], 1)).toEqual(['c']);
    expect(keptFires('BUFFER_ALL', ['a', 'b'], 0)).toEqual([]);
  });
});

describe('jitterMs', () => {
  const workflow = '0192d4c1-7a3b-7000-8000-000000000001';

  it('is zero without jitter', () => {
    expect(jitterMs(workflow, new Date('2027-01-01T00:00:00Z'), 0)).toBe(0);
  });

  it('is deterministic per workflow and fire time, within bounds, and spread over 10k fire times', () => {
    const start = Date.parse('2027-01-01T00:00:00Z');
    const seconds = 60;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const at = new Date(start + i * 60_000);
      const ms = jitterMs(workflow, at, seconds);
      expect(ms).toBe(jitterMs(workflow, new Date(at.getTime()), seconds));
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(seconds * 1000);
      buckets[Math.floor(ms / 6000)]! += 1;
    }
    // Ten equal buckets of 1,000 expected; a hash that clumps would leave some near empty.
    for (const count of buckets) expect(count).toBeGreaterThan(800);
  });

  it('differs between workflows due at the same instant (a top-of-the-hour burst spreads)', () => {
    const at = new Date('2027-01-01T00:00:00Z');
    const offsets = new Set(
      Array.from({ length: 1000 }, (_, i) =>
        jitterMs(`0192d4c1-7a3b-7000-8000-${String(i).padStart(12, '0')}`, at, 300),
      ),
    );
    expect(offsets.size).toBeGreaterThan(990);
  });

  it('property: always within [0, jitter)', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: 1, max: 3600 }),
        (id, ms, s) => {
          const j = jitterMs(id, new Date(ms), s);
          return j >= 0 && j < s * 1000 && Number.isInteger(j);
        },
      ),
    );
  });
});

describe('schedule policy input', () => {
  it('fills the defaults: today’s behaviour', () => {
    expect(schedulePolicyFrom(undefined)).toEqual(DEFAULT_SCHEDULE_POLICY);
    expect(schedulePolicyFrom({})).toEqual(DEFAULT_SCHEDULE_POLICY);
    expect(isDefaultPolicy(schedulePolicyFrom({ overlap: 'BUFFER_ALL', catch_up: { mode: 'LATEST' } }))).toBe(
      true,
    );
    expect(isDefaultPolicy(schedulePolicyFrom({ overlap: 'SKIP' }))).toBe(false);
  });

  it('NONE gets a grace window unless one is given', () => {
    expect(schedulePolicyFrom({ catch_up: { mode: 'NONE' } }).catchUp.windowSeconds).toBe(NONE_GRACE_SECONDS);
    expect(schedulePolicyFrom({ catch_up: { mode: 'NONE', window_seconds: 5 } }).catchUp.windowSeconds).toBe(
      5,
    );
    expect(schedulePolicyFrom({ catch_up: { mode: 'LATEST' } }).catchUp.windowSeconds).toBeNull();
  });

  it('reads a view stored before the DST policy as the defaults, and writes no dst for it', () => {
    const old = {
      overlap: 'SKIP',
      catch_up: { mode: 'LATEST', window_seconds: null, max_runs: null },
      jitter_seconds: 0,
      starting_deadline_seconds: null,
    } as unknown as SchedulePolicyView;
    expect(schedulePolicyFromView(old).dst).toEqual({ gap: 'RUN_AFTER_GAP', overlap: null });
    expect(minimalPolicyInput(old)).toEqual({ overlap: 'SKIP' });
  });

  it('round-trips a DST policy through the view, and says only what differs', () => {
    const policy = schedulePolicyFrom({ dst: { gap: 'SKIP' } });
    expect(policy.dst).toEqual({ gap: 'SKIP', overlap: null });
    expect(isDefaultPolicy(policy)).toBe(false);
    expect(schedulePolicyFromView(schedulePolicyView(policy))).toEqual(policy);
    expect(minimalPolicyInput(schedulePolicyView(policy))).toEqual({ dst: { gap: 'SKIP' } });
    expect(minimalPolicyInput(schedulePolicyView(schedulePolicyFrom({ dst: { overlap: 'FIRST' } })))).toEqual(
      {
        dst: { overlap: 'FIRST' },
      },
    );
    expect(isDefaultPolicy(schedulePolicyFrom({ dst: { gap: 'RUN_AFTER_GAP' } }))).toBe(true);
  });

  it('views every field, max_runs only for ALL', () => {
    expect(
      schedulePolicyView(schedulePolicyFrom({ catch_up: { mode: 'ALL', max_runs: 7 }, jitter_seconds: 30 })),
    ).toEqual({
      overlap: 'BUFFER_ALL',
      catch_up: { mode: 'ALL', window_seconds: null, max_runs: 7 },
      jitter_seconds: 30,
      starting_deadline_seconds: null,
      dst: { gap: 'RUN_AFTER_GAP', overlap: null },
    });
    expect(schedulePolicyView(DEFAULT_SCHEDULE_POLICY).catch_up.max_runs).toBeNull();
  });

  it.each([
    [{ overlap: 'ALLOW' }, 'overlap'],
    [{ catch_up: { mode: 'LATEST', max_runs: 3 } }, 'catch_up.max_runs'],
    [{ catch_up: { mode: 'ALL', max_runs: 0 } }, 'catch_up.max_runs'],
    [{ catch_up: { window_seconds: 10 } }, 'catch_up.mode'],
    [{ catch_up: { mode: 'ALL', window_seconds: 0 } }, 'catch_up.window_seconds'],
    [{ jitter_seconds: 3601 }, 'jitter_seconds'],
    [{ jitter_seconds: 1.5 }, 'jitter_seconds'],
    [{ unknown: 1 }, ''],
  ])('refuses %j at %s', (input, path) => {
    const parsed = SchedulePolicySchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('jitterProblem', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  it('accepts a jitter shorter than the interval and refuses one as long', () => {
    expect(jitterProblem({ type: 'interval', intervalMinutes: 5 }, 299, now)).toBeNull();
    expect(jitterProblem({ type: 'interval', intervalMinutes: 5 }, 300, now)).toMatch(
      /less than .* \(300 seconds\)/,
    );
  });

  it('bounds a cron jitter by its shortest gap', () => {
    // 09:00 and 09:10 every day: the gap that matters is ten minutes, not a day.
    const cron = { type: 'cron' as const, cron: '0,10 9 * * *', timezone: 'Europe/Berlin' };
    expect(jitterProblem(cron, 599, now)).toBeNull();
    expect(jitterProblem(cron, 600, now)).toMatch(/600 seconds/);
    expect(jitterProblem(cron, 0, now)).toBeNull();
  });
});

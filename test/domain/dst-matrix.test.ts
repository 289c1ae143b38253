/**
 * The DST matrix: every row of dst-matrix.ts under every `dst` policy, through the three paths that
 * compute fire times (nextRunAfter's walk, catch-up's plan, the preview), against the hand-worked
 * fire times; and docs/scheduling.md shows the current matrix.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { planTick } from '../../src/domain/catch-up.ts';
import { DST_GAP_POLICIES, DST_OVERLAP_POLICIES } from '../../src/domain/dst.ts';
import { DEFAULT_SCHEDULE_POLICY } from '../../src/domain/schedule-policy.ts';
import { previewFireTimes } from '../../src/domain/schedule-preview.ts';
import { nextRunAfter, type Schedule } from '../../src/domain/schedule.ts';
import { DST_MATRIX, expectedFires, withMatrix } from './dst-matrix.ts';

const POLICIES = DST_GAP_POLICIES.flatMap((gap) =>
  [...DST_OVERLAP_POLICIES, null].map((overlap) => ({ gap, overlap })),
);

describe('DST matrix', () => {
  for (const row of DST_MATRIX) {
    for (const dst of POLICIES) {
      it(`${row.zone} ${row.cron} (${row.hits}) ${row.from} with gap ${dst.gap}, overlap ${dst.overlap ?? 'default'}`, () => {
        const schedule: Schedule = {
          type: 'cron',
          cron: row.cron,
          timezone: row.zone,
          policy: { ...DEFAULT_SCHEDULE_POLICY, dst },
        };
        const from = new Date(row.from);
        const to = new Date(row.to);
        const expected = expectedFires(row, dst.gap, dst.overlap).map((iso) => new Date(iso).toISOString());
        // Parsing the hand-written times cannot hide a typo in an offset: each must be in the window.
        for (const at of expected) expect(at >= from.toISOString() && at < to.toISOString()).toBe(true);

        const walked: string[] = [];
        for (
          let at = nextRunAfter(schedule, new Date(from.getTime() - 1));
          at !== null && at < to;
          at = nextRunAfter(schedule, at)
        ) {
          walked.push(at.toISOString());
        }
        expect(walked).toEqual(expected);

        // Catch-up after an outage over the whole window runs the same fire times (ALL)...
        const first = new Date(expected[0]!);
        const plan = planTick(schedule, first, new Date(to.getTime() - 1), {
          mode: 'ALL',
          windowSeconds: null,
          maxRuns: 1_000,
        });
        expect(plan.fires.map((d) => d.toISOString())).toEqual(expected);
        expect(plan.nextRunAt).toEqual(nextRunAfter(schedule, new Date(to.getTime() - 1)));

        // ...and the preview shows them.
        const preview = previewFireTimes(schedule, new Date(from.getTime() - 1), expected.length);
        expect(preview.map((f) => f.at.toISOString())).toEqual(expected);
      });
    }
  }

  it('docs/scheduling.md shows the current matrix (run `npm run docs:dst`)', async () => {
    const doc = await readFile('docs/scheduling.md', 'utf8');
    expect(doc).toBe(withMatrix(doc));
  });
});

/**
 * Property (issue 13): the preview a user reads is what the scheduler fires. Random schedules
 * (intervals, cron expressions in zones with and without daylight saving, DST policies, jitter),
 * created and edited at random instants through the workflows service, over a simulated week that
 * crosses a DST change; the real scheduler ticks on a test clock. After each create or edit, the
 * preview from that instant (up to the next edit) must be exactly the runs the scheduler then
 * created: the same instants, none missing, none extra.
 *
 * The scheduler ticks just after each previewed fire time (and at each edit): a fire time the
 * preview did not announce would still show up, as an extra run created at the next tick.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_POLICY_DEFAULTS } from '../../src/domain/container-policy.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const WEEK = 7 * 86_400_000;
const logger = createLogger('silent');

/** Starts a few days before DST changes of 2027 (Berlin, New York, Lord Howe), at odd seconds. */
const STARTS = [
  '2027-03-25T20:17:07.250Z',
  '2027-10-28T21:03:41.500Z',
  '2027-03-11T13:44:19.125Z',
  '2027-04-01T08:08:08.000Z',
].map((s) => Date.parse(s));

const CRONS = ['0 * * * *', '30 2 * * *', '*/30 * * * *', '15,45 1-3 * * *', '0 9 * * 1-5', '45 23 * * *'];
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'UTC'];

const policy = fc.record({
  jitter_seconds: fc.constantFrom(0, 45, 600),
});
const dst = fc.record({
  gap: fc.constantFrom('SKIP', 'RUN_AFTER_GAP'),
  overlap: fc.constantFrom('FIRST', 'BOTH', undefined),
});
const schedule = fc.oneof(
  fc.record({
    type: fc.constant('interval'),
    interval_minutes: fc.integer({ min: 37, max: 240 }),
    policy,
  }),
  fc
    .record({
      type: fc.constant('cron'),
      cron: fc.constantFrom(...CRONS),
      timezone: fc.constantFrom(...ZONES),
      policy,
      dst,
    })
    .map(({ dst: d, ...s }) => ({
      ...s,
      policy: { ...s.policy, dst: d.overlap === undefined ? { gap: d.gap } : d },
    })),
);
const story = fc.record({
  start: fc.constantFrom(...STARTS),
  first: schedule,
  // Up to two edits, at random instants of the week (milliseconds after the start).
  edits: fc.array(fc.record({ at: fc.integer({ min: 60_000, max: WEEK - 60_000 }), schedule }), {
    maxLength: 2,
  }),
});

describe.each(ENGINES)('preview = what the scheduler fires (%s)', (engine) => {
  let database: Database;
  let userId: string;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
  });
  afterAll(() => database.close());

  /**
   * The previewed fire times (`at`, jitter applied) whose nominal time is before `end`, page by
   * page (100 a page): a run is created when its nominal time is due, for its `at`.
   */
  async function previewUntil(workflows: WorkflowsService, id: string, end: number): Promise<number[]> {
    const times: number[] = [];
    let from: string | undefined;
    for (;;) {
      const { fire_times } = await workflows.preview(userId, id, { count: 100, ...(from ? { from } : {}) });
      for (const f of fire_times) if (Date.parse(f.nominal_at) < end) times.push(Date.parse(f.at));
      const last = fire_times.at(-1);
      if (!last || fire_times.length < 100 || Date.parse(last.nominal_at) >= end) return times;
      from = new Date(Date.parse(last.nominal_at) + 1).toISOString();
    }
  }

  it('over a simulated week with random schedules and edits', async () => {
    await fc.assert(
      fc.asyncProperty(story, async ({ start, first, edits }) => {
        const clock = new TestClock(start);
        const workflows = new WorkflowsService(database.db, clock, {
          idempotencyTtlMs: 60_000,
          policy: {
            outbound: { allowPrivateNetworks: true, ownPorts: new Set(), ownAddresses: new Set() },
            containers: CONTAINER_POLICY_DEFAULTS,
          },
        });
        const scheduler = new Scheduler({ db: database.db, clock, events: new Events(), logger });
        const created = await workflows.create(userId, {
          name: 'preview property',
          kind: 'HEARTBEAT',
          payload: { endpoint: 'https://example.com/ping' },
          schedule: first,
        });
        const id = created.body.id;
        // Heartbeats need no build; the scheduler takes built workflows only.
        await database.db
          .updateTable('workflows')
          .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
          .where('id', '=', id)
          .execute();
        // Segments end at each edit and at the week's end (an edit at an instant of its own).
        const ends = [...edits.map((e) => start + e.at).sort((a, b) => a - b), start + WEEK];
        const byTime = [...edits].sort((a, b) => a.at - b.at);
        const expected: string[] = [];
        try {
          for (let i = 0; i < ends.length; i++) {
            const segmentEnd = ends[i]!;
            const due = await previewUntil(workflows, id, segmentEnd);
            for (const t of due) {
              expected.push(new Date(t).toISOString());
              clock.advance(Math.max(0, t + 1_000 - clock.now().getTime()));
              await scheduler.runOnce();
            }
            // The last tick before the edit (or the week's end): what is due by then has run.
            clock.advance(Math.max(0, segmentEnd - 1 - clock.now().getTime()));
            await scheduler.runOnce();
            clock.advance(1);
            const edit = byTime[i];
            if (edit) await workflows.update(userId, id, { schedule: edit.schedule });
          }
          const jobs = await database.db
            .selectFrom('jobs')
            .select('scheduled_at')
            .where('workflow_id', '=', id)
            .orderBy('scheduled_at')
            .execute();
          expect(jobs.map((j) => j.scheduled_at.toISOString())).toEqual([...expected].sort());
        } finally {
          await database.db
            .updateTable('workflows')
            .set({ state: 'TERMINATED', terminated_at: clock.now() })
            .where('id', '=', id)
            .execute();
        }
      }),
      { numRuns: 8 },
    );
  }, 180_000);
});

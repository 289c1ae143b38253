/**
 * Missed-fire alerts (issue 13) on both engines, with a test clock: the real scheduler, the real
 * detector (src/workers/scheduler/missed-fires.ts), and the real notifications and webhooks
 * consumers fed the facts the detector wrote to the outbox. One alert per workflow and incident:
 * across repeated rounds, a restart and two detectors; a new one after the incident resolved.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { InProcessBus, type BusMessage } from '../../src/platform/bus/bus.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { MissedFireDetector } from '../../src/workers/scheduler/missed-fires.ts';
import { Scheduler } from '../../src/workers/scheduler/scheduler.ts';
import { WebhookConsumer } from '../../src/workers/webhooks/consumer.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';

const START = Date.parse('2027-01-04T09:00:00Z');
const MINUTE = 60_000;
const logger = createLogger('silent');

describe.each(ENGINES)('missed-fire alerts (%s)', (engine) => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(() => database.close());
  afterEach(async () => {
    await database.db
      .updateTable('workflows')
      .set({ state: 'TERMINATED', terminated_at: new Date() })
      .where('terminated_at', 'is', null)
      .execute();
    // Every test starts with no incident open (their workflows are terminated above).
    await database.db.updateTable('schedule_incidents').set({ resolved_at: new Date() }).execute();
  });

  async function setup(fixture: { buildStatus?: 'COMPLETED' | 'STARTED' | 'FAILED' } = {}) {
    const userId = await insertUser(database.db);
    const [id] = await insertWorkflows(database.db, [
      { userId, intervalMinutes: 1, nextRunAt: new Date(START), ...fixture },
    ]);
    const webhookId = newId();
    await database.db
      .insertInto('webhooks')
      .values({
        id: webhookId,
        user_id: userId,
        url: 'http://127.0.0.1:9/hook',
        secret: 'whsec_0123456789abcdef0123456789abcdef',
        event_types: ['schedule.missed'],
        description: null,
      })
      .execute();
    const clock = new TestClock(START);
    const events = new Events();
    const scheduler = new Scheduler({ db: database.db, clock, events, logger });
    const detector = () =>
      new MissedFireDetector({ db: database.db, clock, events, logger }, { afterMs: MINUTE });
    const at = (ms: number) => clock.advance(START + ms - clock.now().getTime());
    return { userId, id: id!, webhookId, clock, events, scheduler, detector, at };
  }

  /** The SCHEDULE_MISSED facts of a workflow, as the bus would carry them. */
  async function factsOf(workflowId: string): Promise<BusMessage[]> {
    const rows = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('key', '=', workflowId)
      .where('event_type', '=', 'SCHEDULE_MISSED')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: String(r.id),
      topic: r.topic,
      key: r.key,
      type: r.event_type,
      payload: r.payload as Record<string, unknown>,
    }));
  }

  async function deliver(facts: BusMessage[], clock: TestClock, events: Events) {
    const bus = new InProcessBus();
    // Delivered twice: the consumers' own exactly-once still holds on top of the incident's.
    for (let i = 0; i < 2; i++) {
      await new NotificationsConsumer({ db: database.db, events, logger, bus }).handle(facts);
      await new WebhookConsumer({ db: database.db, clock, events, logger, bus }).handle(facts);
    }
  }

  it('a stopped scheduler: one ALERT and one schedule.missed per incident, however many rounds and restarts', async () => {
    const s = await setup();
    s.at(59_000);
    expect(await s.detector().runOnce()).toMatchObject({ late: 0, opened: 0 });
    s.at(61_000);
    expect(await s.detector().runOnce()).toMatchObject({ late: 1, opened: 1 });
    s.at(5 * MINUTE);
    // The same detector again, and a "restarted" one: the incident is open, no repeat.
    const d = s.detector();
    expect(await d.runOnce()).toMatchObject({ late: 1, opened: 0 });
    expect(await s.detector().runOnce()).toMatchObject({ late: 1, opened: 0 });

    const facts = await factsOf(s.id);
    expect(facts).toHaveLength(1);
    expect(facts[0]!.payload).toMatchObject({
      workflow_id: s.id,
      cause: 'SCHEDULER_DOWN',
      due_at: new Date(START).toISOString(),
    });
    expect(facts[0]!.payload.reason).toContain('no scheduler ran it');
    expect(facts[0]!.payload.reason).toContain('the tick ledger has no entry for it yet');
    await deliver(facts, s.clock, s.events);
    const notifications = await database.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', s.userId)
      .execute();
    expect(notifications.map((n) => [n.kind, n.title])).toEqual([
      ['ALERT', 'Scheduled run missed: no scheduler ran it'],
    ]);
    const deliveries = await database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', s.webhookId)
      .execute();
    expect(deliveries.map((x) => x.event_type)).toEqual(['schedule.missed']);
    expect(JSON.parse(deliveries[0]!.body)).toMatchObject({
      type: 'schedule.missed',
      data: { cause: 'SCHEDULER_DOWN', incident_id: facts[0]!.payload.incident_id },
    });
  });

  it('two detectors at once open one incident', async () => {
    const s = await setup();
    s.at(2 * MINUTE);
    const results = await Promise.all([
      s.detector().runOnce(),
      s.detector().runOnce(),
      s.detector().runOnce(),
    ]);
    expect(results.reduce((n, r) => n + r.opened, 0)).toBe(1);
    expect(await factsOf(s.id)).toHaveLength(1);
    const open = await database.db
      .selectFrom('schedule_incidents')
      .selectAll()
      .where('workflow_id', '=', s.id)
      .execute();
    expect(open).toHaveLength(1);
  });

  it('resolved when a tick starts again; a later miss is a new incident with a new alert', async () => {
    const s = await setup();
    s.at(61_000);
    expect((await s.detector().runOnce()).opened).toBe(1);
    // The scheduler is back: it runs the due tick, the incident ends.
    await s.scheduler.runOnce();
    // …and an executor takes its run (without one it would still be late: waiting for an executor).
    await database.db
      .updateTable('jobs')
      .set({ status: 'COMPLETED', attempts: 1, completed_at: s.clock.now() })
      .where('workflow_id', '=', s.id)
      .execute();
    expect(await s.detector().runOnce()).toMatchObject({ late: 0, opened: 0, resolved: 1 });
    const [first] = await database.db
      .selectFrom('schedule_incidents')
      .selectAll()
      .where('workflow_id', '=', s.id)
      .execute();
    expect(first!.resolved_at).not.toBeNull();
    // Down again: its next fire time (09:02) is missed.
    s.at(2 * MINUTE + 61_000);
    expect((await s.detector().runOnce()).opened).toBe(1);
    const facts = await factsOf(s.id);
    expect(facts).toHaveLength(2);
    expect(facts[1]!.payload.incident_id).not.toBe(facts[0]!.payload.incident_id);
    // The ledger names the gap: its last entry is 09:01 (folded into the late run of 09:00),
    // recorded by the scheduler's last tick.
    expect(facts[1]!.payload.reason).toContain(
      "the tick ledger's last entry is for 2027-01-04T09:01:00.000Z, recorded 2027-01-04T09:01:01.000Z",
    );
    await deliver(facts, s.clock, s.events);
    expect(
      await database.db.selectFrom('notifications').select('id').where('user_id', '=', s.userId).execute(),
    ).toHaveLength(2);
  });

  it('names the cause: executors saturated, not built; a paused workflow is not alerted', async () => {
    // No executor: the scheduler's runs stay QUEUED.
    const saturated = await setup();
    for (const m of [0, 1, 2]) {
      saturated.at(m * MINUTE + 100);
      await saturated.scheduler.runOnce();
    }
    saturated.at(2 * MINUTE + 200);
    expect((await saturated.detector().runOnce()).opened).toBe(1);
    const [fact] = await factsOf(saturated.id);
    expect(fact!.payload).toMatchObject({
      cause: 'EXECUTORS_SATURATED',
      due_at: new Date(START).toISOString(),
    });
    expect(fact!.payload.reason).toContain('no executor took it');

    const unbuilt = await setup({ buildStatus: 'STARTED' });
    unbuilt.at(2 * MINUTE);
    await unbuilt.scheduler.runOnce();
    await unbuilt.detector().runOnce();
    expect((await factsOf(unbuilt.id))[0]!.payload).toMatchObject({ cause: 'NOT_BUILT' });

    const paused = await setup();
    const workflows = new WorkflowsService(
      database.db,
      paused.clock,
      { idempotencyTtlMs: 60_000 },
      paused.events,
    );
    await workflows.pause(paused.userId, paused.id, { note: 'maintenance' });
    paused.at(10 * MINUTE);
    await paused.detector().runOnce();
    expect(await factsOf(paused.id)).toEqual([]);
  });

  it('a failed build: one NOT_BUILT incident naming the build error while the scheduler records NOT_BUILT; resolved by the rebuild', async () => {
    const failed = await setup({ buildStatus: 'FAILED' });
    await database.db
      .updateTable('workflows')
      .set({ build_error: 'image example:missing not found' })
      .where('id', '=', failed.id)
      .execute();
    const workflows = new WorkflowsService(
      database.db,
      failed.clock,
      { idempotencyTtlMs: 60_000 },
      failed.events,
    );
    // The scheduler keeps recording (and moving on): next_run_at is never overdue, the ledger is.
    for (const m of [0, 1, 2, 3]) {
      failed.at(m * MINUTE + 100);
      expect(await failed.scheduler.runOnce()).toMatchObject({ notBuilt: 1 });
      await failed.detector().runOnce();
    }
    const facts = await factsOf(failed.id);
    expect(facts).toHaveLength(1);
    expect(facts[0]!.payload).toMatchObject({
      cause: 'NOT_BUILT',
      due_at: new Date(START).toISOString(),
    });
    expect(facts[0]!.payload.reason).toContain(
      "the workflow's build failed (image example:missing not found)",
    );
    // Rebuilt: the incident is resolved (the build is queued and nothing is overdue yet).
    failed.at(3 * MINUTE + 30_000);
    await workflows.rebuild(failed.userId, failed.id);
    expect(await failed.detector().runOnce()).toMatchObject({ resolved: 1, opened: 0 });
  });

  it('off with 0', async () => {
    const s = await setup();
    s.at(10 * MINUTE);
    const off = new MissedFireDetector(
      { db: database.db, clock: s.clock, events: s.events, logger },
      { afterMs: 0 },
    );
    expect(await off.runOnce()).toEqual({ late: 0, opened: 0, resolved: 0 });
    expect(await factsOf(s.id)).toEqual([]);
  });
});

/**
 * The notifications consumer on PGlite and PostgreSQL: exactly one notification per fact under
 * redelivery (the same batch twice, the same fact under two message ids, concurrent handlers),
 * each preference, the content stored for each fact, skipped facts (bulk cancels, other types,
 * malformed payloads, deleted users), and the `notification:created` wake-up after commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { insertUserWith, insertWorkflow, jobFinished, notificationsOf, workflowFact } from './fixtures.ts';

describe.each(ENGINES)('notifications consumer (%s)', (engine) => {
  let database: Database;
  let events: Events;
  let consumer: NotificationsConsumer;
  const created: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    events = new Events();
    events.on('notification:created', (e) => created.push(e.userId));
    consumer = new NotificationsConsumer({
      db: database.db,
      events,
      logger: createLogger('silent'),
      bus: new InProcessBus(),
    });
  });
  afterAll(async () => {
    await database?.close();
  });

  it('subscribes group notifications to both topics at start, and bus delivery creates notifications', async () => {
    const bus = new InProcessBus();
    const own = new NotificationsConsumer({ db: database.db, events, logger: createLogger('silent'), bus });
    const probe = () =>
      bus.subscribe({ topic: 'analytics', group: 'notifications', handler: async () => {} });
    // Constructing subscribes nothing: the group is free until start().
    await probe()();
    own.start();
    own.start(); // safe twice
    // A second subscription of the same group to either topic is refused: both are taken.
    for (const topic of ['analytics', 'notifications'] as const) {
      expect(() => bus.subscribe({ topic, group: 'notifications', handler: async () => {} })).toThrow();
    }
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'via bus');
    await bus.publish([
      jobFinished({ workflow_id: wf, user_id: user }),
      workflowFact('BUILD_COMPLETED', { workflow_id: wf, user_id: user }),
    ]);
    expect((await notificationsOf(database, user)).map((n) => n.kind).sort()).toEqual(['SUCCESS', 'SUCCESS']);
    // stop() leaves both groups: nothing more is delivered to it, and the groups are free again.
    await own.stop();
    await own.stop();
    await bus.publish([workflowFact('BUILD_STARTED', { workflow_id: wf, user_id: user })]);
    expect(await notificationsOf(database, user)).toHaveLength(2);
    await probe()();
  });

  it('the same batch twice makes one notification per fact, and wakes the user once', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'nightly');
    const batch = [
      jobFinished({ workflow_id: wf, user_id: user, status: 'FAILED', error_code: 'X' }),
      workflowFact('BUILD_STARTED', { workflow_id: wf, user_id: user }),
    ];
    created.length = 0;
    expect(await consumer.handle(batch)).toBe(2);
    expect(created).toEqual([user]);
    expect(await consumer.handle(batch)).toBe(0);
    expect(created).toEqual([user]);
    expect(await notificationsOf(database, user)).toHaveLength(2);
  });

  it('the same fact under two message ids (in one batch and across batches) makes one notification', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'twice');
    const job = newId();
    const a = jobFinished({ workflow_id: wf, user_id: user, job_id: job }, 'message-a');
    const b = { ...a, id: 'message-b' };
    const t1 = workflowFact('WORKFLOW_TERMINATED', { workflow_id: wf, user_id: user }, 'message-c');
    const t2 = { ...t1, id: 'message-d' };
    expect(await consumer.handle([a, b, t1, t2])).toBe(2);
    expect(await consumer.handle([{ ...a, id: 'message-e' }])).toBe(0);
    const rows = await notificationsOf(database, user);
    expect(rows.map((r) => r.dedupe_key).sort()).toEqual(
      [`JOB_FINISHED:${job}`, `WORKFLOW_TERMINATED:${wf}:1:2026-11-23T10:00:00.000Z`].sort(),
    );
  });

  it('concurrent handlers of the same facts create each notification once', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'racy');
    const batch = Array.from({ length: 50 }, () =>
      jobFinished({ workflow_id: wf, user_id: user, status: 'FAILED' }),
    );
    const counts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        // Each handler gets the facts under its own message ids, in its own order.
        consumer.handle((i % 2 ? [...batch].reverse() : batch).map((m) => ({ ...m, id: `${m.id}-${i}` }))),
      ),
    );
    expect(counts.reduce((s, n) => s + n, 0)).toBe(50);
    expect(await notificationsOf(database, user)).toHaveLength(50);
  });

  it('applies each preference at creation: ALL everything, ALERTS failures and terminations, NONE nothing', async () => {
    const expected = {
      ALL: ['ALERT', 'ERROR', 'ERROR', 'INFO', 'SUCCESS', 'SUCCESS', 'WARN', 'WARN'],
      ALERTS: ['ALERT', 'ERROR', 'ERROR', 'WARN'],
      NONE: [],
    } as const;
    for (const preference of ['ALL', 'ALERTS', 'NONE'] as const) {
      const user = await insertUserWith(database, preference);
      const wf = await insertWorkflow(database, user, `pref ${preference}`);
      const ids = { workflow_id: wf, user_id: user };
      await consumer.handle([
        jobFinished({ ...ids, status: 'COMPLETED' }),
        jobFinished({ ...ids, status: 'FAILED' }),
        jobFinished({ ...ids, status: 'CANCELED', started_at: null }),
        workflowFact('BUILD_STARTED', ids),
        workflowFact('BUILD_COMPLETED', ids),
        workflowFact('BUILD_FAILED', ids),
        workflowFact('WORKFLOW_TERMINATED', { ...ids, reason: 'manual', at: '2026-11-23T10:00:00.000Z' }),
        workflowFact('WORKFLOW_TERMINATED', { ...ids, reason: 'auto', at: '2026-11-23T11:00:00.000Z' }),
      ]);
      const kinds = (await notificationsOf(database, user)).map((n) => n.kind).sort();
      expect(kinds, preference).toEqual(expected[preference]);
    }
  });

  it('stores the content of each fact: workflow name, outcome, entity and deep link', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'billing API');
    const job = newId();
    await consumer.handle([
      jobFinished({
        workflow_id: wf,
        user_id: user,
        job_id: job,
        status: 'FAILED',
        http_status_code: 503,
        error_code: 'UNEXPECTED_STATUS',
        error_message: 'expected HTTP 200, got 503',
      }),
      workflowFact('WORKFLOW_TERMINATED', {
        workflow_id: wf,
        user_id: user,
        name: 'billing API',
        consecutive_failures: 3,
        max_consecutive_failures: 3,
      }),
    ]);
    const rows = await notificationsOf(database, user);
    const jobRow = rows.find((r) => r.entity_type === 'JOB')!;
    expect(jobRow).toMatchObject({
      kind: 'ERROR',
      title: 'Job failed',
      message: 'A job of "billing API" failed (HTTP 503): UNEXPECTED_STATUS: expected HTTP 200, got 503.',
      entity_id: job,
      action_url: `/workflows/${wf}/jobs/${job}`,
      read_at: null,
    });
    const wfRow = rows.find((r) => r.entity_type === 'WORKFLOW')!;
    expect(wfRow).toMatchObject({
      kind: 'ALERT',
      message:
        'Workflow "billing API" was terminated after 3 consecutive failed jobs (limit 3). Fix it and edit the workflow to resume.',
      entity_id: wf,
      action_url: `/workflows/${wf}`,
    });
  });

  it('skips bulk cancels, facts that are not ours, malformed facts and deleted users, without failing', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wf = await insertWorkflow(database, user, 'skips');
    const ghost = newId(); // no such user
    created.length = 0;
    const n = await consumer.handle([
      jobFinished({ workflow_id: wf, user_id: user, status: 'CANCELED', bulk: true }),
      { id: newId(), topic: 'analytics', key: wf, type: 'SOMETHING_ELSE', payload: {} },
      {
        id: newId(),
        topic: 'notifications',
        key: wf,
        type: 'BUILD_FAILED',
        payload: { workflow_id: 'nope' },
      },
      workflowFact('BUILD_COMPLETED', { workflow_id: wf, user_id: ghost }),
      jobFinished({ workflow_id: wf, user_id: ghost }),
    ]);
    expect(n).toBe(0);
    expect(created).toEqual([]);
    expect(await notificationsOf(database, user)).toEqual([]);
  });

  it('names a deleted workflow as such', async () => {
    const user = await insertUserWith(database, 'ALL');
    await consumer.handle([jobFinished({ workflow_id: newId(), user_id: user })]);
    expect((await notificationsOf(database, user))[0]!.message).toBe(
      'A job of a deleted workflow completed (HTTP 200).',
    );
  });

  it('a batch of a thousand facts across ten workflows', async () => {
    const user = await insertUserWith(database, 'ALL');
    const wfs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => insertWorkflow(database, user, `w${i}`)),
    );
    const batch = Array.from({ length: 1000 }, (_, i) =>
      jobFinished({ workflow_id: wfs[i % 10]!, user_id: user }),
    );
    expect(await consumer.handle(batch)).toBe(1000);
    const rows = await notificationsOf(database, user);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.message)).size).toBe(10);
  });
});

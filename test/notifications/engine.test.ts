/**
 * Notifications from the real engine (relay, in-process bus, workflow worker, executor) on PGlite
 * and PostgreSQL: a HEARTBEAT workflow whose endpoint answers 500, with at most 2 consecutive
 * failures, is terminated automatically and its user gets exactly one ALERT saying why, plus one
 * ERROR per failed job (ALERTS, the default preference, keeps failures), and nothing for the
 * pending job canceled with it. Replaying every published fact afterwards changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import type { OutboxTopic } from '../../src/services/outbox.ts';
import { NotificationsConsumer } from '../../src/workers/notifications/consumer.ts';
import { createEngine, startTarget, type Engine } from '../helpers/engine.ts';
import { finalJob, insertManualJob, insertWorkflows, waitFor, snapshotOf } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { insertUserWith, notificationsOf } from './fixtures.ts';

describe.each(ENGINES)('notifications from the engine (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let engine: Engine | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
  });
  afterAll(async () => {
    await engine?.stop();
    await target?.close();
    await database?.close();
  });

  it('an auto-terminated HEARTBEAT workflow makes one ALERT, one ERROR per failed job, none for the canceled one', async () => {
    engine = createEngine(database);
    const consumer = new NotificationsConsumer({
      db: database.db,
      events: engine.events,
      logger: createLogger('silent'),
      bus: engine.bus,
    });
    const woken: string[] = [];
    engine.events.on('notification:created', (e) => woken.push(e.userId));
    consumer.start();
    engine.start();
    const userId = await insertUserWith(database, 'ALERTS');
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: {
          endpoint: `${target.url}/status/500`,
          method: 'GET',
          headers: {},
          body: null,
          expected_status_code: 200,
          timeout: '2s',
        },
        intervalMinutes: 60,
        nextRunAt: null,
        maxFailures: 2,
      },
    ]);
    // A pending job far in the future: canceled with the workflow (a bulk cancel).
    const pending = newId();
    await database.db
      .insertInto('jobs')
      .values({
        id: pending,
        workflow_id: wf!,
        user_id: userId,
        workflow_generation: 1,
        ...snapshotOf(wf!),
        trigger: 'AUTOMATIC',
        scheduled_at: new Date(Date.now() + 3_600_000),
        max_attempts: 1,
      })
      .execute();
    const first = await finalJob(database, await insertManualJob(database, wf!, userId, 1));
    const second = await finalJob(database, await insertManualJob(database, wf!, userId, 1));
    expect([first.status, second.status]).toEqual(['FAILED', 'FAILED']);

    const alert = await waitFor(async () =>
      (await notificationsOf(database, userId)).find((n) => n.kind === 'ALERT'),
    );
    expect(alert).toMatchObject({
      title: 'Workflow terminated after repeated failures',
      message:
        'Workflow "wf-0" was terminated after 2 consecutive failed jobs (limit 2). Fix it and edit the workflow to resume.',
      entity_type: 'WORKFLOW',
      entity_id: wf,
      action_url: `/workflows/${wf}`,
    });
    // Every fact published (the bulk cancel's too), then nothing more to come.
    await waitFor(async () => {
      const job = await database.db
        .selectFrom('jobs')
        .select('status')
        .where('id', '=', pending)
        .executeTakeFirstOrThrow();
      const unpublished = await database.db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'PENDING')
        .execute();
      return job.status === 'CANCELED' && unpublished.length === 0;
    });

    const rows = await notificationsOf(database, userId);
    expect(rows.map((n) => [n.kind, n.entity_id]).sort()).toEqual(
      [
        ['ALERT', wf],
        ['ERROR', first.id],
        ['ERROR', second.id],
      ].sort(),
    );
    const failed = rows.find((n) => n.entity_id === first.id)!;
    expect(failed.message).toBe(
      'A job of "wf-0" (manual run) failed (HTTP 500): UNEXPECTED_STATUS: expected HTTP 200, got 500.',
    );
    expect(failed.action_url).toBe(`/workflows/${wf}/jobs/${first.id}`);
    expect(woken.every((u) => u === userId)).toBe(true);
    expect(woken.length).toBeGreaterThan(0);

    // Replaying every fact the engine published (under new message ids) creates nothing.
    const facts = await database.db
      .selectFrom('outbox')
      .select(['topic', 'key', 'event_type', 'payload'])
      .where('topic', 'in', ['analytics', 'notifications'])
      .execute();
    const types = facts.map((f) => f.event_type).sort();
    expect(types).toEqual(['JOB_FINISHED', 'JOB_FINISHED', 'JOB_FINISHED', 'WORKFLOW_TERMINATED']);
    const replay: BusMessage[] = facts.map((f) => ({
      id: newId(),
      topic: f.topic as OutboxTopic,
      key: f.key,
      type: f.event_type,
      payload: (typeof f.payload === 'string' ? JSON.parse(f.payload) : f.payload) as Record<string, unknown>,
    }));
    expect(await consumer.handle(replay)).toBe(0);
    expect(await notificationsOf(database, userId)).toHaveLength(3);
  });
});

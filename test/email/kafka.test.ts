/**
 * The email consumer on the real Kafka bus (private KRaft broker): its groups (`emails`, one per
 * fact topic) queue one email per fact and subscribed user from both topics, and none more when
 * the same facts are published again.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import type { KafkaBus } from '../../src/platform/bus/kafka-bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { SubscriptionsService } from '../../src/services/notifications/subscriptions.ts';
import { EmailConsumer } from '../../src/workers/email/consumer.ts';
import { makeBus, uniquePrefix } from '../bus/kafka-fixtures.ts';
import { insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';

describe('email consumer on Kafka', { timeout: 120_000 }, () => {
  let database: Database;
  let bus: KafkaBus;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    bus = makeBus(inject('kafkaBrokers'), database.db, uniquePrefix());
    new EmailConsumer(
      {
        db: database.db,
        clock: { now: () => new Date() },
        events: new Events(),
        logger: createLogger('silent'),
        bus,
      },
      { publicUrl: 'https://cv.example.test' },
    ).start();
    await bus.start();
  }, 120_000);
  afterAll(async () => {
    await bus?.close();
    await database?.close();
  });

  it('queues one email per fact from both topics, none more on republication', async () => {
    const userId = await insertUser(database.db);
    const [workflowId] = (await insertWorkflows(database.db, [{ userId, nextRunAt: null }])) as [string];
    const subscriptions = new SubscriptionsService(
      database.db,
      { now: () => new Date() },
      { emailEnabled: true },
    );
    await subscriptions.put(userId, null, { channel: 'EMAIL', events: ['*'] });
    const facts: BusMessage[] = [
      {
        id: newId(),
        topic: 'analytics',
        key: workflowId,
        type: 'JOB_FINISHED',
        payload: {
          job_id: newId(),
          workflow_id: workflowId,
          user_id: userId,
          generation: 1,
          status: 'FAILED',
          trigger: 'MANUAL',
          attempts: 1,
          scheduled_at: '2026-11-23T10:00:00+00:00',
          started_at: '2026-11-23T10:00:00+00:00',
          completed_at: '2026-11-23T10:00:02+00:00',
          exit_code: 1,
          http_status_code: null,
          error_code: null,
          error_message: null,
          log_lines: 0,
          bulk: false,
        },
      },
      {
        id: newId(),
        topic: 'notifications',
        key: workflowId,
        type: 'BUILD_COMPLETED',
        payload: {
          workflow_id: workflowId,
          user_id: userId,
          generation: 1,
          name: 'k',
          kind: 'HEARTBEAT',
          at: '2026-11-23T09:59:00.000Z',
        },
      },
    ];
    const types = async () =>
      (
        await database.db
          .selectFrom('email_deliveries')
          .select('event_type')
          .where('user_id', '=', userId)
          .execute()
      )
        .map((d) => d.event_type)
        .sort();
    await bus.publish(facts);
    await waitFor(async () => (await types()).length === 2, 60_000);
    expect(await types()).toEqual(['build.completed', 'job.failed']);

    // Published again: nothing new. A marker fact after them proves the consumer went past them.
    await bus.publish(facts.map((f) => ({ ...f, id: newId() })));
    await bus.publish([
      { ...facts[1]!, id: newId(), type: 'BUILD_STARTED', payload: { ...facts[1]!.payload, image: null } },
    ]);
    await waitFor(async () => (await types()).includes('build.started'), 60_000);
    expect(await types()).toEqual(['build.completed', 'build.started', 'job.failed']);
  });
});

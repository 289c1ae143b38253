/**
 * The webhook consumer on the real Kafka bus (private KRaft broker): its groups (one per fact
 * topic) create each delivery once, also when the same facts are published again. (With one group
 * on both topics this test failed: members got each other's partitions and facts were lost.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import type { KafkaBus } from '../../src/platform/bus/kafka-bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { WebhooksService } from '../../src/services/webhooks/service.ts';
import { WebhookConsumer } from '../../src/workers/webhooks/consumer.ts';
import { makeBus, uniquePrefix } from '../bus/kafka-fixtures.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';

describe('webhook consumer on Kafka', { timeout: 120_000 }, () => {
  let database: Database;
  let bus: KafkaBus;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    bus = makeBus(inject('kafkaBrokers'), database.db, uniquePrefix());
    new WebhookConsumer({
      db: database.db,
      clock: { now: () => new Date() },
      events: new Events(),
      logger: createLogger('silent'),
      bus,
    }).start();
    await bus.start();
  }, 120_000);
  afterAll(async () => {
    await bus?.close();
    await database?.close();
  });

  it('creates one delivery per fact from both topics, none more on republication', async () => {
    const userId = await insertUser(database.db);
    const service = new WebhooksService(
      database.db,
      { now: () => new Date() },
      { allowPrivateNetworks: false },
    );
    const hook = await service.create(userId, { url: 'https://example.com/k', event_types: ['*'] });
    const workflowId = newId();
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
          status: 'COMPLETED',
          trigger: 'MANUAL',
          attempts: 1,
          scheduled_at: '2026-11-23T10:00:00+00:00',
          started_at: '2026-11-23T10:00:00+00:00',
          completed_at: '2026-11-23T10:00:02+00:00',
          exit_code: 0,
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
          .selectFrom('webhook_deliveries')
          .select('event_type')
          .where('webhook_id', '=', hook.id)
          .execute()
      )
        .map((d) => d.event_type)
        .sort();
    await bus.publish(facts);
    await waitFor(async () => (await types()).length === 2, 60_000);
    expect(await types()).toEqual(['build.completed', 'job.completed']);

    // Published again (a relay that crashed before marking them): nothing new. A marker fact
    // published after them proves the consumer went past the duplicates.
    await bus.publish(facts.map((f) => ({ ...f, id: newId() })));
    const marker: BusMessage = {
      ...facts[1]!,
      id: newId(),
      type: 'BUILD_STARTED',
      payload: { ...facts[1]!.payload, image: null },
    };
    await bus.publish([marker]);
    await waitFor(async () => (await types()).includes('build.started'), 60_000);
    expect(await types()).toEqual(['build.completed', 'build.started', 'job.completed']);
  });
});

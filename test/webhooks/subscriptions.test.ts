/**
 * WEBHOOK subscriptions (issue 14) through the real gateway and the real webhook consumer on both
 * engines: `target` must be one of the caller's webhook endpoints (400 naming `target` otherwise);
 * per endpoint, the workflow's subscription decides, else the all-workflows one, else the
 * endpoint's own event_types; one delivery per (endpoint, fact) however often it is delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { WebhookConsumer } from '../../src/workers/webhooks/consumer.ts';
import { ENGINES, registerUser } from '../helpers/harness.ts';
import {
  createNotificationsGateway,
  insertWorkflow,
  jobFinished,
  workflowFact,
  type NotificationsGateway,
} from '../notifications/fixtures.ts';

type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(ENGINES)('WEBHOOK subscriptions (%s)', (engine) => {
  let gw: NotificationsGateway;
  let consumer: WebhookConsumer;
  beforeAll(async () => {
    gw = await createNotificationsGateway(engine);
    consumer = new WebhookConsumer({
      db: gw.database.db,
      clock: systemClock,
      events: gw.events,
      logger: createLogger('silent'),
      bus: new InProcessBus(),
    });
  });
  afterAll(() => gw?.close());

  /** An endpoint of the user (inserted directly: the API refuses loopback URLs to non-admins). */
  async function endpoint(user: User, eventTypes: string[]): Promise<string> {
    const id = newId();
    await gw.database.db
      .insertInto('webhooks')
      .values({
        id,
        user_id: user.user.id,
        url: 'http://127.0.0.1:9/hook',
        secret: 'whsec_0123456789abcdef0123456789abcdef',
        event_types: eventTypes,
        description: null,
      })
      .execute();
    return id;
  }
  const post = (user: User, path: string, body: unknown) =>
    gw.app.inject({ method: 'POST', url: `/api/v1${path}`, headers: user.headers, payload: body as object });
  const deliveriesOf = async (webhookId: string) =>
    (
      await gw.database.db
        .selectFrom('webhook_deliveries')
        .select(['event_type', 'body'])
        .where('webhook_id', '=', webhookId)
        .orderBy('id')
        .execute()
    ).map((d) => [d.event_type, JSON.parse(d.body).data.workflow_id as string]);

  it('validates target: required for WEBHOOK, one of your endpoints, and only for WEBHOOK', async () => {
    const user = await registerUser(gw as never);
    const other = await registerUser(gw as never);
    const wf = await insertWorkflow(gw.database, user.user.id, 'nightly');
    const mine = await endpoint(user, ['*']);
    const theirs = await endpoint(other, ['*']);
    const path = `/workflows/${wf}/subscriptions`;
    const issues = async (body: unknown) => {
      const res = await post(user, path, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      return (res.json().errors as { path: string }[]).map((e) => e.path);
    };
    expect(await issues({ channel: 'WEBHOOK', events: ['job.failed'] })).toEqual(['target']);
    expect(await issues({ channel: 'WEBHOOK', target: theirs, events: ['job.failed'] })).toEqual(['target']);
    expect(await issues({ channel: 'WEBHOOK', target: 'not-a-uuid', events: ['job.failed'] })).toEqual([
      'target',
    ]);
    expect(await issues({ channel: 'EMAIL', target: mine, events: ['job.failed'] })).toEqual(['target']);
    expect(
      await issues({ channel: 'WEBHOOK', target: mine, events: ['job.failed', 'job.recovered'] }),
    ).toEqual(['events.1']);

    const created = await post(user, path, { channel: 'WEBHOOK', target: mine, events: ['job.failed'] });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      channel: 'WEBHOOK',
      target: mine,
      workflow_id: wf,
      events: ['job.failed'],
    });
    const again = await post(user, path, { channel: 'WEBHOOK', target: mine, events: ['schedule.missed'] });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: created.json().id, events: ['schedule.missed'] });
    // Another endpoint is another subscription; the other channels keep theirs without a target.
    const second = await endpoint(user, ['build.failed']);
    expect((await post(user, path, { channel: 'WEBHOOK', target: second, events: [] })).statusCode).toBe(201);
    expect((await post(user, path, { channel: 'IN_APP', events: ['*'] })).json()).toMatchObject({
      target: null,
    });

    const list = await gw.app.inject({ method: 'GET', url: `/api/v1${path}`, headers: user.headers });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().subscriptions).toHaveLength(3);
    const effective = list.json().effective as { channel: string; source: string; target: string | null }[];
    expect(effective.filter((e) => e.channel === 'WEBHOOK')).toEqual(
      [
        { channel: 'WEBHOOK', source: 'WORKFLOW', events: ['schedule.missed'], target: mine },
        { channel: 'WEBHOOK', source: 'WORKFLOW', events: [], target: second },
      ].sort((a, b) => a.target.localeCompare(b.target)),
    );
    // Another user's workflow is a 404, whatever the body.
    expect((await post(other, path, { channel: 'WEBHOOK', target: theirs, events: ['*'] })).statusCode).toBe(
      404,
    );
  });

  it("a workflow's events go to the endpoint its subscription names, once; the endpoint's filter is the default", async () => {
    const user = await registerUser(gw as never);
    const uid = user.user.id;
    const watched = await insertWorkflow(gw.database, uid, 'watched');
    const plain = await insertWorkflow(gw.database, uid, 'plain');
    const narrow = await endpoint(user, ['build.failed']); // would not take job.failed by itself
    const wide = await endpoint(user, ['*']);
    expect(
      (
        await post(user, `/workflows/${watched}/subscriptions`, {
          channel: 'WEBHOOK',
          target: narrow,
          events: ['job.failed'],
        })
      ).statusCode,
    ).toBe(201);
    // Muted on the wide endpoint for this workflow only.
    expect(
      (
        await post(user, `/workflows/${watched}/subscriptions`, {
          channel: 'WEBHOOK',
          target: wide,
          events: [],
        })
      ).statusCode,
    ).toBe(201);
    // All workflows to the narrow endpoint: schedule.missed (the workflow's own subscription wins for `watched`).
    expect(
      (
        await post(user, '/subscriptions', {
          channel: 'WEBHOOK',
          target: narrow,
          events: ['schedule.missed'],
        })
      ).statusCode,
    ).toBe(201);

    const batch = [
      jobFinished({ workflow_id: watched, user_id: uid, status: 'FAILED' }),
      jobFinished({ workflow_id: plain, user_id: uid, status: 'FAILED' }),
      workflowFact('SCHEDULE_MISSED', {
        workflow_id: plain,
        user_id: uid,
        incident_id: newId(),
        cause: 'SCHEDULER_DOWN',
        due_at: new Date().toISOString(),
        reason: 'its fire time had not started',
      }),
      workflowFact('SCHEDULE_MISSED', {
        workflow_id: watched,
        user_id: uid,
        incident_id: newId(),
        cause: 'SCHEDULER_DOWN',
        due_at: new Date().toISOString(),
        reason: 'its fire time had not started',
      }),
    ];
    await consumer.handle(batch);
    await consumer.handle(batch); // redelivered: nothing more
    expect(await deliveriesOf(narrow)).toEqual([
      ['job.failed', watched],
      ['schedule.missed', plain],
    ]);
    expect(await deliveriesOf(wide)).toEqual([
      ['job.failed', plain],
      ['schedule.missed', plain],
    ]);
  });
});

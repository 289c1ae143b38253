/**
 * Webhook deliveries end to end on PGlite and PostgreSQL: facts → consumer → deliveries →
 * sender → a real HTTP receiver that verifies the signature with node:crypto on its own.
 * Retries run on an injected clock (no sleeping, no wall-clock assertions): the test moves the
 * clock past each backoff and runs a sender round.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobFinishedPayload } from '../../src/domain/events.ts';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { newId } from '../../src/platform/ids.ts';
import { OutboundGuard } from '../../src/platform/outbound/guard.ts';
import { WebhookConsumer } from '../../src/workers/webhooks/consumer.ts';
import { uuidV7Floor, WebhookSender, type WebhookSenderConfig } from '../../src/workers/webhooks/sender.ts';
import { ENGINES, registerUser } from '../helpers/harness.ts';
import { loopbackOnlyBlockList } from '../helpers/loopback-only.ts';
import { createWebhookGateway, startReceiver, type WebhookGateway } from './setup.ts';

const logger = createLogger('silent');
const HOUR = 3_600_000;
type User = Awaited<ReturnType<typeof registerUser>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** A clock the test moves; reset to the real time before each test (signatures carry its time). */
class MovableClock {
  #now = Date.now();
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  reset(): void {
    this.#now = Date.now();
  }
}

/** A TASK_FINISHED fact: a job fact of a DAG task instance (src/domain/events.ts). */
function taskFinished(job: BusMessage): BusMessage {
  return {
    ...job,
    type: 'TASK_FINISHED',
    payload: { ...job.payload, run_id: newId(), task: 'build', task_index: null },
  };
}

function jobFinished(userId: string, overrides: Partial<JobFinishedPayload> = {}): BusMessage {
  const payload: JobFinishedPayload = {
    job_id: newId(),
    workflow_id: newId(),
    user_id: userId,
    generation: 1,
    status: 'FAILED',
    trigger: 'AUTOMATIC',
    attempts: 1,
    scheduled_at: '2026-11-23T10:00:00+00:00',
    started_at: '2026-11-23T10:00:00.5+00:00',
    completed_at: '2026-11-23T10:00:01.25+00:00',
    exit_code: 1,
    http_status_code: null,
    error_code: 'EXIT_CODE',
    error_message: 'exited with 1',
    log_lines: 3,
    bulk: false,
    ...overrides,
  };
  return {
    id: newId(),
    topic: 'analytics',
    key: payload.workflow_id,
    type: 'JOB_FINISHED',
    payload: payload as unknown as Record<string, unknown>,
  };
}

function workflowFact(userId: string, type: string, extra: Record<string, unknown> = {}): BusMessage {
  const workflowId = newId();
  return {
    id: newId(),
    topic: 'notifications',
    key: workflowId,
    type,
    payload: {
      workflow_id: workflowId,
      user_id: userId,
      generation: 2,
      name: 'nightly',
      kind: 'CONTAINER',
      at: '2026-11-23T10:00:00.000Z',
      ...extra,
    },
  };
}

describe.each(ENGINES)('webhook deliveries on %s', (engine) => {
  let gw: WebhookGateway;
  let clock: MovableClock;
  let consumer: WebhookConsumer;
  let receiver: Receiver;
  let user: User;

  /** A sender whose outbound guard lets every user reach the receiver on 127.0.0.1, unless told not to. */
  const sender = (config: Partial<WebhookSenderConfig> = {}, allowPrivateNetworks = true) =>
    new WebhookSender(
      {
        db: gw.database.db,
        clock,
        events: gw.events,
        logger,
        outbound: new OutboundGuard({ allowPrivateNetworks, blockList: loopbackOnlyBlockList() }),
      },
      {
        retryBaseMs: 1_000,
        retryMaxMs: 8_000,
        maxAgeMs: 24 * HOUR,
        timeoutMs: 5_000,
        userAgent: 'Chronoverse-Webhooks/test',
        random: () => 0.5,
        ...config,
      },
    );
  const createHook = async (u: User, body: Record<string, unknown>) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: u.headers,
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; secret: string }>();
  };
  const deliveriesOf = (webhookId: string) =>
    gw.database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id')
      .execute();
  const detail = async (u: User, webhookId: string, deliveryId: string) => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${webhookId}/deliveries/${deliveryId}`,
      headers: u.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{
      status: string;
      attempts: number;
      last_status_code: number | null;
      last_error: string | null;
      next_attempt_at: string | null;
      history: { attempt: number; status_code: number | null; error: string | null }[];
    }>();
  };

  beforeAll(async () => {
    clock = new MovableClock();
    // Private networks allowed at create time: the receiver listens on 127.0.0.1.
    gw = await createWebhookGateway(engine, { clock, allowPrivateNetworks: true });
    // The first account is the administrator, whom the outbound policy lets reach loopback:
    // every `user` of these tests is an ordinary one.
    await registerUser(gw as never);
    consumer = new WebhookConsumer({
      db: gw.database.db,
      clock,
      events: gw.events,
      logger,
      bus: new InProcessBus(),
    });
  });
  afterAll(async () => {
    await gw?.close();
  });
  beforeEach(async () => {
    // Each test starts with no deliveries in flight: a sender round sees only its own.
    await gw.database.db.deleteFrom('webhook_deliveries').execute();
    clock.reset();
    user = await registerUser(gw as never);
  });

  it('delivers a signed job.failed event that an independent receiver verifies', async () => {
    receiver = await startReceiver([200]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['job.failed'] });
      receiver.setSecret(hook.secret);
      const fact = jobFinished(user.user.id);
      let woken = 0;
      const off = gw.events.on('webhooks:deliveries:due', (p) => (woken += p.count));
      expect(await consumer.handle([fact])).toBe(1);
      off();
      expect(woken).toBe(1);

      expect(await sender().runOnce()).toEqual({ claimed: 1, succeeded: 1, retrying: 0, failed: 0 });
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0]!;
      expect(got.signatureValid).toBe(true);
      const [delivery] = await deliveriesOf(hook.id);
      expect(got.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': 'Chronoverse-Webhooks/test',
        'chronoverse-event': 'job.failed',
        'chronoverse-delivery': delivery!.id,
      });
      expect(got.headers['chronoverse-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const body = JSON.parse(got.body) as {
        id: string;
        type: string;
        created_at: string;
        data: Record<string, unknown>;
      };
      const payload = fact.payload as unknown as JobFinishedPayload;
      expect(body).toEqual({
        id: delivery!.id,
        type: 'job.failed',
        created_at: '2026-11-23T10:00:01.250Z',
        data: expect.objectContaining({
          job_id: payload.job_id,
          workflow_id: payload.workflow_id,
          status: 'FAILED',
        }),
      });
      expect(body.data).not.toHaveProperty('bulk');
      expect(got.body).toBe(delivery!.body);

      // A tampered body or another secret fails the receiver's check: the check can fail.
      receiver.setSecret('another-secret-entirely');
      expect(await gw.webhooks.ping(user.user.id, hook.id)).toMatchObject({ status: 'PENDING' });
      await sender().runOnce();
      expect(receiver.received[1]!.signatureValid).toBe(false);

      const d = await detail(user, hook.id, delivery!.id);
      expect(d).toMatchObject({
        status: 'SUCCEEDED',
        attempts: 1,
        last_status_code: 200,
        next_attempt_at: null,
      });
      expect(d.history).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, error: null })]);
    } finally {
      await receiver.close();
    }
  });

  it('creates each delivery once under redelivered facts, only for matching enabled webhooks', async () => {
    const all = await createHook(user, { url: 'https://example.com/all', event_types: ['*'] });
    const builds = await createHook(user, { url: 'https://example.com/b', event_types: ['build.failed'] });
    const off = await createHook(user, {
      url: 'https://example.com/off',
      event_types: ['*'],
      enabled: false,
    });
    const other = await registerUser(gw as never);
    const theirs = await createHook(other, { url: 'https://example.com/theirs', event_types: ['*'] });

    const batch = [
      jobFinished(user.user.id, { status: 'COMPLETED' }),
      jobFinished(user.user.id, { status: 'CANCELED', bulk: true }),
      workflowFact(user.user.id, 'BUILD_FAILED', { reason: 'image not found' }),
      workflowFact(user.user.id, 'WORKFLOW_TERMINATED', {
        reason: 'auto',
        consecutive_failures: 3,
        max_consecutive_failures: 3,
      }),
      workflowFact(user.user.id, 'SOMETHING_NEW'),
      taskFinished(jobFinished(user.user.id, { status: 'COMPLETED' })),
    ];
    expect(await consumer.handle(batch)).toBe(5); // all: 4 (bulk skipped, unknown skipped), builds: 1
    expect(await consumer.handle(batch)).toBe(0);
    expect(await consumer.handle([batch[0]!, { ...batch[2]!, id: newId() }])).toBe(0);

    expect((await deliveriesOf(all.id)).map((d) => d.event_type).sort()).toEqual([
      'build.failed',
      'job.completed',
      'task.finished',
      'workflow.terminated',
    ]);
    // A task's event carries its run and its place in it; redelivered, it creates nothing.
    const task = (await deliveriesOf(all.id)).find((d) => d.event_type === 'task.finished')!;
    expect(task.dedupe_key).toBe(`task:${(batch[5]!.payload as { job_id: string }).job_id}`);
    expect(await consumer.handle([{ ...batch[5]!, id: newId() }])).toBe(0);
    expect((await deliveriesOf(builds.id)).map((d) => d.event_type)).toEqual(['build.failed']);
    expect(await deliveriesOf(off.id)).toEqual([]);
    expect(await deliveriesOf(theirs.id)).toEqual([]);

    // A later termination of the same generation (re-activated by an edit) is a new event.
    const again = {
      ...batch[3]!,
      id: newId(),
      payload: { ...batch[3]!.payload, at: '2026-11-23T11:00:00.000Z' },
    };
    expect(await consumer.handle([again])).toBe(1);
  });

  it('retries with backoff after 500, 500, then succeeds; records every attempt', async () => {
    receiver = await startReceiver([500, 500, 200]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['job.failed'] });
      receiver.setSecret(hook.secret);
      await consumer.handle([jobFinished(user.user.id)]);
      const s = sender();
      expect(await s.runOnce()).toMatchObject({ claimed: 1, retrying: 1 });
      const [delivery] = await deliveriesOf(hook.id);
      let d = await detail(user, hook.id, delivery!.id);
      expect(d).toMatchObject({
        status: 'PENDING',
        attempts: 1,
        last_status_code: 500,
        last_error: 'HTTP 500',
      });
      // Base 1 s, jitter factor 1.0 at random 0.5: due 1 s later, not before.
      expect(Date.parse(d.next_attempt_at!) - clock.now().getTime()).toBe(1_000);
      expect(await s.runOnce()).toMatchObject({ claimed: 0 });
      clock.advance(1_000);
      expect(await s.runOnce()).toMatchObject({ claimed: 1, retrying: 1 });
      d = await detail(user, hook.id, delivery!.id);
      expect(Date.parse(d.next_attempt_at!) - clock.now().getTime()).toBe(2_000); // doubled
      clock.advance(2_000);
      expect(await s.runOnce()).toMatchObject({ claimed: 1, succeeded: 1 });

      d = await detail(user, hook.id, delivery!.id);
      expect(d).toMatchObject({ status: 'SUCCEEDED', attempts: 3, last_status_code: 200, last_error: null });
      expect(d.history.map((h) => [h.attempt, h.status_code])).toEqual([
        [1, 500],
        [2, 500],
        [3, 200],
      ]);
      expect(receiver.received).toHaveLength(3);
      expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
      // The same document each time; the same delivery id.
      expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it('gives up after the maximum age, then redelivers on demand', async () => {
    receiver = await startReceiver([503]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
      receiver.setSecret(hook.secret);
      await consumer.handle([workflowFact(user.user.id, 'BUILD_STARTED', { image: 'alpine:3.20' })]);
      const s = sender({ retryBaseMs: 1_000, retryMaxMs: HOUR, maxAgeMs: 24 * HOUR });
      let rounds = 0;
      for (;;) {
        const round = await s.runOnce();
        rounds += 1;
        expect(round.claimed).toBe(1);
        if (round.failed === 1) break;
        const [row] = await deliveriesOf(hook.id);
        clock.advance(row!.next_attempt_at!.getTime() - clock.now().getTime());
        expect(rounds).toBeLessThan(100);
      }
      const [delivery] = await deliveriesOf(hook.id);
      let d = await detail(user, hook.id, delivery!.id);
      expect(d.status).toBe('FAILED');
      expect(d.last_error).toMatch(/HTTP 503; gave up after \d+ attempts/);
      expect(d.history).toHaveLength(rounds);
      expect(d.history.every((h) => h.status_code === 503)).toBe(true);
      // 1+2+4+…+2048 s ≈ 68 min, then hourly until 24 h after creation.
      expect(rounds).toBeGreaterThan(20);
      expect(delivery!.completed_at).not.toBeNull();
      expect(await s.runOnce()).toMatchObject({ claimed: 0 });

      // On demand, even after FAILED: one attempt now.
      receiver.received.length = 0;
      const res = await gw.app.inject({
        method: 'POST',
        url: `/api/v1/webhooks/${hook.id}/deliveries/${delivery!.id}/redeliver`,
        headers: user.headers,
      });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toMatchObject({ status: 'PENDING', completed_at: null });
      expect(await s.runOnce()).toMatchObject({ claimed: 1, failed: 1 }); // still 503, past its age
      expect(receiver.received).toHaveLength(1);
      d = await detail(user, hook.id, delivery!.id);
      expect(d.history).toHaveLength(rounds + 1);
    } finally {
      await receiver.close();
    }
  });

  it('redelivery after a give-up succeeds when the receiver is back', async () => {
    receiver = await startReceiver([500, 200]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
      receiver.setSecret(hook.secret);
      const ping = await gw.webhooks.ping(user.user.id, hook.id);
      // A tiny max age: the first failure is final.
      expect(
        await sender({ maxAgeMs: 1_000, retryBaseMs: 5_000, retryMaxMs: 5_000 }).runOnce(),
      ).toMatchObject({
        failed: 1,
      });
      await gw.webhooks.redeliver(user.user.id, hook.id, ping.id);
      expect(await sender().runOnce()).toMatchObject({ succeeded: 1 });
      const d = await detail(user, hook.id, ping.id);
      expect(d.status).toBe('SUCCEEDED');
      expect(d.history.map((h) => h.status_code)).toEqual([500, 200]);
      expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a name that resolves to loopback unless private networks are allowed', async () => {
    receiver = await startReceiver([200]);
    try {
      // Created while allowed (a name is never refused at create time: it is checked at send time).
      const hook = await createHook(user, { url: receiver.url('localhost'), event_types: ['*'] });
      receiver.setSecret(hook.secret);
      const ping = await gw.webhooks.ping(user.user.id, hook.id);
      expect(await sender({}, false).runOnce()).toEqual({
        claimed: 1,
        succeeded: 0,
        retrying: 0,
        failed: 1,
      });
      expect(receiver.received).toHaveLength(0);
      let d = await detail(user, hook.id, ping.id);
      expect(d).toMatchObject({ status: 'FAILED', last_status_code: null });
      // Only the policy's verdict: no address, no range (the detail is in the operator's log).
      expect(d.last_error).toBe('refused by outbound policy');
      expect(d.history).toEqual([expect.objectContaining({ attempt: 1, status_code: null })]);

      // A literal loopback address is refused too (Node skips the lookup for IP literals).
      await gw.database.db
        .updateTable('webhooks')
        .set({ url: receiver.url() })
        .where('id', '=', hook.id)
        .execute();
      await gw.webhooks.redeliver(user.user.id, hook.id, ping.id);
      expect(await sender({}, false).runOnce()).toMatchObject({ failed: 1 });
      d = await detail(user, hook.id, ping.id);
      expect(d.last_error).toBe('refused by outbound policy');
      expect(receiver.received).toHaveLength(0);

      // The admin setting lets it through.
      await gw.database.db
        .updateTable('webhooks')
        .set({ url: receiver.url('localhost') })
        .where('id', '=', hook.id)
        .execute();
      await gw.webhooks.redeliver(user.user.id, hook.id, ping.id);
      expect(await sender({}, true).runOnce()).toMatchObject({ succeeded: 1 });
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.signatureValid).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('does not follow redirects and reports connection failures for retry', async () => {
    receiver = await startReceiver([302]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
      const ping = await gw.webhooks.ping(user.user.id, hook.id);
      expect(await sender().runOnce()).toMatchObject({ retrying: 1 });
      expect((await detail(user, hook.id, ping.id)).last_status_code).toBe(302);
    } finally {
      await receiver.close();
    }
    // Nothing listens on the closed port any more.
    const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
    const ping = await gw.webhooks.ping(user.user.id, hook.id);
    const s = sender();
    clock.advance(HOUR);
    expect(await s.runOnce()).toMatchObject({ retrying: 2 });
    const d = await detail(user, hook.id, ping.id);
    expect(d).toMatchObject({ status: 'PENDING', last_status_code: null });
    expect(d.last_error).toMatch(/ECONNREFUSED/);
  });

  it('purges finished deliveries past the retention, with their history, and keeps the rest', async () => {
    receiver = await startReceiver([200, 500]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
      const done = await gw.webhooks.ping(user.user.id, hook.id);
      expect(await sender().runOnce()).toMatchObject({ succeeded: 1 });
      const retrying = await gw.webhooks.ping(user.user.id, hook.id);
      expect(await sender().runOnce()).toMatchObject({ retrying: 1 });
      const s = sender({ retentionMs: 30 * 24 * HOUR });
      expect(await s.purgeOnce()).toBe(0);
      clock.advance(31 * 24 * HOUR);
      // The finished one goes (its attempts cascade); the PENDING one stays whatever its age.
      expect(await s.purgeOnce()).toBe(1);
      const left = (await deliveriesOf(hook.id)).map((d) => d.id).sort();
      expect(left).toEqual([retrying.id]);
      const attempts = await gw.database.db
        .selectFrom('webhook_delivery_attempts')
        .select('delivery_id')
        .where('delivery_id', '=', done.id)
        .execute();
      expect(attempts).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('orders UUIDv7 ids around the purge cutoff', () => {
    const ms = Date.parse('2026-11-23T10:00:00.000Z');
    expect(uuidV7Floor(ms)).toBe('01a207d9-2100-7000-8000-000000000000');
    expect(uuidV7Floor(ms) < uuidV7Floor(ms + 1)).toBe(true);
    expect(newId() > uuidV7Floor(Date.now() - 1)).toBe(true);
  });

  it('claims a delivery once across concurrent senders', async () => {
    receiver = await startReceiver([200]);
    try {
      const hook = await createHook(user, { url: receiver.url(), event_types: ['*'] });
      for (let i = 0; i < 6; i++) await gw.webhooks.ping(user.user.id, hook.id);
      const rounds = await Promise.all([
        sender({ concurrency: 4 }).runOnce(),
        sender({ concurrency: 4 }).runOnce(),
      ]);
      const more = await sender().runOnce();
      expect(rounds[0]!.claimed + rounds[1]!.claimed + more.claimed).toBe(6);
      expect(receiver.received).toHaveLength(6);
      expect(new Set(receiver.received.map((r) => r.headers['chronoverse-delivery'])).size).toBe(6);
    } finally {
      await receiver.close();
    }
  });
});

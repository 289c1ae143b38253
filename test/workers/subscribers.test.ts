/**
 * A workflow's facts reach the users an administrator subscribed to it (issue 14), through the
 * real consumers (in-app, email with the real sender and a real SMTP server, GreenMail; webhooks)
 * on PGlite and PostgreSQL, subscriptions made through the real gateway:
 * - B, subscribed by an administrator to A's workflow, gets exactly the events subscribed, once
 *   per fact however often it is delivered, without links into the workflow (a 404 for B);
 * - B's all-workflows subscription and B's preference take nothing of A's workflow;
 * - A's own default (the preference for in-app, nothing by email) is unchanged.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { SmtpMailer } from '../../src/platform/email/mailer.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { EmailConsumer } from '../../src/workers/email/consumer.ts';
import { EmailSender } from '../../src/workers/email/sender.ts';
import { WebhookConsumer } from '../../src/workers/webhooks/consumer.ts';
import { inbox, plainText, smtpUrlOf } from '../helpers/greenmail.ts';
import { ENGINES, registerUser, uniqueEmail } from '../helpers/harness.ts';
import {
  createNotificationsGateway,
  insertWorkflow,
  jobFinished,
  notificationsOf,
  workflowFact,
  type NotificationsGateway,
} from '../notifications/fixtures.ts';

const PUBLIC_URL = 'https://chronoverse.example.test';
type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(ENGINES)("a workflow's other subscribers (%s)", (engine) => {
  const smtp = inject('greenmail');
  let gw: NotificationsGateway;
  let admin: User;
  let emails: EmailConsumer;
  let hooks: WebhookConsumer;
  beforeAll(async () => {
    gw = await createNotificationsGateway(engine, { emailEnabled: true });
    admin = await registerUser(gw as never, uniqueEmail(`admin-${newId().slice(-6)}`));
    expect(admin.user.role).toBe('admin');
    const deps = {
      db: gw.database.db,
      clock: systemClock,
      events: gw.events,
      logger: createLogger('silent'),
      bus: new InProcessBus(),
    };
    emails = new EmailConsumer(deps, { publicUrl: PUBLIC_URL });
    hooks = new WebhookConsumer(deps);
  });
  afterAll(() => gw?.close());

  /** A user with a preference; a unique address (the SMTP server is shared by the run). */
  async function user(preference: 'ALL' | 'ALERTS' = 'ALERTS'): Promise<User> {
    const u = await registerUser(gw as never, uniqueEmail(`sub-${newId().slice(-6)}`));
    const res = await gw.app.inject({
      method: 'PUT',
      url: '/api/v1/users',
      headers: u.headers,
      payload: { notification_preference: preference },
    });
    expect(res.statusCode, res.body).toBe(200);
    return u;
  }
  async function subscribe(by: User, workflowId: string | null, body: Record<string, unknown>) {
    const res = await gw.app.inject({
      method: 'POST',
      url: workflowId === null ? '/api/v1/subscriptions' : `/api/v1/workflows/${workflowId}/subscriptions`,
      headers: by.headers,
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const failed = (wf: string, owner: User) =>
    jobFinished({
      workflow_id: wf,
      user_id: owner.user.id,
      status: 'FAILED',
      http_status_code: 503,
      error_code: 'HTTP_STATUS',
      error_message: 'endpoint answered 503',
    });

  it('in-app: B gets exactly the events subscribed, once, without a deep link; A keeps the preference', async () => {
    const a = await user('ALERTS');
    const b = await user('ALL');
    const wf = await insertWorkflow(gw.database, a.user.id, 'payments sync');
    await subscribe(admin, wf, { channel: 'IN_APP', events: ['job.failed'], user_id: b.user.id });
    // B's own all-workflows subscription and preference ALL are about B's workflows only.
    await subscribe(b, null, { channel: 'IN_APP', events: ['*'] });

    const fact = failed(wf, a);
    expect(await gw.consumer.handle([fact])).toBe(2);
    // Redelivered, the same fact under another message id: nothing more for anyone.
    expect(await gw.consumer.handle([fact])).toBe(0);
    expect(await gw.consumer.handle([{ ...fact, id: newId() }])).toBe(0);
    const jobId = (fact.payload as { job_id: string }).job_id;

    const forB = await notificationsOf(gw.database, b.user.id);
    expect(forB).toHaveLength(1);
    expect(forB[0]).toMatchObject({
      kind: 'ERROR',
      title: 'Job failed',
      entity_id: jobId,
      action_url: null,
      dedupe_key: `JOB_FINISHED:${jobId}`,
    });
    expect(forB[0]!.message).toContain('payments sync');
    const forA = await notificationsOf(gw.database, a.user.id);
    expect(forA).toHaveLength(1);
    expect(forA[0]!.action_url).toBe(`/workflows/${wf}/jobs/${jobId}`);

    // Not subscribed by B: a completed job and a build (A's ALERTS keeps neither either).
    expect(
      await gw.consumer.handle([
        jobFinished({ workflow_id: wf, user_id: a.user.id, status: 'COMPLETED' }),
        workflowFact('BUILD_COMPLETED', { workflow_id: wf, user_id: a.user.id }),
      ]),
    ).toBe(0);
    // A termination: A's preference keeps it, B did not subscribe to it.
    expect(
      await gw.consumer.handle([
        workflowFact('WORKFLOW_TERMINATED', { workflow_id: wf, user_id: a.user.id }),
      ]),
    ).toBe(1);
    expect(await notificationsOf(gw.database, b.user.id)).toHaveLength(1);
    expect(await notificationsOf(gw.database, a.user.id)).toHaveLength(2);

    // The SSE wake-up names B too.
    const woken: string[] = [];
    const off = gw.events.on('notification:created', (e) => void woken.push(e.userId));
    await gw.consumer.handle([failed(wf, a)]);
    off();
    expect(woken.sort()).toEqual([a.user.id, b.user.id].sort());
  });

  it('email: B gets one email to their address for a failed job, without links into the workflow; A none', async () => {
    const a = await user();
    const b = await user();
    const wf = await insertWorkflow(gw.database, a.user.id, 'nightly-backup');
    await subscribe(admin, wf, { channel: 'EMAIL', events: ['job.failed'], user_id: b.user.id });

    const fact = failed(wf, a);
    expect(await emails.handle([fact])).toBe(1);
    expect(await emails.handle([fact])).toBe(0);
    expect(await emails.handle([{ ...fact, id: newId() }])).toBe(0);
    expect(
      await emails.handle([jobFinished({ workflow_id: wf, user_id: a.user.id, status: 'COMPLETED' })]),
    ).toBe(0);

    const sender = new EmailSender(
      {
        db: gw.database.db,
        clock: systemClock,
        events: gw.events,
        logger: createLogger('silent'),
        mailer: new SmtpMailer({
          url: smtpUrlOf(smtp),
          from: 'Chronoverse <alerts@chronoverse.example.test>',
          starttls: 'off',
          tlsVerify: true,
          tlsCaFile: '',
          timeoutMs: 5_000,
        }),
      },
      { retryBaseMs: 60_000, random: () => 0.5 },
    );
    expect(await sender.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await sender.runOnce()).toMatchObject({ claimed: 0 });
    await sender.stop();

    const received = await inbox(smtp, b.user.email);
    expect(received).toHaveLength(1);
    expect(received[0]!.subject).toBe('[Chronoverse] Job failed: nightly-backup');
    expect(received[0]!.mimeMessage).toContain(`To: ${b.user.email}`);
    expect(plainText(received[0]!)).toContain('A job of "nightly-backup" failed (HTTP 503)');
    expect(received[0]!.mimeMessage).not.toContain('/workflows/');
    expect(await inbox(smtp, a.user.email)).toHaveLength(0);

    // It is in B's history, not A's.
    const history = async (u: User) =>
      (await gw.app.inject({ method: 'GET', url: '/api/v1/notifications/emails', headers: u.headers })).json()
        .emails as { id: string; workflow_id: string; status: string }[];
    const [sent] = await history(b);
    expect(sent).toMatchObject({ workflow_id: wf, status: 'SENT', event_type: 'job.failed' });
    expect(await history(a)).toEqual([]);
    // The text sent says why B gets it and where B's subscriptions are (B cannot open the workflow).
    const detail = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/notifications/emails/${sent!.id}`,
      headers: b.headers,
    });
    const text = detail.json().text as string;
    expect(text).toContain('an administrator subscribed you to job.failed');
    expect(text).toContain(`${PUBLIC_URL}/api/v1/subscriptions`);
    expect(text).not.toContain('/workflows/');
  });

  it("webhook: B's endpoint gets the subscribed events of A's workflow once; other endpoints nothing", async () => {
    const a = await user();
    const b = await user();
    const endpoint = async (owner: User, eventTypes: string[]) => {
      const id = newId();
      await gw.database.db
        .insertInto('webhooks')
        .values({
          id,
          user_id: owner.user.id,
          url: 'http://127.0.0.1:9/hook',
          secret: 'whsec_0123456789abcdef0123456789abcdef',
          event_types: eventTypes,
          description: null,
        })
        .execute();
      return id;
    };
    const aHook = await endpoint(a, ['job.completed']);
    const bHook = await endpoint(b, ['*']);
    const bOther = await endpoint(b, ['*']);
    const wf = await insertWorkflow(gw.database, a.user.id, 'hooked');
    await subscribe(admin, wf, {
      channel: 'WEBHOOK',
      target: bHook,
      events: ['job.failed'],
      user_id: b.user.id,
    });

    const fact = failed(wf, a);
    expect(await hooks.handle([fact])).toBe(1);
    expect(await hooks.handle([fact, { ...fact, id: newId() }])).toBe(0);
    expect(
      await hooks.handle([jobFinished({ workflow_id: wf, user_id: a.user.id, status: 'COMPLETED' })]),
    ).toBe(1);
    const deliveries = await gw.database.db
      .selectFrom('webhook_deliveries')
      .select(['webhook_id', 'user_id', 'event_type'])
      .where('webhook_id', 'in', [aHook, bHook, bOther])
      .orderBy('id')
      .execute();
    expect(deliveries).toEqual([
      { webhook_id: bHook, user_id: b.user.id, event_type: 'job.failed' },
      { webhook_id: aHook, user_id: a.user.id, event_type: 'job.completed' },
    ]);

    // A disabled endpoint gets nothing, subscription or not.
    await gw.database.db.updateTable('webhooks').set({ enabled: false }).where('id', '=', bHook).execute();
    expect(await hooks.handle([failed(wf, a)])).toBe(0);
  });
});

/**
 * Email notifications and subscriptions (issue 14) through the real gateway (services over RPC on
 * the in-memory transport), the real consumers and the real sender, against a real SMTP server
 * (GreenMail, test/helpers/greenmail-setup.ts), on PGlite and PostgreSQL:
 * - a subscriber of a workflow gets one email for a failed job (subject, text, deep link, no
 *   secret of the workflow or of the SMTP login), however often the fact is delivered, and its
 *   history says SENT with the server's answer;
 * - SMTP down: the email waits (PENDING, the error recorded) and is sent once, when due again
 *   after the server is back;
 * - without a subscription nobody gets email; a workflow's own subscription wins over the
 *   all-workflows one (`events: []` mutes); in-app follows subscriptions, else the preference;
 * - subscriptions and emails of other users are 404s; bodies are validated field by field.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { SmtpMailer } from '../../src/platform/email/mailer.ts';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import { EmailConsumer } from '../../src/workers/email/consumer.ts';
import { EmailSender } from '../../src/workers/email/sender.ts';
import { GreenMail, inbox, plainText, smtpUrlOf, type GreenMailAddress } from '../helpers/greenmail.ts';
import { ENGINES, registerUser, uniqueEmail } from '../helpers/harness.ts';
import {
  createNotificationsGateway,
  jobFinished,
  notificationsOf,
  type NotificationsGateway,
} from '../notifications/fixtures.ts';
import { snapshotOf } from '../helpers/fixtures.ts';

const PUBLIC_URL = 'https://chronoverse.example.test';
const WORKFLOW_SECRET = 'Bearer wf-secret-7f3a9c';
type User = Awaited<ReturnType<typeof registerUser>>;

/** A clock the test moves by hand (the sender's retry schedule). */
function testClock() {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

function mailerFor(server: GreenMailAddress) {
  return new SmtpMailer({
    url: smtpUrlOf(server),
    from: 'Chronoverse <alerts@chronoverse.example.test>',
    starttls: 'off',
    tlsVerify: true,
    tlsCaFile: '',
    timeoutMs: 5_000,
  });
}

async function newUser(gw: NotificationsGateway, preference: 'ALL' | 'ALERTS' = 'ALERTS'): Promise<User> {
  // A unique recipient per user: the SMTP server is shared by every test of the run.
  const user = await registerUser(gw as never, uniqueEmail(`mail-${newId().slice(-6)}`));
  const res = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/users',
    headers: user.headers,
    payload: { notification_preference: preference },
  });
  expect(res.statusCode, res.body).toBe(200);
  return user;
}

/** A heartbeat workflow whose payload holds a secret header (it must never reach an email). */
async function workflowOf(gw: NotificationsGateway, user: User, name: string): Promise<string> {
  const id = newId();
  await gw.database.db
    .insertInto('workflows')
    .values({
      id,
      user_id: user.user.id,
      name,
      kind: 'HEARTBEAT',
      payload: JSON.stringify({
        endpoint: 'http://127.0.0.1:9/',
        headers: { authorization: WORKFLOW_SECRET },
      }),
      schedule_type: 'interval',
      interval_minutes: 60,
      max_consecutive_job_failures_allowed: 3,
      log_retention: false,
      next_run_at: null,
    })
    .execute();
  return id;
}

async function subscribe(gw: NotificationsGateway, user: User, path: string, body: unknown) {
  return gw.app.inject({
    method: 'POST',
    url: `/api/v1${path}`,
    headers: user.headers,
    payload: body as object,
  });
}

describe.each(ENGINES)('email notifications and subscriptions (%s)', (engine) => {
  const smtp = inject('greenmail');
  let gw: NotificationsGateway;
  let emails: EmailConsumer;
  const clock = testClock();

  beforeAll(async () => {
    gw = await createNotificationsGateway(engine, { emailEnabled: true });
    emails = new EmailConsumer(
      {
        db: gw.database.db,
        clock,
        events: gw.events,
        logger: createLogger('info', gw.logs),
        bus: new InProcessBus(),
      },
      { publicUrl: PUBLIC_URL },
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  function senderTo(server: GreenMailAddress) {
    return new EmailSender(
      {
        db: gw.database.db,
        clock,
        events: gw.events,
        logger: createLogger('info', gw.logs),
        mailer: mailerFor(server),
      },
      { retryBaseMs: 60_000, random: () => 0.5 },
    );
  }

  it('sends a subscriber one email for a failed job: subject, text, deep link, no secret', async () => {
    const user = await newUser(gw);
    const wf = await workflowOf(gw, user, 'nightly-backup');
    const sub = await subscribe(gw, user, `/workflows/${wf}/subscriptions`, {
      channel: 'EMAIL',
      events: ['job.failed'],
    });
    expect(sub.statusCode, sub.body).toBe(201);
    expect(sub.json()).toMatchObject({ workflow_id: wf, channel: 'EMAIL', events: ['job.failed'] });

    const fact = jobFinished({
      workflow_id: wf,
      user_id: user.user.id,
      status: 'FAILED',
      http_status_code: 503,
      error_code: 'HTTP_STATUS',
      error_message: 'endpoint answered 503',
    });
    expect(await emails.handle([fact])).toBe(1);
    // Redelivered, and the same fact under another message id: nothing more is queued.
    expect(await emails.handle([fact])).toBe(0);
    expect(await emails.handle([{ ...fact, id: newId() }])).toBe(0);

    const sender = senderTo(smtp);
    expect(await sender.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await sender.runOnce()).toMatchObject({ claimed: 0 });
    await sender.stop();

    const received = await inbox(smtp, user.user.email);
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.subject).toBe('[Chronoverse] Job failed: nightly-backup');
    const text = plainText(mail);
    const jobId = (fact.payload as { job_id: string }).job_id;
    expect(text).toContain(
      'A job of "nightly-backup" failed (HTTP 503): HTTP_STATUS: endpoint answered 503.',
    );
    expect(text).toContain(`${PUBLIC_URL}/workflows/${wf}/jobs/${jobId}`);
    expect(text).toContain(`${PUBLIC_URL}/workflows/${wf}`);
    expect(mail.mimeMessage).toContain(`To: ${user.user.email}`);
    for (const secret of [WORKFLOW_SECRET, 'not-a-real-password', user.token]) {
      expect(mail.mimeMessage).not.toContain(secret);
    }

    const list = await gw.app.inject({
      method: 'GET',
      url: '/api/v1/notifications/emails',
      headers: user.headers,
    });
    expect(list.statusCode, list.body).toBe(200);
    const [email] = list.json<{ emails: { id: string }[] }>().emails;
    expect(list.json().emails).toHaveLength(1);
    expect(email).toMatchObject({
      workflow_id: wf,
      event_type: 'job.failed',
      to: user.user.email,
      subject: mail.subject,
      status: 'SENT',
      attempts: 1,
      last_error: null,
      next_attempt_at: null,
    });
    const detail = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/notifications/emails/${email!.id}`,
      headers: user.headers,
    });
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json().text).toContain('endpoint answered 503');
    expect(detail.json().history).toMatchObject([{ attempt: 1, smtp_code: 250 }]);
    expect(detail.json().history[0].response).toMatch(/^250/);
  });

  it('keeps an email while SMTP is down and sends it once when due again after it is back', async () => {
    const own = await GreenMail.start();
    try {
      await own.stop();
      const user = await newUser(gw);
      const wf = await workflowOf(gw, user, 'orders-sync');
      expect(
        (await subscribe(gw, user, '/subscriptions', { channel: 'EMAIL', events: ['*'] })).statusCode,
      ).toBe(201);
      expect(
        await emails.handle([jobFinished({ workflow_id: wf, user_id: user.user.id, status: 'FAILED' })]),
      ).toBe(1);

      const sender = senderTo(own);
      expect(await sender.runOnce()).toMatchObject({ claimed: 1, retrying: 1, sent: 0 });
      const [row] = await gw.database.db
        .selectFrom('email_deliveries')
        .selectAll()
        .where('user_id', '=', user.user.id)
        .execute();
      expect(row).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(row!.last_error).toMatch(/ECONNREFUSED|connect/i);
      // Not due yet: nothing is tried, even with the server back.
      await own.start();
      expect(await sender.runOnce()).toMatchObject({ claimed: 0 });
      expect(await inbox(own, user.user.email)).toHaveLength(0);

      clock.advance(10 * 60_000);
      expect(await sender.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
      clock.advance(24 * 3_600_000);
      expect(await sender.runOnce()).toMatchObject({ claimed: 0 });
      await sender.stop();
      expect(await inbox(own, user.user.email)).toHaveLength(1);

      const detail = await gw.app.inject({
        method: 'GET',
        url: `/api/v1/notifications/emails/${row!.id}`,
        headers: user.headers,
      });
      expect(detail.json()).toMatchObject({ status: 'SENT', attempts: 2, last_error: null });
      expect(detail.json().history).toMatchObject([
        { attempt: 1, smtp_code: null },
        { attempt: 2, smtp_code: 250 },
      ]);
    } finally {
      await own.destroy();
    }
  });

  it('sends nothing without a subscription; a workflow of its own wins over all-workflows', async () => {
    const plain = await newUser(gw, 'ALL');
    const muted = await newUser(gw, 'ALL');
    const plainWf = await workflowOf(gw, plain, 'no-subscription');
    const mutedWf = await workflowOf(gw, muted, 'muted');
    const otherWf = await workflowOf(gw, muted, 'still-subscribed');
    expect(
      (await subscribe(gw, muted, '/subscriptions', { channel: 'EMAIL', events: ['job.failed'] })).statusCode,
    ).toBe(201);
    expect(
      (await subscribe(gw, muted, `/workflows/${mutedWf}/subscriptions`, { channel: 'EMAIL', events: [] }))
        .statusCode,
    ).toBe(201);

    const created = await emails.handle([
      jobFinished({ workflow_id: plainWf, user_id: plain.user.id, status: 'FAILED' }),
      jobFinished({ workflow_id: mutedWf, user_id: muted.user.id, status: 'FAILED' }),
      jobFinished({ workflow_id: otherWf, user_id: muted.user.id, status: 'COMPLETED' }),
      jobFinished({ workflow_id: otherWf, user_id: muted.user.id, status: 'FAILED' }),
    ]);
    expect(created).toBe(1);
    const rows = await gw.database.db
      .selectFrom('email_deliveries')
      .select(['user_id', 'workflow_id', 'event_type'])
      .where('user_id', 'in', [plain.user.id, muted.user.id])
      .execute();
    expect(rows).toEqual([{ user_id: muted.user.id, workflow_id: otherWf, event_type: 'job.failed' }]);

    const effective = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/workflows/${mutedWf}/subscriptions`,
      headers: muted.headers,
    });
    expect(effective.statusCode, effective.body).toBe(200);
    expect(effective.json()).toMatchObject({
      email_enabled: true,
      effective: [
        { channel: 'IN_APP', source: 'DEFAULT', events: ['*'] },
        { channel: 'EMAIL', source: 'WORKFLOW', events: [] },
      ],
    });
    expect(effective.json().subscriptions).toHaveLength(2);
  });

  it('in-app: a subscription replaces the preference for its scope; without one the preference decides', async () => {
    const user = await newUser(gw, 'ALL');
    const quiet = await workflowOf(gw, user, 'failures-only');
    const usual = await workflowOf(gw, user, 'as-before');
    expect(
      (
        await subscribe(gw, user, `/workflows/${quiet}/subscriptions`, {
          channel: 'IN_APP',
          events: ['job.failed'],
        })
      ).statusCode,
    ).toBe(201);
    await gw.consumer.handle([
      jobFinished({ workflow_id: quiet, user_id: user.user.id, status: 'COMPLETED' }),
      jobFinished({ workflow_id: quiet, user_id: user.user.id, status: 'FAILED' }),
      jobFinished({ workflow_id: usual, user_id: user.user.id, status: 'COMPLETED' }),
    ]);
    const rows = await notificationsOf(gw.database, user.user.id);
    expect(rows.map((r) => [r.title, r.message.includes('"failures-only"')])).toEqual([
      ['Job failed', true],
      ['Job completed', false],
    ]);
  });

  it('job.recovered: a completed job after a failed one says so, in the email and in-app', async () => {
    const user = await newUser(gw, 'ALL');
    const wf = await workflowOf(gw, user, 'flaky');
    expect(
      (
        await subscribe(gw, user, `/workflows/${wf}/subscriptions`, {
          channel: 'EMAIL',
          events: ['job.recovered'],
        })
      ).statusCode,
    ).toBe(201);
    // Jobs as the engine leaves them: failed, canceled (skipped by the rule), then completed twice.
    const ids = [newId(), newId(), newId(), newId()];
    const statuses = ['FAILED', 'CANCELED', 'COMPLETED', 'COMPLETED'] as const;
    await gw.database.db
      .insertInto('jobs')
      .values(
        ids.map((id, i) => ({
          id,
          workflow_id: wf,
          user_id: user.user.id,
          workflow_generation: 1,
          ...snapshotOf(wf),
          status: statuses[i]!,
          trigger: 'AUTOMATIC' as const,
          scheduled_at: new Date(Date.UTC(2026, 10, 23, 10, i)),
          started_at: new Date(Date.UTC(2026, 10, 23, 10, i)),
          completed_at: new Date(Date.UTC(2026, 10, 23, 10, i, 5)),
        })),
      )
      .execute();
    const facts = ids.map((id, i) =>
      jobFinished({ job_id: id, workflow_id: wf, user_id: user.user.id, status: statuses[i]! }),
    );
    expect(await emails.handle(facts)).toBe(1);
    await gw.consumer.handle(facts);
    const [email] = await gw.database.db
      .selectFrom('email_deliveries')
      .selectAll()
      .where('user_id', '=', user.user.id)
      .execute();
    expect(email).toMatchObject({
      event_type: 'job.recovered',
      subject: '[Chronoverse] Job recovered: flaky',
    });
    expect(email!.text_body).toContain(`/workflows/${wf}/jobs/${ids[2]}`);
    const inApp = await notificationsOf(gw.database, user.user.id);
    expect(inApp.map((n) => [n.entity_id, n.title])).toEqual([
      [ids[0], 'Job failed'],
      [ids[1], 'Job canceled'],
      [ids[2], 'Job recovered'],
      [ids[3], 'Job completed'],
    ]);
  });

  it('replaces the events of a channel and scope on a second POST, and validates every field', async () => {
    const user = await newUser(gw);
    const wf = await workflowOf(gw, user, 'replace');
    const first = await subscribe(gw, user, `/workflows/${wf}/subscriptions`, {
      channel: 'EMAIL',
      events: ['job.failed'],
    });
    const second = await subscribe(gw, user, `/workflows/${wf}/subscriptions`, {
      channel: 'EMAIL',
      events: ['workflow.terminated', 'job.recovered', 'job.recovered'],
    });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({
      id: first.json().id,
      events: ['job.recovered', 'workflow.terminated'],
    });

    const bad = await subscribe(gw, user, `/workflows/${wf}/subscriptions`, {
      channel: 'SMS',
      events: ['job.failed', 'job.exploded'],
      extra: 1,
    });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(
      bad
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['channel', 'events.1', 'extra']);

    const all = await gw.app.inject({ method: 'GET', url: '/api/v1/subscriptions', headers: user.headers });
    expect(all.json().subscriptions).toHaveLength(1);
    const del = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v1/workflows/${wf}/subscriptions/${first.json().id}`,
      headers: user.headers,
    });
    expect(del.statusCode, del.body).toBe(204);
    const after = await gw.app.inject({ method: 'GET', url: '/api/v1/subscriptions', headers: user.headers });
    expect(after.json().subscriptions).toEqual([]);
  });

  it("answers 404 for another user's workflow, subscription and email", async () => {
    const owner = await newUser(gw);
    const other = await newUser(gw);
    const wf = await workflowOf(gw, owner, 'private');
    const otherWf = await workflowOf(gw, other, 'theirs');
    const sub = (
      await subscribe(gw, owner, `/workflows/${wf}/subscriptions`, { channel: 'EMAIL', events: ['*'] })
    ).json();
    await emails.handle([jobFinished({ workflow_id: wf, user_id: owner.user.id, status: 'FAILED' })]);
    const [email] = await gw.database.db
      .selectFrom('email_deliveries')
      .select('id')
      .where('user_id', '=', owner.user.id)
      .execute();

    const as = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      gw.app.inject({
        method,
        url: `/api/v1${url}`,
        headers: other.headers,
        ...(payload ? { payload } : {}),
      });
    for (const res of [
      await as('GET', `/workflows/${wf}/subscriptions`),
      await as('POST', `/workflows/${wf}/subscriptions`, { channel: 'EMAIL', events: ['*'] }),
      await as('DELETE', `/workflows/${wf}/subscriptions/${sub.id}`),
      await as('DELETE', `/workflows/${otherWf}/subscriptions/${sub.id}`),
      await as('DELETE', `/subscriptions/${sub.id}`),
      await as('GET', `/notifications/emails/${email!.id}`),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
    }
    expect((await as('GET', '/subscriptions')).json().subscriptions).toEqual([]);
    expect((await as('GET', '/notifications/emails')).json().emails).toEqual([]);
    // The owner's subscription is untouched.
    const mine = await gw.app.inject({ method: 'GET', url: '/api/v1/subscriptions', headers: owner.headers });
    expect(mine.json().subscriptions.map((s: { id: string }) => s.id)).toEqual([sub.id]);
  });
});

/**
 * Password reset by email (issue 14) through the real gateway (users service over RPC on the
 * in-memory transport), the email outbox and the real sender, against a real SMTP server
 * (GreenMail), on PGlite and PostgreSQL: the same 202 for known and unknown addresses, one email
 * with a one-time link under the public URL, the link sets a new password once, revokes every
 * session and token, expires after 30 minutes, and never shows in the email history.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.ts';
import { SmtpMailer } from '../../src/platform/email/mailer.ts';
import { EmailSender } from '../../src/workers/email/sender.ts';
import { inbox, plainText, smtpUrlOf } from '../helpers/greenmail.ts';
import {
  createTestGateway,
  ENGINES,
  PASSWORD,
  registerUser,
  uniqueEmail,
  type TestGateway,
} from '../helpers/harness.ts';

const PUBLIC_URL = 'https://chronoverse.example.test';
const NEW_PASSWORD = 'lantern quietly orbiting 42 pears';

function testClock() {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

describe.each(ENGINES)('password reset by email (%s)', (engine) => {
  const smtp = inject('greenmail');
  const clock = testClock();
  let gw: TestGateway;
  let sender: EmailSender;

  beforeAll(async () => {
    gw = await createTestGateway(engine, {
      clock,
      emailEnabled: true,
      env: { CHRONOVERSE_PUBLIC_URL: PUBLIC_URL },
    });
    sender = new EmailSender({
      db: gw.database.db,
      clock,
      events: gw.events,
      logger: createLogger('info', gw.logs),
      mailer: new SmtpMailer({
        url: smtpUrlOf(smtp),
        from: 'Chronoverse <alerts@chronoverse.example.test>',
        starttls: 'off',
        tlsVerify: true,
        tlsCaFile: '',
        timeoutMs: 5_000,
      }),
    });
  });
  afterAll(async () => {
    await sender?.stop();
    await gw?.close();
  });

  const post = (url: string, payload: object) =>
    gw.app.inject({ method: 'POST', url: `/api/v1${url}`, payload });

  /** Asks for a link for `email` and returns the token the received email holds. */
  async function emailedToken(email: string): Promise<string> {
    const before = (await inbox(smtp, email)).length;
    const res = await post('/auth/password-reset', { email });
    expect(res.statusCode, res.body).toBe(202);
    expect(await sender.runOnce()).toMatchObject({ sent: 1 });
    const mails = await inbox(smtp, email);
    expect(mails).toHaveLength(before + 1);
    const mail = mails.at(-1)!;
    expect(mail.subject).toBe('[Chronoverse] Reset your password');
    const m = new RegExp(`${PUBLIC_URL}/reset-password\\?token=(cvr_[A-Za-z0-9_-]+)`).exec(plainText(mail));
    expect(m, plainText(mail)).not.toBeNull();
    return m![1]!;
  }

  it('answers unknown and known addresses alike, and emails only the account', async () => {
    const unknown = await post('/auth/password-reset', { email: uniqueEmail('nobody') });
    const user = await registerUser(gw, uniqueEmail('reset'));
    const known = await post('/auth/password-reset', { email: user.user.email.toUpperCase() });
    expect(unknown.statusCode).toBe(202);
    expect(known.statusCode).toBe(202);
    expect(known.json()).toEqual(unknown.json());
    const rows = await gw.database.db
      .selectFrom('email_deliveries')
      .select(['user_id', 'to_address'])
      .execute();
    expect(rows.filter((r) => r.to_address === user.user.email)).toHaveLength(1);
    expect(await sender.runOnce()).toMatchObject({ sent: 1 });
    expect(await inbox(smtp, user.user.email)).toHaveLength(1);
  });

  it('sets a new password once with the link, revoking every session and token', async () => {
    const user = await registerUser(gw, uniqueEmail('reset'));
    const pat = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: user.headers,
      payload: { name: 'ci' },
    });
    expect(pat.statusCode, pat.body).toBe(201);
    const token = await emailedToken(user.user.email);

    const weak = await post('/auth/password-reset/confirm', { token, password: 'password123' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors.map((e: { path: string }) => e.path)).toEqual(['password']);

    const ok = await post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(204);
    for (const bearer of [user.token, pat.json().token as string]) {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/api/v1/users',
        headers: { authorization: `Bearer ${bearer}` },
      });
      expect(res.statusCode).toBe(401);
    }
    expect((await post('/auth/login', { email: user.user.email, password: PASSWORD })).statusCode).toBe(401);
    const login = await post('/auth/login', { email: user.user.email, password: NEW_PASSWORD });
    expect(login.statusCode, login.body).toBe(200);

    const again = await post('/auth/password-reset/confirm', { token, password: `${NEW_PASSWORD} again` });
    expect(again.statusCode).toBe(400);
    expect(again.json().errors.map((e: { path: string }) => e.path)).toEqual(['token']);

    // The history shows that an email went out, never the link; the stored text is blanked.
    const history = await gw.app.inject({
      method: 'GET',
      url: '/api/v1/notifications/emails',
      headers: { authorization: `Bearer ${login.json().token}` },
    });
    const [email] = history.json().emails;
    expect(email).toMatchObject({ event_type: 'auth.password_reset', status: 'SENT' });
    const detail = await gw.app.inject({
      method: 'GET',
      url: `/api/v1/notifications/emails/${email.id}`,
      headers: { authorization: `Bearer ${login.json().token}` },
    });
    expect(detail.body).not.toContain(token);
    const row = await gw.database.db
      .selectFrom('email_deliveries')
      .select(['text_body', 'html_body'])
      .where('id', '=', email.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ text_body: '', html_body: '' });
    const audit = await gw.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('subject_id', '=', user.user.id)
      .execute();
    expect(audit.map((a) => a.action)).toContain('user.password_reset');
  });

  it('refuses a link after 30 minutes, and an unknown one', async () => {
    const user = await registerUser(gw, uniqueEmail('reset'));
    const token = await emailedToken(user.user.email);
    clock.advance(31 * 60_000);
    const late = await post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(late.statusCode).toBe(400);
    const unknown = await post('/auth/password-reset/confirm', {
      token: 'cvr_nothing',
      password: NEW_PASSWORD,
    });
    expect(unknown.statusCode).toBe(400);
    expect((await post('/auth/login', { email: user.user.email, password: PASSWORD })).statusCode).toBe(200);
  });

  it('is a 412 when the installation sends no email', async () => {
    const off = await createTestGateway(engine, { database: gw.database });
    try {
      const res = await off.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password-reset',
        payload: { email: uniqueEmail() },
      });
      expect(res.statusCode, res.body).toBe(412);
    } finally {
      await off.close();
    }
  });
});

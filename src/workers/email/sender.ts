/**
 * Email sender: sends due emails of the outbox table `email_deliveries` through the SMTP seam
 * (src/platform/email/mailer.ts) and records every attempt. The webhook sender's shape
 * (src/workers/webhooks/sender.ts), for SMTP:
 *
 * A round (`runOnce`):
 * 1. emailDeliveriesClaim: up to `concurrency` due PENDING rows, FOR UPDATE SKIP LOCKED (several
 *    senders never take the same row), counting the attempt and pushing `next_attempt_at` to a
 *    lease end (3 SMTP deadlines + 30 s): a sender that dies mid-send leaves the row to be
 *    claimed again when the lease ends.
 * 2. Hand them to the SMTP server at once, each with the same Message-ID on every attempt.
 * 3. emailDeliveriesRecord: one statement stores the attempts (code and answer) and moves each
 *    row on, guarded by its attempt number and status:
 *    - accepted (2xx) → SENT;
 *    - a 5xx about the message (recipient refused…) → FAILED at once;
 *    - anything else (connection refused, timeout, 4xx, login refused) → PENDING again after
 *      base · 2^(attempt−1) (capped, ±20% jitter), or FAILED once that would fall after
 *      created_at + max age.
 *
 * Exactly once in the normal path: a row is sent by the one sender holding its lease and marked
 * SENT by the same round. Only a crash between the server's 250 and the record (a few ms) sends
 * it again after the lease; the unchanged Message-ID lets the receiver's client fold the two.
 *
 * A `sensitive` email (a password reset link) has its bodies blanked in the statement that
 * finishes it: the link lives in the table only while it may still be sent.
 *
 * Woken by `email:deliveries:due` (the consumer's commits; bridged across processes by Redis)
 * and polling every `pollIntervalMs` for retries coming due. Finished rows older than the
 * retention are purged hourly, in batches.
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB, EmailDeliveryStatus } from '../../platform/db/schema.ts';
import type { Mailer, SendOutcome } from '../../platform/email/mailer.ts';
import type { Events } from '../../platform/events.ts';
import type { Logger } from '../../platform/logger.ts';
import { Loop } from '../loop.ts';
import { retryDelayMs, uuidV7Floor } from '../webhooks/sender.ts';

export interface EmailSenderConfig {
  /** Deadline of one SMTP step (connect, greeting, each command); the lease is 3 of them + 30 s. @default 30000 */
  timeoutMs: number;
  /** Emails claimed and sent at once per round. @default 4 */
  concurrency: number;
  /** First retry delay; doubles per attempt. @default 30000 */
  retryBaseMs: number;
  /** Longest retry delay. @default 3600000 */
  retryMaxMs: number;
  /** Give up (FAILED) once the next attempt would be this long after creation. @default 86400000 */
  maxAgeMs: number;
  /** Polling period when nothing wakes the sender. @default 5000 */
  pollIntervalMs: number;
  /** Finished emails older than this are deleted (hourly, in batches). @default 2592000000 */
  retentionMs: number;
  /** A number in [0, 1) for the jitter. @default Math.random */
  random: () => number;
}

export const EMAIL_SENDER_DEFAULTS: EmailSenderConfig = {
  timeoutMs: 30_000,
  concurrency: 4,
  retryBaseMs: 30_000,
  retryMaxMs: 3_600_000,
  maxAgeMs: 86_400_000,
  pollIntervalMs: 5_000,
  retentionMs: 30 * 86_400_000,
  random: Math.random,
};

export interface EmailRound {
  claimed: number;
  sent: number;
  retrying: number;
  failed: number;
}

interface Claimed {
  id: string;
  attempts: number;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Date;
}

interface Result {
  id: string;
  attempt: number;
  startedAt: Date;
  code: number | null;
  response: string;
  durationMs: number;
  status: EmailDeliveryStatus;
  nextAttemptAt: Date | null;
}

const PURGE_EVERY_MS = 3_600_000;
const PURGE_BATCH = 1_000;

export class EmailSender {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #mailer: Mailer;
  readonly #config: EmailSenderConfig;
  readonly #loop: Loop;
  #unsubscribe: (() => void) | null = null;
  #lastPurge = 0;

  constructor(
    deps: { db: Kysely<DB>; clock: Clock; events: Events; logger: Logger; mailer: Mailer },
    config: Partial<EmailSenderConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#mailer = deps.mailer;
    this.#config = { ...EMAIL_SENDER_DEFAULTS, ...config };
    const c = this.#config;
    if (c.concurrency < 1 || c.timeoutMs <= 0 || c.retryBaseMs <= 0 || c.retryMaxMs < c.retryBaseMs) {
      throw new Error('EmailSender: invalid configuration');
    }
    this.#loop = new Loop({
      name: 'email-sender',
      logger: deps.logger,
      run: async () => {
        if (this.#clock.now().getTime() - this.#lastPurge >= PURGE_EVERY_MS) {
          this.#lastPurge = this.#clock.now().getTime();
          await this.purgeOnce();
        }
        const round = await this.runOnce();
        return round.claimed >= this.#config.concurrency ? 0 : this.#config.pollIntervalMs;
      },
    });
  }

  start(): void {
    this.#unsubscribe ??= this.#events.on('email:deliveries:due', () => this.#loop.wake());
    this.#loop.start();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#loop.stop();
    this.#mailer.close();
  }

  async runOnce(): Promise<EmailRound> {
    const claimed = await this.#claim();
    if (claimed.length === 0) return { claimed: 0, sent: 0, retrying: 0, failed: 0 };
    const results = await Promise.all(claimed.map((d) => this.#send(d)));
    await this.#record(results);
    const count = (s: EmailDeliveryStatus) => results.filter((r) => r.status === s).length;
    const round = {
      claimed: claimed.length,
      sent: count('SENT'),
      retrying: count('PENDING'),
      failed: count('FAILED'),
    };
    this.#logger.debug(round, 'email round');
    return round;
  }

  /**
   * emailDeliveriesPurge: finished emails created before now − retention (their attempts go with
   * them), 1,000 per statement; UUIDv7 ids make "created before" a primary-key range.
   */
  async purgeOnce(): Promise<number> {
    const cutoff = uuidV7Floor(this.#clock.now().getTime() - this.#config.retentionMs);
    let total = 0;
    for (;;) {
      const result = await sql`
        DELETE FROM email_deliveries WHERE id IN (
          SELECT id FROM email_deliveries
          WHERE id < ${cutoff}::uuid AND status <> 'PENDING'
          ORDER BY id LIMIT ${PURGE_BATCH})`.execute(this.#db);
      const n = Number(result.numAffectedRows ?? 0);
      total += n;
      if (n < PURGE_BATCH) return total;
    }
  }

  /** emailDeliveriesClaim (index email_deliveries_due_idx). */
  async #claim(): Promise<Claimed[]> {
    const now = this.#clock.now();
    const leaseEnd = new Date(now.getTime() + 3 * this.#config.timeoutMs + 30_000);
    const { rows } = await sql<Claimed>`
      WITH due AS (
        SELECT id FROM email_deliveries
        WHERE status = 'PENDING' AND next_attempt_at <= ${now}::timestamptz
        ORDER BY next_attempt_at
        LIMIT ${this.#config.concurrency}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE email_deliveries d
      SET attempts = d.attempts + 1, next_attempt_at = ${leaseEnd}::timestamptz
      FROM due
      WHERE d.id = due.id
      RETURNING d.id, d.attempts, d.to_address, d.subject, d.text_body, d.html_body, d.created_at`.execute(
      this.#db,
    );
    return rows.map((r) => ({ ...r, created_at: new Date(r.created_at) }));
  }

  async #send(d: Claimed): Promise<Result> {
    const startedAt = this.#clock.now();
    const t0 = performance.now();
    let outcome: SendOutcome;
    try {
      outcome = await this.#mailer.send({
        to: d.to_address,
        subject: d.subject,
        text: d.text_body,
        html: d.html_body,
        messageId: `${d.id}@chronoverse`,
      });
    } catch (err) {
      outcome = { kind: 'failed', code: null, response: (err as Error).message };
    }
    const durationMs = Math.max(0, Math.round(performance.now() - t0));
    const base = { id: d.id, attempt: d.attempts, startedAt, durationMs, code: outcome.code };
    if (outcome.kind === 'sent') {
      return { ...base, response: outcome.response, status: 'SENT', nextAttemptAt: null };
    }
    if (outcome.kind === 'rejected') {
      this.#logger.info({ emailId: d.id, code: outcome.code }, 'email refused by the SMTP server');
      return { ...base, response: outcome.response, status: 'FAILED', nextAttemptAt: null };
    }
    const next = new Date(this.#clock.now().getTime() + retryDelayMs(d.attempts, this.#config));
    if (next.getTime() > d.created_at.getTime() + this.#config.maxAgeMs) {
      return {
        ...base,
        response: `${outcome.response}; gave up after ${d.attempts} attempts`,
        status: 'FAILED',
        nextAttemptAt: null,
      };
    }
    this.#logger.info(
      { emailId: d.id, attempt: d.attempts, code: outcome.code },
      'email not sent; will retry',
    );
    return { ...base, response: outcome.response, status: 'PENDING', nextAttemptAt: next };
  }

  /** emailDeliveriesRecord: the round's attempts and outcomes in one statement. */
  async #record(results: Result[]): Promise<void> {
    const now = this.#clock.now();
    await sql`
      WITH r AS (
        SELECT * FROM unnest(
          ${results.map((r) => r.id)}::uuid[], ${results.map((r) => r.attempt)}::int[],
          ${results.map((r) => r.startedAt.toISOString())}::timestamptz[], ${results.map((r) => r.code)}::int[],
          ${results.map((r) => r.response)}::text[], ${results.map((r) => r.durationMs)}::int[],
          ${results.map((r) => r.status)}::text[], ${results.map((r) => r.nextAttemptAt?.toISOString() ?? null)}::timestamptz[]
        ) AS r(id, attempt, started_at, smtp_code, response, duration_ms, status, next_attempt_at)
      ), attempts AS (
        INSERT INTO email_delivery_attempts (delivery_id, attempt, started_at, smtp_code, response, duration_ms)
        SELECT r.id, r.attempt, r.started_at, r.smtp_code, r.response, r.duration_ms
        FROM r JOIN email_deliveries d ON d.id = r.id
        ON CONFLICT (delivery_id, attempt) DO NOTHING
      )
      UPDATE email_deliveries d
      SET status = r.status, next_attempt_at = r.next_attempt_at,
          last_error = CASE WHEN r.status = 'SENT' THEN NULL ELSE r.response END,
          text_body = CASE WHEN d.sensitive AND r.status <> 'PENDING' THEN '' ELSE d.text_body END,
          html_body = CASE WHEN d.sensitive AND r.status <> 'PENDING' THEN '' ELSE d.html_body END,
          completed_at = CASE WHEN r.status = 'PENDING' THEN NULL ELSE ${now}::timestamptz END
      FROM r
      WHERE d.id = r.id AND d.attempts = r.attempt AND d.status = 'PENDING'`.execute(this.#db);
  }
}

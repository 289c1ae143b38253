/**
 * Webhook sender: sends due deliveries, signed, through the outbound guard (src/platform/outbound:
 * the outbound policy for the webhook owner's role, checked at connect time), and records every
 * attempt.
 *
 * A round (`runOnce`):
 * 1. webhookDeliveriesClaim: up to `concurrency` due PENDING deliveries of enabled webhooks, with
 *    FOR UPDATE SKIP LOCKED (several senders never take the same row), counting the attempt and
 *    pushing `next_attempt_at` forward by a lease (the request deadline + 30 s): a sender that
 *    dies mid-request leaves the row to be claimed again when the lease ends.
 * 2. POST them all at once, each with its deadline; redirects are not followed (a 3xx is an
 *    answer like any other non-2xx).
 * 3. webhookDeliveriesRecord: one statement for the round that stores the attempts and moves each
 *    delivery on, guarded by its attempt number (a row redelivered and re-claimed meanwhile is
 *    not overwritten by the older attempt):
 *    - 2xx → SUCCEEDED;
 *    - refused by the outbound policy → FAILED at once (retrying cannot help), the attempt's error
 *      saying only "refused by outbound policy" (the detail goes to the log);
 *    - anything else → PENDING again after base · 2^(attempt−1) (capped, ±20% jitter), or FAILED
 *      when that would fall after created_at + max age (24 h by default).
 *
 * Woken by `webhooks:deliveries:due` (consumer commits, redeliveries, pings; bridged across
 * processes by Redis) and polling every `pollIntervalMs` for retries coming due.
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB, WebhookDeliveryStatus } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import type { Logger } from '../../platform/logger.ts';
import { REFUSED_BY_OUTBOUND_POLICY } from '../../domain/outbound-policy.ts';
import { OutboundGuard, type OutboundResult } from '../../platform/outbound/guard.ts';
import { SIGNATURE_HEADER, signatureHeader } from '../../platform/webhooks/signature.ts';
import { Loop } from '../loop.ts';

export interface WebhookSenderConfig {
  /** Deadline of one request. @default 10000 */
  timeoutMs: number;
  /** Deliveries claimed and sent at once per round. @default 16 */
  concurrency: number;
  /** First retry delay; doubles per attempt. @default 30000 */
  retryBaseMs: number;
  /** Longest retry delay. @default 3600000 */
  retryMaxMs: number;
  /** Give up (FAILED) once the next attempt would be this long after creation. @default 86400000 */
  maxAgeMs: number;
  /** Polling period when nothing wakes the sender. @default 5000 */
  pollIntervalMs: number;
  /** Finished deliveries older than this are deleted (hourly, in batches). @default 2592000000 */
  retentionMs: number;
  /** The User-Agent header, `Chronoverse-Webhooks/<version>`. */
  userAgent: string;
  /** A number in [0, 1) for the jitter. @default Math.random */
  random: () => number;
}

export const WEBHOOK_SENDER_DEFAULTS: WebhookSenderConfig = {
  timeoutMs: 10_000,
  concurrency: 16,
  retryBaseMs: 30_000,
  retryMaxMs: 3_600_000,
  maxAgeMs: 86_400_000,
  pollIntervalMs: 5_000,
  retentionMs: 30 * 86_400_000,
  userAgent: 'Chronoverse-Webhooks',
  random: Math.random,
};

export interface SenderRound {
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
}

interface Claimed {
  id: string;
  attempts: number;
  body: string;
  event_type: string;
  created_at: Date;
  url: string;
  secret: string;
  /** The webhook owner's role now (null: the account is gone). */
  user_role: 'admin' | 'user' | null;
}

interface Result {
  id: string;
  attempt: number;
  startedAt: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  status: WebhookDeliveryStatus;
  nextAttemptAt: Date | null;
}

/** Answer bytes read (and discarded) so the receiver can finish writing. */
const MAX_ANSWER_BYTES = 64 * 1024;
const PURGE_EVERY_MS = 3_600_000;
const PURGE_BATCH = 1_000;

/** The smallest UUIDv7 of millisecond `ms`: every id made at or after `ms` sorts after it. */
export function uuidV7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/** The wait before attempt `attempt + 1`, with ±20% jitter. */
export function retryDelayMs(
  attempt: number,
  config: Pick<WebhookSenderConfig, 'retryBaseMs' | 'retryMaxMs' | 'random'>,
): number {
  const exp = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp * (0.8 + 0.4 * config.random()));
}

export class WebhookSender {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #config: WebhookSenderConfig;
  readonly #outbound: OutboundGuard;
  readonly #loop: Loop;
  #unsubscribe: (() => void) | null = null;
  #lastPurge = 0;

  constructor(
    deps: {
      db: Kysely<DB>;
      clock: Clock;
      events: Events;
      logger: Logger;
      /** @default the default policy (no private networks for non-administrators) */
      outbound?: OutboundGuard;
    },
    config: Partial<WebhookSenderConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#outbound = deps.outbound ?? new OutboundGuard();
    this.#config = { ...WEBHOOK_SENDER_DEFAULTS, ...config };
    const c = this.#config;
    if (c.concurrency < 1 || c.timeoutMs <= 0 || c.retryBaseMs <= 0 || c.retryMaxMs < c.retryBaseMs) {
      throw new Error('WebhookSender: invalid configuration');
    }
    this.#loop = new Loop({
      name: 'webhook-sender',
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
    this.#unsubscribe ??= this.#events.on('webhooks:deliveries:due', () => this.#loop.wake());
    this.#loop.start();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#loop.stop();
  }

  async runOnce(): Promise<SenderRound> {
    const claimed = await this.#claim();
    if (claimed.length === 0) return { claimed: 0, succeeded: 0, retrying: 0, failed: 0 };
    const results = await Promise.all(claimed.map((d) => this.#send(d)));
    await this.#record(results);
    const count = (s: WebhookDeliveryStatus) => results.filter((r) => r.status === s).length;
    const round = {
      claimed: claimed.length,
      succeeded: count('SUCCEEDED'),
      retrying: count('PENDING'),
      failed: count('FAILED'),
    };
    this.#logger.debug(round, 'webhook round');
    return round;
  }

  /**
   * webhookDeliveriesPurge: deletes finished deliveries created before now − retention (their
   * attempts go with them), up to 1,000 per statement until none is left. Ids are UUIDv7, so "created
   * before" is a primary-key range: the smallest UUIDv7 of the cutoff millisecond bounds it.
   */
  async purgeOnce(): Promise<number> {
    const cutoff = uuidV7Floor(this.#clock.now().getTime() - this.#config.retentionMs);
    let total = 0;
    for (;;) {
      const result = await sql`
        DELETE FROM webhook_deliveries WHERE id IN (
          SELECT id FROM webhook_deliveries
          WHERE id < ${cutoff}::uuid AND status <> 'PENDING'
          ORDER BY id LIMIT ${PURGE_BATCH})`.execute(this.#db);
      const n = Number(result.numAffectedRows ?? 0);
      total += n;
      if (n < PURGE_BATCH) return total;
    }
  }

  /** webhookDeliveriesClaim (index webhook_deliveries_due_idx). */
  async #claim(): Promise<Claimed[]> {
    const now = this.#clock.now();
    const leaseEnd = new Date(now.getTime() + this.#config.timeoutMs + 30_000);
    const { rows } = await sql<Claimed>`
      WITH due AS (
        SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.status = 'PENDING' AND d.next_attempt_at <= ${now}::timestamptz AND w.enabled
        ORDER BY d.next_attempt_at
        LIMIT ${this.#config.concurrency}
        FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE webhook_deliveries d
      SET attempts = d.attempts + 1, next_attempt_at = ${leaseEnd}::timestamptz
      FROM due, webhooks w
      WHERE d.id = due.id AND w.id = d.webhook_id
      RETURNING d.id, d.attempts, d.body, d.event_type, d.created_at, w.url, w.secret,
                (SELECT u.role FROM users u WHERE u.id = w.user_id) AS user_role`.execute(this.#db);
    return rows.map((r) => ({ ...r, created_at: new Date(r.created_at) }));
  }

  async #send(d: Claimed): Promise<Result> {
    const startedAt = this.#clock.now();
    const t0 = performance.now();
    let outcome: OutboundResult;
    try {
      outcome = await this.#outbound.request({
        url: d.url,
        method: 'POST',
        body: d.body,
        role: d.user_role ?? 'user',
        timeoutMs: this.#config.timeoutMs,
        redirects: 0,
        readAnswerBytes: MAX_ANSWER_BYTES,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.#config.userAgent,
          'chronoverse-event': d.event_type,
          'chronoverse-delivery': d.id,
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(d.secret, d.body, startedAt),
        },
      });
    } catch (err) {
      outcome = { kind: 'failed', reason: 'connection', error: (err as Error).message };
    }
    const durationMs = Math.max(0, Math.round(performance.now() - t0));
    const base = { id: d.id, attempt: d.attempts, startedAt, durationMs };
    if (outcome.kind === 'answered' && outcome.statusCode >= 200 && outcome.statusCode < 300) {
      return {
        ...base,
        statusCode: outcome.statusCode,
        error: null,
        status: 'SUCCEEDED',
        nextAttemptAt: null,
      };
    }
    if (outcome.kind === 'refused') {
      this.#logger.info(
        { deliveryId: d.id, detail: outcome.detail },
        'webhook refused by the outbound policy',
      );
      return {
        ...base,
        statusCode: null,
        error: REFUSED_BY_OUTBOUND_POLICY,
        status: 'FAILED',
        nextAttemptAt: null,
      };
    }
    const statusCode = outcome.kind === 'answered' ? outcome.statusCode : null;
    const error =
      outcome.kind === 'answered'
        ? `HTTP ${outcome.statusCode}`
        : outcome.kind === 'failed'
          ? outcome.error
          : 'aborted';
    const now = this.#clock.now();
    const next = new Date(now.getTime() + retryDelayMs(d.attempts, this.#config));
    if (next.getTime() > d.created_at.getTime() + this.#config.maxAgeMs) {
      return {
        ...base,
        statusCode,
        error: `${error}; gave up after ${d.attempts} attempts`,
        status: 'FAILED',
        nextAttemptAt: null,
      };
    }
    return { ...base, statusCode, error, status: 'PENDING', nextAttemptAt: next };
  }

  /** webhookDeliveriesRecord: the round's attempts and outcomes in one statement. */
  async #record(results: Result[]): Promise<void> {
    const now = this.#clock.now();
    await sql`
      WITH r AS (
        SELECT * FROM unnest(
          ${results.map((r) => r.id)}::uuid[], ${results.map((r) => r.attempt)}::int[],
          ${results.map((r) => r.startedAt.toISOString())}::timestamptz[], ${results.map((r) => r.statusCode)}::int[],
          ${results.map((r) => r.error)}::text[], ${results.map((r) => r.durationMs)}::int[],
          ${results.map((r) => r.status)}::text[], ${results.map((r) => r.nextAttemptAt?.toISOString() ?? null)}::timestamptz[]
        ) AS r(id, attempt, started_at, status_code, error, duration_ms, status, next_attempt_at)
      ), attempts AS (
        INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at, status_code, error, duration_ms)
        SELECT r.id, r.attempt, r.started_at, r.status_code, r.error, r.duration_ms
        FROM r JOIN webhook_deliveries d ON d.id = r.id
        ON CONFLICT (delivery_id, attempt) DO NOTHING
      )
      UPDATE webhook_deliveries d
      SET status = r.status, next_attempt_at = r.next_attempt_at, last_status_code = r.status_code,
          last_error = r.error, completed_at = CASE WHEN r.status = 'PENDING' THEN NULL ELSE ${now}::timestamptz END
      FROM r
      WHERE d.id = r.id AND d.attempts = r.attempt AND d.status = 'PENDING'`.execute(this.#db);
  }
}

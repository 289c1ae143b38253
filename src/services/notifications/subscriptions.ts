/**
 * Subscriptions service: a user's notification subscriptions (per workflow or for all their
 * workflows, per channel) and the history of the emails sent to them. Owns the
 * `notification_subscriptions` table and reads `email_deliveries` (written by src/workers/email).
 * The rules of who is told what: src/domain/subscriptions.ts.
 *
 * Ownership: every query is scoped by user id; another user's workflow, subscription or email is
 * "not found" (404), never "forbidden", so their existence is not revealed.
 *
 * Administrators (the admin role with a credential holding the `admin` scope; the gateway says so
 * with `admin`) may subscribe any user of the installation to any workflow (`user_id` in the
 * body), see every subscription to a workflow and delete any of them. A non-admin naming someone
 * else is a 403 on `user_id`. The subscriber owns the subscription (their list, their delete)
 * and is told about the workflow's facts by it alone (src/domain/subscriptions.ts); it grants
 * them no other access to the workflow.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { fieldIssuesFromZod } from '../../domain/field-issues.ts';
import type { NotificationPreference } from '../../domain/user-input.ts';
import {
  ALL_EVENTS,
  decidingSubscription,
  normalizeEvents,
  NOT_FOR_WEBHOOKS,
  SUBSCRIPTION_CHANNELS,
  SUBSCRIPTION_EVENTS,
} from '../../domain/subscriptions.ts';
import type { Clock } from '../../platform/clock.ts';
import type {
  DB,
  EmailDeliveriesTable,
  EmailDeliveryAttemptsTable,
  NotificationSubscriptionsTable,
} from '../../platform/db/schema.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import type {
  EffectiveView,
  EmailAttemptView,
  EmailDetailView,
  EmailListFilters,
  EmailView,
  SubscriptionList,
  SubscriptionsApi,
  SubscriptionView,
} from './subscriptions-api.ts';

const KNOWN_EVENTS: readonly string[] = [...SUBSCRIPTION_EVENTS, ALL_EVENTS];

export const SubscriptionBodySchema = z.strictObject({
  channel: z.enum(SUBSCRIPTION_CHANNELS, { message: `must be one of ${SUBSCRIPTION_CHANNELS.join(', ')}` }),
  events: z
    .array(
      z.string().refine((e) => KNOWN_EVENTS.includes(e), {
        message: `must be one of ${KNOWN_EVENTS.join(', ')}`,
      }),
    )
    .max(16, 'must hold at most 16 events'),
  target: z
    .string()
    .max(64)
    .optional()
    .describe("WEBHOOK only: the id of one of your webhooks (of the subscriber's, with user_id)"),
  user_id: z
    .string()
    .max(64)
    .optional()
    .describe(
      "POST /workflows/{id}/subscriptions only: the user subscribed (default: you); someone else's id needs an administrator",
    ),
});

/** What the ALERTS and ALL preferences keep, as events (the IN_APP default). */
const PREFERENCE_EVENTS: Record<NotificationPreference, string[]> = {
  ALL: [ALL_EVENTS],
  ALERTS: ['job.failed', 'build.failed', 'workflow.terminated', 'schedule.missed'],
  NONE: [],
};

export interface SubscriptionsServiceConfig {
  /** Whether email is configured in the process that sends it (shown to users). */
  emailEnabled: boolean;
}

export class SubscriptionsService implements SubscriptionsApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: SubscriptionsServiceConfig;

  constructor(db: Kysely<DB>, clock: Clock, config: SubscriptionsServiceConfig) {
    this.#db = db;
    this.#clock = clock;
    this.#config = config;
  }

  async list(userId: string, workflowId: string | null, admin = false): Promise<SubscriptionList> {
    if (workflowId === null) {
      const rows = await this.#db
        .selectFrom('notification_subscriptions')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('id')
        .execute();
      return { subscriptions: rows.map(toSubscriptionView), email_enabled: this.#config.emailEnabled };
    }
    const owner = await this.#workflowOwner(userId, workflowId, admin);
    const owns = owner === userId;
    const [rows, user] = await Promise.all([
      this.#db
        .selectFrom('notification_subscriptions')
        .selectAll()
        .where((eb) =>
          eb.or([
            // An administrator sees everyone's subscriptions to the workflow.
            admin
              ? eb('workflow_id', '=', workflowId)
              : eb.and([eb('user_id', '=', userId), eb('workflow_id', '=', workflowId)]),
            // The caller's all-workflows ones apply only to their own workflows.
            ...(owns ? [eb.and([eb('user_id', '=', userId), eb('workflow_id', 'is', null)])] : []),
          ]),
        )
        .orderBy('id')
        .execute(),
      this.#db
        .selectFrom('users')
        .select('notification_preference')
        .where('id', '=', userId)
        .executeTakeFirst(),
    ]);
    const hooks = await this.#db
      .selectFrom('webhooks')
      .select(['id', 'event_types'])
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
    const mine = rows.filter((r) => r.user_id === userId);
    const decide = (
      channel: (typeof SUBSCRIPTION_CHANNELS)[number],
      target: string | null,
      fallback: readonly string[],
    ): EffectiveView => {
      const rule = decidingSubscription(mine, userId, channel, workflowId, target);
      if (rule) {
        return {
          channel,
          source: rule.workflow_id === null ? 'ALL_WORKFLOWS' : 'WORKFLOW',
          events: [...rule.events],
          target,
        };
      }
      // Someone else's workflow: nothing without a subscription to it (the defaults are about one's own).
      return { channel, source: 'DEFAULT', events: owns ? [...fallback] : [], target };
    };
    const effective: EffectiveView[] = [
      decide('IN_APP', null, PREFERENCE_EVENTS[user?.notification_preference ?? 'ALERTS']),
      decide('EMAIL', null, []),
      // Per endpoint: without a subscription, the endpoint's own event_types decide.
      ...hooks.map((h) => decide('WEBHOOK', h.id, h.event_types)),
    ];
    return {
      subscriptions: rows.map(toSubscriptionView),
      email_enabled: this.#config.emailEnabled,
      effective,
    };
  }

  /**
   * One statement: INSERT … ON CONFLICT on notification_subscriptions_scope_idx replaces the
   * events of an existing (user, channel, scope); `xmax = 0` tells a fresh row from an updated one.
   */
  async put(
    userId: string,
    workflowId: string | null,
    body: unknown,
    admin = false,
  ): Promise<{ subscription: SubscriptionView; created: boolean }> {
    const parsed = SubscriptionBodySchema.safeParse(body ?? {});
    if (!parsed.success) throw new ValidationError(fieldIssuesFromZod(parsed.error.issues));
    const subscriber = await this.#subscriber(userId, workflowId, parsed.data.user_id, admin);
    if (workflowId !== null) await this.#workflowOwner(userId, workflowId, admin);
    const target = await this.#target(
      subscriber,
      parsed.data.channel,
      parsed.data.target,
      parsed.data.events,
    );
    const now = this.#clock.now();
    const events = normalizeEvents(parsed.data.events);
    const { rows } = await sql<Selectable<NotificationSubscriptionsTable> & { created: boolean }>`
      INSERT INTO notification_subscriptions (id, user_id, workflow_id, channel, target, events, created_at, updated_at)
      VALUES (${newId()}, ${subscriber}, ${workflowId}, ${parsed.data.channel}, ${target}, ${events}::text[], ${now}, ${now})
      ON CONFLICT (user_id, channel, COALESCE(workflow_id, '00000000-0000-0000-0000-000000000000'::uuid),
                   COALESCE(target, '00000000-0000-0000-0000-000000000000'::uuid))
      DO UPDATE SET events = EXCLUDED.events, updated_at = EXCLUDED.updated_at
      RETURNING *, (xmax = 0) AS created`.execute(this.#db);
    const row = rows[0]!;
    return { subscription: toSubscriptionView(row), created: row.created };
  }

  /**
   * `workflowId` null: one of the caller's own subscriptions. Else one of the workflow's: the
   * caller's own (also on a workflow they do not own: an administrator subscribed them), or, for
   * an administrator, anyone's.
   */
  async delete(
    userId: string,
    workflowId: string | null,
    subscriptionId: string,
    admin = false,
  ): Promise<void> {
    if (workflowId !== null && !isUuid(workflowId)) throw new NotFoundError('Workflow');
    if (!isUuid(subscriptionId)) {
      if (workflowId !== null) await this.#workflowOwner(userId, workflowId, admin);
      throw new NotFoundError('Subscription');
    }
    let q = this.#db.deleteFrom('notification_subscriptions').where('id', '=', subscriptionId);
    if (workflowId === null || !admin) q = q.where('user_id', '=', userId);
    if (workflowId !== null) q = q.where('workflow_id', '=', workflowId);
    const result = await q.executeTakeFirst();
    if (Number(result.numDeletedRows) > 0) return;
    // Not deleted: say which of the two the caller cannot see (the workflow first, as before).
    if (workflowId !== null) await this.#workflowOwner(userId, workflowId, admin);
    throw new NotFoundError('Subscription');
  }

  async listEmails(
    userId: string,
    filters: EmailListFilters,
  ): Promise<{ emails: EmailView[]; cursor: string | null }> {
    let q = this.#db
      .selectFrom('email_deliveries')
      .select(EMAIL_COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(filters.limit + 1);
    if (filters.cursor !== undefined) q = q.where('id', '<', decodeCursor(filters.cursor));
    if (filters.status !== undefined) q = q.where('status', '=', filters.status);
    const rows = await q.execute();
    const page = rows.slice(0, filters.limit);
    return {
      emails: page.map(toEmailView),
      cursor: rows.length > filters.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  }

  async getEmail(userId: string, emailId: string): Promise<EmailDetailView> {
    if (!isUuid(emailId)) throw new NotFoundError('Email');
    const row = await this.#db
      .selectFrom('email_deliveries')
      .select([...EMAIL_COLUMNS, 'text_body', 'sensitive'])
      .where('id', '=', emailId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Email');
    const attempts = await this.#db
      .selectFrom('email_delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', emailId)
      .orderBy('attempt')
      .execute();
    // A reset link is a credential: a token that may read the history must not be able to use it.
    const text = row.sensitive ? SENSITIVE_TEXT : row.text_body;
    return { ...toEmailView(row), text, history: attempts.map(toAttemptView) };
  }

  /**
   * The target of a subscription: WEBHOOK needs one of the subscriber's webhook endpoints (another
   * user's, or none, is a 400 on `target`: the field is wrong, and saying "not found" about an id
   * the user gave reveals nothing); the other channels take none. So nobody, an administrator
   * included, points a workflow's deliveries at an endpoint that is not the subscriber's.
   */
  async #target(
    userId: string,
    channel: (typeof SUBSCRIPTION_CHANNELS)[number],
    target: string | undefined,
    events: readonly string[],
  ): Promise<string | null> {
    if (channel !== 'WEBHOOK') {
      if (target !== undefined) {
        throw new ValidationError([{ path: 'target', message: 'is only for channel WEBHOOK' }]);
      }
      return null;
    }
    const issues: { path: string; message: string }[] = [];
    events.forEach((e, i) => {
      if ((NOT_FOR_WEBHOOKS as readonly string[]).includes(e)) {
        issues.push({
          path: `events.${i}`,
          message: `${e} is not sent to webhooks (subscribe to job.completed)`,
        });
      }
    });
    if (target === undefined) {
      issues.push({
        path: 'target',
        message: 'is required for channel WEBHOOK: the id of one of your webhooks',
      });
    } else {
      const hook = isUuid(target)
        ? await this.#db
            .selectFrom('webhooks')
            .select('id')
            .where('id', '=', target)
            .where('user_id', '=', userId)
            .executeTakeFirst()
        : undefined;
      if (!hook) issues.push({ path: 'target', message: 'must be the id of one of your webhooks' });
    }
    if (issues.length > 0) throw new ValidationError(issues);
    return target!;
  }

  /**
   * Who a subscription is for: the caller, or (`user_id`, administrators only, per workflow) another
   * user of the installation. Checked before the workflow: a 403 says nothing about it.
   */
  async #subscriber(
    userId: string,
    workflowId: string | null,
    named: string | undefined,
    admin: boolean,
  ): Promise<string> {
    if (named === undefined || named === userId) return userId;
    if (workflowId === null) {
      throw new ValidationError([
        {
          path: 'user_id',
          message:
            'is only for a workflow (POST /workflows/{id}/subscriptions): all-workflows subscriptions are your own',
        },
      ]);
    }
    if (!admin) {
      throw new ForbiddenError('Only an administrator may subscribe another user.', [
        { path: 'user_id', message: 'must be your own id: only administrators subscribe other users' },
      ]);
    }
    const user = isUuid(named)
      ? await this.#db.selectFrom('users').select('id').where('id', '=', named).executeTakeFirst()
      : undefined;
    if (!user)
      throw new ValidationError([
        { path: 'user_id', message: 'must be the id of a user of this installation' },
      ]);
    return named;
  }

  /**
   * The owner of a workflow the caller may manage subscriptions of: their own, or any for an
   * administrator; anything else is "not found".
   */
  async #workflowOwner(userId: string, workflowId: string, admin: boolean): Promise<string> {
    if (!isUuid(workflowId)) throw new NotFoundError('Workflow');
    let q = this.#db.selectFrom('workflows').select('user_id').where('id', '=', workflowId);
    if (!admin) q = q.where('user_id', '=', userId);
    const row = await q.executeTakeFirst();
    if (!row) throw new NotFoundError('Workflow');
    return row.user_id;
  }
}

/** What the history shows of an email that held a secret (a password reset link). */
export const SENSITIVE_TEXT = '(not shown: this email held a one-time link)';

const EMAIL_COLUMNS = [
  'id',
  'workflow_id',
  'event_type',
  'to_address',
  'subject',
  'status',
  'attempts',
  'last_error',
  'created_at',
  'next_attempt_at',
  'completed_at',
] as const;

function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

function toSubscriptionView(r: Selectable<NotificationSubscriptionsTable>): SubscriptionView {
  return {
    id: r.id,
    user_id: r.user_id,
    workflow_id: r.workflow_id,
    channel: r.channel,
    target: r.target,
    events: [...r.events],
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

function toEmailView(r: Pick<Selectable<EmailDeliveriesTable>, (typeof EMAIL_COLUMNS)[number]>): EmailView {
  return {
    id: r.id,
    workflow_id: r.workflow_id,
    event_type: r.event_type,
    to: r.to_address,
    subject: r.subject,
    status: r.status,
    attempts: r.attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
    next_attempt_at: r.next_attempt_at === null ? null : iso(r.next_attempt_at),
    completed_at: r.completed_at === null ? null : iso(r.completed_at),
  };
}

function toAttemptView(r: Selectable<EmailDeliveryAttemptsTable>): EmailAttemptView {
  return {
    attempt: r.attempt,
    started_at: iso(r.started_at),
    smtp_code: r.smtp_code,
    response: r.response,
    duration_ms: r.duration_ms,
  };
}

/** SubscriptionsApi over RPC: the same objects SubscriptionsService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import {
  EmailStatusSchema,
  SubscriptionsService,
} from '../../gen/chronoverse/notifications/v1/subscriptions_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import { toEnum } from '../../platform/rpc/codec.ts';
import { bodyToWire } from '../workflows/wire.ts';
import type {
  EmailDetailView,
  EmailListFilters,
  EmailView,
  SubscriptionList,
  SubscriptionsApi,
  SubscriptionView,
} from './subscriptions-api.ts';
import {
  effectiveFromWire,
  emailAttemptFromWire,
  emailFromWire,
  subscriptionFromWire,
} from './subscriptions-wire.ts';

export class SubscriptionsClient implements SubscriptionsApi {
  readonly #rpc: Client<typeof SubscriptionsService>;
  readonly #call = rpcCall('notifications');

  constructor(transport: Transport) {
    this.#rpc = createClient(SubscriptionsService, transport);
  }

  list(userId: string, workflowId: string | null, admin = false): Promise<SubscriptionList> {
    return this.#call(async () => {
      const res = await this.#rpc.listSubscriptions({ userId, workflowId: workflowId ?? undefined, admin });
      return {
        subscriptions: res.subscriptions.map((s) => subscriptionFromWire(s)),
        email_enabled: res.emailEnabled,
        ...(res.hasEffective ? { effective: res.effective.map(effectiveFromWire) } : {}),
      };
    });
  }

  put(
    userId: string,
    workflowId: string | null,
    body: unknown,
    admin = false,
  ): Promise<{ subscription: SubscriptionView; created: boolean }> {
    return this.#call(async () => {
      const res = await this.#rpc.putSubscription({
        userId,
        workflowId: workflowId ?? undefined,
        bodyJson: bodyToWire(body),
        admin,
      });
      return { subscription: subscriptionFromWire(res.subscription), created: res.created };
    });
  }

  delete(userId: string, workflowId: string | null, subscriptionId: string, admin = false): Promise<void> {
    return this.#call(
      async () =>
        void (await this.#rpc.deleteSubscription({
          userId,
          workflowId: workflowId ?? undefined,
          subscriptionId,
          admin,
        })),
    );
  }

  listEmails(userId: string, f: EmailListFilters): Promise<{ emails: EmailView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listEmails({
        userId,
        limit: f.limit,
        cursor: f.cursor,
        status: f.status !== undefined ? toEnum(EmailStatusSchema, f.status) : undefined,
      });
      return { emails: res.emails.map((e) => emailFromWire(e)), cursor: res.cursor ?? null };
    });
  }

  getEmail(userId: string, emailId: string): Promise<EmailDetailView> {
    return this.#call(async () => {
      const res = await this.#rpc.getEmail({ userId, emailId });
      return { ...emailFromWire(res.email), text: res.text, history: res.history.map(emailAttemptFromWire) };
    });
  }
}

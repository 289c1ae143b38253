/** chronoverse.notifications.v1.SubscriptionsService served by a SubscriptionsApi (the in-process class). */
import {
  EmailStatusSchema,
  SubscriptionsService,
} from '../../gen/chronoverse/notifications/v1/subscriptions_pb.js';
import { fromEnum } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import { bodyFromWire } from '../workflows/wire.ts';
import { EMAIL_STATUSES, type EmailListFilters, type SubscriptionsApi } from './subscriptions-api.ts';
import {
  effectiveToWire,
  emailAttemptToWire,
  emailToWire,
  subscriptionToWire,
} from './subscriptions-wire.ts';

export function subscriptionsRpc(subscriptions: SubscriptionsApi): ServiceRegistration {
  return {
    typeName: SubscriptionsService.typeName,
    register: (router) =>
      router.service(SubscriptionsService, {
        listSubscriptions: async (req) => {
          const list = await subscriptions.list(req.userId, req.workflowId ?? null, req.admin);
          return {
            subscriptions: list.subscriptions.map(subscriptionToWire),
            emailEnabled: list.email_enabled,
            effective: (list.effective ?? []).map(effectiveToWire),
            hasEffective: list.effective !== undefined,
          };
        },
        putSubscription: async (req) => {
          const { subscription, created } = await subscriptions.put(
            req.userId,
            req.workflowId ?? null,
            bodyFromWire(req.bodyJson),
            req.admin,
          );
          return { subscription: subscriptionToWire(subscription), created };
        },
        deleteSubscription: async (req) => {
          await subscriptions.delete(req.userId, req.workflowId ?? null, req.subscriptionId, req.admin);
          return {};
        },
        listEmails: async (req) => {
          const filters: EmailListFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          if (req.status !== undefined)
            filters.status = fromEnum(EmailStatusSchema, req.status, EMAIL_STATUSES);
          const page = await subscriptions.listEmails(req.userId, filters);
          return {
            emails: page.emails.map(emailToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getEmail: async (req) => {
          const { text, history, ...email } = await subscriptions.getEmail(req.userId, req.emailId);
          return { email: emailToWire(email), text, history: history.map(emailAttemptToWire) };
        },
      }),
  };
}

/**
 * Notification subscriptions (per workflow, or for all of the caller's workflows) and the history
 * of the emails sent to the caller (docs/api.md "Subscriptions", "Email").
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SUBSCRIPTION_CHANNELS } from '../../domain/subscriptions.ts';
import { EMAIL_STATUSES, type SubscriptionsApi } from '../../services/notifications/subscriptions-api.ts';
import { SubscriptionBodySchema } from '../../services/notifications/subscriptions.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { actsAsAdmin, makeAuthenticate, principalOf } from '../auth.ts';
import { IdParamsSchema, PageQuerySchema, ProblemSchema } from '../schemas.ts';
import { documentOnly } from '../validation.ts';
import { SECURED } from './security.ts';

const tags = ['subscriptions'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };
const timestamp = z.string().describe('RFC 3339 UTC timestamp with milliseconds');

const SubscriptionSchema = z.object({
  id: z.uuid(),
  user_id: z.uuid().describe('The subscriber: you, or (on a workflow, set by an administrator) another user'),
  workflow_id: z.uuid().nullable().describe('null: every workflow of yours, now and later'),
  channel: z.enum(SUBSCRIPTION_CHANNELS),
  target: z
    .uuid()
    .nullable()
    .describe('WEBHOOK: the id of your webhook endpoint it sends to; null for IN_APP and EMAIL'),
  events: z.array(z.string()).describe('Event names, or ["*"]; [] mutes the channel for this scope'),
  created_at: timestamp,
  updated_at: timestamp,
});

const EffectiveSchema = z.object({
  channel: z.enum(SUBSCRIPTION_CHANNELS),
  source: z
    .enum(['WORKFLOW', 'ALL_WORKFLOWS', 'DEFAULT'])
    .describe(
      "DEFAULT: no subscription; IN_APP then follows notification_preference, EMAIL sends nothing, WEBHOOK follows the endpoint's event_types",
    ),
  events: z.array(z.string()),
  target: z
    .uuid()
    .nullable()
    .describe('WEBHOOK: the endpoint this entry is for (one entry per endpoint of yours)'),
});

const SubscriptionListSchema = z.object({
  subscriptions: z.array(SubscriptionSchema),
  email_enabled: z.boolean().describe('Whether this installation sends email (SMTP configured)'),
  effective: z.array(EffectiveSchema).optional().describe('For one workflow: what decides on each channel'),
});

const EmailSchema = z.object({
  id: z.uuid(),
  workflow_id: z.uuid().nullable(),
  event_type: z.string(),
  to: z.string(),
  subject: z.string(),
  status: z.enum(EMAIL_STATUSES),
  attempts: z.number().int(),
  last_error: z.string().nullable().describe("The SMTP server's last answer when not sent"),
  created_at: timestamp,
  next_attempt_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
});

const EmailDetailSchema = EmailSchema.extend({
  text: z.string().describe('The plain-text body sent'),
  history: z.array(
    z.object({
      attempt: z.number().int(),
      started_at: timestamp,
      smtp_code: z.number().int().nullable(),
      response: z.string().nullable(),
      duration_ms: z.number().int(),
    }),
  ),
});

/** The all-workflows POST takes no `user_id` (those are always the caller's own). */
const AllWorkflowsBodySchema = SubscriptionBodySchema.omit({ user_id: true });

const WorkflowSubscriptionParamsSchema = z.object({
  id: z.uuid('must be a UUID'),
  subscription_id: z.uuid('must be a UUID'),
});
const EmailListQuerySchema = PageQuerySchema.extend({ status: z.enum(EMAIL_STATUSES).optional() });

type IdParams = z.output<typeof IdParamsSchema>;

export async function subscriptionRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; subscriptions: SubscriptionsApi },
): Promise<void> {
  const { subscriptions } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));

  const putDescription =
    'One subscription per channel and scope (and, for WEBHOOK, per target endpoint): posting again replaces its events (200); a new one is 201. ' +
    'Events: job.completed, job.failed, job.canceled, job.recovered (not for WEBHOOK), build.started, build.completed, build.failed, workflow.terminated, schedule.missed, or "*". ' +
    'WEBHOOK needs `target`, the id of one of your webhooks (400 on `target` otherwise); the other channels take none.';

  app.get(
    '/subscriptions',
    {
      schema: {
        tags,
        summary: 'List all your subscriptions (per workflow and for all workflows)',
        ...SECURED,
        response: { 200: SubscriptionListSchema, ...errors },
      },
    },
    async (req) => subscriptions.list(principalOf(req).user.id, null),
  );

  app.post(
    '/subscriptions',
    {
      schema: {
        tags,
        summary: 'Subscribe to events of all your workflows (now and later)',
        description: putDescription,
        ...SECURED,
        body: documentOnly(AllWorkflowsBodySchema),
        response: { 200: SubscriptionSchema, 201: SubscriptionSchema, ...errors },
      },
    },
    async (req, reply) => {
      const r = await subscriptions.put(principalOf(req).user.id, null, req.body);
      return reply.code(r.created ? 201 : 200).send(r.subscription);
    },
  );

  app.delete(
    '/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'Delete one of your subscriptions',
        ...SECURED,
        params: IdParamsSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await subscriptions.delete(principalOf(req).user.id, null, (req.params as IdParams).id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/workflows/:id/subscriptions',
    {
      schema: {
        tags,
        summary: "A workflow's subscriptions, the all-workflows ones, and what decides per channel",
        description:
          "Yours (the workflow's and, on your own workflow, your all-workflows ones); an administrator sees every user's subscriptions to the workflow (`user_id` says whose). `effective` is what decides for you.",
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: SubscriptionListSchema, ...errors },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      return subscriptions.list(principal.user.id, (req.params as IdParams).id, actsAsAdmin(principal));
    },
  );

  app.post(
    '/workflows/:id/subscriptions',
    {
      schema: {
        tags,
        summary: 'Subscribe to events of one workflow',
        description:
          `${putDescription} A workflow's own subscription wins over the all-workflows one. ` +
          '`user_id` subscribes another user of the installation (administrators only: 403 on `user_id` otherwise; an unknown user is a 400 on `user_id`), to any workflow; the subscription is theirs, a WEBHOOK `target` must be one of their webhooks, and it gives them no other access to the workflow.',
        ...SECURED,
        params: IdParamsSchema,
        body: documentOnly(SubscriptionBodySchema),
        response: { 200: SubscriptionSchema, 201: SubscriptionSchema, 403: ProblemSchema, ...errors },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      const r = await subscriptions.put(
        principal.user.id,
        (req.params as IdParams).id,
        req.body,
        actsAsAdmin(principal),
      );
      return reply.code(r.created ? 201 : 200).send(r.subscription);
    },
  );

  app.delete(
    '/workflows/:id/subscriptions/:subscription_id',
    {
      schema: {
        tags,
        summary: "Delete one of a workflow's subscriptions",
        description: "Your own (also on a workflow you do not own); an administrator, anyone's.",
        ...SECURED,
        params: WorkflowSubscriptionParamsSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const p = req.params as z.output<typeof WorkflowSubscriptionParamsSchema>;
      const principal = principalOf(req);
      await subscriptions.delete(principal.user.id, p.id, p.subscription_id, actsAsAdmin(principal));
      return reply.code(204).send();
    },
  );

  app.get(
    '/notifications/emails',
    {
      schema: {
        tags,
        summary: 'Emails sent (or being sent) to you, newest first',
        ...SECURED,
        querystring: EmailListQuerySchema,
        response: {
          200: z.object({ emails: z.array(EmailSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) =>
      subscriptions.listEmails(principalOf(req).user.id, req.query as z.output<typeof EmailListQuerySchema>),
  );

  app.get(
    '/notifications/emails/:id',
    {
      schema: {
        tags,
        summary: 'One email with its text and every attempt (the SMTP answers)',
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: EmailDetailSchema, ...errors },
      },
    },
    async (req) => subscriptions.getEmail(principalOf(req).user.id, (req.params as IdParams).id),
  );
}

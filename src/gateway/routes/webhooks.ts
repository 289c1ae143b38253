/** /api/v1/webhooks (docs/api.md "Webhooks", docs/webhooks.md). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { UsersApi } from '../../services/users/api.ts';
import type { WebhooksApi } from '../../services/webhooks/api.ts';
import { WebhookCreateBodySchema, WebhookUpdateBodySchema } from '../../services/webhooks/input.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import {
  DeliveryListQuerySchema,
  DeliveryParamsSchema,
  IdParamsSchema,
  PageQuerySchema,
  ProblemSchema,
  WebhookDeliveryDetailSchema,
  WebhookDeliverySchema,
  WebhookSchema,
} from '../schemas.ts';
import { assertEmptyBody, documentOnly } from '../validation.ts';
import { SECURED } from './security.ts';

const tags = ['webhooks'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

type IdParams = z.output<typeof IdParamsSchema>;
type DeliveryParams = z.output<typeof DeliveryParamsSchema>;

export async function webhookRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; webhooks: WebhooksApi },
): Promise<void> {
  const { webhooks } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));

  app.post(
    '/webhooks',
    {
      schema: {
        tags,
        summary: 'Create a webhook',
        description:
          'The answer carries the signing secret (generated `whsec_…` unless given): it is shown this once. ' +
          'URLs pointing at loopback, private or link-local addresses are refused unless the installation allows private networks.',
        ...SECURED,
        body: documentOnly(WebhookCreateBodySchema),
        response: { 201: WebhookSchema, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await webhooks.create(principalOf(req).user.id, req.body)),
  );

  app.get(
    '/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhooks, newest first',
        ...SECURED,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ webhooks: z.array(WebhookSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => webhooks.list(principalOf(req).user.id, req.query as z.output<typeof PageQuerySchema>),
  );

  app.get(
    '/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Get a webhook (without its secret)',
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: WebhookSchema, ...errors },
      },
    },
    async (req) => webhooks.get(principalOf(req).user.id, (req.params as IdParams).id),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Change a webhook',
        description:
          'Absent fields keep their value. `rotate_secret: true` (or a new `secret`) replaces the signing secret; the answer then shows it once.',
        ...SECURED,
        params: IdParamsSchema,
        body: documentOnly(WebhookUpdateBodySchema),
        response: { 200: WebhookSchema, ...errors },
      },
    },
    async (req) => webhooks.update(principalOf(req).user.id, (req.params as IdParams).id, req.body),
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook with its deliveries',
        ...SECURED,
        params: IdParamsSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await webhooks.delete(principalOf(req).user.id, (req.params as IdParams).id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: "List a webhook's deliveries, newest first",
        ...SECURED,
        params: IdParamsSchema,
        querystring: DeliveryListQuerySchema,
        response: {
          200: z.object({ deliveries: z.array(WebhookDeliverySchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) =>
      webhooks.listDeliveries(
        principalOf(req).user.id,
        (req.params as IdParams).id,
        req.query as z.output<typeof DeliveryListQuerySchema>,
      ),
  );

  app.get(
    '/webhooks/:id/deliveries/:delivery_id',
    {
      schema: {
        tags,
        summary: 'Get a delivery with the body sent and every attempt',
        ...SECURED,
        params: DeliveryParamsSchema,
        response: { 200: WebhookDeliveryDetailSchema, ...errors },
      },
    },
    async (req) => {
      const p = req.params as DeliveryParams;
      return webhooks.getDelivery(principalOf(req).user.id, p.id, p.delivery_id);
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:delivery_id/redeliver',
    {
      schema: {
        tags,
        summary: 'Send a delivery again now',
        description:
          'Whatever its status (also FAILED or SUCCEEDED), the delivery becomes PENDING and is attempted at once. The body, if any, must be empty.',
        ...SECURED,
        params: DeliveryParamsSchema,
        response: { 202: WebhookDeliverySchema, ...errors, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      assertEmptyBody(req.body);
      const p = req.params as DeliveryParams;
      return reply.code(202).send(await webhooks.redeliver(principalOf(req).user.id, p.id, p.delivery_id));
    },
  );

  app.post(
    '/webhooks/:id/ping',
    {
      schema: {
        tags,
        summary: 'Send a test event (type "ping")',
        description: 'Queues a delivery of a `ping` event, sent at once. The body, if any, must be empty.',
        ...SECURED,
        params: IdParamsSchema,
        response: { 202: WebhookDeliverySchema, ...errors, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      assertEmptyBody(req.body);
      return reply.code(202).send(await webhooks.ping(principalOf(req).user.id, (req.params as IdParams).id));
    },
  );
}

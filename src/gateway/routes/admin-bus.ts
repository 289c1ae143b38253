/**
 * /api/v1/admin/outbox and /api/v1/admin/bus: undeliverable messages, for administrators. DEAD
 * outbox rows (the relay gave up publishing) and parked bus messages (a consumer group gave up
 * handling) are listed newest first and can be re-driven.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BusAdmin } from '../../services/bus-admin/types.ts';
import { makeAuthenticate, requireAdmin } from '../auth.ts';
import { PageQuerySchema, ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const timestamp = z.string().describe('RFC 3339 timestamp');

const DeadOutboxRowSchema = z
  .object({
    id: z.string().describe('Outbox row id (a decimal integer)'),
    topic: z.string(),
    key: z.string(),
    event_type: z.string(),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: timestamp,
  })
  .meta({ id: 'DeadOutboxRow' });

const ParkedMessageSchema = z
  .object({
    id: z.uuid(),
    topic: z.string(),
    group: z.string().describe('The consumer group that could not handle it'),
    partition: z.number().int(),
    offset: z.string().describe('Kafka offset (a decimal integer)'),
    key: z.string(),
    event_type: z.string().nullable().describe('Null when the record could not be decoded'),
    error: z.string(),
    attempts: z.number().int(),
    parked_at: timestamp,
    redriven_at: timestamp.nullable(),
  })
  .meta({ id: 'ParkedMessage' });

const ParkedQuerySchema = PageQuerySchema.extend({
  redriven: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('true: only re-driven ones; false: only those still waiting; absent: all'),
});

const OutboxIdParamsSchema = z.object({
  id: z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be an outbox row id'),
});
const ParkedIdParamsSchema = z.object({ id: z.uuid('must be a UUID') });

const errors = { 401: ProblemSchema, 403: ProblemSchema };

export async function adminBusRoutes(
  app: FastifyInstance,
  opts: { users: Parameters<typeof makeAuthenticate>[0]; busAdmin: BusAdmin },
): Promise<void> {
  const { busAdmin } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));
  const tags = ['admin'];

  app.get(
    '/admin/outbox/dead',
    {
      schema: {
        tags,
        summary: 'Outbox rows the relay parked as DEAD (administrators only)',
        ...SECURED,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ rows: z.array(DeadOutboxRowSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof PageQuerySchema>;
      const page = await busAdmin.listDeadOutbox({
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
      // The API's list shape: { <items>, cursor } (docs/api.md, Pagination).
      return { rows: page.items, cursor: page.next_cursor };
    },
  );

  app.post(
    '/admin/outbox/:id/redrive',
    {
      schema: {
        tags,
        summary: 'Put a DEAD outbox row back in line (administrators only)',
        description:
          'The row becomes PENDING with its attempts reset; the relay publishes it again, after the earlier rows of its key. 404 unless the row is DEAD.',
        ...SECURED,
        params: OutboxIdParamsSchema,
        response: { 200: DeadOutboxRowSchema, 400: ProblemSchema, 404: ProblemSchema, ...errors },
      },
    },
    async (req) => {
      requireAdmin(req);
      return busAdmin.redriveOutbox((req.params as z.output<typeof OutboxIdParamsSchema>).id);
    },
  );

  app.get(
    '/admin/bus/parked',
    {
      schema: {
        tags,
        summary: 'Bus messages a consumer group parked (administrators only)',
        ...SECURED,
        querystring: ParkedQuerySchema,
        response: {
          200: z.object({ messages: z.array(ParkedMessageSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof ParkedQuerySchema>;
      const page = await busAdmin.listParked({
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.redriven !== undefined ? { redriven: q.redriven } : {}),
      });
      return { messages: page.items, cursor: page.next_cursor };
    },
  );

  app.post(
    '/admin/bus/parked/:id/redrive',
    {
      schema: {
        tags,
        summary: 'Publish a parked message again (administrators only)',
        description:
          'The stored record (key, bytes and headers unchanged) goes back on its topic, so every consumer group of the topic receives it again (handlers are idempotent). The row is kept and marked redriven. 503 when the bus does not accept it.',
        ...SECURED,
        params: ParkedIdParamsSchema,
        response: {
          200: ParkedMessageSchema,
          400: ProblemSchema,
          404: ProblemSchema,
          503: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      return busAdmin.redriveParked((req.params as z.output<typeof ParkedIdParamsSchema>).id);
    },
  );
}

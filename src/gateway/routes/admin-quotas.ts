/**
 * /api/v1/admin/quotas and /api/v1/admin/users/{id}/quotas: each user's quotas, where each comes
 * from and the usage now; an administrator sets a user's own values (src/domain/quotas.ts),
 * recorded in the audit log (`user.quotas_changed`). Administrators only (src/gateway/auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { QUOTA_NAMES, QUOTA_SOURCES, QuotaUpdateSchema, type QuotaUpdate } from '../../domain/quotas.ts';
import type { QuotasApi } from '../../services/quotas/api.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { decodeCursor, encodeCursor } from '../../services/keyset-cursor.ts';
import { makeAuthenticate, requireAdmin } from '../auth.ts';
import { IdParamsSchema, PageQuerySchema, ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const QuotaSchema = z
  .object({
    limit: z.number().int().describe('Its value for this user; 0: no limit'),
    source: z
      .enum(QUOTA_SOURCES)
      .describe(
        "user: the user's own value; default: CHRONOVERSE_QUOTA_*; admin: an administrator without a value of their own has no limit",
      ),
    usage: z
      .number()
      .int()
      .nullable()
      .describe(
        'max_workflows: workflows the user has; runs_per_minute: manual runs and retries in the last 60 s; max_concurrent_containers: CONTAINER jobs running now; min_schedule_seconds: null',
      ),
  })
  .meta({ id: 'Quota' });

const UserQuotasSchema = z
  .object({
    user_id: z.uuid(),
    email: z.string(),
    role: z.enum(['admin', 'user']),
    quotas: z.object(
      Object.fromEntries(QUOTA_NAMES.map((n) => [n, QuotaSchema])) as Record<
        (typeof QUOTA_NAMES)[number],
        typeof QuotaSchema
      >,
    ),
    updated_at: z.string().nullable().describe("When an administrator last changed this user's values"),
    updated_by: z.uuid().nullable(),
  })
  .meta({ id: 'UserQuotas' });

const errors = { 401: ProblemSchema, 403: ProblemSchema };

export async function adminQuotaRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; quotas: QuotasApi },
): Promise<void> {
  const { quotas } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));
  const tags = ['admin'];

  app.get(
    '/admin/quotas',
    {
      schema: {
        tags,
        summary: "Every user's quotas and usage, newest user first",
        ...SECURED,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ users: z.array(UserQuotasSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof PageQuerySchema>;
      const page = await quotas.list({
        limit: q.limit,
        ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor) } : {}),
      });
      return { users: page.users, cursor: page.nextAfterId ? encodeCursor(page.nextAfterId) : null };
    },
  );

  app.get(
    '/admin/users/:id/quotas',
    {
      schema: {
        tags,
        summary: "A user's quotas, where each comes from, and the usage now",
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: UserQuotasSchema, 400: ProblemSchema, 404: ProblemSchema, ...errors },
      },
    },
    async (req) => {
      requireAdmin(req);
      const { id } = req.params as z.output<typeof IdParamsSchema>;
      return quotas.get(id);
    },
  );

  app.put(
    '/admin/users/:id/quotas',
    {
      schema: {
        tags,
        summary: "Set a user's own quotas",
        description:
          'Each field a whole number (0: no limit), null (back to the default for the role) or absent (unchanged). A value applies to administrators too. Answers as GET.',
        ...SECURED,
        params: IdParamsSchema,
        body: QuotaUpdateSchema,
        response: { 200: UserQuotasSchema, 400: ProblemSchema, 404: ProblemSchema, ...errors },
      },
    },
    async (req) => {
      const principal = requireAdmin(req);
      const { id } = req.params as z.output<typeof IdParamsSchema>;
      const changes = req.body as QuotaUpdate;
      const view = await quotas.set(principal.user.id, id, changes);
      // The audit log (GET /admin/audit). The change stands even if the entry cannot be written:
      // then the log line below carries it.
      const entry = {
        action: 'user.quotas_changed',
        actor_id: principal.user.id,
        subject_id: id,
        address: req.ip,
        target_type: 'user',
        target_id: id,
        details: { changes },
      };
      await opts.users.recordAudit(entry).catch((err: unknown) => {
        req.log.warn({ audit: entry, err: { message: (err as Error).message } }, 'audit entry not recorded');
      });
      return view;
    },
  );
}

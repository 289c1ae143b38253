/** /api/v1/users (the current user) and /api/v1/admin/users. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { UserUpdateSchema } from '../../domain/user-input.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { decodeCursor, encodeCursor } from '../../services/keyset-cursor.ts';
import { makeAuthenticate, principalOf, requireAdmin } from '../auth.ts';
import { PageQuerySchema, ProblemSchema, UserSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

export async function userRoutes(app: FastifyInstance, opts: { users: UsersApi }): Promise<void> {
  const { users } = opts;
  app.addHook('onRequest', makeAuthenticate(users));

  app.get(
    '/users',
    { schema: { tags: ['users'], summary: 'The current user', ...SECURED, response: { 200: UserSchema } } },
    async (req) => users.getUser(principalOf(req).user.id),
  );

  app.put(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Update the notification preference and/or the password',
        description:
          'Changing the password needs current_password and revokes every other session and token of the account.',
        ...SECURED,
        body: UserUpdateSchema,
        response: { 200: UserSchema, 400: ProblemSchema },
      },
    },
    async (req) => users.updateUser(principalOf(req), req.body as z.output<typeof UserUpdateSchema>),
  );

  app.get(
    '/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'All accounts (administrators only)',
        ...SECURED,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ users: z.array(UserSchema), cursor: z.string().nullable() }),
          403: ProblemSchema,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof PageQuerySchema>;
      const page = await users.listUsers({
        limit: q.limit,
        ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor) } : {}),
      });
      return { users: page.users, cursor: page.nextAfterId ? encodeCursor(page.nextAfterId) : null };
    },
  );
}

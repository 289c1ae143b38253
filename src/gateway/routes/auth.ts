/** /api/v1/auth: register, login, logout, validate, personal access tokens. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CredentialsSchema, LoginSchema, TokenCreateSchema } from '../../domain/user-input.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { clearSessionCookies, makeAuthenticate, principalOf, setSessionCookies } from '../auth.ts';
import {
  CreatedTokenSchema,
  IdParamsSchema,
  ProblemSchema,
  SessionSchema,
  TokenSchema,
  UserSchema,
} from '../schemas.ts';
import { SECURED } from './security.ts';

export async function authRoutes(app: FastifyInstance, opts: { users: UsersApi }): Promise<void> {
  const { users } = opts;
  const authenticate = makeAuthenticate(users);
  const tags = ['auth'];

  app.post(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account and log in',
        body: CredentialsSchema,
        response: { 201: SessionSchema, 400: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof CredentialsSchema>;
      const session = await users.register(body);
      setSessionCookies(reply, session.token, session.expiresAt);
      return reply
        .code(201)
        .send({ user: session.user, token: session.token, expires_at: session.expiresAt.toISOString() });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        summary: 'Log in',
        description:
          'Unknown email and wrong password give the same 401. Repeated failures are rate limited (429).',
        body: LoginSchema,
        response: { 200: SessionSchema, 401: ProblemSchema, 429: ProblemSchema },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof LoginSchema>;
      const session = await users.login({ ...body, ip: req.ip });
      setSessionCookies(reply, session.token, session.expiresAt);
      return { user: session.user, token: session.token, expires_at: session.expiresAt.toISOString() };
    },
  );

  app.register(async (secured) => {
    secured.addHook('onRequest', authenticate);

    secured.post(
      '/auth/logout',
      {
        schema: {
          tags,
          summary: 'Revoke the credential used for this request',
          ...SECURED,
          response: { 204: z.null() },
        },
      },
      async (req, reply) => {
        await users.revokeToken(principalOf(req).tokenId);
        clearSessionCookies(reply);
        return reply.code(204).send();
      },
    );

    secured.post(
      '/auth/validate',
      {
        schema: {
          tags,
          summary: 'Check the credentials',
          ...SECURED,
          response: { 200: z.object({ user: UserSchema }) },
        },
      },
      async (req) => ({ user: principalOf(req).user }),
    );

    secured.post(
      '/auth/tokens',
      {
        schema: {
          tags,
          summary: 'Create a personal access token (shown once)',
          ...SECURED,
          body: TokenCreateSchema,
          response: { 201: CreatedTokenSchema },
        },
      },
      async (req, reply) => {
        const body = req.body as z.output<typeof TokenCreateSchema>;
        return reply.code(201).send(await users.createPersonalAccessToken(principalOf(req).user.id, body));
      },
    );

    secured.get(
      '/auth/tokens',
      {
        schema: {
          tags,
          summary: 'List active personal access tokens',
          ...SECURED,
          response: { 200: z.object({ tokens: z.array(TokenSchema) }) },
        },
      },
      async (req) => ({ tokens: await users.listPersonalAccessTokens(principalOf(req).user.id) }),
    );

    secured.delete(
      '/auth/tokens/:id',
      {
        schema: {
          tags,
          summary: 'Revoke a personal access token',
          ...SECURED,
          params: IdParamsSchema,
          response: { 204: z.null(), 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const { id } = req.params as z.output<typeof IdParamsSchema>;
        await users.revokePersonalAccessToken(principalOf(req).user.id, id);
        return reply.code(204).send();
      },
    );
  });
}

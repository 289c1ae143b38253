/** /api/v1/auth: sign-up mode, register, login, logout, validate, personal access tokens. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  EmailSchema,
  LoginSchema,
  PasswordSchema,
  RegisterSchema,
  SIGNUP_MODES,
  TokenCreateSchema,
} from '../../domain/user-input.ts';
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

const PasswordResetRequestSchema = z
  .object({ email: EmailSchema })
  .strict()
  .meta({ id: 'PasswordResetRequest' });
const PasswordResetConfirmSchema = z
  .object({ token: z.string().trim().min(1).max(200), password: PasswordSchema })
  .strict()
  .meta({ id: 'PasswordResetConfirm' });

export async function authRoutes(app: FastifyInstance, opts: { users: UsersApi }): Promise<void> {
  const { users } = opts;
  const authenticate = makeAuthenticate(users);
  const tags = ['auth'];

  app.get(
    '/auth/signup',
    {
      schema: {
        tags,
        summary: 'Who may register now',
        description:
          'open: anyone; invite: with an invitation (`invite` in the registration); closed: administrators create accounts. open while the installation has no account.',
        response: { 200: z.object({ mode: z.enum(SIGNUP_MODES) }) },
      },
    },
    async () => ({ mode: (await users.getSignupSettings()).effective }),
  );

  app.post(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account and log in',
        description:
          "Allowed by the sign-up mode (GET /auth/signup): open, or invite with `invite`, the secret of an invitation an administrator created. The first account of an installation can always register and is an administrator. The password needs 10–128 characters and an estimated strength of at least 3 of 4 (zxcvbn); a 400 on `password` gives the estimator's advice. Registrations are limited per client address (429).",
        body: RegisterSchema,
        response: {
          201: SessionSchema,
          400: ProblemSchema,
          403: ProblemSchema,
          409: ProblemSchema,
          429: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof RegisterSchema>;
      const session = await users.register({ ...body, ip: req.ip });
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
          'Unknown email and wrong password give the same 401. Repeated failures from one client address are slowed down (429 with Retry-After), for that email from that address and, beyond a limit, for every email from that address; other addresses are never affected.',
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

  app.post(
    '/auth/password-reset',
    {
      schema: {
        tags,
        summary: 'Email a link to choose a new password',
        description:
          'The same 202 whether or not an account has this address. The link (`<public URL>/reset-password?token=…`) works once, for 30 minutes. Limited per client address (429) and per account (beyond: no more email, same answer). 412 when this installation sends no email.',
        body: PasswordResetRequestSchema,
        response: {
          202: z.object({ message: z.string() }),
          400: ProblemSchema,
          412: ProblemSchema,
          429: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof PasswordResetRequestSchema>;
      return reply.code(202).send(await users.requestPasswordReset({ email: body.email, ip: req.ip }));
    },
  );

  app.post(
    '/auth/password-reset/confirm',
    {
      schema: {
        tags,
        summary: 'Set a new password with an emailed token',
        description:
          'The token of the emailed link and a new password (the registration rules). Signs out every session and revokes every token of the account; log in again. A 400 on `token` when it is unknown, used or expired.',
        body: PasswordResetConfirmSchema,
        response: { 204: z.null(), 400: ProblemSchema, 429: ProblemSchema },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof PasswordResetConfirmSchema>;
      await users.confirmPasswordReset({ token: body.token, password: body.password, ip: req.ip });
      return reply.code(204).send();
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
          description:
            'Scopes: read (GET routes), write (other routes), tokens (the /auth/tokens routes), admin (the /admin routes, administrators only); default read and write. A token can only grant scopes it holds; a token minted by a token is revoked with it and expires no later. Needs the `tokens` scope (403 CV_INSUFFICIENT_SCOPE otherwise).',
          ...SECURED,
          body: TokenCreateSchema,
          response: { 201: CreatedTokenSchema, 400: ProblemSchema, 403: ProblemSchema },
        },
      },
      async (req, reply) => {
        const body = req.body as z.output<typeof TokenCreateSchema>;
        return reply
          .code(201)
          .send(await users.createPersonalAccessToken(principalOf(req), { ...body, address: req.ip }));
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
          summary: 'Revoke a personal access token, and every token it minted',
          ...SECURED,
          params: IdParamsSchema,
          response: { 204: z.null(), 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const { id } = req.params as z.output<typeof IdParamsSchema>;
        await users.revokePersonalAccessToken(principalOf(req).user.id, id, req.ip);
        return reply.code(204).send();
      },
    );
  });
}

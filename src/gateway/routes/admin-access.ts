/**
 * /api/v1/admin: who may get in and what happened. The sign-up mode (settings), invitations,
 * accounts made by administrators, role changes, and the audit log. Administrators only, with a
 * credential holding the `admin` scope (src/gateway/auth.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import {
  AdminUserCreateSchema,
  AdminUserUpdateSchema,
  InviteCreateSchema,
  SettingsUpdateSchema,
  SIGNUP_MODES,
} from '../../domain/user-input.ts';
import { decodeCursor, encodeCursor } from '../../services/keyset-cursor.ts';
import type { UsersApi } from '../../services/users/api.ts';
import type { SignupSettings } from '../../services/users/service.ts';
import { INVITE_STATUSES } from '../../services/users/service.ts';
import { makeAuthenticate, requireAdmin } from '../auth.ts';
import { IdParamsSchema, PageQuerySchema, ProblemSchema, UserSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const timestamp = z.string().describe('RFC 3339 UTC timestamp with milliseconds');

const SettingsSchema = z
  .object({
    signup_mode: z.enum(SIGNUP_MODES).describe('What a registration meets now'),
    signup_mode_source: z
      .enum(['setting', 'configuration'])
      .describe('setting: chosen by an administrator; configuration: CHRONOVERSE_SIGNUP'),
    configured_signup_mode: z
      .enum(SIGNUP_MODES)
      .describe('CHRONOVERSE_SIGNUP as this installation resolved it'),
  })
  .meta({ id: 'Settings' });

const InviteSchema = z
  .object({
    id: z.uuid(),
    email: z.string().nullable().describe('Only this address may use it; null: anyone holding it'),
    status: z.enum(INVITE_STATUSES),
    created_at: timestamp,
    expires_at: timestamp,
    created_by: z.uuid().nullable(),
    used_at: timestamp.nullable(),
    used_by: z.uuid().nullable(),
  })
  .meta({ id: 'Invite' });

const CreatedInviteSchema = InviteSchema.extend({
  token: z.string().describe('The one-time secret (cvi_…), shown once: the `invite` of POST /auth/register'),
  link: z.string().describe('The dashboard path that registers with it'),
}).meta({ id: 'CreatedInvite' });

const AuditEventSchema = z
  .object({
    id: z.uuid(),
    at: timestamp,
    action: z
      .string()
      .describe('auth.login.succeeded, token.created, workflow.deleted, … (docs/operations.md)'),
    actor_id: z.uuid().nullable().describe('Who acted; null for a failed sign-in'),
    subject_id: z.uuid().nullable().describe('The account the action is about'),
    address: z.string().nullable().describe('The client address'),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' });

const rfc3339 = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time with a zone' });

const AuditQuerySchema = PageQuerySchema.extend({
  action: z
    .string()
    .regex(/^[a-z_.]{1,64}$/, 'must be an action name such as auth.login.failed')
    .optional(),
  user: z.uuid('must be a user id').optional().describe('Entries whose actor or subject is this user'),
  since: rfc3339.optional().describe('Inclusive'),
  until: rfc3339.optional().describe('Exclusive'),
});

const errors = { 401: ProblemSchema, 403: ProblemSchema };

function settingsView(s: SignupSettings) {
  return {
    signup_mode: s.effective,
    signup_mode_source: s.override !== null ? ('setting' as const) : ('configuration' as const),
    configured_signup_mode: s.configured,
  };
}

export async function adminAccessRoutes(app: FastifyInstance, opts: { users: UsersApi }): Promise<void> {
  const { users } = opts;
  app.addHook('onRequest', makeAuthenticate(users));
  const tags = ['admin'];
  const context = (req: FastifyRequest) => ({ principal: requireAdmin(req), address: req.ip });

  app.get(
    '/admin/settings',
    {
      schema: {
        tags,
        summary: 'Installation settings: the sign-up mode',
        ...SECURED,
        response: { 200: SettingsSchema, ...errors },
      },
    },
    async (req) => {
      requireAdmin(req);
      return settingsView(await users.getSignupSettings());
    },
  );

  app.put(
    '/admin/settings',
    {
      schema: {
        tags,
        summary: 'Change the sign-up mode',
        description: '`signup_mode`: open, invite or closed; null goes back to CHRONOVERSE_SIGNUP. Audited.',
        ...SECURED,
        body: SettingsUpdateSchema,
        response: { 200: SettingsSchema, 400: ProblemSchema, ...errors },
      },
    },
    async (req) => {
      const body = req.body as z.output<typeof SettingsUpdateSchema>;
      return settingsView(await users.setSignupMode(context(req), body.signup_mode));
    },
  );

  app.post(
    '/admin/invites',
    {
      schema: {
        tags,
        summary: 'Create a one-time invitation (its secret is shown once)',
        description:
          'Valid `expires_in_days` (1–30, default 7) days, for one registration; with `email`, only for that address. Audited.',
        ...SECURED,
        body: InviteCreateSchema,
        response: { 201: CreatedInviteSchema, 400: ProblemSchema, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof InviteCreateSchema>;
      const invite = await users.createInvite(context(req), body);
      return reply
        .code(201)
        .send({ ...invite, link: `/register?invite=${encodeURIComponent(invite.token)}` });
    },
  );

  app.get(
    '/admin/invites',
    {
      schema: {
        tags,
        summary: 'Invitations, newest first, with their status',
        ...SECURED,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ invites: z.array(InviteSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof PageQuerySchema>;
      const page = await users.listInvites({
        limit: q.limit,
        ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor) } : {}),
      });
      return { invites: page.invites, cursor: page.nextAfterId ? encodeCursor(page.nextAfterId) : null };
    },
  );

  app.delete(
    '/admin/invites/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an unused invitation',
        ...SECURED,
        params: IdParamsSchema,
        response: { 204: z.null(), 404: ProblemSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params as z.output<typeof IdParamsSchema>;
      await users.revokeInvite(context(req), id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/users',
    {
      schema: {
        tags,
        summary: 'Create an account (whatever the sign-up mode)',
        description: 'The same password rules as registration; `role` defaults to user. Audited.',
        ...SECURED,
        body: AdminUserCreateSchema,
        response: { 201: UserSchema, 400: ProblemSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof AdminUserCreateSchema>;
      return reply.code(201).send(await users.adminCreateUser(context(req), body));
    },
  );

  app.patch(
    '/admin/users/:id',
    {
      schema: {
        tags,
        summary: "Change a user's role",
        description:
          "The user's tokens lose or gain the admin scope at once (a token keeps only what the role allows). 412 when it would leave no administrator. Audited.",
        ...SECURED,
        params: IdParamsSchema,
        body: AdminUserUpdateSchema,
        response: { 200: UserSchema, 400: ProblemSchema, 404: ProblemSchema, 412: ProblemSchema, ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as z.output<typeof IdParamsSchema>;
      const body = req.body as z.output<typeof AdminUserUpdateSchema>;
      return users.setUserRole(context(req), id, body.role);
    },
  );

  app.get(
    '/admin/audit',
    {
      schema: {
        tags,
        summary: 'The audit log, newest first',
        description:
          'Sign-ins (succeeded and failed), tokens created and revoked, accounts, roles, sign-up mode and invitations changed, workflows deleted. Filters: `action`, `user` (as actor or subject), `since` (inclusive), `until` (exclusive). Kept CHRONOVERSE_AUDIT_RETENTION (90 days).',
        ...SECURED,
        querystring: AuditQuerySchema,
        response: {
          200: z.object({ events: z.array(AuditEventSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          ...errors,
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof AuditQuerySchema>;
      if (q.since !== undefined && q.until !== undefined && Date.parse(q.since) >= Date.parse(q.until)) {
        throw ValidationError.single('until', 'must be after since');
      }
      const page = await users.listAudit({
        limit: q.limit,
        ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor) } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.user !== undefined ? { userId: q.user } : {}),
        ...(q.since !== undefined ? { since: new Date(q.since).toISOString() } : {}),
        ...(q.until !== undefined ? { until: new Date(q.until).toISOString() } : {}),
      });
      return { events: page.events, cursor: page.nextAfterId ? encodeCursor(page.nextAfterId) : null };
    },
  );
}

/**
 * Subscribing other users (issue 14, docs/api.md "Subscriptions") through the real gateway and
 * the subscriptions service over RPC, on PGlite and PostgreSQL:
 * - an administrator subscribes user B to user A's workflow (`user_id`): the subscription is B's
 *   (their list, their delete), the administrator sees it on the workflow's listing, A does not;
 *   B gains no access to the workflow (its GET and its subscriptions listing stay 404s);
 * - a non-admin naming someone else, or an admin token without the `admin` scope: 403 naming
 *   `user_id`; an unknown user: 400 on `user_id`; a WEBHOOK target must be the subscriber's;
 * - deleting the workflow deletes its subscriptions, deleting the user deletes theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { ENGINES, registerUser } from '../helpers/harness.ts';
import {
  createNotificationsGateway,
  insertWorkflow,
  type NotificationsGateway,
} from '../notifications/fixtures.ts';

type User = Awaited<ReturnType<typeof registerUser>>;
type Headers = Record<string, string>;

describe.each(ENGINES)('subscribing other users (%s)', (engine) => {
  let gw: NotificationsGateway;
  let admin: User;
  beforeAll(async () => {
    gw = await createNotificationsGateway(engine);
    // The first account of an installation is its administrator.
    admin = await registerUser(gw as never);
    expect(admin.user.role).toBe('admin');
  });
  afterAll(() => gw?.close());

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    headers: Headers,
    body?: unknown,
  ) =>
    gw.app.inject({
      method,
      url: `/api/v1${path}`,
      headers,
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  const subs = (wf: string) => `/workflows/${wf}/subscriptions`;
  function problem(res: Awaited<ReturnType<typeof call>>, status: number): { path: string }[] {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    return res.json().errors as { path: string }[];
  }
  async function endpoint(user: User): Promise<string> {
    const id = newId();
    await gw.database.db
      .insertInto('webhooks')
      .values({
        id,
        user_id: user.user.id,
        url: 'http://127.0.0.1:9/hook',
        secret: 'whsec_0123456789abcdef0123456789abcdef',
        event_types: ['*'],
        description: null,
      })
      .execute();
    return id;
  }

  it("an administrator subscribes B to A's workflow: B's subscription, no access to the workflow for B", async () => {
    const a = await registerUser(gw as never);
    const b = await registerUser(gw as never);
    expect(b.user.role).toBe('user');
    const wf = await insertWorkflow(gw.database, a.user.id, 'payments sync');

    const created = await call('POST', subs(wf), admin.headers, {
      channel: 'IN_APP',
      events: ['job.failed'],
      user_id: b.user.id,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      user_id: b.user.id,
      workflow_id: wf,
      channel: 'IN_APP',
      events: ['job.failed'],
    });
    const id = created.json().id as string;
    // Posting again for B replaces B's events: one subscription per (subscriber, channel, scope).
    const again = await call('POST', subs(wf), admin.headers, {
      channel: 'IN_APP',
      events: ['job.failed', 'job.recovered'],
      user_id: b.user.id,
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ id, events: ['job.failed', 'job.recovered'] });

    // B sees it among their own.
    const mine = await call('GET', '/subscriptions', b.headers);
    expect(mine.json().subscriptions).toEqual([
      expect.objectContaining({ id, user_id: b.user.id, workflow_id: wf }),
    ]);
    // The administrator sees it on the workflow's listing, with whose it is.
    const listed = await call('GET', subs(wf), admin.headers);
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().subscriptions).toEqual([expect.objectContaining({ id, user_id: b.user.id })]);
    // What decides for the administrator, who does not own it: nothing without a subscription of theirs.
    expect(listed.json().effective).toContainEqual({
      channel: 'IN_APP',
      source: 'DEFAULT',
      events: [],
      target: null,
    });
    // A, the owner, sees only their own; their in-app default (the preference) is unchanged.
    const owners = await call('GET', subs(wf), a.headers);
    expect(owners.statusCode, owners.body).toBe(200);
    expect(owners.json().subscriptions).toEqual([]);
    expect(owners.json().effective).toContainEqual({
      channel: 'IN_APP',
      source: 'DEFAULT',
      events: ['job.failed', 'build.failed', 'workflow.terminated', 'schedule.missed'],
      target: null,
    });

    // No access for B: the workflow and its subscriptions listing stay 404s.
    expect((await call('GET', `/workflows/${wf}`, a.headers)).statusCode).toBe(200);
    expect((await call('GET', `/workflows/${wf}`, b.headers)).statusCode).toBe(404);
    expect((await call('GET', subs(wf), b.headers)).statusCode).toBe(404);
    // Nor can B subscribe anyone (themselves included) to it on their own.
    expect((await call('POST', subs(wf), b.headers, { channel: 'EMAIL', events: ['*'] })).statusCode).toBe(
      404,
    );

    // A cannot delete B's subscription; B can, on either route.
    expect((await call('DELETE', `${subs(wf)}/${id}`, a.headers)).statusCode).toBe(404);
    expect((await call('DELETE', `${subs(wf)}/${id}`, b.headers)).statusCode).toBe(204);
    const email = await call('POST', subs(wf), admin.headers, {
      channel: 'EMAIL',
      events: ['*'],
      user_id: b.user.id,
    });
    expect(email.statusCode, email.body).toBe(201);
    expect((await call('DELETE', `/subscriptions/${email.json().id}`, b.headers)).statusCode).toBe(204);
    // And the administrator can delete anyone's on the workflow's route.
    const third = await call('POST', subs(wf), admin.headers, {
      channel: 'EMAIL',
      events: ['job.failed'],
      user_id: b.user.id,
    });
    expect((await call('DELETE', `${subs(wf)}/${third.json().id}`, admin.headers)).statusCode).toBe(204);
    expect((await call('GET', '/subscriptions', b.headers)).json().subscriptions).toEqual([]);
  });

  it('a non-admin naming another user, or an admin token without the admin scope: 403 on user_id', async () => {
    const a = await registerUser(gw as never);
    const b = await registerUser(gw as never);
    const wf = await insertWorkflow(gw.database, a.user.id, 'own');
    const body = { channel: 'IN_APP', events: ['*'], user_id: b.user.id };
    expect(problem(await call('POST', subs(wf), a.headers, body), 403)).toEqual([
      expect.objectContaining({ path: 'user_id' }),
    ]);
    // On someone else's workflow too (the 403 says nothing about the workflow).
    const other = await insertWorkflow(gw.database, b.user.id, 'theirs');
    expect(
      problem(await call('POST', subs(other), a.headers, { ...body, user_id: admin.user.id }), 403),
    ).toEqual([expect.objectContaining({ path: 'user_id' })]);
    // Naming oneself is the same as not naming anyone.
    const self = await call('POST', subs(wf), a.headers, {
      channel: 'IN_APP',
      events: ['*'],
      user_id: a.user.id,
    });
    expect(self.statusCode, self.body).toBe(201);
    expect(self.json().user_id).toBe(a.user.id);

    const pat = await call('POST', '/auth/tokens', admin.headers, { name: 'no-admin' });
    expect(pat.statusCode, pat.body).toBe(201);
    expect(pat.json().scopes).toEqual(['read', 'write']);
    const res = await call('POST', subs(wf), { authorization: `Bearer ${pat.json().token}` }, body);
    expect(problem(res, 403)).toEqual([expect.objectContaining({ path: 'user_id' })]);
    expect((await call('GET', '/subscriptions', b.headers)).json().subscriptions).toEqual([]);
  });

  it('an unknown user is a 400 on user_id, an unknown workflow a 404; all-workflows ones are your own', async () => {
    const a = await registerUser(gw as never);
    const wf = await insertWorkflow(gw.database, a.user.id, 'x');
    for (const userId of [newId(), 'not-a-uuid']) {
      expect(
        problem(
          await call('POST', subs(wf), admin.headers, { channel: 'IN_APP', events: ['*'], user_id: userId }),
          400,
        ),
      ).toEqual([expect.objectContaining({ path: 'user_id' })]);
    }
    expect(
      (
        await call('POST', subs(newId()), admin.headers, {
          channel: 'IN_APP',
          events: ['*'],
          user_id: a.user.id,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      problem(
        await call('POST', '/subscriptions', admin.headers, {
          channel: 'IN_APP',
          events: ['*'],
          user_id: a.user.id,
        }),
        400,
      ),
    ).toEqual([expect.objectContaining({ path: 'user_id' })]);
  });

  it("WEBHOOK for another user: the target must be the subscriber's own endpoint", async () => {
    const a = await registerUser(gw as never);
    const b = await registerUser(gw as never);
    const wf = await insertWorkflow(gw.database, a.user.id, 'hooks');
    const adminHook = await endpoint(admin);
    const ownerHook = await endpoint(a);
    const bHook = await endpoint(b);
    for (const target of [adminHook, ownerHook]) {
      expect(
        problem(
          await call('POST', subs(wf), admin.headers, {
            channel: 'WEBHOOK',
            target,
            events: ['job.failed'],
            user_id: b.user.id,
          }),
          400,
        ),
      ).toEqual([expect.objectContaining({ path: 'target' })]);
    }
    const ok = await call('POST', subs(wf), admin.headers, {
      channel: 'WEBHOOK',
      target: bHook,
      events: ['job.failed'],
      user_id: b.user.id,
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ user_id: b.user.id, target: bHook });
  });

  it("deleting the workflow deletes everyone's subscriptions to it; deleting a user deletes theirs", async () => {
    const a = await registerUser(gw as never);
    const b = await registerUser(gw as never);
    const c = await registerUser(gw as never);
    const wf = await insertWorkflow(gw.database, a.user.id, 'short-lived');
    for (const who of [b, c]) {
      const res = await call('POST', subs(wf), admin.headers, {
        channel: 'IN_APP',
        events: ['*'],
        user_id: who.user.id,
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await gw.database.db.deleteFrom('users').where('id', '=', c.user.id).execute();
    expect((await call('GET', subs(wf), admin.headers)).json().subscriptions).toHaveLength(1);
    // Only a terminated workflow can be deleted.
    const terminated = await call('PATCH', `/workflows/${wf}`, a.headers);
    expect(terminated.statusCode, terminated.body).toBe(200);
    expect((await call('DELETE', `/workflows/${wf}`, a.headers)).statusCode).toBe(204);
    expect((await call('GET', '/subscriptions', b.headers)).json().subscriptions).toEqual([]);
  });
});

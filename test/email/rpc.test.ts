/**
 * The subscriptions RPC over the in-memory router transport and over a real HTTP/2 loopback
 * server: the client returns exactly what the in-process service returns (same values, same key
 * order, `effective` only for one workflow, nulls kept) and throws the same errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/gateway/problem.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import type { SubscriptionsApi } from '../../src/services/notifications/subscriptions-api.ts';
import { SubscriptionsService } from '../../src/services/notifications/subscriptions.ts';
import type { UsersApi } from '../../src/services/users/api.ts';
import { PASSWORD_RESET_DEFAULTS, UsersService } from '../../src/services/users/service.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { config, loopbackClients, memoryClients, realServices } from '../rpc/fixtures.ts';

const same = (a: unknown, b: unknown) => expect(JSON.stringify(b)).toBe(JSON.stringify(a));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe.each(['memory', 'loopback'] as const)('subscriptions RPC over the %s transport', (mode) => {
  let database: Database;
  let service: SubscriptionsService;
  let client: SubscriptionsApi;
  let close: () => Promise<void>;
  let userId: string;
  let workflowId: string;
  let users: UsersService;
  let usersClient: UsersApi;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    service = new SubscriptionsService(database.db, { now: () => new Date() }, { emailEnabled: true });
    userId = await insertUser(database.db);
    [workflowId] = (await insertWorkflows(database.db, [{ userId, nextRunAt: null }])) as [string];
    users = new UsersService(
      database.db,
      { now: () => new Date() },
      {
        ...config.auth,
        passwordReset: {
          ...PASSWORD_RESET_DEFAULTS,
          emailEnabled: true,
          publicUrl: 'https://cv.example.test',
        },
      },
    );
    const local = { ...realServices(database), subscriptions: service, users };
    if (mode === 'memory') {
      const clients = memoryClients(local);
      client = clients.subscriptions!;
      usersClient = clients.users;
      close = async () => clients.close();
    } else {
      const loopback = await loopbackClients(local);
      client = loopback.clients.subscriptions!;
      usersClient = loopback.clients.users;
      close = loopback.close;
    }
  });
  afterAll(async () => {
    await close?.();
    await database?.close();
  });

  it('returns what the service returns, for every call', async () => {
    const created = await client.put(userId, workflowId!, { channel: 'EMAIL', events: ['job.failed'] });
    expect(created.created).toBe(true);
    const replaced = await client.put(userId, workflowId!, { channel: 'EMAIL', events: [] });
    expect(replaced).toMatchObject({
      created: false,
      subscription: { id: created.subscription.id, events: [] },
    });
    const all = await client.put(userId, null, { channel: 'IN_APP', events: ['*'] });
    expect(all.subscription.workflow_id).toBeNull();
    same(await service.list(userId, null), await client.list(userId, null));
    same(await service.list(userId, workflowId!), await client.list(userId, workflowId!));
    expect(Object.keys(await client.list(userId, null))).toEqual(['subscriptions', 'email_enabled']);

    // An email as the consumer queues it and the sender leaves it after a refused attempt.
    const emailId = newId();
    const now = new Date();
    await database.db
      .insertInto('email_deliveries')
      .values({
        id: emailId,
        user_id: userId,
        workflow_id: null,
        event_type: 'job.failed',
        dedupe_key: `JOB_FINISHED:${newId()}`,
        to_address: 'a@example.com',
        subject: 's',
        text_body: 't',
        html_body: '<p>t</p>',
        status: 'PENDING',
        attempts: 1,
        next_attempt_at: now,
        last_error: 'connect ECONNREFUSED',
        created_at: now,
      })
      .execute();
    await database.db
      .insertInto('email_delivery_attempts')
      .values([
        {
          delivery_id: emailId,
          attempt: 1,
          started_at: now,
          smtp_code: null,
          response: null,
          duration_ms: 2,
        },
        {
          delivery_id: emailId,
          attempt: 2,
          started_at: now,
          smtp_code: 451,
          response: '451 later',
          duration_ms: 3,
        },
      ])
      .execute();
    same(await service.listEmails(userId, { limit: 10 }), await client.listEmails(userId, { limit: 10 }));
    same(
      await service.listEmails(userId, { limit: 10, status: 'SENT' }),
      await client.listEmails(userId, { limit: 10, status: 'SENT' }),
    );
    same(await service.getEmail(userId, emailId), await client.getEmail(userId, emailId));

    await client.delete(userId, workflowId!, created.subscription.id);
    await client.delete(userId, null, all.subscription.id);
    expect((await service.list(userId, null)).subscriptions).toEqual([]);
  });

  it('throws the errors the service throws', async () => {
    // Thunks: each pair is started only when it is awaited (no unhandled rejections).
    const cases: [() => Promise<unknown>, () => Promise<unknown>][] = [
      [() => service.list(userId, newId()), () => client.list(userId, newId())],
      [
        () => service.put(userId, workflowId!, { channel: 'SMS', events: ['nope'] }),
        () => client.put(userId, workflowId!, { channel: 'SMS', events: ['nope'] }),
      ],
      [() => service.put(userId, null, undefined), () => client.put(userId, null, undefined)],
      [() => service.delete(userId, null, newId()), () => client.delete(userId, null, newId())],
      [() => service.getEmail(userId, newId()), () => client.getEmail(userId, newId())],
      [
        () => service.listEmails(userId, { limit: 5, cursor: 'bad' }),
        () => client.listEmails(userId, { limit: 5, cursor: 'bad' }),
      ],
    ];
    for (const [direct, remote] of cases) {
      const [a, b] = [await failure(direct()), await failure(remote())];
      expect(toProblem(b)).toEqual(toProblem(a));
      expect((b as object).constructor).toBe((a as object).constructor);
    }
  });

  it('password reset: the same answers and errors through the users client', async () => {
    const email = (
      await database.db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow()
    ).email;
    same(
      await users.requestPasswordReset({ email: 'nobody@example.com' }),
      await usersClient.requestPasswordReset({ email, ip: '10.0.0.9' }),
    );
    const bad = { token: 'cvr_unknown', password: 'lantern quietly orbiting 42 pears', ip: '10.0.0.9' };
    const [a, b] = [
      await failure(users.confirmPasswordReset(bad)),
      await failure(usersClient.confirmPasswordReset(bad)),
    ];
    expect(toProblem(b)).toEqual(toProblem(a));
    expect(toProblem(b).problem.status).toBe(400);
  });
});

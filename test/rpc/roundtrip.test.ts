/**
 * Every RPC, over the in-memory router transport and over a real HTTP/2 loopback server: the
 * client returns exactly what the in-process service returns (same values, same key order).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/gateway/problem.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { scopesOfRole } from '../../src/domain/user-input.ts';
import { newId } from '../../src/platform/ids.ts';
import type { ServiceClients } from '../../src/platform/rpc/wiring.ts';
import { createTestDatabase, PASSWORD, uniqueEmail } from '../helpers/harness.ts';
import { insertLogLines, loopbackClients, markBuilt, memoryClients, realServices } from './fixtures.ts';

const same = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** The same problem+json (and error class) from the client as from the service itself. */
async function sameProblem(direct: Promise<unknown>, remote: Promise<unknown>): Promise<number> {
  const [a, b] = [await failure(direct), await failure(remote)];
  expect(toProblem(b)).toEqual(toProblem(a));
  expect((b as object).constructor).toBe((a as object).constructor);
  return toProblem(b).problem.status;
}

async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

describe.each(['memory', 'loopback'] as const)('every RPC over the %s transport', (mode) => {
  let database: Database;
  let local: ReturnType<typeof realServices>;
  let c: ServiceClients;
  let close: () => Promise<void>;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    local = realServices(database);
    if (mode === 'memory') {
      c = memoryClients(local);
      close = async () => c.close();
    } else {
      const lb = await loopbackClients(local);
      c = lb.clients;
      close = lb.close;
    }
  });
  afterAll(async () => {
    await close();
    await database.close();
  });

  it('users', async () => {
    const email = uniqueEmail();
    const session = await c.users.register({ email, password: PASSWORD });
    expect(session.expiresAt).toBeInstanceOf(Date);
    same(session.user, await local.users.getUser(session.user.id));
    const login = await c.users.login({ email, password: PASSWORD, ip: '10.0.0.1' });
    same(Object.keys(login), ['user', 'token', 'tokenId', 'expiresAt']);
    same(await c.users.authenticate(login.token), await local.users.authenticate(login.token));
    expect(await c.users.authenticate('cvs_nothing')).toBeNull();
    same(await c.users.getUser(session.user.id), await local.users.getUser(session.user.id));
    const principal = (await c.users.authenticate(session.token))!;
    const updated = await c.users.updateUser(principal, { notification_preference: 'NONE' });
    expect(updated.notification_preference).toBe('NONE');
    same(updated, await local.users.getUser(session.user.id));
    const pat = await c.users.createPersonalAccessToken(principal, {
      name: 'ci',
      expires_in_days: 3,
      scopes: ['tokens', 'read'],
      address: '10.0.0.2',
    });
    same(Object.keys(pat), [
      'id',
      'name',
      'scopes',
      'parent_id',
      'created_at',
      'expires_at',
      'last_used_at',
      'token',
    ]);
    expect(pat).toMatchObject({ last_used_at: null, parent_id: null, scopes: ['read', 'tokens'] });
    const patPrincipal = (await c.users.authenticate(pat.token))!;
    same(patPrincipal, await local.users.authenticate(pat.token));
    const at = new Date(Date.now() + 86_400_000).toISOString();
    const child = await c.users.createPersonalAccessToken(patPrincipal, {
      name: 'child',
      expires_at: at,
      scopes: ['read'],
    });
    expect(child).toMatchObject({ parent_id: pat.id, expires_at: at, scopes: ['read'] });
    await sameProblem(
      local.users.createPersonalAccessToken(patPrincipal, { name: 'x', scopes: ['write'] }),
      c.users.createPersonalAccessToken(patPrincipal, { name: 'x', scopes: ['write'] }),
    );
    same(
      await c.users.listPersonalAccessTokens(session.user.id),
      await local.users.listPersonalAccessTokens(session.user.id),
    );
    await c.users.revokePersonalAccessToken(session.user.id, pat.id, '10.0.0.2');
    expect(await c.users.listPersonalAccessTokens(session.user.id)).toEqual([]);
    same(await c.users.listUsers({ limit: 1 }), await local.users.listUsers({ limit: 1 }));
    const page = await c.users.listUsers({ limit: 100 });
    expect(page.nextAfterId).toBeNull();
    await c.users.revokeToken(login.tokenId);
    expect(await c.users.authenticate(login.token)).toBeNull();
  });

  it('users: sign-up mode, invitations, roles and the audit log', async () => {
    // The database is shared with the test above, whose user became its administrator.
    const admin = (await local.users.listUsers({ limit: 100 })).users.find((u) => u.role === 'admin')!;
    const ctx = {
      principal: {
        user: admin,
        tokenId: newId(),
        tokenKind: 'session' as const,
        scopes: scopesOfRole('admin'),
      },
      address: '10.0.0.3',
    };
    same(await c.users.getSignupSettings(), await local.users.getSignupSettings());
    const set = await c.users.setSignupMode(ctx, 'invite');
    same(set, await local.users.getSignupSettings());
    expect(set).toEqual({ override: 'invite', configured: 'open', effective: 'invite' });
    same(await c.users.setSignupMode(ctx, null), await local.users.getSignupSettings());

    const bound = await c.users.createInvite(ctx, { email: 'rt@example.com', expires_in_days: 2 });
    same(Object.keys(bound), [
      'id',
      'email',
      'status',
      'created_at',
      'expires_at',
      'created_by',
      'used_at',
      'used_by',
      'token',
    ]);
    const open = await c.users.createInvite(ctx, {});
    expect(open.email).toBeNull();
    await c.users.revokeInvite(ctx, open.id);
    same(await c.users.listInvites({ limit: 1 }), await local.users.listInvites({ limit: 1 }));
    same(await c.users.listInvites({ limit: 100 }), await local.users.listInvites({ limit: 100 }));
    await sameProblem(local.users.revokeInvite(ctx, open.id), c.users.revokeInvite(ctx, open.id));
    const invited = await c.users.register({
      email: 'rt@example.com',
      password: PASSWORD,
      ip: '10.0.0.4',
      invite: bound.token,
    });
    expect(invited.user.role).toBe('user');

    const made = await c.users.adminCreateUser(ctx, { email: uniqueEmail(), password: PASSWORD });
    same(made, await local.users.getUser(made.id));
    const promoted = await c.users.setUserRole(ctx, made.id, 'admin');
    same(promoted, await local.users.getUser(made.id));
    expect(promoted.role).toBe('admin');

    await c.users.recordAudit({
      action: 'workflow.deleted',
      actor_id: made.id,
      subject_id: made.id,
      address: null,
      target_type: 'workflow',
      target_id: 'w1',
      details: { nested: { a: [1, 'two'] } },
    });
    const query = { limit: 5, userId: made.id, since: '2000-01-01T00:00:00.000Z' };
    const events = await c.users.listAudit(query);
    same(events, await local.users.listAudit(query));
    expect(events.events.map((e) => e.action)).toEqual([
      'workflow.deleted',
      'user.role_changed',
      'user.created',
    ]);
    expect(events.events[0]!.details).toEqual({ nested: { a: [1, 'two'] } });
    const filtered = {
      limit: 1,
      action: 'invite.created',
      until: new Date(Date.now() + 60_000).toISOString(),
    };
    const page1 = await c.users.listAudit(filtered);
    same(page1, await local.users.listAudit(filtered));
    same(
      await c.users.listAudit({ ...filtered, afterId: page1.nextAfterId! }),
      await local.users.listAudit({ ...filtered, afterId: page1.nextAfterId! }),
    );
  });

  it('workflows, jobs and logs', async () => {
    const { user } = await local.users.register({ email: uniqueEmail(), password: PASSWORD });
    const body = {
      name: 'hb',
      kind: 'CONTAINER',
      payload: { image: 'docker.io/library/alpine:3.20', cmd: ['echo', 'hé ✓'] },
      log_retention: true,
      schedule: { type: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Paris' },
      // Out of order: a protobuf map has none, the API lists keys in order on both sides.
      labels: { tier: 'batch', 'chronoverse.io/managed-by': 'cli', team: 'data' },
    };
    const created = await c.workflows.create(user.id, body, 'key-1');
    expect(Object.keys(created.body.labels)).toEqual(['chronoverse.io/managed-by', 'team', 'tier']);
    expect(created).toMatchObject({ status: 201, replayed: false });
    same(created.body, await local.workflows.get(user.id, created.body.id));
    const replay = await c.workflows.create(user.id, body, 'key-1');
    same(replay, await local.workflows.create(user.id, body, 'key-1'));
    expect(replay.replayed).toBe(true);
    const id = created.body.id;
    same(await c.workflows.list(user.id, { limit: 10 }), await local.workflows.list(user.id, { limit: 10 }));
    const filters = {
      limit: 10,
      kind: 'CONTAINER',
      build_status: 'QUEUED',
      terminated: false,
      query: 'h',
    } as const;
    same(await c.workflows.list(user.id, filters), await local.workflows.list(user.id, filters));
    for (const labels of ['team=data,tier!=web', 'team in (ops)', '!gpu']) {
      same(
        await c.workflows.list(user.id, { limit: 10, labels }),
        await local.workflows.list(user.id, { limit: 10, labels }),
      );
    }
    expect((await c.workflows.list(user.id, { limit: 10, labels: 'team in (ops)' })).workflows).toEqual([]);
    await sameProblem(
      local.workflows.list(user.id, { limit: 10, labels: 'team=' + '-x' }),
      c.workflows.list(user.id, { limit: 10, labels: 'team=' + '-x' }),
    );
    same(await c.workflows.get(user.id, id), await local.workflows.get(user.id, id));
    const updated = await c.workflows.update(user.id, id, {
      schedule: { type: 'interval', interval_minutes: 7 },
    });
    expect(updated.body.schedule).toMatchObject({
      type: 'interval',
      interval_minutes: 7,
      policy: { overlap: 'BUFFER_ALL' },
    });
    same(updated.body, await local.workflows.get(user.id, id));

    await markBuilt(database, id);
    const run = await c.jobs.runNow(user.id, id, 'run-1');
    expect(run).toMatchObject({ status: 201, replayed: false });
    same(await c.jobs.runNow(user.id, id, 'run-1'), await local.jobs.runNow(user.id, id, 'run-1'));
    const jobId = run.body.id;
    same(await c.jobs.get(user.id, id, jobId), await local.jobs.get(user.id, id, jobId));
    same(
      await c.jobs.list(user.id, id, { limit: 5, trigger: 'MANUAL', status: 'PENDING' }),
      await local.jobs.list(user.id, id, { limit: 5, trigger: 'MANUAL', status: 'PENDING' }),
    );
    const canceled = await c.jobs.cancel(user.id, id, jobId);
    expect(canceled.status).toBe('CANCELED');
    same(canceled, await local.jobs.get(user.id, id, jobId));
    const retried = await c.jobs.retry(user.id, id, jobId);
    expect(retried.body.retry_of).toBe(jobId);
    same(retried.body, await local.jobs.get(user.id, id, retried.body.id));

    await insertLogLines(database, jobId, id, 5);
    same(await c.logs.open(user.id, id, jobId), await local.logs.open(user.id, id, jobId));
    const readOpts = { limit: 2, order: 'asc', stream: 'stdout' } as const;
    const page = await c.logs.read(user.id, id, jobId, readOpts);
    same(page, await local.logs.read(user.id, id, jobId, readOpts));
    same(
      await c.logs.read(user.id, id, jobId, { ...readOpts, cursor: page.cursor! }),
      await local.logs.read(user.id, id, jobId, { ...readOpts, cursor: page.cursor! }),
    );
    const searchOpts = { q: 'ünï', limit: 10 };
    const hits = await c.logs.search(user.id, id, jobId, searchOpts);
    expect(hits.logs[0]!.highlights).toEqual([[7, 10]]);
    same(hits, await local.logs.search(user.id, id, jobId, searchOpts));
    for (const format of ['txt', 'json', 'jsonl'] as const) {
      expect(await collect(await c.logs.rawStream(user.id, id, jobId, { format }))).toBe(
        await collect(await local.logs.rawStream(user.id, id, jobId, { format })),
      );
    }
    same(await c.logs.replay(jobId, 1, 2), await local.logs.replay(jobId, 1, 2));
    same(await c.logs.replay(jobId, -1, 100), await local.logs.replay(jobId, -1, 100));
    same(await c.logs.state(jobId), await local.logs.state(jobId));
    expect(await c.logs.state('00000000-0000-7000-8000-000000000000')).toBeNull();
    // A DAG run's state carries its tasks' fingerprint (what the SSE stream polls).
    const dag = await c.workflows.create(user.id, {
      name: 'rpc dag',
      kind: 'DAG',
      payload: {
        tasks: [{ name: 'ping', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' } }],
      },
      interval: 5,
    });
    await markBuilt(database, dag.body.id);
    const dagRun = (await c.jobs.runNow(user.id, dag.body.id, 'dag-run-1')).body.id;
    const dagState = await c.logs.state(dagRun);
    expect(dagState?.tasksKey).toEqual(expect.any(String));
    same(dagState, await local.logs.state(dagRun));
    expect((await c.logs.state(jobId))?.tasksKey).toBeUndefined();

    same(await c.workflows.terminate(user.id, id), await local.workflows.get(user.id, id));
    await c.workflows.delete(user.id, id);
    await expect(local.workflows.get(user.id, id)).rejects.toMatchObject({ code: 'CV_NOT_FOUND' });
  });

  it('jobs across workflows, recent jobs and rebuild', async () => {
    const { user } = await local.users.register({ email: uniqueEmail(), password: PASSWORD });
    const body = {
      name: 'across ✓',
      kind: 'HEARTBEAT',
      payload: { endpoint: 'https://example.com/health' },
      interval: 5,
    };
    const a = (await c.workflows.create(user.id, body)).body.id;
    const b = (await c.workflows.create(user.id, { ...body, name: 'b' })).body.id;
    await markBuilt(database, a);
    await markBuilt(database, b);
    // A canceled and a retried run on a, one canceled on b: recent jobs with and without a start.
    const first = (await c.jobs.runNow(user.id, a)).body.id;
    await c.jobs.cancel(user.id, a, first);
    await c.jobs.retry(user.id, a, first);
    const onB = (await c.jobs.runNow(user.id, b)).body.id;
    await sql`UPDATE jobs SET status = 'COMPLETED', started_at = now() - interval '1.5 seconds',
              completed_at = now(), attempts = 1 WHERE id = ${onB}`.execute(database.db);

    const recent = await c.workflows.get(user.id, b);
    expect(recent.recent_jobs).toMatchObject([{ id: onB, status: 'COMPLETED', duration_ms: 1500 }]);
    same(recent, await local.workflows.get(user.id, b));
    same(await c.workflows.get(user.id, a), await local.workflows.get(user.id, a));
    same(await c.workflows.list(user.id, { limit: 10 }), await local.workflows.list(user.id, { limit: 10 }));

    const since = new Date(Date.now() - 3_600_000);
    for (const filters of [
      { limit: 10 },
      { limit: 2 },
      { limit: 10, status: ['CANCELED', 'COMPLETED'] as ('CANCELED' | 'COMPLETED')[] },
      { limit: 10, workflow_id: a, trigger: 'MANUAL' as const, since, until: new Date(Date.now() + 60_000) },
    ]) {
      same(await c.jobs.listAll(user.id, filters), await local.jobs.listAll(user.id, filters));
    }
    const page = await c.jobs.listAll(user.id, { limit: 2 });
    expect(page.jobs.map((j) => j.workflow_name)).toEqual(['b', 'across ✓']);
    same(
      await c.jobs.listAll(user.id, { limit: 2, cursor: page.cursor! }),
      await local.jobs.listAll(user.id, { limit: 2, cursor: page.cursor! }),
    );
    const badRange = { limit: 10, since, until: since };
    expect(await sameProblem(local.jobs.listAll(user.id, badRange), c.jobs.listAll(user.id, badRange))).toBe(
      400,
    );

    // Rebuild: 412 while the build is COMPLETED, then a FAILED build queued again, and replayed.
    expect(await sameProblem(local.workflows.rebuild(user.id, b), c.workflows.rebuild(user.id, b))).toBe(412);
    await sql`UPDATE workflows SET build_status = 'FAILED', state = 'BUILD_FAILED', build_error = 'image not found' WHERE id = ${b}`.execute(
      database.db,
    );
    const rebuilt = await c.workflows.rebuild(user.id, b, 'rebuild-1');
    expect(rebuilt).toMatchObject({ status: 202, replayed: false, body: { build_status: 'QUEUED' } });
    same(rebuilt.body, await local.workflows.get(user.id, b));
    same(
      await c.workflows.rebuild(user.id, b, 'rebuild-1'),
      await local.workflows.rebuild(user.id, b, 'rebuild-1'),
    );
    expect(
      await sameProblem(local.workflows.rebuild(user.id, newId()), c.workflows.rebuild(user.id, newId())),
    ).toBe(404);
  });

  it('quotas, and the errors of quotas', async () => {
    const admin = (await local.users.register({ email: uniqueEmail(), password: PASSWORD })).user;
    const { user } = await local.users.register({ email: uniqueEmail(), password: PASSWORD });
    const quotas = c.quotas!;
    same(await quotas.get(user.id), await local.quotas.get(user.id));
    const set = await quotas.set(admin.id, user.id, {
      max_workflows: 1,
      runs_per_minute: 1,
      min_schedule_seconds: 0,
      max_concurrent_containers: null,
    });
    same(set, await local.quotas.get(user.id));
    expect(set.quotas.min_schedule_seconds).toEqual({ limit: 0, source: 'user', usage: null });
    expect(set.quotas.max_concurrent_containers).toEqual({ limit: 4, source: 'default', usage: 0 });
    same(await quotas.list({ limit: 1 }), await local.quotas.list({ limit: 1 }));
    const page = await quotas.list({ limit: 1 });
    same(
      await quotas.list({ limit: 5, afterId: page.nextAfterId! }),
      await local.quotas.list({ limit: 5, afterId: page.nextAfterId! }),
    );
    expect(await sameProblem(local.quotas.get(newId()), quotas.get(newId()))).toBe(404);
    expect(
      await sameProblem(
        local.quotas.set(admin.id, user.id, { max_workflows: -1 }),
        quotas.set(admin.id, user.id, { max_workflows: -1 }),
      ),
    ).toBe(400);

    // The quota errors cross the wire whole: 409, 400 on the field, 429 with Retry-After.
    const body = { name: 'q', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' }, interval: 5 };
    const wf = (await c.workflows.create(user.id, body)).body;
    expect(await sameProblem(local.workflows.create(user.id, body), c.workflows.create(user.id, body))).toBe(
      409,
    );
    await local.quotas.set(admin.id, user.id, { max_workflows: null, min_schedule_seconds: null });
    const everySecond = { ...body, interval: undefined, schedule: { type: 'cron', cron: '* * * * * *' } };
    expect(
      await sameProblem(
        local.workflows.create(user.id, everySecond),
        c.workflows.create(user.id, everySecond),
      ),
    ).toBe(400);
    await markBuilt(database, wf.id);
    await c.jobs.runNow(user.id, wf.id);
    expect(await sameProblem(local.jobs.runNow(user.id, wf.id), c.jobs.runNow(user.id, wf.id))).toBe(429);
  });

  it('bus admin', async () => {
    // Each transport has its own database: the rows here are the only ones.
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, attempts, last_error)
      SELECT 'jobs', 'k' || i, 'DISPATCH', '{}'::jsonb, 'DEAD', 10, CASE WHEN i = 1 THEN NULL ELSE 'boom ✓ ' || i END
      FROM generate_series(1, 3) i`.execute(database.db);
    await sql`INSERT INTO outbox (topic, key, event_type, payload) VALUES ('jobs', 'live', 'DISPATCH', '{}')`.execute(
      database.db,
    );
    const parked = [newId(), newId(), newId()];
    for (const [i, id] of parked.entries()) {
      await database.db
        .insertInto('bus_parked_messages')
        .values({
          id,
          topic: 'workflows',
          consumer_group: 'workflow-worker',
          kafka_partition: i,
          kafka_offset: 9_007_199_254_740_000 + i,
          key: i === 2 ? 'unavailable' : `wf-${i}`,
          value: i === 1 ? null : Buffer.from('{"type":"BUILD"}'),
          headers: JSON.stringify({ id: String(i) }),
          event_type: i === 1 ? null : 'BUILD',
          error: 'handler failed: ü',
          attempts: 5,
        })
        .execute();
    }
    same(await c.busAdmin.counts(), { deadOutbox: 3, parked: 3 });
    same(await c.busAdmin.counts(), await local.busAdmin.counts());

    const dead = await c.busAdmin.listDeadOutbox({ limit: 2 });
    same(dead, await local.busAdmin.listDeadOutbox({ limit: 2 }));
    expect(dead.next_cursor).not.toBeNull();
    const rest = await c.busAdmin.listDeadOutbox({ limit: 2, cursor: dead.next_cursor! });
    same(rest, await local.busAdmin.listDeadOutbox({ limit: 2, cursor: dead.next_cursor! }));
    expect(rest).toMatchObject({ items: [{ key: 'k1', last_error: null }], next_cursor: null });
    expect(
      await sameProblem(
        local.busAdmin.listDeadOutbox({ limit: 2, cursor: 'nope' }),
        c.busAdmin.listDeadOutbox({ limit: 2, cursor: 'nope' }),
      ),
    ).toBe(400);

    const id = dead.items[0]!.id;
    const redriven = await c.busAdmin.redriveOutbox(id);
    same(redriven, { ...dead.items[0]!, attempts: 0, last_error: null });
    // No longer DEAD: not found, the same problem either side of the wire.
    expect(await sameProblem(local.busAdmin.redriveOutbox(id), c.busAdmin.redriveOutbox(id))).toBe(404);
    expect(await sameProblem(local.busAdmin.redriveOutbox('abc'), c.busAdmin.redriveOutbox('abc'))).toBe(404);

    for (const redrivenFilter of [undefined, true, false] as const) {
      const params = { limit: 2, ...(redrivenFilter !== undefined ? { redriven: redrivenFilter } : {}) };
      same(await c.busAdmin.listParked(params), await local.busAdmin.listParked(params));
    }
    const page = await c.busAdmin.listParked({ limit: 2 });
    expect(page.items.map((p) => p.id)).toEqual([parked[2], parked[1]]);
    expect(page.items[1]).toMatchObject({ event_type: null, offset: '9007199254740001', redriven_at: null });
    same(
      await c.busAdmin.listParked({ limit: 2, cursor: page.next_cursor! }),
      await local.busAdmin.listParked({ limit: 2, cursor: page.next_cursor! }),
    );

    const message = await c.busAdmin.redriveParked(parked[1]!);
    expect(message.redriven_at).not.toBeNull();
    same(message, (await local.busAdmin.listParked({ limit: 1, redriven: true })).items[0]);
    same(await c.busAdmin.listParked({ limit: 10, redriven: true }), { items: [message], next_cursor: null });
    // The bus refuses it: 503, the same problem either side.
    expect(
      await sameProblem(local.busAdmin.redriveParked(parked[2]!), c.busAdmin.redriveParked(parked[2]!)),
    ).toBe(503);
    const missing = newId();
    expect(await sameProblem(local.busAdmin.redriveParked(missing), c.busAdmin.redriveParked(missing))).toBe(
      404,
    );
    same(await c.busAdmin.counts(), { deadOutbox: 2, parked: 2 });
  });
});

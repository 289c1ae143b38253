/**
 * The administrator's policies at create and edit, through the real gateway: the outbound policy
 * on heartbeat endpoints (a table of addresses × roles × the private-networks setting), and the
 * container policy on images, the bridge network and the resource ceilings. Each refusal is a
 * 400 problem naming the field; nothing here runs a job, so nothing is ever dialled or pulled.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
type User = Awaited<ReturnType<typeof registerUser>>;
type Tier = 'metadata' | 'internal' | 'public';

/** Endpoint hosts and the tier the outbound policy puts them in. */
const ENDPOINTS: Array<[string, Tier]> = [
  ['http://169.254.169.254/latest/meta-data/', 'metadata'],
  ['http://169.254.169.254:80/', 'metadata'],
  ['http://2852039166/', 'metadata'],
  ['http://0xa9.0xfe.0xa9.0xfe/', 'metadata'],
  ['http://0251.0376.0251.0376/', 'metadata'],
  ['http://169.254.43518/', 'metadata'],
  ['http://[::ffff:169.254.169.254]/', 'metadata'],
  ['http://[::ffff:a9fe:a9fe]/', 'metadata'],
  ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'],
  ['http://[fe80::1]/', 'metadata'],
  ['http://100.100.100.200/latest/meta-data/', 'metadata'],
  ['http://[fd00:ec2::254]/latest/meta-data/', 'metadata'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
  ['http://metadata.google.internal./computeMetadata/v1/', 'metadata'],
  ['http://metadata/computeMetadata/v1/', 'metadata'],
  ['https://127.0.0.1:8443/', 'internal'],
  ['http://127.1/', 'internal'],
  ['http://2130706433/', 'internal'],
  ['http://localhost:9200/', 'internal'],
  ['http://[::1]:6379/', 'internal'],
  ['http://[::ffff:127.0.0.1]/', 'internal'],
  ['http://0.0.0.0:2375/', 'internal'],
  ['http://10.0.0.1/', 'internal'],
  ['http://172.16.0.1/', 'internal'],
  ['http://192.168.1.1/', 'internal'],
  ['http://100.64.0.1/', 'internal'],
  ['http://[fd00::1]/', 'internal'],
  ['http://[fc00::1]/', 'internal'],
  ['https://api.example.com/health', 'public'],
  ['http://93.184.216.34/', 'public'],
  ['http://[2606:4700:4700::1111]/', 'public'],
];

function problem(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return res.json<{ code: string; errors: { path: string; message: string }[] }>();
}

describe.each([false, true])('outbound policy at create and edit (private networks allowed: %s)', (allow) => {
  let gw: TestGateway;
  let admin: User;
  let user: User;
  const users = () => ({ admin, user });

  beforeAll(async () => {
    gw = await createTestGateway('pglite', {
      env: { CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: String(allow) },
    });
    admin = await registerUser(gw); // the first account is the administrator
    user = await registerUser(gw);
    expect([admin.user.role, user.user.role]).toEqual(['admin', 'user']);
  });
  afterAll(() => gw.close());

  const create = (u: User, endpoint: string) =>
    gw.app.inject({
      method: 'POST',
      url: API,
      headers: u.headers,
      payload: { name: 'hb', kind: 'HEARTBEAT', payload: { endpoint }, interval: 60 },
    });

  const cases = ENDPOINTS.flatMap(([endpoint, tier]) =>
    (['admin', 'user'] as const).map((role) => [endpoint, tier, role] as const),
  );

  it.each(cases)('%s (%s) for the %s', async (endpoint, tier, role) => {
    const allowed = tier === 'public' || (tier === 'internal' && (role === 'admin' || allow));
    const who = users()[role];
    const created = await create(who, endpoint);
    if (allowed) {
      expect(created.statusCode, created.body).toBe(201);
    } else {
      const body = problem(created);
      expect(body.code).toBe('CV_VALIDATION');
      expect(body.errors.map((e) => e.path)).toEqual(['payload.endpoint']);
      expect(body.errors[0]!.message).toMatch(
        tier === 'metadata' ? /link-local or cloud metadata/ : /private networks are not allowed/,
      );
    }
    // An edit is judged the same: a public workflow moved to the endpoint.
    const base = await create(who, 'https://api.example.com/health');
    expect(base.statusCode).toBe(201);
    const edited = await gw.app.inject({
      method: 'PUT',
      url: `${API}/${base.json<{ id: string }>().id}`,
      headers: who.headers,
      payload: { payload: { endpoint } },
    });
    if (allowed) expect(edited.statusCode, edited.body).toBe(200);
    else expect(problem(edited).errors.map((e) => e.path)).toEqual(['payload.endpoint']);
  });
});

describe('outbound policy on the tasks of a DAG', () => {
  let gw: TestGateway;
  let user: User;
  beforeAll(async () => {
    gw = await createTestGateway('pglite', { env: { CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'false' } });
    await registerUser(gw); // the administrator
    user = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const hbTask = (name: string, endpoint: string) => ({ name, kind: 'HEARTBEAT', payload: { endpoint } });

  it('judges every task and finally task as a heartbeat workflow, naming each place', async () => {
    const created = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: user.headers,
      payload: {
        name: 'graph',
        kind: 'DAG',
        interval: 60,
        payload: {
          tasks: [hbTask('ok', 'https://api.example.com/health'), hbTask('inner', 'http://10.0.0.1/')],
          finally: [hbTask('meta', 'http://169.254.169.254/latest/meta-data')],
        },
      },
    });
    const body = problem(created);
    expect(body.code).toBe('CV_VALIDATION');
    expect(body.errors.map((e) => e.path)).toEqual([
      'payload.tasks.1.payload.endpoint',
      'payload.finally.0.payload.endpoint',
    ]);
    const stored = await gw.database.db
      .selectFrom('workflows')
      .select('id')
      .where('user_id', '=', user.user.id)
      .execute();
    expect(stored).toEqual([]);
  });
});

describe('container policy at create and edit', () => {
  let gw: TestGateway;
  let admin: User;
  let user: User;
  const container = (payload: Record<string, unknown>) => ({
    name: 'ct',
    kind: 'CONTAINER',
    payload: { image: 'alpine:3.20', ...payload },
    interval: 60,
  });
  const post = (u: User, body: object, g = gw) =>
    g.app.inject({ method: 'POST', url: API, headers: u.headers, payload: body });

  beforeAll(async () => {
    gw = await createTestGateway('pglite');
    admin = await registerUser(gw);
    user = await registerUser(gw);
  });
  afterAll(() => gw.close());

  it.each([
    '10.0.0.5:5000/evil:latest',
    '10.0.0.5/evil',
    '127.0.0.1:5000/x',
    'localhost/x',
    'localhost:5000/x',
    'registry.internal.corp/team/app:1',
    'metadata.google.internal/x',
    'ghcr.io:443/org/app',
  ])('refuses the image %s to everyone, naming payload.image and the setting', async (image) => {
    for (const u of [admin, user]) {
      const body = problem(await post(u, container({ image })));
      expect(body.errors.map((e) => e.path)).toEqual(['payload.image']);
      expect(body.errors[0]!.message).toContain('CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES');
    }
  });

  it.each(['alpine', 'library/alpine:3.20', 'docker.io/library/alpine', 'ghcr.io/org/app:1', 'quay.io/a/b'])(
    'accepts the image %s from a default registry',
    async (image) => {
      expect((await post(user, container({ image }))).statusCode).toBe(201);
    },
  );

  it('keeps the bridge network for administrators, or everyone when the administrator allows it', async () => {
    expect(problem(await post(user, container({ network: 'bridge' }))).errors).toEqual([
      {
        path: 'payload.network',
        message: expect.stringContaining('CHRONOVERSE_CONTAINERS_ALLOW_BRIDGE_NETWORK'),
      },
    ]);
    expect((await post(admin, container({ network: 'bridge' }))).statusCode).toBe(201);
    const open = await createTestGateway('pglite', {
      env: { CHRONOVERSE_CONTAINERS_ALLOW_BRIDGE_NETWORK: 'true' },
    });
    try {
      await registerUser(open);
      const other = await registerUser(open);
      expect((await post(other, container({ network: 'bridge' }), open)).statusCode).toBe(201);
    } finally {
      await open.close();
    }
  });

  it('names every ceiling a container goes over', async () => {
    const body = problem(
      await post(
        admin,
        container({ resources: { cpus: 64, memory_mb: 262_144, pids: 32_768 }, timeout: '1h' }),
      ),
    );
    expect(body.errors).toEqual([
      {
        path: 'payload.resources.cpus',
        message: "must be at most 2 (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_CPUS)",
      },
      {
        path: 'payload.resources.memory_mb',
        message: "must be at most 2048 (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_MEMORY_MB)",
      },
      {
        path: 'payload.resources.pids',
        message: "must be at most 1024 (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_PIDS)",
      },
    ]);
    const tight = await createTestGateway('pglite', {
      env: {
        CHRONOVERSE_CONTAINERS_MAX_CPUS: '0.5',
        CHRONOVERSE_CONTAINERS_MAX_TIMEOUT: '10m',
      },
    });
    try {
      const a = await registerUser(tight);
      const res = await post(a, container({ resources: { cpus: 1 }, timeout: '11m' }), tight);
      expect(problem(res).errors).toEqual([
        {
          path: 'payload.resources.cpus',
          message: "must be at most 0.5 (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_CPUS)",
        },
        {
          path: 'payload.timeout',
          message: "must be at most 10m (the administrator's ceiling CHRONOVERSE_CONTAINERS_MAX_TIMEOUT)",
        },
      ]);
    } finally {
      await tight.close();
    }
  });

  it('checks an edit of the payload the same way, and stores the hardening fields', async () => {
    const created = await post(user, container({ read_only_root_fs: true, user: '1000:1000' }));
    expect(created.statusCode, created.body).toBe(201);
    const wf = created.json<{ id: string; payload: Record<string, unknown> }>();
    expect(wf.payload).toMatchObject({ read_only_root_fs: true, user: '1000:1000', network: 'none' });
    const put = (payload: object) =>
      gw.app.inject({ method: 'PUT', url: `${API}/${wf.id}`, headers: user.headers, payload: { payload } });
    expect(problem(await put({ image: '10.0.0.5:5000/evil:latest' })).errors.map((e) => e.path)).toEqual([
      'payload.image',
    ]);
    expect(problem(await put({ image: 'alpine', network: 'bridge' })).errors.map((e) => e.path)).toEqual([
      'payload.network',
    ]);
    expect(
      problem(await put({ image: 'alpine', resources: { pids: 4096 } })).errors.map((e) => e.path),
    ).toEqual(['payload.resources.pids']);
    expect(problem(await put({ image: 'alpine', user: 'root' })).errors.map((e) => e.path)).toEqual([
      'payload.user',
    ]);
    expect((await put({ image: 'alpine:3.21', user: '65534' })).statusCode).toBe(200);
  });
});

/**
 * Webhooks API (docs/api.md "Webhooks") through the real gateway and the RPC client, on PGlite and
 * PostgreSQL: validation listing every field, the SSRF guard at create time, the secret shown
 * once, updates and rotation, pagination, deliveries (list, detail, redeliver, ping) and
 * ownership (another user's webhook is 404 everywhere).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/platform/ids.ts';
import { ENGINES, registerUser } from '../helpers/harness.ts';
import { createWebhookGateway, type WebhookGateway } from './setup.ts';

const API = '/api/v1/webhooks';
type User = Awaited<ReturnType<typeof registerUser>>;

interface Webhook {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  secret_hint: string;
  created_at: string;
  updated_at: string;
  secret?: string;
}

function problemPaths(res: LightMyRequestResponse): string[] {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<{ code: string; errors: { path: string; message: string }[] }>();
  expect(body.code).toBe('CV_VALIDATION');
  return body.errors.map((e) => e.path).sort();
}

describe.each(ENGINES)('webhooks API on %s', (engine) => {
  let gw: WebhookGateway;
  let alice: User;
  let bob: User;

  const create = (user: User, payload: unknown) =>
    gw.app.inject({ method: 'POST', url: API, headers: user.headers, payload: payload as object });

  beforeAll(async () => {
    gw = await createWebhookGateway(engine);
    alice = await registerUser(gw as never);
    bob = await registerUser(gw as never);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('creates a webhook and shows a generated secret once', async () => {
    const res = await create(alice, {
      url: 'https://hooks.example.com/chronoverse',
      event_types: ['job.failed', 'workflow.terminated', 'job.failed'],
      description: 'alerts',
    });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json<Webhook>();
    expect(created).toMatchObject({
      url: 'https://hooks.example.com/chronoverse',
      event_types: ['job.failed', 'workflow.terminated'],
      description: 'alerts',
      enabled: true,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(created.secret_hint).toBe(created.secret!.slice(-4));

    const got = await gw.app.inject({ method: 'GET', url: `${API}/${created.id}`, headers: alice.headers });
    expect(got.statusCode).toBe(200);
    expect(got.json()).not.toHaveProperty('secret');
    expect(got.json<Webhook>().secret_hint).toBe(created.secret_hint);
    const list = await gw.app.inject({ method: 'GET', url: API, headers: alice.headers });
    expect(list.body).not.toContain(created.secret!);
  });

  it('keeps a given secret and accepts ["*"]', async () => {
    const res = await create(alice, {
      url: 'http://hooks.example.com/x',
      event_types: ['*'],
      secret: 'a-very-long-secret-of-mine',
      enabled: false,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      secret: 'a-very-long-secret-of-mine',
      secret_hint: 'mine',
      event_types: ['*'],
      enabled: false,
      description: null,
    });
  });

  it('lists every offending field at once', async () => {
    expect(
      problemPaths(
        await create(alice, {
          url: 'ftp://example.com/x',
          event_types: ['job.failed', 'job.exploded'],
          secret: 'short',
          description: 'x'.repeat(501),
          enabled: 'yes',
          extra: 1,
        }),
      ),
    ).toEqual(['description', 'enabled', 'event_types.1', 'extra', 'secret', 'url']);
    expect(problemPaths(await create(alice, {}))).toEqual(['event_types', 'url']);
    expect(problemPaths(await create(alice, { url: 'https://example.com', event_types: [] }))).toEqual([
      'event_types',
    ]);
    expect(
      problemPaths(await create(alice, { url: 'https://example.com', event_types: ['*', 'job.failed'] })),
    ).toEqual(['event_types']);
    const bad = (url: string) => create(alice, { url, event_types: ['*'] });
    expect(problemPaths(await bad('not a url'))).toEqual(['url']);
    expect(problemPaths(await bad('https://user:pass@example.com/x'))).toEqual(['url']);
    expect(problemPaths(await bad(`https://example.com/${'a'.repeat(2048)}`))).toEqual(['url']);
    expect(problemPaths(await bad('javascript:alert(1)'))).toEqual(['url']);
    const nonObject = await gw.app.inject({
      method: 'POST',
      url: API,
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '[1]',
    });
    expect(problemPaths(nonObject)).toEqual(['']);
  });

  it('refuses literal private and loopback addresses to a user, metadata addresses to everyone, at create time', async () => {
    // alice registered first: she is the administrator, whom the outbound policy lets reach
    // internal networks; bob is an ordinary user.
    for (const url of [
      'http://10.0.0.1/x',
      'http://127.0.0.1:8080/x',
      'http://[::1]/x',
      'http://[::ffff:192.168.1.1]/x',
      'http://0.0.0.0/x',
      'http://localhost:9000/x',
    ]) {
      const res = await create(bob, { url, event_types: ['*'] });
      expect(problemPaths(res), url).toEqual(['url']);
      expect(res.body).toContain('private networks are not allowed');
      expect((await create(alice, { url, event_types: ['*'] })).statusCode, url).toBe(201);
    }
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://[::ffff:a9fe:a9fe]/x',
      'http://2852039166/x',
    ]) {
      for (const user of [alice, bob]) {
        const res = await create(user, { url, event_types: ['*'] });
        expect(problemPaths(res), url).toEqual(['url']);
        expect(res.body).toContain('cloud metadata');
      }
    }
  });

  it('updates fields, rotates the secret (shown once) and 404s for other users', async () => {
    const created = (
      await create(alice, { url: 'https://example.com/a', event_types: ['build.failed'] })
    ).json<Webhook>();
    const patch = (user: User, payload: object) =>
      gw.app.inject({ method: 'PATCH', url: `${API}/${created.id}`, headers: user.headers, payload });

    const changed = await patch(alice, { url: 'https://example.com/b', enabled: false, description: 'd' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ url: 'https://example.com/b', enabled: false, description: 'd' });
    expect(changed.json()).not.toHaveProperty('secret');

    const rotated = await patch(alice, { rotate_secret: true });
    expect(rotated.statusCode).toBe(200);
    const secret = rotated.json<Webhook>().secret!;
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(created.secret);
    expect(rotated.json<Webhook>().secret_hint).toBe(secret.slice(-4));

    expect(
      problemPaths(await patch(alice, { url: 'http://169.254.169.254/', event_types: ['nope'] })),
    ).toEqual(['event_types.0', 'url']);
    expect(problemPaths(await patch(alice, { rotate_secret: true, secret: 'x'.repeat(20) }))).toEqual([
      'rotate_secret',
    ]);
    expect((await patch(bob, { enabled: true })).statusCode).toBe(404);
    const mine = await gw.app.inject({ method: 'GET', url: `${API}/${created.id}`, headers: alice.headers });
    expect(mine.json<Webhook>().enabled).toBe(false);
  });

  it('pages webhooks newest first with a cursor, only the caller’s', async () => {
    const carol = await registerUser(gw as never);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await create(carol, { url: `https://example.com/${i}`, event_types: ['*'] })).json<Webhook>().id,
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: LightMyRequestResponse = await gw.app.inject({
        method: 'GET',
        url: `${API}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: carol.headers,
      });
      expect(res.statusCode).toBe(200);
      const page: { webhooks: Webhook[]; cursor: string | null } = res.json();
      seen.push(...page.webhooks.map((w) => w.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const bad = await gw.app.inject({
      method: 'GET',
      url: `${API}?limit=0&cursor=zzz`,
      headers: carol.headers,
    });
    expect(problemPaths(bad)).toEqual(['limit']);
  });

  it('pings, lists and shows deliveries, redelivers; other users get 404 everywhere', async () => {
    const hook = (await create(alice, { url: 'https://example.com/p', event_types: ['*'] })).json<Webhook>();
    const ping = await gw.app.inject({
      method: 'POST',
      url: `${API}/${hook.id}/ping`,
      headers: alice.headers,
    });
    expect(ping.statusCode, ping.body).toBe(202);
    const delivery = ping.json<{ id: string; status: string; event_type: string; attempts: number }>();
    expect(delivery).toMatchObject({ status: 'PENDING', event_type: 'ping', attempts: 0 });

    const list = await gw.app.inject({
      method: 'GET',
      url: `${API}/${hook.id}/deliveries?status=PENDING`,
      headers: alice.headers,
    });
    expect(list.json<{ deliveries: { id: string }[] }>().deliveries.map((d) => d.id)).toEqual([delivery.id]);
    const none = await gw.app.inject({
      method: 'GET',
      url: `${API}/${hook.id}/deliveries?status=FAILED`,
      headers: alice.headers,
    });
    expect(none.json<{ deliveries: unknown[] }>().deliveries).toEqual([]);

    const detail = await gw.app.inject({
      method: 'GET',
      url: `${API}/${hook.id}/deliveries/${delivery.id}`,
      headers: alice.headers,
    });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({
      id: delivery.id,
      body: { id: delivery.id, type: 'ping', data: { webhook_id: hook.id } },
      history: [],
    });

    const redeliver = await gw.app.inject({
      method: 'POST',
      url: `${API}/${hook.id}/deliveries/${delivery.id}/redeliver`,
      headers: alice.headers,
    });
    expect(redeliver.statusCode, redeliver.body).toBe(202);
    const withBody = await gw.app.inject({
      method: 'POST',
      url: `${API}/${hook.id}/deliveries/${delivery.id}/redeliver`,
      headers: alice.headers,
      payload: { now: true },
    });
    expect(problemPaths(withBody)).toEqual(['now']);

    const otherUser: [string, string][] = [
      ['GET', `${API}/${hook.id}`],
      ['DELETE', `${API}/${hook.id}`],
      ['GET', `${API}/${hook.id}/deliveries`],
      ['GET', `${API}/${hook.id}/deliveries/${delivery.id}`],
      ['POST', `${API}/${hook.id}/deliveries/${delivery.id}/redeliver`],
      ['POST', `${API}/${hook.id}/ping`],
    ];
    for (const [method, url] of otherUser) {
      const res = await gw.app.inject({ method: method as 'GET', url, headers: bob.headers });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    for (const url of [`${API}/${newId()}`, `${API}/${hook.id}/deliveries/${newId()}`]) {
      expect((await gw.app.inject({ method: 'GET', url, headers: alice.headers })).statusCode, url).toBe(404);
    }
    const badIds = await gw.app.inject({
      method: 'GET',
      url: `${API}/nope/deliveries/nope`,
      headers: alice.headers,
    });
    expect(problemPaths(badIds)).toEqual(['delivery_id', 'id']);

    const del = await gw.app.inject({ method: 'DELETE', url: `${API}/${hook.id}`, headers: alice.headers });
    expect(del.statusCode).toBe(204);
    const gone = await gw.app.inject({
      method: 'GET',
      url: `${API}/${hook.id}/deliveries`,
      headers: alice.headers,
    });
    expect(gone.statusCode).toBe(404);
  });

  it('refuses ping and redelivery on a disabled webhook (412)', async () => {
    const hook = (
      await create(alice, { url: 'https://example.com/off', event_types: ['*'] })
    ).json<Webhook>();
    const url = (path: string) => `${API}/${hook.id}${path}`;
    // A delivery made while it was enabled, then the webhook is disabled.
    const ping = await gw.app.inject({ method: 'POST', url: url('/ping'), headers: alice.headers });
    expect(ping.statusCode, ping.body).toBe(202);
    const delivery = ping.json<{ id: string }>();
    const off = await gw.app.inject({
      method: 'PATCH',
      url: url(''),
      headers: alice.headers,
      payload: { enabled: false },
    });
    expect(off.statusCode, off.body).toBe(200);

    const pingOff = await gw.app.inject({ method: 'POST', url: url('/ping'), headers: alice.headers });
    expect(pingOff.statusCode, pingOff.body).toBe(412);
    const redeliverOff = await gw.app.inject({
      method: 'POST',
      url: url(`/deliveries/${delivery.id}/redeliver`),
      headers: alice.headers,
    });
    expect(redeliverOff.statusCode, redeliverOff.body).toBe(412);
    // Neither made a delivery: only the one from before.
    const list = await gw.app.inject({ method: 'GET', url: url('/deliveries'), headers: alice.headers });
    expect(list.json<{ deliveries: { id: string }[] }>().deliveries.map((d) => d.id)).toEqual([delivery.id]);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    for (const path of [
      '/api/v1/webhooks',
      '/api/v1/webhooks/{id}',
      '/api/v1/webhooks/{id}/deliveries',
      '/api/v1/webhooks/{id}/deliveries/{delivery_id}',
      '/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      '/api/v1/webhooks/{id}/ping',
    ]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
  });
});

describe('webhooks API with private networks allowed', () => {
  it('accepts literal private addresses', async () => {
    const gw = await createWebhookGateway('pglite', { allowPrivateNetworks: true });
    try {
      await registerUser(gw as never); // the administrator
      const user = await registerUser(gw as never);
      const res = await gw.app.inject({
        method: 'POST',
        url: API,
        headers: user.headers,
        payload: { url: 'http://10.0.0.1/x', event_types: ['*'] },
      });
      expect(res.statusCode, res.body).toBe(201);
    } finally {
      await gw.close();
    }
  });
});

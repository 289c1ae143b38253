/**
 * Labels on workflows (api.md "Labels") through the real gateway, on PGlite and PostgreSQL:
 * validated like Kubernetes labels on create and edit, kept by edits that do not name them,
 * replaced by edits that do, and selected with `GET /workflows?labels=` by every selector operator
 * (compared with the domain's own matcher over the same workflows).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesSelector, parseLabelSelector } from '../../src/domain/labels.ts';
import { createTestGateway, ENGINES, registerUser, type TestGateway } from '../helpers/harness.ts';

const API = '/api/v1/workflows';
type User = Awaited<ReturnType<typeof registerUser>>;
interface Workflow {
  id: string;
  name: string;
  labels: Record<string, string>;
  generation: number;
  build_status: string;
}

function heartbeat(name: string, labels?: Record<string, string>): Record<string, unknown> {
  return {
    name,
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://api.example.com/health' },
    interval: 5,
    ...(labels ? { labels } : {}),
  };
}

describe.each(ENGINES)('workflow labels (%s)', (engine) => {
  let gw: TestGateway;
  let user: User;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
    user = await registerUser(gw);
  });
  afterAll(() => gw.close());

  const create = (body: unknown, u = user) =>
    gw.app.inject({ method: 'POST', url: API, headers: u.headers, payload: body as object });
  const update = (id: string, body: unknown) =>
    gw.app.inject({ method: 'PUT', url: `${API}/${id}`, headers: user.headers, payload: body as object });
  const list = (query: string, u = user) =>
    gw.app.inject({
      method: 'GET',
      url: `${API}?${query.includes('limit=') ? '' : 'limit=100&'}${query}`,
      headers: u.headers,
    });
  const ok = <T>(res: LightMyRequestResponse, status = 200): T => {
    expect(res.statusCode, res.body).toBe(status);
    return res.json<T>();
  };

  it('stores labels, answers them with keys in order, and {} when none were given', async () => {
    const wf = ok<Workflow>(
      await create(heartbeat('labelled', { tier: 'web', 'example.com/team': 'data', a: '' })),
      201,
    );
    expect(wf.labels).toEqual({ a: '', 'example.com/team': 'data', tier: 'web' });
    expect(Object.keys(wf.labels)).toEqual(['a', 'example.com/team', 'tier']);
    expect(
      ok<Workflow>(await gw.app.inject({ method: 'GET', url: `${API}/${wf.id}`, headers: user.headers }))
        .labels,
    ).toEqual(wf.labels);
    expect(ok<Workflow>(await create(heartbeat('bare')), 201).labels).toEqual({});
  });

  it('reports every bad key and value under labels.<key>, with the other fields', async () => {
    const res = await create({
      ...heartbeat('bad', { '-team': 'x', tier: 'web server', ['k'.repeat(64)]: 'v', ok: 'fine' }),
      interval: 0,
    });
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ errors: { path: string; message: string }[] }>().errors;
    expect(paths).toEqual(
      expect.arrayContaining([
        { path: 'labels.-team', message: expect.stringMatching(/^key must have a name/) },
        { path: 'labels.tier', message: expect.stringMatching(/^value must be empty or letters/) },
        { path: `labels.${'k'.repeat(64)}`, message: 'key must have a name of at most 63 characters' },
        { path: 'interval', message: expect.any(String) },
      ]),
    );
    expect(paths.some((p) => p.path === 'labels.ok')).toBe(false);
    const notStrings = await create({ ...heartbeat('bad'), labels: { team: 1 } });
    expect(notStrings.statusCode).toBe(400);
    expect(notStrings.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([
      'labels.team',
    ]);
    expect((await create({ ...heartbeat('bad'), labels: ['team'] })).statusCode).toBe(400);
  });

  it('keeps labels on an edit without them, replaces them all on an edit with them, and neither rebuilds', async () => {
    const wf = ok<Workflow>(await create(heartbeat('edited', { team: 'data', tier: 'web' })), 201);
    await gw.database.db
      .updateTable('workflows')
      .set({ build_status: 'COMPLETED', state: 'ACTIVE' })
      .where('id', '=', wf.id)
      .execute();
    const renamed = ok<Workflow>(await update(wf.id, { name: 'edited again' }));
    expect(renamed.labels).toEqual({ team: 'data', tier: 'web' });
    const relabelled = ok<Workflow>(await update(wf.id, { labels: { team: 'ops' } }));
    expect(relabelled).toMatchObject({
      labels: { team: 'ops' },
      build_status: 'COMPLETED',
      generation: wf.generation,
    });
    expect(ok<Workflow>(await update(wf.id, { labels: {} })).labels).toEqual({});
    const bad = await update(wf.id, { labels: { 'Team!': 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual(['labels.Team!']);
  });

  it('selects with every operator of Kubernetes selectors, as the domain matcher does', async () => {
    const other = await registerUser(gw);
    const sets: Record<string, Record<string, string>> = {
      s1: { team: 'data', tier: 'batch' },
      s2: { team: 'data', tier: 'web' },
      s3: { team: 'ops', gpu: '' },
      s4: {},
      s5: { team: 'web', 'chronoverse.io/managed-by': 'cli' },
    };
    const ids: Record<string, string> = {};
    for (const [name, labels] of Object.entries(sets)) {
      ids[name] = ok<Workflow>(await create(heartbeat(`sel ${name}`, labels), other), 201).id;
    }
    const selectors = [
      'team=data',
      'team==data,tier!=web',
      'tier!=web',
      'team in (ops, web)',
      'team notin (data)',
      'gpu',
      '!gpu',
      '!team',
      'chronoverse.io/managed-by=cli',
      'team=data,tier=web,gpu',
      '',
    ];
    for (const selector of selectors) {
      const got = ok<{ workflows: Workflow[] }>(await list(`labels=${encodeURIComponent(selector)}`, other))
        .workflows.map((w) => w.name)
        .sort();
      const parsed = parseLabelSelector(selector);
      if (!parsed.ok) throw new Error(parsed.message);
      const expected = Object.entries(sets)
        .filter(([, labels]) => matchesSelector(labels, parsed.requirements))
        .map(([name]) => `sel ${name}`)
        .sort();
      expect(got, selector).toEqual(expected);
    }
    // Never another user's workflows, whatever the selector.
    const mine = ok<{ workflows: Workflow[] }>(await list('labels=team')).workflows;
    expect(mine.some((w) => Object.values(ids).includes(w.id))).toBe(false);
    // Combined with the other filters and pages.
    const page = ok<{ workflows: Workflow[]; cursor: string | null }>(
      await list(`labels=${encodeURIComponent('team in (data,ops)')}&query=sel&limit=2`, other),
    );
    expect(page.workflows.map((w) => w.name)).toEqual(['sel s3', 'sel s2']);
    expect(page.cursor).not.toBeNull();
  });

  it('answers a bad selector with a 400 on labels saying what is wrong', async () => {
    for (const [selector, message] of [
      ['team=da ta', /unexpected "ta"/],
      ['env in (a', /expected "," or "\)"/],
      ['-x', /"-x": key must have a name/],
    ] as const) {
      const res = await list(`labels=${encodeURIComponent(selector)}`);
      expect(res.statusCode, selector).toBe(400);
      const problem = res.json<{ code: string; errors: { path: string; message: string }[] }>();
      expect(problem.code).toBe('CV_VALIDATION');
      expect(problem.errors).toEqual([{ path: 'labels', message: expect.stringMatching(message) }]);
    }
  });

  it('documents labels and the selector in the OpenAPI document', async () => {
    const doc = ok<{
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>(await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' }));
    expect(doc.paths['/api/v1/workflows']!.get!.parameters!.map((p) => p.name)).toContain('labels');
    expect(doc.components.schemas.Workflow!.properties).toHaveProperty('labels');
    expect(doc.components.schemas.WorkflowCreate!.properties).toHaveProperty('labels');
  });
});

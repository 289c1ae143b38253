import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl } from '../helpers/postgres.ts';
import { createTestGateway, ENGINES, type TestGateway } from '../helpers/harness.ts';

describe.each(ENGINES)('operations endpoints (%s)', (engine) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway(engine);
  });
  afterAll(() => gw.close());

  it('answers /healthz', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('reports the database in /readyz', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { database: true } });
  });

  it('serves an OpenAPI 3.1 document with the workflow routes', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/workflows', '/api/v1/workflows/{id}', '/api/v1/auth/login']),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Workflow', 'HeartbeatPayload', 'ContainerPayload', 'Problem']),
    );
  });

  it('serves interactive docs', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });

  it('answers unknown routes with a problem document', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404, code: 'CV_ROUTE_NOT_FOUND' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.runIf(engine === 'postgres')(
    'recovers when the server kills its connections, answering 503 meanwhile, never 500',
    async () => {
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(gw.database.db);
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      try {
        const killed = await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [rows[0]!.db],
        );
        expect(killed.rowCount).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await gw.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: 'x@example.com', password: 'whatever1' },
          // Each attempt from its own address: the login throttle would slow down a fourth from one.
          remoteAddress: `198.51.100.${i + 1}`,
        });
        statuses.push(res.statusCode);
      }
      expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
      expect(statuses.at(-1)).toBe(401);
      expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    },
  );
});

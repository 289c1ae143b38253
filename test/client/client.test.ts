/**
 * `@chronoverse/client` (packages/client): the committed OpenAPI document and generated types are
 * what `npm run client:gen` makes from the document the gateway serves now (drift fails here, with
 * the command to run), and the client works against the real gateway (its fetch goes through
 * `app.inject`), problems included.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChronoverseApiError, createChronoverseClient, unwrap } from '@chronoverse/client';
import {
  DEFINITION_SCHEMA_FILE,
  DOCUMENT_FILE,
  generatedSources,
  SCHEMA_FILE,
  servedDocuments,
} from '../../scripts/client-gen.ts';
import { createTestGateway, registerUser, type TestGateway } from '../helpers/harness.ts';
import { DEFAULT_SCHEDULE_POLICY, schedulePolicyView } from '../../src/domain/schedule-policy.ts';
const DEFAULT_POLICY_VIEW = schedulePolicyView(DEFAULT_SCHEDULE_POLICY);

describe('@chronoverse/client', () => {
  it('is generated from the OpenAPI document the gateway serves (else run `npm run client:gen`)', async () => {
    const fresh = await generatedSources(await servedDocuments());
    const committed = {
      document: await readFile(DOCUMENT_FILE, 'utf8'),
      schema: await readFile(SCHEMA_FILE, 'utf8'),
      workflowSchema: await readFile(DEFINITION_SCHEMA_FILE, 'utf8'),
    };
    // Compared as parsed JSON first: a failure then names the route or schema that changed.
    expect(JSON.parse(committed.document), 'packages/client/openapi.json: run `npm run client:gen`').toEqual(
      JSON.parse(fresh.document),
    );
    expect(committed.document).toBe(fresh.document);
    expect(committed.schema, 'packages/client/src/generated/schema.ts: run `npm run client:gen`').toBe(
      fresh.schema,
    );
    expect(committed.workflowSchema, 'docs/schemas/workflow.json: run `npm run client:gen`').toBe(
      fresh.workflowSchema,
    );
  });

  describe('against the real gateway', () => {
    let gw: TestGateway;
    let token: string;
    beforeAll(async () => {
      gw = await createTestGateway('pglite');
      token = (await registerUser(gw)).token;
    });
    afterAll(() => gw.close());

    /** fetch through Fastify's inject: the real routes, validation and serialisation, no socket. */
    const injectFetch = async (request: Request): Promise<Response> => {
      const url = new URL(request.url);
      const body = request.body ? await request.text() : undefined;
      const res = await gw.app.inject({
        method: request.method as 'GET',
        url: `${url.pathname}${url.search}`,
        headers: Object.fromEntries(request.headers),
        ...(body !== undefined ? { payload: body } : {}),
      });
      return new Response(res.statusCode === 204 ? null : res.rawPayload, {
        status: res.statusCode,
        headers: res.headers as Record<string, string>,
      });
    };

    it('creates, lists by label selector and reads workflows with typed answers', async () => {
      const api = createChronoverseClient({ baseUrl: 'http://gateway/', token, fetch: injectFetch });
      const created = unwrap(
        await api.POST('/api/v1/workflows', {
          body: {
            name: 'typed',
            kind: 'HEARTBEAT',
            payload: { endpoint: 'https://example.com/health' },
            schedule: { type: 'cron', cron: '0 * * * *', timezone: 'UTC' },
            labels: { team: 'data' },
          },
        }),
      );
      expect(created).toMatchObject({ name: 'typed', labels: { team: 'data' }, kind: 'HEARTBEAT' });
      const page = unwrap(
        await api.GET('/api/v1/workflows', { params: { query: { labels: 'team=data', limit: 10 } } }),
      );
      expect(page.workflows.map((w) => w.id)).toEqual([created.id]);
      const none = unwrap(
        await api.GET('/api/v1/workflows', { params: { query: { labels: 'team!=data' } } }),
      );
      expect(none.workflows).toEqual([]);
      const one = unwrap(await api.GET('/api/v1/workflows/{id}', { params: { path: { id: created.id } } }));
      expect(one.schedule).toEqual({
        type: 'cron',
        cron: '0 * * * *',
        timezone: 'UTC',
        policy: DEFAULT_POLICY_VIEW,
      });
    });

    it('turns problem+json answers into ChronoverseApiError with the code and field errors', async () => {
      const api = createChronoverseClient({ baseUrl: 'http://gateway', token, fetch: injectFetch });
      const bad = await api.POST('/api/v1/workflows', {
        body: {
          name: 'bad',
          kind: 'HEARTBEAT',
          payload: { endpoint: 'ftp://x' },
          interval: 5,
          labels: { '-x': 'y' },
        },
      });
      let caught: unknown;
      try {
        unwrap(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ChronoverseApiError);
      const error = caught as ChronoverseApiError;
      expect(error.status).toBe(400);
      expect(error.code).toBe('CV_VALIDATION');
      expect(error.problem?.errors?.map((e) => e.path).sort()).toEqual(['labels.-x', 'payload.endpoint']);
      expect(error.message).toMatch(/payload\.endpoint must be an http/);
      const anonymous = createChronoverseClient({ baseUrl: 'http://gateway', fetch: injectFetch });
      expect(() =>
        unwrap({ ...(bad as object), response: new Response(null, { status: 500 }) } as never),
      ).toThrow(ChronoverseApiError);
      const unauthenticated = await anonymous.GET('/api/v1/workflows', {});
      expect(unauthenticated.response.status).toBe(401);
      expect(unauthenticated.error?.code).toBe('CV_UNAUTHENTICATED');
    });
  });
});

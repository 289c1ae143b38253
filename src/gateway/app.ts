/**
 * The gateway's HTTP application, built without listening (Fastify's app/server split): tests
 * drive it with `app.inject()`, `chronoverse start` calls `listen`.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import type { Registry } from 'prom-client';
import { CONFIG_SCHEMA } from '../config/schema.ts';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseTrustedProxies, proxyTrust } from '../domain/trusted-proxies.ts';
import type { ArtifactStore } from '../platform/artifacts/store.ts';
import type { Events } from '../platform/events.ts';
import type { LiveLogs } from '../platform/live-logs.ts';
import type { Logger } from '../platform/logger.ts';
import { instrumentGateway } from '../platform/telemetry/fastify.ts';
import type { AnalyticsApi } from '../services/analytics/api.ts';
import type { JobsApi } from '../services/jobs/api.ts';
import type { LogsApi } from '../services/logs/api.ts';
import type { NotificationsApi } from '../services/notifications/api.ts';
import type { UsersApi } from '../services/users/api.ts';
import type { SubscriptionsApi } from '../services/notifications/subscriptions-api.ts';
import type { WebhooksApi } from '../services/webhooks/api.ts';
import type { WorkflowsApi } from '../services/workflows/api.ts';
import type { BusAdmin } from '../services/bus-admin/types.ts';
import type { QuotasApi } from '../services/quotas/api.ts';
import {
  frameworkErrorReply,
  httpServerOptions,
  limitUrlLength,
  makeClientErrorHandler,
  MAX_URL_BYTES,
} from './http-limits.ts';
import { jsonBodyParser, MAX_JSON_DEPTH } from './json-body.ts';
import { HttpProblemError, problemType, toProblem } from './problem.ts';
import { adminAccessRoutes } from './routes/admin-access.ts';
import { adminBusRoutes } from './routes/admin-bus.ts';
import { adminQuotaRoutes } from './routes/admin-quotas.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { authRoutes } from './routes/auth.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { jobRoutes } from './routes/jobs.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { logRoutes } from './routes/logs.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { schemaRoutes } from './routes/schemas.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { userRoutes } from './routes/users.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { workflowRoutes } from './routes/workflows.ts';
import { securityHeaders } from './security-headers.ts';
import { jsonSerializerCompiler, zodValidatorCompiler } from './validation.ts';

export interface GatewayDeps {
  logger: Logger;
  /** The domain services: in-process classes or their RPC clients (src/platform/rpc/wiring.ts). */
  users: UsersApi;
  workflows: WorkflowsApi;
  jobs: JobsApi;
  logs: LogsApi;
  /** Live lines of running jobs, for Server-Sent Events. */
  live: LiveLogs;
  /** The process-wide event map: job status wake-ups for Server-Sent Events. */
  events: Events;
  /** Dead outbox rows and parked bus messages (admin API), served by the jobs role. */
  busAdmin: BusAdmin;
  /** Users' quotas (admin API), served by the workflows role; the routes are absent without it. */
  quotas?: QuotasApi;
  /** In-app notifications (list, mark read, SSE); the routes are absent without it. */
  notifications?: NotificationsApi;
  /** Figures and time series (the analytics role); without it the /analytics routes are absent. */
  analytics?: AnalyticsApi;
  /** Webhook endpoints and deliveries (the notifications role); the routes are absent without it. */
  webhooks?: WebhooksApi;
  /** Notification subscriptions and the email history (the notifications role); absent without it. */
  subscriptions?: SubscriptionsApi;
  /** The artifact store, read by the artifact download route. @default none: downloads are 404s */
  artifacts?: ArtifactStore;
  /** Prometheus metrics of this process, served at /metrics. */
  metrics?: Registry;
  /** Readiness of every dependency the process started (database, …). */
  readiness: () => Promise<Record<string, boolean>>;
}

export interface GatewayOptions {
  bodyLimitBytes: number;
  /** Longest time to receive a whole request (CHRONOVERSE_SERVER_BODY_TIMEOUT; default 30 s). */
  bodyTimeoutMs?: number;
  /**
   * CHRONOVERSE_SERVER_TRUST_PROXY as the config holds it (src/domain/trusted-proxies.ts): the
   * client address is the right-most hop that is not a trusted proxy. `false`/empty: none.
   */
  trustProxy: string | false;
  version: string;
  /** The built dashboard served at `/` (default: web/dist of this checkout). */
  webDistDir?: string;
  /** Safety poll of the notifications SSE stream besides its wake-ups (default 5 s). */
  notificationPollMs?: number;
}

export async function buildGateway(deps: GatewayDeps, options: GatewayOptions) {
  const bodyTimeoutMs = options.bodyTimeoutMs ?? CONFIG_SCHEMA.server.bodyTimeoutMs.default;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: proxyTrust(parseTrustedProxies(options.trustProxy || '')) ?? false,
    // Limits of the HTTP layer and their problem+json answers (http-limits.ts, docs/api.md "Limits").
    http: httpServerOptions(bodyTimeoutMs),
    requestTimeout: bodyTimeoutMs,
    routerOptions: { maxParamLength: MAX_URL_BYTES },
    clientErrorHandler: makeClientErrorHandler(deps.logger, bodyTimeoutMs),
    frameworkErrors: frameworkErrorReply,
  });
  app.decorateRequest('principal', null);
  // Request spans and the request duration histogram (docs/observability.md).
  instrumentGateway(app, deps.metrics);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);

  // JSON only, bounded in bytes and depth while it is read (json-body.ts); an empty body with a
  // JSON content type means "no body" (PATCH, logout).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    jsonBodyParser({
      bodyLimitBytes: options.bodyLimitBytes,
      maxDepth: MAX_JSON_DEPTH,
      parse: app.getDefaultJsonParser('error', 'error'),
    }),
  );
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', limitUrlLength);

  app.setErrorHandler((err, req, reply) => {
    const { problem, headers, internal } = toProblem(err);
    if (err instanceof HttpProblemError && err.aborted)
      req.log.info('request body aborted: the client went away or the body timeout cut it');
    else if (internal) req.log.error({ err }, 'request failed');
    else if (problem.status >= 500)
      req.log.warn({ err: { message: (err as Error).message } }, 'dependency unavailable');
    return reply.code(problem.status).headers(headers).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: problemType('CV_ROUTE_NOT_FOUND'),
        title: 'Not found',
        status: 404,
        detail: `No route ${req.method} ${req.url.split('?')[0]}`,
        code: 'CV_ROUTE_NOT_FOUND',
      }),
  );

  // nosniff, HSTS over https, no-store for the API, and CSP/framing/referrer rules for every HTML page.
  app.addHook('onSend', securityHeaders);

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chronoverse API',
        version: options.version,
        description:
          'Workflows (HTTP heartbeats and containers on interval, cron or one-off schedules), their jobs and logs. ' +
          'Errors are application/problem+json documents listing every offending field.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'Session token or personal access token',
          },
          cookieAuth: {
            type: 'apiKey',
            in: 'cookie',
            name: 'cv_session',
            description: 'Browser session; mutating requests also need X-CSRF-Token = the cv_csrf cookie.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // No validator badge: it would load an image from validator.swagger.io (and the CSP forbids it).
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { validatorUrl: null } });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is alive',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Every dependency is reachable',
        response: { 200: z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()) }) },
      },
    },
    async (_req, reply) => {
      const checks = await deps.readiness();
      const ready = Object.values(checks).every(Boolean);
      return reply.code(ready ? 200 : (503 as 200)).send({ status: ready ? 'ready' : 'unavailable', checks });
    },
  );

  const metrics = deps.metrics;
  if (metrics) {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
      reply.type(metrics.contentType).send(await metrics.metrics()),
    );
  }

  await app.register(
    async (api) => {
      await api.register(authRoutes, { users: deps.users });
      await api.register(userRoutes, { users: deps.users });
      await api.register(adminBusRoutes, { users: deps.users, busAdmin: deps.busAdmin });
      if (deps.quotas) await api.register(adminQuotaRoutes, { users: deps.users, quotas: deps.quotas });
      await api.register(adminAccessRoutes, { users: deps.users });
      await api.register(workflowRoutes, { users: deps.users, workflows: deps.workflows });
      await api.register(schemaRoutes);
      await api.register(jobRoutes, { users: deps.users, jobs: deps.jobs });
      await api.register(artifactRoutes, {
        users: deps.users,
        jobs: deps.jobs,
        store: deps.artifacts ?? null,
        apiPath: '/api/v1',
      });
      await api.register(logRoutes, {
        users: deps.users,
        logs: deps.logs,
        jobs: deps.jobs,
        live: deps.live,
        events: deps.events,
      });
      if (deps.notifications) {
        await api.register(notificationRoutes, {
          users: deps.users,
          notifications: deps.notifications,
          events: deps.events,
          ...(options.notificationPollMs !== undefined ? { pollMs: options.notificationPollMs } : {}),
        });
      }
      if (deps.analytics) {
        await api.register(analyticsRoutes, { users: deps.users, analytics: deps.analytics });
      }
      if (deps.webhooks) {
        await api.register(webhookRoutes, { users: deps.users, webhooks: deps.webhooks });
      }
      if (deps.subscriptions) {
        await api.register(subscriptionRoutes, { users: deps.users, subscriptions: deps.subscriptions });
      }
    },
    { prefix: '/api/v1' },
  );
  // Last: its `GET /*` only catches what no route above matched.
  await app.register(dashboardRoutes, { distDir: options.webDistDir });
  return app;
}

/** /api/v1/jobs (every workflow's jobs) and /api/v1/workflows/:id/jobs */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { validateRunVersionInput } from '../../domain/workflow-versions.ts';
import { assertEmptyBody, documentOnly } from '../validation.ts';
import type { JobsApi } from '../../services/jobs/api.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import {
  AllJobsQuerySchema,
  IdempotencyHeadersSchema,
  IdParamsSchema,
  JobIdParamsSchema,
  JobListQuerySchema,
  JobParamsSchema,
  JobSchema,
  ProblemSchema,
  RunNowBodySchema,
  WorkflowJobSchema,
} from '../schemas.ts';
import { idempotencyKey, sendIdempotent } from './idempotent-reply.ts';
import { SECURED } from './security.ts';

const tags = ['jobs'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

type JobParams = z.output<typeof JobParamsSchema>;

export async function jobRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; jobs: JobsApi },
): Promise<void> {
  const { jobs } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));

  app.get(
    '/jobs',
    {
      schema: {
        tags,
        summary: "List the jobs of all the caller's workflows, newest first",
        description:
          "Filters combine: `status` (one or several, comma-separated), `workflow_id` (another user's gives an empty list), `trigger`, and `since`/`until` on the creation time. Every bad parameter is listed in the 400.",
        ...SECURED,
        querystring: AllJobsQuerySchema,
        response: {
          200: z.object({ jobs: z.array(WorkflowJobSchema), cursor: z.string().nullable() }),
          400: ProblemSchema,
          401: ProblemSchema,
        },
      },
    },
    async (req) => jobs.listAll(principalOf(req).user.id, req.query as z.output<typeof AllJobsQuerySchema>),
  );

  app.get(
    '/jobs/:job_id',
    {
      schema: {
        tags,
        summary: 'Get a job by its id alone',
        description:
          "The same job object as under its workflow; 404 when no workflow of the caller's has this job.",
        ...SECURED,
        params: JobIdParamsSchema,
        response: { 200: JobSchema, ...errors },
      },
    },
    async (req) =>
      jobs.get(principalOf(req).user.id, null, (req.params as z.output<typeof JobIdParamsSchema>).job_id),
  );

  app.get(
    '/workflows/:id/jobs',
    {
      schema: {
        tags,
        summary: "List a workflow's jobs, newest first",
        ...SECURED,
        params: IdParamsSchema,
        querystring: JobListQuerySchema,
        response: {
          200: z.object({ jobs: z.array(JobSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) =>
      jobs.list(
        principalOf(req).user.id,
        (req.params as { id: string }).id,
        req.query as z.output<typeof JobListQuerySchema>,
      ),
  );

  app.get(
    '/workflows/:id/jobs/:job_id',
    {
      schema: {
        tags,
        summary: 'Get a job',
        ...SECURED,
        params: JobParamsSchema,
        response: { 200: JobSchema, ...errors },
      },
    },
    async (req) => {
      const { id, job_id } = req.params as JobParams;
      return jobs.get(principalOf(req).user.id, id, job_id);
    },
  );

  app.post(
    '/workflows/:id/jobs/schedule',
    {
      schema: {
        tags,
        summary: 'Run the workflow now (a MANUAL job)',
        description:
          'The body may be absent or `{}` (the current version), or `{ "version": n }` to run version n of the definition (its kind and payload; GET /workflows/{id}/versions): 400 naming `version` when the workflow has no such version. ' +
          '412 when the workflow is terminated or its build is not COMPLETED.',
        ...SECURED,
        params: IdParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: documentOnly(RunNowBodySchema),
        response: { 201: JobSchema, ...errors, 409: ProblemSchema, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      const input = validateRunVersionInput(req.body);
      if (!input.ok) throw new ValidationError(input.issues);
      return sendIdempotent(
        reply,
        await jobs.runNow(
          principalOf(req).user.id,
          (req.params as { id: string }).id,
          idempotencyKey(req.headers),
          input.version ?? undefined,
        ),
      );
    },
  );

  app.post(
    '/workflows/:id/jobs/:job_id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a pending, queued or running job',
        description:
          'A running job has its container stopped. 412 when the job has already finished. The body, if any, must be `{}`.',
        ...SECURED,
        params: JobParamsSchema,
        response: { 200: JobSchema, ...errors, 412: ProblemSchema },
      },
    },
    async (req) => {
      assertEmptyBody(req.body);
      const { id, job_id } = req.params as JobParams;
      return jobs.cancel(principalOf(req).user.id, id, job_id);
    },
  );

  app.post(
    '/workflows/:id/jobs/:job_id/retry',
    {
      schema: {
        tags,
        summary: 'Retry a FAILED or CANCELED job as a new MANUAL job',
        description:
          '412 when the job is not FAILED or CANCELED, or the workflow cannot run (terminated, build not COMPLETED). The body, if any, must be `{}`.',
        ...SECURED,
        params: JobParamsSchema,
        headers: IdempotencyHeadersSchema,
        response: { 201: JobSchema, ...errors, 409: ProblemSchema, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      assertEmptyBody(req.body);
      const { id, job_id } = req.params as JobParams;
      return sendIdempotent(
        reply,
        await jobs.retry(principalOf(req).user.id, id, job_id, idempotencyKey(req.headers)),
      );
    },
  );
}

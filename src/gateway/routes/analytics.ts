/**
 * /api/v1/analytics: a user's figures, one workflow's, and their time series (api.md "Notifications
 * and analytics"). Reads only; the figures come from the analytics service, which the
 * analytics-processor keeps up to date from job events (a few seconds behind at most).
 *
 * `from`/`to` are checked for form here (every bad field listed); the range itself (defaults,
 * from < to, at most 1000 buckets) is checked by the service, which knows the time.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AnalyticsApi } from '../../services/analytics/api.ts';
import { parseRfc3339 } from '../../services/analytics/range.ts';
import { ANALYTICS_BUCKETS, type TimeseriesOptions } from '../../services/analytics/types.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import { ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const tags = ['analytics'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

const PercentilesSchema = z
  .object({
    p50: z.number().int().nullable(),
    p95: z.number().int().nullable(),
    p99: z.number().int().nullable(),
  })
  .describe('Nearest-rank percentiles in milliseconds; null when no job was measured')
  .meta({ id: 'Percentiles' });

const count = z.number().int();

export const AnalyticsSchema = z
  .object({
    total_workflows: count.describe('Workflows of the user, deleted ones that ran jobs included'),
    total_jobs: count.describe('Every job: the sum of jobs_by_status'),
    total_joblogs: count.describe('Log lines of finished jobs'),
    total_job_execution_duration: z
      .number()
      .describe('Seconds (millisecond precision) from start to end, summed over finished jobs that started'),
    jobs_by_status: z
      .object({
        PENDING: count,
        QUEUED: count,
        RUNNING: count,
        COMPLETED: count,
        FAILED: count,
        CANCELED: count,
      })
      .describe('Final statuses from the aggregates, PENDING/QUEUED/RUNNING counted live'),
    success_rate: z
      .number()
      .nullable()
      .describe('COMPLETED / (COMPLETED + FAILED), from 0 to 1; null when no job completed or failed'),
    duration_ms: PercentilesSchema.describe(
      'completed_at − started_at of jobs finished since percentiles_since (jobs that never started are left out)',
    ),
    fire_lag_ms: PercentilesSchema.describe(
      'started_at − scheduled_at of jobs finished since percentiles_since (jobs that never started are left out)',
    ),
    percentiles_since: z.string().describe('Start of the 30-day window the percentiles cover (RFC 3339)'),
  })
  .meta({ id: 'Analytics' });

export const WorkflowAnalyticsSchema = AnalyticsSchema.extend({ workflow_id: z.uuid() }).meta({
  id: 'WorkflowAnalytics',
});

export const TimeseriesPointSchema = z
  .object({
    ts: z.string().describe('Start of the UTC bucket (RFC 3339)'),
    completed: count,
    failed: count,
    canceled: count,
    avg_duration_ms: z.number().int().nullable().describe('null when no job of the bucket started'),
    avg_fire_lag_ms: z.number().int().nullable().describe('null when no job of the bucket started'),
  })
  .meta({ id: 'TimeseriesPoint' });

export const TaskAnalyticsSchema = z
  .object({
    workflow_id: z.uuid(),
    tasks: z.array(
      z
        .object({
          name: z.string(),
          runs: count.describe('Runs in which the task ran at least one instance'),
          instances: count.describe('Instances that ran and ended (a fan-out has one per item)'),
          completed: count,
          failed: count,
          attempts: count.describe('Attempts over all instances: retries are attempts − instances'),
          success_rate: z.number().nullable().describe('completed / instances, from 0 to 1'),
          duration_ms: PercentilesSchema.describe(
            'completed_at − started_at of each instance (its retries and their waits included)',
          ),
          last_finished_at: z.string().describe('RFC 3339'),
        })
        .meta({ id: 'TaskFigures' }),
    ),
    since: z.string().describe('Start of the 30-day window the figures cover (RFC 3339)'),
  })
  .meta({ id: 'TaskAnalytics' });

const dateTime = z
  .string()
  .refine((s) => parseRfc3339(s) !== null, 'must be an RFC 3339 date-time with a time zone');

export const TimeseriesQuerySchema = z.object({
  from: dateTime
    .optional()
    .describe(
      'Start (RFC 3339), rounded down to its bucket; default: `to` minus 24 hours (hour) or 30 days (day)',
    ),
  to: dateTime.optional().describe('End (RFC 3339), exclusive; default: the end of the current bucket'),
  bucket: z.enum(ANALYTICS_BUCKETS).default('hour').describe('UTC hours (default) or days'),
});

const WorkflowParamsSchema = z.object({ workflow_id: z.uuid('must be a UUID') });

const TIMESERIES_DESCRIPTION =
  'Jobs that finished in each UTC bucket, oldest first, every bucket present (zeros when nothing ' +
  'finished). At most 1000 buckets; from must be before to. Every invalid parameter is listed in the 400.';

export async function analyticsRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; analytics: AnalyticsApi },
): Promise<void> {
  const { analytics } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));

  app.get(
    '/analytics',
    {
      schema: {
        tags,
        summary: 'Your figures across all workflows',
        description: 'Deleted workflows count too: their figures outlive them.',
        ...SECURED,
        response: { 200: AnalyticsSchema, 401: ProblemSchema },
      },
    },
    async (req) => analytics.user(principalOf(req).user.id),
  );

  app.get(
    '/analytics/timeseries',
    {
      schema: {
        tags,
        summary: 'Finished jobs over time, all workflows',
        description: TIMESERIES_DESCRIPTION,
        ...SECURED,
        querystring: TimeseriesQuerySchema,
        response: { 200: z.array(TimeseriesPointSchema), 400: ProblemSchema, 401: ProblemSchema },
      },
    },
    async (req) => analytics.timeseries(principalOf(req).user.id, null, timeseriesOptions(req.query)),
  );

  app.get(
    '/analytics/:workflow_id',
    {
      schema: {
        tags,
        summary: "A workflow's figures",
        description: '404 when the workflow is not yours. A deleted workflow keeps its figures.',
        ...SECURED,
        params: WorkflowParamsSchema,
        response: { 200: WorkflowAnalyticsSchema, ...errors },
      },
    },
    async (req) =>
      analytics.workflow(principalOf(req).user.id, (req.params as { workflow_id: string }).workflow_id),
  );

  app.get(
    '/analytics/:workflow_id/tasks',
    {
      schema: {
        tags,
        summary: "A DAG workflow's figures per task",
        description:
          'Per task name, over the instances that ran and ended COMPLETED or FAILED in the last 30 days: runs, instances, results, attempts and duration percentiles. Tasks that were skipped or canceled before running are not counted (the run figures count the runs). Empty for a workflow that is not a DAG. 404 when the workflow is not yours.',
        ...SECURED,
        params: WorkflowParamsSchema,
        response: { 200: TaskAnalyticsSchema, ...errors },
      },
    },
    async (req) =>
      analytics.tasks(principalOf(req).user.id, (req.params as { workflow_id: string }).workflow_id),
  );

  app.get(
    '/analytics/:workflow_id/timeseries',
    {
      schema: {
        tags,
        summary: "A workflow's finished jobs over time",
        description: TIMESERIES_DESCRIPTION,
        ...SECURED,
        params: WorkflowParamsSchema,
        querystring: TimeseriesQuerySchema,
        response: { 200: z.array(TimeseriesPointSchema), ...errors },
      },
    },
    async (req) =>
      analytics.timeseries(
        principalOf(req).user.id,
        (req.params as { workflow_id: string }).workflow_id,
        timeseriesOptions(req.query),
      ),
  );
}

function timeseriesOptions(query: unknown): TimeseriesOptions {
  const q = query as z.output<typeof TimeseriesQuerySchema>;
  const options: TimeseriesOptions = { bucket: q.bucket };
  if (q.from !== undefined) options.from = q.from;
  if (q.to !== undefined) options.to = q.to;
  return options;
}

/** /api/v1/workflows */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PAUSE_NOTE_MAX_CHARS } from '../../domain/pause.ts';
import {
  ScheduleSchema,
  WorkflowBulkCreateBodySchema,
  WorkflowCreateBodySchema,
  WorkflowUpdateBodySchema,
} from '../../domain/workflow-input.ts';
import { PREVIEW_DEFAULT_COUNT, PREVIEW_MAX_COUNT } from '../../domain/schedule-preview.ts';
import type { UsersApi } from '../../services/users/api.ts';
import type { WorkflowsApi } from '../../services/workflows/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import {
  BackfillBodySchema,
  BackfillListSchema,
  BackfillParamsSchema,
  BackfillSchema,
  IdempotencyHeadersSchema,
  IdParamsSchema,
  PageQuerySchema,
  PreviewQuerySchema,
  PreviewSchema,
  ProblemSchema,
  TicksQuerySchema,
  TicksSchema,
  WorkflowListQuerySchema,
  WorkflowSchema,
  WorkflowVersionParamsSchema,
  WorkflowVersionSchema,
} from '../schemas.ts';
import { assertEmptyBody, documentOnly } from '../validation.ts';
import { idempotencyKey, sendIdempotent } from './idempotent-reply.ts';
import { SECURED } from './security.ts';

const tags = ['workflows'];

/** Documentation schema of `POST /workflows/{id}/pause` (validation: `validatePauseInput`). */
const PauseBodySchema = z
  .object({
    note: z
      .string()
      .max(PAUSE_NOTE_MAX_CHARS)
      .nullable()
      .optional()
      .describe('Why it is paused, shown with the workflow until it is resumed'),
  })
  .strict()
  .meta({ id: 'WorkflowPause' });

/** Documentation schema of `POST /schedules/preview` (validation: `validatePreviewInput`). */
const SchedulePreviewBodySchema = z
  .object({
    schedule: ScheduleSchema,
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Fire times strictly after this RFC 3339 date-time; default now'),
    count: z
      .number()
      .int()
      .min(1)
      .max(PREVIEW_MAX_COUNT)
      .optional()
      .describe(`How many fire times, 1–${PREVIEW_MAX_COUNT}; default ${PREVIEW_DEFAULT_COUNT}`),
  })
  .strict()
  .meta({ id: 'SchedulePreviewRequest' });

const PREVIEW_DESCRIPTION =
  'The next fire times, as the scheduler will fire them. `at` is when it runs; `nominal_at` when the schedule names it; `reason` explains an irregular one: ' +
  'a cron time in a spring-forward gap runs once at the first instant after the gap (`at` ≠ `nominal_at`), and a time that occurs twice in autumn says whether it runs once (at the first occurrence) or at both.';
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

/** The body limit of POST /workflows/bulk (10,000 items), unless the server's own is larger. */
export const BULK_BODY_LIMIT_BYTES = 16 * 1_048_576;

export async function workflowRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; workflows: WorkflowsApi },
): Promise<void> {
  const { users, workflows } = opts;
  app.addHook('onRequest', makeAuthenticate(users));

  app.post(
    '/workflows',
    {
      schema: {
        tags,
        summary: 'Create a workflow',
        ...SECURED,
        headers: IdempotencyHeadersSchema,
        body: documentOnly(WorkflowCreateBodySchema),
        response: { 201: WorkflowSchema, ...errors, 409: ProblemSchema },
      },
    },
    async (req, reply) =>
      sendIdempotent(
        reply,
        await workflows.create(principalOf(req).user.id, req.body, idempotencyKey(req.headers)),
      ),
  );

  app.post(
    '/workflows/bulk',
    {
      bodyLimit: Math.max(app.initialConfig.bodyLimit ?? 0, BULK_BODY_LIMIT_BYTES),
      schema: {
        tags,
        summary: 'Create many workflows at once (all or none)',
        description:
          'Up to 10,000 workflows, each as `POST /workflows` takes it, checked as it checks one (fields, outbound and container policies, quotas). ' +
          'All valid: every one created in one transaction, 201 with them in the order of the request. ' +
          'Any invalid: nothing is created, 400 whose `errors` name every problem of every bad item by `index` and `field`. ' +
          'Creating them would exceed `max_workflows`: 409 naming the quota. Bodies up to 16 MiB (or the server limit if larger).',
        ...SECURED,
        headers: IdempotencyHeadersSchema,
        body: documentOnly(WorkflowBulkCreateBodySchema),
        response: {
          201: z.object({ workflows: z.array(WorkflowSchema) }),
          ...errors,
          409: ProblemSchema,
          413: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const result = await workflows.createMany(
        principalOf(req).user.id,
        req.body,
        idempotencyKey(req.headers),
      );
      return sendIdempotent(reply, { ...result, body: { workflows: result.body } });
    },
  );

  app.get(
    '/workflows',
    {
      schema: {
        tags,
        summary: 'List workflows, newest first',
        ...SECURED,
        querystring: WorkflowListQuerySchema,
        response: {
          200: z.object({ workflows: z.array(WorkflowSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) =>
      workflows.list(principalOf(req).user.id, req.query as z.output<typeof WorkflowListQuerySchema>),
  );

  app.get(
    '/workflows/:id',
    {
      schema: {
        tags,
        summary: 'Get a workflow',
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: WorkflowSchema, ...errors },
      },
    },
    async (req) => workflows.get(principalOf(req).user.id, (req.params as { id: string }).id),
  );

  app.put(
    '/workflows/:id',
    {
      schema: {
        tags,
        summary: 'Edit a workflow',
        description:
          'Absent fields keep their value. Editing a terminated workflow re-activates it and resets its failure counter.',
        ...SECURED,
        params: IdParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: documentOnly(WorkflowUpdateBodySchema),
        response: { 200: WorkflowSchema, ...errors, 409: ProblemSchema },
      },
    },
    async (req, reply) =>
      sendIdempotent(
        reply,
        await workflows.update(
          principalOf(req).user.id,
          (req.params as { id: string }).id,
          req.body,
          idempotencyKey(req.headers),
        ),
      ),
  );

  app.patch(
    '/workflows/:id',
    {
      schema: {
        tags,
        summary: 'Terminate a workflow (idempotent)',
        description: 'Cancels its pending jobs and stops scheduling it. The body, if any, is ignored.',
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: WorkflowSchema, ...errors },
      },
    },
    async (req) => workflows.terminate(principalOf(req).user.id, (req.params as { id: string }).id),
  );

  app.post(
    '/workflows/:id/rebuild',
    {
      schema: {
        tags,
        summary: 'Queue a failed build again',
        description:
          'For a workflow whose build FAILED (an image missing at the time, a container runtime that was down): 202 with the workflow, its build QUEUED. 412 when the workflow is terminated (edit it to re-activate it, which rebuilds it) or its build is not FAILED. The body, if any, must be `{}`.',
        ...SECURED,
        params: IdParamsSchema,
        headers: IdempotencyHeadersSchema,
        response: { 202: WorkflowSchema, ...errors, 409: ProblemSchema, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      assertEmptyBody(req.body);
      return sendIdempotent(
        reply,
        await workflows.rebuild(
          principalOf(req).user.id,
          (req.params as { id: string }).id,
          idempotencyKey(req.headers),
        ),
      );
    },
  );

  app.post(
    '/workflows/:id/pause',
    {
      schema: {
        tags,
        summary: 'Pause a workflow (idempotent)',
        description:
          'The scheduler creates no runs for it until it is resumed; its queued automatic runs are canceled (a running job and manual runs are not). ' +
          `The body may be absent; \`note\` (at most ${PAUSE_NOTE_MAX_CHARS} characters) is shown as \`pause_note\`. ` +
          'Pausing a paused workflow changes nothing (its `paused_at` and note are kept). 409 when the workflow is terminated.',
        ...SECURED,
        params: IdParamsSchema,
        body: documentOnly(PauseBodySchema),
        response: { 200: WorkflowSchema, ...errors, 409: ProblemSchema },
      },
    },
    async (req) => workflows.pause(principalOf(req).user.id, (req.params as { id: string }).id, req.body),
  );

  app.post(
    '/workflows/:id/resume',
    {
      schema: {
        tags,
        summary: 'Resume a paused workflow (idempotent)',
        description:
          'The next run is the first fire time of the schedule after now: fire times that fell during the pause are not run, not even as one catch-up run. ' +
          'An interval schedule keeps its phase. The failure count starts afresh. Resuming a workflow that is not paused changes nothing. ' +
          '409 when the workflow is terminated. The body, if any, must be `{}`.',
        ...SECURED,
        params: IdParamsSchema,
        response: { 200: WorkflowSchema, ...errors, 409: ProblemSchema },
      },
    },
    async (req) => {
      assertEmptyBody(req.body);
      return workflows.resume(principalOf(req).user.id, (req.params as { id: string }).id);
    },
  );

  app.post(
    '/workflows/:id/backfill',
    {
      schema: {
        tags,
        summary: "Run a past range of a workflow's fire times (backfill)",
        description:
          "The schedule's fire times in [from, to) (as the preview computes them: DST policy and jitter applied) run as jobs with trigger BACKFILL, at most `max_parallel` of them queued or running at once. " +
          '`to` may not be in the future, and the range may hold at most 10,000 fire times (400 on `to`); no fire time in the range is a 400 on `from`. ' +
          'A fire time that already ran runs again (a second run, marked BACKFILL). Nothing is recorded in the tick ledger. ' +
          '`dry_run: true` answers 200 `{ fire_times }` and starts nothing. 201: the backfill. 412 when the workflow is terminated or not built.',
        ...SECURED,
        params: IdParamsSchema,
        body: documentOnly(BackfillBodySchema),
        response: { 200: PreviewSchema, 201: BackfillSchema, ...errors, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      const result = await workflows.backfill(
        principalOf(req).user.id,
        (req.params as { id: string }).id,
        req.body,
      );
      if (result.dry_run) return reply.code(200).send({ fire_times: result.fire_times });
      return reply.code(201).send(result.backfill);
    },
  );

  app.get(
    '/workflows/:id/backfills',
    {
      schema: {
        tags,
        summary: "A workflow's backfills",
        description: 'Newest first, each with its progress (its runs by state).',
        ...SECURED,
        params: IdParamsSchema,
        querystring: PageQuerySchema,
        response: { 200: BackfillListSchema, ...errors },
      },
    },
    async (req) => {
      const query = req.query as z.output<typeof PageQuerySchema>;
      return workflows.listBackfills(principalOf(req).user.id, (req.params as { id: string }).id, {
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
    },
  );

  app.get(
    '/workflows/:id/backfills/:bid',
    {
      schema: {
        tags,
        summary: 'Get one backfill',
        description: '404 when the workflow or the backfill is not yours.',
        ...SECURED,
        params: BackfillParamsSchema,
        response: { 200: BackfillSchema, ...errors },
      },
    },
    async (req) => {
      const params = req.params as { id: string; bid: string };
      return workflows.getBackfill(principalOf(req).user.id, params.id, params.bid);
    },
  );

  app.post(
    '/workflows/:id/backfills/:bid/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a backfill',
        description:
          'No more of its runs are created, and its queued and running runs are canceled. Cancelling a canceled backfill changes nothing more; 412 when it completed. The body, if any, must be `{}`.',
        ...SECURED,
        params: BackfillParamsSchema,
        response: { 200: BackfillSchema, ...errors, 412: ProblemSchema },
      },
    },
    async (req) => {
      assertEmptyBody(req.body);
      const params = req.params as { id: string; bid: string };
      return workflows.cancelBackfill(principalOf(req).user.id, params.id, params.bid);
    },
  );

  app.get(
    '/workflows/:id/preview',
    {
      schema: {
        tags,
        summary: "Preview a workflow's next fire times",
        description:
          PREVIEW_DESCRIPTION +
          ' An interval schedule stays on the grid of its `next_run_at`. The times of the schedule whatever the workflow state: a paused workflow runs none until resumed.',
        ...SECURED,
        params: IdParamsSchema,
        querystring: PreviewQuerySchema,
        response: { 200: PreviewSchema, ...errors },
      },
    },
    async (req) => {
      const query = req.query as z.output<typeof PreviewQuerySchema>;
      return workflows.preview(principalOf(req).user.id, (req.params as { id: string }).id, {
        count: query.count,
        ...(query.from !== undefined ? { from: query.from } : {}),
      });
    },
  );

  app.get(
    '/workflows/:id/versions',
    {
      schema: {
        tags,
        summary: "List a workflow's versions, newest first",
        description:
          'Every create and every edit that changes the definition (kind, payload, schedule with its policy, max_consecutive_job_failures_allowed, pause_on_failure, log_retention) makes an immutable version: 1, 2, …. ' +
          'A rename, a relabel or an edit that changes nothing makes none. `changes` names what differs from the version before.',
        ...SECURED,
        params: IdParamsSchema,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ versions: z.array(WorkflowVersionSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const query = req.query as z.output<typeof PageQuerySchema>;
      return workflows.listVersions(principalOf(req).user.id, (req.params as { id: string }).id, {
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
    },
  );

  app.get(
    '/workflows/:id/ticks',
    {
      schema: {
        tags,
        summary: "A workflow's tick ledger",
        description:
          'What became of each nominal fire time of the schedule, in nominal order: whether it ran, and if not, why (catch-up, overlap policy, pause, starting deadline). ' +
          'One entry per fire time, recorded by the scheduler in the transaction that decided it; a scheduler that was down fills the ledger for that time when it restarts, by the catch-up policy. ' +
          'A tick that would record more than 1,000 fire times at once (a long outage) records the most recent 1,000 and one summary entry, at the first of the others, whose reason says how many it stands for. ' +
          'Entries are kept for the log retention period. 400 naming `from`, `to`, `cursor` or `limit` when one is malformed or `to` is before `from`.',
        ...SECURED,
        params: IdParamsSchema,
        querystring: TicksQuerySchema,
        response: { 200: TicksSchema, ...errors },
      },
    },
    async (req) => {
      const query = req.query as z.output<typeof TicksQuerySchema>;
      return workflows.ticks(principalOf(req).user.id, (req.params as { id: string }).id, {
        limit: query.limit,
        ...(query.from !== undefined ? { from: query.from } : {}),
        ...(query.to !== undefined ? { to: query.to } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
    },
  );

  app.get(
    '/workflows/:id/versions/:n',
    {
      schema: {
        tags,
        summary: 'Get one version of a workflow',
        description: '404 when the workflow has no version n.',
        ...SECURED,
        params: WorkflowVersionParamsSchema,
        response: { 200: WorkflowVersionSchema, ...errors },
      },
    },
    async (req) => {
      const { id, n } = req.params as z.output<typeof WorkflowVersionParamsSchema>;
      return workflows.getVersion(principalOf(req).user.id, id, n);
    },
  );

  app.post(
    '/workflows/:id/versions/:n/restore',
    {
      schema: {
        tags,
        summary: 'Restore a version (an edit back to its definition)',
        description:
          "The same as `PUT /workflows/{id}` with version n's payload, schedule and options (name and labels are kept): the same checks, rebuild and reschedule, and a new version unless the current definition is already the same. " +
          'A `once` schedule whose time has passed cannot be restored (400, as its edit would be). 404 when the workflow has no version n. The body, if any, must be `{}`.',
        ...SECURED,
        params: WorkflowVersionParamsSchema,
        headers: IdempotencyHeadersSchema,
        response: { 200: WorkflowSchema, ...errors, 409: ProblemSchema },
      },
    },
    async (req, reply) => {
      assertEmptyBody(req.body);
      const { id, n } = req.params as z.output<typeof WorkflowVersionParamsSchema>;
      return sendIdempotent(
        reply,
        await workflows.restoreVersion(principalOf(req).user.id, id, n, idempotencyKey(req.headers)),
      );
    },
  );

  app.post(
    '/schedules/preview',
    {
      schema: {
        tags,
        summary: 'Preview the next fire times of a draft schedule',
        description:
          PREVIEW_DESCRIPTION +
          ' The schedule is checked as `POST /workflows` checks one (400 naming `schedule.cron`, `schedule.timezone`, …); an interval starts at `from`, as a new workflow starts at its creation.',
        ...SECURED,
        body: documentOnly(SchedulePreviewBodySchema),
        response: { 200: PreviewSchema, ...errors },
      },
    },
    async (req) => workflows.previewSchedule(principalOf(req).user.id, req.body),
  );

  app.delete(
    '/workflows/:id',
    {
      schema: {
        tags,
        summary: 'Delete a terminated workflow with its jobs and logs',
        ...SECURED,
        params: IdParamsSchema,
        response: { 204: z.null(), ...errors, 412: ProblemSchema },
      },
    },
    async (req, reply) => {
      const userId = principalOf(req).user.id;
      const workflowId = (req.params as { id: string }).id;
      await workflows.delete(userId, workflowId);
      // The audit log (GET /admin/audit). The deletion stands even if the entry cannot be written:
      // then the log line below carries it.
      const entry = {
        action: 'workflow.deleted',
        actor_id: userId,
        subject_id: userId,
        address: req.ip,
        target_type: 'workflow',
        target_id: workflowId,
      };
      await users.recordAudit(entry).catch((err: unknown) => {
        req.log.warn({ audit: entry, err: { message: (err as Error).message } }, 'audit entry not recorded');
      });
      return reply.code(204).send();
    },
  );
}

/**
 * Request and response schemas of the HTTP API. They validate requests (see validation.ts) and
 * are the source of the OpenAPI document; domain input schemas live in src/domain.
 */
import { z } from 'zod';
import {
  BACKFILL_DEFAULT_MAX_PARALLEL,
  BACKFILL_MAX_PARALLEL,
  BACKFILL_OVERLAPS,
  BACKFILL_STATUSES,
} from '../domain/backfill.ts';
import { ERROR_KINDS, JOB_STATES, JOB_TRIGGERS, RUN_STATES } from '../domain/job-state.ts';
import { BUILD_STATUSES, WORKFLOW_STATUSES } from '../domain/workflow-status.ts';
import { NOTIFICATION_PREFERENCES, TOKEN_SCOPES, USER_ROLES } from '../domain/user-input.ts';
import { WORKFLOW_KINDS } from '../domain/workflow-input.ts';
import { VERSION_MAX } from '../domain/workflow-versions.ts';
import { CATCH_UP_MODES, OVERLAP_POLICIES } from '../domain/schedule-policy.ts';
import { DST_GAP_POLICIES, DST_OVERLAP_POLICIES } from '../domain/dst.ts';
import { PREVIEW_DEFAULT_COUNT, PREVIEW_MAX_COUNT } from '../domain/schedule-preview.ts';
import { parseLabelSelector, SELECTOR_MAX_LENGTH } from '../domain/labels.ts';
import { parseRfc3339 } from '../services/analytics/range.ts';
import { DELIVERY_STATUSES } from '../services/webhooks/input.ts';
import { TICKS_PAGE_DEFAULT, TICKS_PAGE_MAX } from '../services/ticks/ledger.ts';

const timestamp = z.string().describe('RFC 3339 UTC timestamp with milliseconds');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z
      .array(
        z.object({
          path: z.string(),
          message: z.string(),
          index: z
            .number()
            .int()
            .optional()
            .describe('In a request of many items (POST /workflows/bulk): the position of the bad item'),
          field: z.string().optional().describe('With `index`: the field within the item (empty: the item)'),
        }),
      )
      .optional(),
    limit: z
      .object({ name: z.string(), max: z.number() })
      .optional()
      .describe('The limit a 400/408/413/414/431 crossed (docs/api.md "Limits")'),
    quota: z
      .object({ name: z.string(), limit: z.number(), usage: z.number() })
      .optional()
      .describe('The quota a 400/409/429 crossed, its value for you and your usage (docs/api.md "Quotas")'),
  })
  .meta({ id: 'Problem' });

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: z.enum(USER_ROLES),
    notification_preference: z.enum(NOTIFICATION_PREFERENCES),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'User' });

export const SessionSchema = z
  .object({ user: UserSchema, token: z.string(), expires_at: timestamp })
  .meta({ id: 'Session' });

export const TokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scopes: z.array(z.enum(TOKEN_SCOPES)),
    parent_id: z.uuid().nullable().describe('The token that minted this one (revoking it revokes this)'),
    created_at: timestamp,
    expires_at: timestamp.nullable(),
    last_used_at: timestamp.nullable(),
  })
  .meta({ id: 'PersonalAccessToken' });

export const CreatedTokenSchema = TokenSchema.extend({
  token: z.string().describe('Shown once; store it now.'),
}).meta({ id: 'CreatedPersonalAccessToken' });

export const SchedulePolicyViewSchema = z
  .object({
    overlap: z.enum(OVERLAP_POLICIES),
    catch_up: z.object({
      mode: z.enum(CATCH_UP_MODES),
      window_seconds: z.number().int().nullable().describe('null: no limit'),
      max_runs: z.number().int().nullable().describe('mode ALL only'),
    }),
    jitter_seconds: z.number().int(),
    starting_deadline_seconds: z.number().int().nullable().describe('null: no deadline'),
    dst: z
      .object({
        gap: z.enum(DST_GAP_POLICIES),
        overlap: z
          .enum(DST_OVERLAP_POLICIES)
          .nullable()
          .describe('null: by the expression (BOTH when its minute or hour field starts with *, else FIRST)'),
      })
      .describe('Daylight saving, cron schedules only (interval schedules show the defaults)'),
  })
  .meta({
    id: 'SchedulePolicyView',
    description: 'Every field filled in (docs/api.md "Schedule policies").',
  });

export const ScheduleViewSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('interval'),
    interval_minutes: z.number().int(),
    policy: SchedulePolicyViewSchema,
  }),
  z.object({
    type: z.literal('cron'),
    cron: z.string(),
    timezone: z.string(),
    policy: SchedulePolicyViewSchema,
  }),
  z.object({ type: z.literal('once'), run_at: timestamp }),
]);

export const RecentJobSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(JOB_STATES).describe('RUNNING or final: the job left the queue'),
    trigger: z.enum(JOB_TRIGGERS),
    scheduled_at: timestamp,
    started_at: timestamp.nullable(),
    completed_at: timestamp.nullable(),
    duration_ms: z
      .number()
      .int()
      .nullable()
      .describe('completed_at − started_at; null until completed (and when canceled before it started)'),
  })
  .meta({ id: 'RecentJob' });

export const WorkflowSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(WORKFLOW_KINDS),
    payload: z.record(z.string(), z.unknown()),
    schedule: ScheduleViewSchema,
    interval: z.number().int().nullable(),
    build_status: z.enum(BUILD_STATUSES),
    build_error: z.string().nullable(),
    status: z.enum(WORKFLOW_STATUSES),
    consecutive_job_failures_count: z.number().int(),
    max_consecutive_job_failures_allowed: z.number().int(),
    log_retention: z.boolean(),
    next_run_at: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    terminated_at: timestamp.nullable(),
    paused_at: timestamp
      .nullable()
      .describe('When it was paused (POST /workflows/{id}/pause); null when not paused'),
    pause_note: z
      .string()
      .nullable()
      .describe("Why it is paused: the pause request's note, or the failure policy's; null when none"),
    pause_on_failure: z
      .boolean()
      .describe('At the failure limit, the workflow is paused instead of terminated'),
    generation: z.number().int(),
    version: z
      .number()
      .int()
      .describe('The current version of its definition (GET /workflows/{id}/versions); 1 at creation'),
    labels: z.record(z.string(), z.string()).describe('Labels, keys in order (docs/api.md "Labels")'),
    recent_jobs: z
      .array(RecentJobSchema)
      .describe(
        "Up to 10 of the workflow's latest jobs that left PENDING/QUEUED (RUNNING or final), newest first",
      ),
  })
  .meta({ id: 'Workflow' });

const limit = z.coerce.number().int().min(1).max(100).default(20);
const cursor = z.string().max(512).optional().describe('Opaque cursor from the previous page');

export const PageQuerySchema = z.object({ cursor, limit });

export const WorkflowVersionParamsSchema = z.object({
  id: z.uuid('must be a UUID'),
  n: z.coerce
    .number('must be a version number')
    .int('must be a version number')
    .min(1, 'must be a version number')
    .max(VERSION_MAX, 'must be a version number')
    .describe('A version number (1, 2, …)'),
});

export const WorkflowDefinitionSchema = z
  .object({
    kind: z.enum(WORKFLOW_KINDS),
    payload: z.record(z.string(), z.unknown()),
    schedule: ScheduleViewSchema,
    max_consecutive_job_failures_allowed: z.number().int(),
    pause_on_failure: z.boolean(),
    log_retention: z.boolean(),
  })
  .describe("What shapes a run: the workflow object's fields of the same names")
  .meta({ id: 'WorkflowDefinition' });

export const WorkflowVersionSchema = z
  .object({
    workflow_id: z.uuid(),
    version: z.number().int(),
    created_at: timestamp,
    created_by: z.uuid().nullable().describe('Who made it; null once that user is deleted'),
    current: z.boolean().describe("Whether it is the workflow's current version"),
    changes: z
      .array(z.string())
      .describe(
        'Dotted paths of `definition` that differ from the version before (at most 10, then `…`); empty for version 1',
      ),
    definition: WorkflowDefinitionSchema,
  })
  .meta({ id: 'WorkflowVersion' });

export const RunNowBodySchema = z
  .object({
    version: z
      .number()
      .int()
      .min(1)
      .nullable()
      .optional()
      .describe('Run this version of the definition; absent or null: the current one'),
  })
  .strict()
  .meta({ id: 'RunNow' });

export const WorkflowListQuerySchema = z.object({
  cursor,
  limit,
  query: z.string().max(255).optional().describe('Case-insensitive substring of the name'),
  kind: z.enum(WORKFLOW_KINDS).optional(),
  build_status: z.enum(BUILD_STATUSES).optional(),
  terminated: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('true: terminated only; false: not terminated only; absent: both'),
  interval_min: z.coerce.number().int().min(1).max(10_080).optional(),
  interval_max: z.coerce.number().int().min(1).max(10_080).optional(),
  labels: z
    .string()
    .max(SELECTOR_MAX_LENGTH)
    .superRefine((text, ctx) => {
      const parsed = parseLabelSelector(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    })
    .optional()
    .describe(
      'Label selector, as in Kubernetes: `team=data,tier!=web`, `env in (prod,staging)`, `tier notin (web)`, `gpu`, `!legacy` (all must hold)',
    ),
});

export const IdParamsSchema = z.object({ id: z.uuid('must be a UUID') });

const jobError = z.object({ kind: z.enum(ERROR_KINDS), code: z.string(), message: z.string() });

export const TaskSchema = z
  .object({
    id: z.uuid().describe("The task instance's job id: its logs (`?task=`) and artifacts"),
    name: z.string(),
    kind: z.enum(['HEARTBEAT', 'CONTAINER']),
    index: z.number().int().nullable().describe('The fan-out instance (0-based); null for a plain task'),
    status: z.enum(JOB_STATES),
    attempts: z.number().int(),
    started_at: timestamp.nullable(),
    completed_at: timestamp.nullable(),
    exit_code: z.number().int().nullable(),
    http_status: z.number().int().nullable(),
    error: jobError.nullable(),
    outputs: z.record(z.string(), z.unknown()).nullable(),
    item: z.unknown().optional().describe('The fan-out item ({{item}})'),
    skipped_reason: z.string().optional(),
  })
  .meta({ id: 'Task' });

export const JobSchema = z
  .object({
    id: z.uuid(),
    workflow_id: z.uuid(),
    status: z.enum(JOB_STATES),
    trigger: z.enum(JOB_TRIGGERS),
    scheduled_at: timestamp,
    started_at: timestamp.nullable(),
    completed_at: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    exit_code: z.number().int().nullable(),
    http_status_code: z.number().int().nullable(),
    latency_ms: z.number().int().nullable(),
    skipped_ticks: z.number().int().describe('Ticks missed while the system was down, folded into this run'),
    retry_of: z.uuid().nullable().describe('The job this one retries'),
    workflow_version: z
      .number()
      .int()
      .nullable()
      .describe('The version of the workflow this run ran (GET /workflows/{id}/versions/{n})'),
    error: jobError.nullable(),
    kind: z.enum(['HEARTBEAT', 'CONTAINER', 'DAG']),
    tasks: z
      .array(TaskSchema)
      .optional()
      .describe("A DAG run's task instances in run order (GET of one job only)"),
  })
  .meta({ id: 'Job' });

export const JobListQuerySchema = z.object({
  cursor,
  limit,
  status: z.enum(RUN_STATES).optional(),
  trigger: z.enum(JOB_TRIGGERS).optional(),
});

export const WorkflowJobSchema = JobSchema.extend({ workflow_name: z.string() }).meta({ id: 'WorkflowJob' });

const STATUS_LIST = new RegExp(`^(${RUN_STATES.join('|')})(,(${RUN_STATES.join('|')}))*$`);

const dateTime = (description: string) =>
  z
    .string()
    .refine((s) => parseRfc3339(s) !== null, 'must be an RFC 3339 date-time with a time zone')
    .transform((s) => parseRfc3339(s)!)
    .optional()
    .describe(description);

export const AllJobsQuerySchema = z.object({
  cursor,
  limit,
  status: z
    .string()
    .regex(STATUS_LIST, `must be one or more of ${RUN_STATES.join(', ')}, separated by commas`)
    .transform((s) => [...new Set(s.split(','))] as (typeof RUN_STATES)[number][])
    .optional()
    .describe('A job status, or several separated by commas (any of them)'),
  workflow_id: z.uuid('must be a UUID').optional().describe("Only this workflow's jobs"),
  trigger: z.enum(JOB_TRIGGERS).optional(),
  since: dateTime('Jobs created at or after this time (RFC 3339)'),
  until: dateTime('Jobs created before this time (RFC 3339), exclusive; must be after since'),
});

export const JobIdParamsSchema = z.object({
  job_id: z.uuid('must be a UUID'),
});

export const JobParamsSchema = z.object({
  id: z.uuid('must be a UUID'),
  job_id: z.uuid('must be a UUID'),
});

export const ArtifactParamsSchema = JobParamsSchema.extend({
  artifact_id: z.uuid('must be a UUID'),
});

export const ArtifactSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    task: z.string().describe('The task that produced it; "main" for a single-task workflow'),
    attempt: z.number().int().describe('The attempt of the job that produced it'),
    size: z.number().int().describe('Bytes of the stored archive'),
    sha256: z.string().describe('Lower-case hex SHA-256 of the stored archive'),
    content_type: z.string().describe('application/x-tar: the declared path as a tar archive'),
    created_at: timestamp,
    expires_at: timestamp
      .nullable()
      .describe(
        "When it is deleted, from its workflow's artifact_retention; null: CHRONOVERSE_ARTIFACTS_RETENTION after created_at",
      ),
  })
  .meta({ id: 'Artifact' });

export const WebhookSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    event_types: z.array(z.string()).describe('Subscribed events, or ["*"] for all'),
    description: z.string().nullable(),
    enabled: z.boolean(),
    secret_hint: z.string().describe('The last 4 characters of the signing secret'),
    created_at: timestamp,
    updated_at: timestamp,
    secret: z
      .string()
      .optional()
      .describe('The signing secret: only in the answer that created or changed it. Store it now.'),
  })
  .meta({ id: 'Webhook' });

export const WebhookDeliverySchema = z
  .object({
    id: z.uuid(),
    webhook_id: z.uuid(),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: timestamp,
    next_attempt_at: timestamp.nullable().describe('When the next attempt is due (PENDING only)'),
    completed_at: timestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const WebhookDeliveryDetailSchema = WebhookDeliverySchema.extend({
  body: z.unknown().describe('The JSON document sent'),
  history: z.array(
    z.object({
      attempt: z.number().int(),
      started_at: timestamp,
      status_code: z.number().int().nullable().describe('Null when no HTTP answer came'),
      error: z.string().nullable(),
      duration_ms: z.number().int(),
    }),
  ),
}).meta({ id: 'WebhookDeliveryDetail' });

export const DeliveryListQuerySchema = z.object({
  cursor,
  limit,
  status: z.enum(DELIVERY_STATUSES).optional(),
});

export const DeliveryParamsSchema = z.object({
  id: z.uuid('must be a UUID'),
  delivery_id: z.uuid('must be a UUID'),
});

export const IdempotencyHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .describe('Replays the first response for a repeated request with the same key and body (24 h).'),
});

/** A preview's fire time (api.md "Schedule preview"). */
export const FireTimeSchema = z
  .object({
    at: timestamp.describe('When the scheduler fires it'),
    nominal_at: timestamp.describe(
      'When the schedule names it; differs from `at` only for a wall-clock time in a spring-forward gap (read with the offset before the change)',
    ),
    reason: z
      .string()
      .nullable()
      .describe('Why this fire time is irregular (daylight saving); null when it is not'),
  })
  .meta({ id: 'FireTime' });

export const PreviewSchema = z
  .object({ fire_times: z.array(FireTimeSchema) })
  .meta({ id: 'SchedulePreview' });

export const PreviewQuerySchema = z.object({
  count: z.coerce
    .number()
    .int()
    .min(1)
    .max(PREVIEW_MAX_COUNT)
    .default(PREVIEW_DEFAULT_COUNT)
    .describe(`How many fire times, 1–${PREVIEW_MAX_COUNT}`),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Fire times strictly after this RFC 3339 date-time; default now'),
});

/** `POST /workflows/{id}/backfill` (documentation; validation: src/domain/backfill.ts). */
export const BackfillBodySchema = z
  .object({
    from: z.iso.datetime({ offset: true }).describe('First instant of the range (included), RFC 3339'),
    to: z.iso
      .datetime({ offset: true })
      .describe('End of the range (excluded), after `from`, not in the future'),
    overlap: z
      .enum(BACKFILL_OVERLAPS)
      .optional()
      .describe(
        'ALLOW_ALL (default): its runs run beside the scheduled runs (never delaying them) and each other, up to max_parallel; BUFFER_ALL: they queue with the scheduled runs, one run of the workflow at a time',
      ),
    max_parallel: z
      .number()
      .int()
      .min(1)
      .max(BACKFILL_MAX_PARALLEL)
      .optional()
      .describe(
        `Most of its runs queued or running at once, 1–${BACKFILL_MAX_PARALLEL} (default ${BACKFILL_DEFAULT_MAX_PARALLEL})`,
      ),
    dry_run: z.boolean().optional().describe('true: answer the fire times (200) and start nothing'),
  })
  .strict()
  .meta({ id: 'BackfillRequest' });

export const BackfillSchema = z
  .object({
    id: z.uuid(),
    workflow_id: z.uuid(),
    from: timestamp,
    to: timestamp,
    overlap: z.enum(BACKFILL_OVERLAPS),
    max_parallel: z.number().int(),
    status: z
      .enum(BACKFILL_STATUSES)
      .describe('RUNNING until every run finished (COMPLETED) or it was canceled (CANCELED)'),
    fire_times: z.number().int().describe('Fire times in the range: the runs it makes in all'),
    progress: z
      .object({
        not_created: z.number().int().describe('Fire times whose run is not created yet (max_parallel)'),
        waiting: z.number().int().describe('Runs PENDING or QUEUED'),
        running: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
        canceled: z.number().int(),
      })
      .describe('Its runs by state'),
    created_at: timestamp,
    finished_at: timestamp.nullable(),
  })
  .meta({ id: 'Backfill' });

export const BackfillListSchema = z
  .object({
    backfills: z.array(BackfillSchema),
    cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
  })
  .meta({ id: 'BackfillList' });

export const BackfillParamsSchema = z.object({
  id: z.uuid('must be a UUID'),
  bid: z.uuid('must be a UUID'),
});

export const TICK_OUTCOMES = [
  'STARTED',
  'SKIPPED_OVERLAP',
  'BUFFERED',
  'CANCELED_OTHER',
  'MISSED_DEADLINE',
  'CAUGHT_UP',
  'SKIPPED_CATCH_UP',
  'PAUSED',
  'TERMINATED',
  'DST_SKIPPED',
  'DST_DOUBLED',
  'NOT_BUILT',
] as const;

export const TickSchema = z
  .object({
    nominal_at: timestamp.describe('The fire time as the schedule names it'),
    scheduled_at: timestamp.describe(
      "When its run starts or would have started: `nominal_at` plus the workflow's jitter",
    ),
    outcome: z
      .enum(TICK_OUTCOMES)
      .describe(
        'STARTED: a run was created; BUFFERED: a run was created behind an unfinished one (BUFFER_ONE); SKIPPED_OVERLAP: no run, by the overlap policy; CANCELED_OTHER: no run or its run canceled, replaced by a later fire time (CANCEL_OTHER); MISSED_DEADLINE: its run was not started by its starting deadline; CAUGHT_UP: missed, folded into the catch-up run (LATEST); SKIPPED_CATCH_UP: missed and not run by the catch-up policy; PAUSED: the workflow was paused; DST_SKIPPED: the times of a spring-forward gap, not run by dst.gap SKIP (one entry per gap); DST_DOUBLED: a run for the second occurrence of a time that occurs twice (dst.overlap BOTH); TERMINATED: the fire time that would have come next when the workflow was terminated (one entry); NOT_BUILT: the build of the workflow had failed (held like a pause, not caught up after the rebuild).',
      ),
    job_id: z.string().nullable().describe('The run created for it, if any'),
    reason: z.string().nullable().describe('Why it did not run as scheduled; null for an ordinary run'),
  })
  .meta({ id: 'Tick' });

export const TicksSchema = z
  .object({
    ticks: z.array(TickSchema),
    cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
  })
  .meta({ id: 'TickLedger' });

export const TicksQuerySchema = z.object({
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Fire times at or after this RFC 3339 date-time (nominal); default: the oldest kept'),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Fire times at or before this RFC 3339 date-time (nominal); default: the latest'),
  cursor,
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(TICKS_PAGE_MAX)
    .default(TICKS_PAGE_DEFAULT)
    .describe(`Entries per page, 1–${TICKS_PAGE_MAX}`),
});

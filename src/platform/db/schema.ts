/** Row types of the tables the application reads and writes (see migrations/). */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { JobTrigger } from '../../domain/job-state.ts';
import type { StoredSchedulePolicyView } from '../../domain/schedule-policy.ts';
import type { WorkflowStatus } from '../../domain/workflow-status.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  role: 'admin' | 'user';
  notification_preference: ColumnType<'ALL' | 'ALERTS' | 'NONE', 'ALL' | 'ALERTS' | 'NONE' | undefined>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface AuthTokensTable {
  id: string;
  user_id: string;
  kind: 'session' | 'pat';
  name: string | null;
  token_hash: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** Personal access tokens only (null for sessions). */
  scopes: Array<'read' | 'write' | 'tokens' | 'admin'> | null;
  /** The personal access token that minted this one. */
  parent_id: string | null;
}

export interface SettingsTable {
  name: 'signup_mode';
  value: string;
  updated_at: DefaultedTimestamp;
  updated_by: string | null;
}

export interface InvitesTable {
  id: string;
  token_hash: string;
  email: string | null;
  created_by: string | null;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by: string | null;
  revoked_at: Timestamp | null;
}

export interface AuditEventsTable {
  id: string;
  at: Timestamp;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  address: string | null;
  target_type: string | null;
  target_id: string | null;
  details: ColumnType<unknown, string | undefined, string>;
}

export interface WorkflowsTable {
  id: string;
  user_id: string;
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  payload: ColumnType<unknown, string, string>;
  schedule_type: 'interval' | 'cron' | 'once';
  interval_minutes: number | null;
  cron_expression: string | null;
  timezone: string | null;
  run_at: Timestamp | null;
  /** SchedulePolicyView (src/domain/schedule-policy.ts); NULL: the defaults. Migration 0018. */
  schedule_policy: ColumnType<
    StoredSchedulePolicyView | null,
    StoredSchedulePolicyView | null | undefined,
    StoredSchedulePolicyView | null
  >;
  build_status: ColumnType<
    'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELED',
    'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELED' | undefined
  >;
  build_error: string | null;
  /**
   * The lifecycle's state (src/domain/workflow-status.ts), the API's `status`; set by guarded
   * UPDATEs from the machine, backed by CHECKs on the facts below. Migration 0028.
   */
  state: ColumnType<WorkflowStatus, WorkflowStatus | undefined, WorkflowStatus>;
  consecutive_job_failures_count: Generated<number>;
  max_consecutive_job_failures_allowed: number;
  log_retention: boolean;
  next_run_at: Timestamp | null;
  generation: Generated<number>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  paused_at: Timestamp | null;
  terminated_at: Timestamp | null;
  completed_at: Timestamp | null;
  /** `{key: value}` (src/domain/labels.ts); migration 0013. */
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  /** Why it is paused (user's note or the failure policy's); null unless paused. Migration 0017. */
  pause_note: string | null;
  /** At the failure limit: pause instead of terminating. Migration 0017. */
  pause_on_failure: Generated<boolean>;
  /** The current version of its definition (workflow_versions); migration 0020. */
  version: Generated<number>;
}

/**
 * One immutable version of a workflow's definition (migration 0020): `definition` is what the SQL
 * function workflow_definition() computed from the workflow row (src/services/workflows/versions.ts).
 */
export interface WorkflowVersionsTable {
  workflow_id: string;
  version: number;
  definition: ColumnType<unknown, string, never>;
  created_at: Timestamp;
  created_by: string | null;
}

/** SKIPPED: a DAG task whose condition was false (task rows only, migration 0021). */
export type JobStatus = 'PENDING' | 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED' | 'SKIPPED';

export interface JobsTable {
  id: string;
  workflow_id: string;
  user_id: string;
  workflow_generation: number;
  /** The workflow's kind, copied when the job is created (migration 0016); a task's own kind. */
  kind: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  /** The workflow's payload when the job was created: what every attempt runs (migration 0016). */
  spec: ColumnType<unknown, string, never>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  trigger: JobTrigger;
  scheduled_at: Timestamp;
  skipped_ticks: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  lease_owner: string | null;
  lease_expires_at: Timestamp | null;
  container_id: string | null;
  exit_code: number | null;
  http_status_code: number | null;
  latency_ms: number | null;
  error_kind: 'USER' | 'SYSTEM' | null;
  error_code: string | null;
  error_message: string | null;
  log_lines: ColumnType<number, number | undefined, number>;
  next_sequence_num: ColumnType<number, number | undefined, number>;
  retry_of: string | null;
  /** W3C trace context headers as JSON (migration 0007); NULL when tracing is off. */
  trace_context: ColumnType<string | null, string | null | undefined, string | null>;
  /** The owner's container slot while RUNNING under a container quota (migration 0014). */
  container_slot: ColumnType<number | null, number | null | undefined, number | null>;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  /** Not started after this: CANCELED with MISSED_DEADLINE (schedule policy; migration 0018). */
  start_by: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A DAG task's run (migration 0021); NULL for a run (or a single-task job). */
  run_id: ColumnType<string | null, string | null | undefined, never>;
  task_name: ColumnType<string | null, string | null | undefined, never>;
  /** The fan-out instance, 0-based; NULL for a plain task. */
  task_index: ColumnType<number | null, number | null | undefined, never>;
  task_item: ColumnType<unknown, string | null | undefined, never>;
  /** What a finished task set (::output lines, a heartbeat's status and JSON body). */
  outputs: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  retry_policy: ColumnType<unknown, string | null | undefined, never>;
  /** A DAG run's expanded fan-outs: { task: instance count }. */
  dag_state: ColumnType<Record<string, number> | null, string | null | undefined, string | null>;
  /** The workflow version this run ran (migration 0020); null only for rows written outside the services. */
  workflow_version: ColumnType<number | null, number | null | undefined, number | null>;
  /** The backfill this run is a fire time of (trigger BACKFILL; migration 0024), else null. */
  backfill_id: ColumnType<string | null, string | null | undefined, never>;
  /**
   * Runs beside the workflow's other runs (overlap ALLOW_ALL, the workflow's or a backfill's;
   * migration 0024): outside the claim's sibling probe and jobs_one_running_per_workflow.
   */
  concurrent: ColumnType<boolean, boolean | undefined, never>;
}

/** A backfill: a past range of a workflow's fire times run as BACKFILL jobs (migration 0024). */
export interface BackfillsTable {
  id: string;
  workflow_id: string;
  user_id: string;
  range_from: Timestamp;
  range_to: Timestamp;
  overlap: 'ALLOW_ALL' | 'BUFFER_ALL';
  max_parallel: number;
  nominal_times: ColumnType<Date[], string[], string[]>;
  scheduled_times: ColumnType<Date[], string[], string[]>;
  next_index: ColumnType<number, number | undefined, number>;
  status: ColumnType<
    'RUNNING' | 'COMPLETED' | 'CANCELED',
    'RUNNING' | undefined,
    'RUNNING' | 'COMPLETED' | 'CANCELED'
  >;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

/** A file a CONTAINER job left, kept in the artifact store (migration 0019). */
export interface ArtifactsTable {
  id: string;
  job_id: string;
  workflow_id: string;
  user_id: string;
  attempt: number;
  /** 'main' for a single-task workflow. */
  task: ColumnType<string, string | undefined, string>;
  name: string;
  /** bigint, read as a number (database.ts): artifacts are capped far below 2^53 bytes. */
  size: number;
  sha256: string;
  content_type: string;
  storage_key: string;
  created_at: DefaultedTimestamp;
  /**
   * When the housekeeping deletes it, from the workflow's `artifact_retention` (migration 0023);
   * null: CHRONOVERSE_ARTIFACTS_RETENTION after created_at.
   */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** A user's own quotas (migration 0014); NULL: the default for the user's role. */
export interface UserQuotasTable {
  user_id: string;
  max_workflows: number | null;
  runs_per_minute: number | null;
  min_schedule_seconds: number | null;
  max_concurrent_containers: number | null;
  updated_at: DefaultedTimestamp;
  updated_by: string | null;
}

export interface OutboxTable {
  id: Generated<number>;
  topic: 'workflows' | 'jobs' | 'job_logs' | 'analytics' | 'notifications';
  key: string;
  event_type: string;
  payload: ColumnType<unknown, string, string>;
  headers: ColumnType<unknown, string | undefined, string>;
  status: ColumnType<
    'PENDING' | 'PUBLISHED' | 'DEAD',
    'PENDING' | undefined,
    'PENDING' | 'PUBLISHED' | 'DEAD'
  >;
  created_at: DefaultedTimestamp;
}

export interface IdempotencyKeysTable {
  user_id: string;
  operation: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: ColumnType<unknown, string, string>;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
}

export interface JobLogsTable {
  job_id: string;
  workflow_id: string;
  sequence_num: number;
  attempt: number;
  stream: 'stdout' | 'stderr';
  timestamp: Timestamp;
  message: string;
  ingested_at: DefaultedTimestamp;
}

export interface ProcessedEventsTable {
  consumer: string;
  event_id: string;
  created_at: DefaultedTimestamp;
}

export interface BusParkedMessagesTable {
  id: string;
  topic: string;
  consumer_group: string;
  kafka_partition: number;
  /** bigint, read as a number (database.ts); offsets stay far below 2^53. */
  kafka_offset: ColumnType<number, number | string, number | string>;
  key: string;
  value: Buffer | Uint8Array | null;
  headers: ColumnType<Record<string, string>, string | undefined, string>;
  event_type: string | null;
  error: string;
  attempts: number;
  parked_at: DefaultedTimestamp;
  redriven_at: Timestamp | null;
}

/** bigint counters, read as numbers (database.ts); inserted as numbers or strings. */
type Counter = ColumnType<number, number | string | undefined, number | string>;

/** Per workflow, everything that finished (migrations 0001 and 0004; no FK to workflows). */
export interface AnalyticsWorkflowTotalsTable {
  user_id: string;
  workflow_id: string;
  jobs_total: Counter;
  jobs_completed: Counter;
  jobs_failed: Counter;
  jobs_canceled: Counter;
  log_lines: Counter;
  duration_ms_total: Counter;
  duration_count: Counter;
  fire_lag_ms_total: Counter;
  fire_lag_count: Counter;
  updated_at: DefaultedTimestamp;
}

/** Per workflow and UTC hour of completion. */
export interface AnalyticsJobBucketsTable {
  user_id: string;
  workflow_id: string;
  bucket: Timestamp;
  completed: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  canceled: ColumnType<number, number | undefined, number>;
  duration_ms_total: Counter;
  duration_count: ColumnType<number, number | undefined, number>;
  fire_lag_ms_total: Counter;
  fire_lag_count: ColumnType<number, number | undefined, number>;
}

/** One row per finished job: percentiles, and the de-duplication record of the processor. */
export interface AnalyticsJobDurationsTable {
  job_id: string;
  user_id: string;
  workflow_id: string;
  status: 'COMPLETED' | 'FAILED' | 'CANCELED';
  trigger: ColumnType<JobTrigger, JobTrigger | undefined>;
  /** Null when the job never started. */
  duration_ms: number | null;
  fire_lag_ms: number | null;
  finished_at: Timestamp;
}

/** One DAG task instance that ran, for the per-task figures (migration 0026). */
export interface AnalyticsTaskDurationsTable {
  job_id: string;
  user_id: string;
  workflow_id: string;
  run_id: string;
  task_name: string;
  status: 'COMPLETED' | 'FAILED';
  attempts: number;
  duration_ms: number | null;
  finished_at: Timestamp;
}

/** Webhook endpoints (migration 0006). */
export interface WebhooksTable {
  id: string;
  user_id: string;
  url: string;
  secret: string;
  event_types: string[];
  description: string | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export type WebhookDeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  user_id: string;
  event_type: string;
  dedupe_key: string;
  body: string;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Timestamp;
  completed_at: Timestamp | null;
}

export interface WebhookDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** Per-user, per-channel subscriptions to one workflow or to all (migration 0015). */
export interface NotificationSubscriptionsTable {
  id: string;
  user_id: string;
  /** Null: every workflow of the user. */
  workflow_id: string | null;
  channel: 'IN_APP' | 'EMAIL' | 'WEBHOOK';
  /** WEBHOOK: the user's webhook endpoint (migration 0025); null for the other channels. */
  target: ColumnType<string | null, string | null | undefined, string | null>;
  events: string[];
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export type EmailDeliveryStatus = 'PENDING' | 'SENT' | 'FAILED';

/** The email outbox (migration 0015): one row per (user, fact), its message rendered when queued. */
export interface EmailDeliveriesTable {
  id: string;
  user_id: string;
  workflow_id: string | null;
  event_type: string;
  dedupe_key: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  /** Holds a secret (a reset link): never shown, blanked once finished. */
  sensitive: ColumnType<boolean, boolean | undefined, boolean>;
  status: ColumnType<EmailDeliveryStatus, EmailDeliveryStatus | undefined, EmailDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
  completed_at: Timestamp | null;
}

export interface EmailDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  smtp_code: number | null;
  response: string | null;
  duration_ms: number;
}

/** Emailed password reset links (migration 0015): only the token's SHA-256 is kept. */
export interface PasswordResetTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  address: string | null;
}

/** In-app notifications (migration 0001): one per (user_id, dedupe_key). */
export interface NotificationsTable {
  /** UUIDv7 made by the consumer: ids order notifications by creation. */
  id: string;
  user_id: string;
  kind: 'INFO' | 'SUCCESS' | 'WARN' | 'ERROR' | 'ALERT';
  title: string;
  message: string;
  entity_type: 'WORKFLOW' | 'JOB';
  entity_id: string;
  action_url: string | null;
  dedupe_key: string;
  read_at: Timestamp | null;
  created_at: DefaultedTimestamp;
}

/** The tick ledger (migration 0022): what became of each nominal fire time of a workflow. */
export interface WorkflowTicksTable {
  workflow_id: string;
  nominal_at: Timestamp;
  scheduled_at: Timestamp;
  outcome: TickOutcome;
  job_id: string | null;
  reason: string | null;
  recorded_at: Timestamp;
}

export type TickOutcome =
  | 'STARTED'
  | 'SKIPPED_OVERLAP'
  | 'BUFFERED'
  | 'CANCELED_OTHER'
  | 'MISSED_DEADLINE'
  | 'CAUGHT_UP'
  | 'SKIPPED_CATCH_UP'
  | 'PAUSED'
  | 'TERMINATED'
  | 'DST_SKIPPED'
  | 'DST_DOUBLED'
  | 'NOT_BUILT';

/** A missed-fire incident (migration 0025): one open per workflow at most. */
export interface ScheduleIncidentsTable {
  id: string;
  workflow_id: string;
  cause: 'SCHEDULER_DOWN' | 'EXECUTORS_SATURATED' | 'NOT_BUILT';
  due_at: Timestamp;
  reason: string;
  opened_at: Timestamp;
  resolved_at: Timestamp | null;
}

export interface DB {
  users: UsersTable;
  auth_tokens: AuthTokensTable;
  settings: SettingsTable;
  invites: InvitesTable;
  audit_events: AuditEventsTable;
  user_quotas: UserQuotasTable;
  workflows: WorkflowsTable;
  workflow_versions: WorkflowVersionsTable;
  jobs: JobsTable;
  job_logs: JobLogsTable;
  artifacts: ArtifactsTable;
  outbox: OutboxTable;
  processed_events: ProcessedEventsTable;
  bus_parked_messages: BusParkedMessagesTable;
  idempotency_keys: IdempotencyKeysTable;
  notifications: NotificationsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  notification_subscriptions: NotificationSubscriptionsTable;
  email_deliveries: EmailDeliveriesTable;
  email_delivery_attempts: EmailDeliveryAttemptsTable;
  password_reset_tokens: PasswordResetTokensTable;
  analytics_workflow_totals: AnalyticsWorkflowTotalsTable;
  analytics_job_buckets: AnalyticsJobBucketsTable;
  analytics_job_durations: AnalyticsJobDurationsTable;
  analytics_task_durations: AnalyticsTaskDurationsTable;
  workflow_ticks: WorkflowTicksTable;
  schedule_incidents: ScheduleIncidentsTable;
  backfills: BackfillsTable;
}

export type UserRow = Selectable<UsersTable>;
export type JobRow = Selectable<JobsTable>;
export type WorkflowRow = Selectable<WorkflowsTable>;

/** Row types of the tables the application reads and writes (see migrations/). */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

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
}

export interface WorkflowsTable {
  id: string;
  user_id: string;
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  payload: ColumnType<unknown, string, string>;
  schedule_type: 'interval' | 'cron' | 'once';
  interval_minutes: number | null;
  cron_expression: string | null;
  timezone: string | null;
  run_at: Timestamp | null;
  build_status: ColumnType<
    'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELED',
    'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELED' | undefined
  >;
  build_error: string | null;
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
}

export interface JobsTable {
  id: string;
  workflow_id: string;
  user_id: string;
  workflow_generation: number;
  status: ColumnType<string, string | undefined, string>;
  trigger: 'AUTOMATIC' | 'MANUAL';
  scheduled_at: Timestamp;
  completed_at: Timestamp | null;
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
}

export interface DB {
  users: UsersTable;
  auth_tokens: AuthTokensTable;
  workflows: WorkflowsTable;
  jobs: JobsTable;
  job_logs: JobLogsTable;
  outbox: OutboxTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type UserRow = Selectable<UsersTable>;
export type WorkflowRow = Selectable<WorkflowsTable>;
export type NewWorkflow = Insertable<WorkflowsTable>;

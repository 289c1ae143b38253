/** Direct-to-database fixtures for worker tests (the API suites create data through HTTP). */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/platform/db/schema.ts';
import { newId } from '../../src/platform/ids.ts';
import {
  schedulePolicyFrom,
  schedulePolicyView,
  type SchedulePolicyInput,
} from '../../src/domain/schedule-policy.ts';
import type { BuildStatus, WorkflowStatus } from '../../src/domain/workflow-status.ts';

/**
 * The state of a workflow whose build is `build`, neither paused, completed nor terminated: a
 * fixture that sets the build directly sets this with it (migration 0028's CHECKs tie the two).
 */
export function stateOfBuild(build: BuildStatus): WorkflowStatus {
  switch (build) {
    case 'QUEUED':
    case 'STARTED':
      return 'BUILDING';
    case 'COMPLETED':
      return 'ACTIVE';
    case 'FAILED':
    case 'CANCELED':
      return 'BUILD_FAILED';
  }
}

export async function insertUser(db: Kysely<DB>): Promise<string> {
  const id = newId();
  await db
    .insertInto('users')
    .values({ id, email: `${id}@example.com`, password_hash: 'x', role: 'user' })
    .execute();
  return id;
}

export interface WorkflowFixture {
  userId: string;
  kind?: 'HEARTBEAT' | 'CONTAINER' | 'DAG';
  payload?: Record<string, unknown>;
  intervalMinutes?: number;
  cron?: { expression: string; timezone: string };
  runAt?: Date;
  nextRunAt: Date | null;
  buildStatus?: 'QUEUED' | 'STARTED' | 'COMPLETED' | 'FAILED';
  maxFailures?: number;
  /** `schedule.policy` as the API takes it (src/domain/schedule-policy.ts); absent: the defaults. */
  policy?: SchedulePolicyInput;
  pauseOnFailure?: boolean;
}

/** Inserts many built workflows in one statement; returns their ids in order. */
export async function insertWorkflows(db: Kysely<DB>, fixtures: WorkflowFixture[]): Promise<string[]> {
  const ids = fixtures.map(() => newId());
  await db
    .insertInto('workflows')
    .values(
      fixtures.map((f, i) => ({
        id: ids[i]!,
        user_id: f.userId,
        name: `wf-${i}`,
        kind: f.kind ?? 'HEARTBEAT',
        payload: JSON.stringify(
          f.payload ?? {
            endpoint: 'http://127.0.0.1:9/',
            method: 'GET',
            headers: {},
            body: null,
            expected_status_code: 200,
            timeout: '1s',
          },
        ),
        schedule_type: f.cron ? 'cron' : f.runAt ? 'once' : 'interval',
        interval_minutes: f.cron || f.runAt ? null : (f.intervalMinutes ?? 1),
        cron_expression: f.cron?.expression ?? null,
        timezone: f.cron?.timezone ?? null,
        run_at: f.runAt ?? null,
        build_status: f.buildStatus ?? 'COMPLETED',
        state: stateOfBuild(f.buildStatus ?? 'COMPLETED'),
        max_consecutive_job_failures_allowed: f.maxFailures ?? 3,
        pause_on_failure: f.pauseOnFailure ?? false,
        log_retention: (f.kind ?? 'HEARTBEAT') === 'CONTAINER',
        next_run_at: f.nextRunAt,
        schedule_policy: f.policy ? schedulePolicyView(schedulePolicyFrom(f.policy)) : null,
      })),
    )
    .execute();
  return ids;
}

export async function jobsOf(db: Kysely<DB>, workflowId: string) {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('workflow_id', '=', workflowId)
    .orderBy('scheduled_at')
    .execute();
}

export async function countRows(db: Kysely<DB>, table: 'jobs' | 'outbox'): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
  return rows[0]!.n;
}

/** Polls `probe` until it returns something truthy. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A job's own copy of its workflow's kind and payload, taken from the workflow row at insert as
 * the scheduler and the jobs service do (migration 0016): spread into a raw `insertInto('jobs')`.
 */
export function snapshotOf(workflowId: string) {
  return {
    kind: sql<'HEARTBEAT' | 'CONTAINER'>`(SELECT w.kind FROM workflows w WHERE w.id = ${workflowId}::uuid)`,
    spec: sql<string>`(SELECT w.payload FROM workflows w WHERE w.id = ${workflowId}::uuid)`,
  };
}

/** A PENDING manual job due now (no outbox row: tests wake the executor themselves). */
export async function insertManualJob(
  database: { db: Kysely<DB> },
  workflowId: string,
  userId: string,
  maxAttempts = 3,
): Promise<string> {
  const id = newId();
  await database.db
    .insertInto('jobs')
    .values({
      id,
      workflow_id: workflowId,
      user_id: userId,
      workflow_generation: 1,
      ...snapshotOf(workflowId),
      trigger: 'MANUAL',
      scheduled_at: new Date(),
      max_attempts: maxAttempts,
    })
    .execute();
  return id;
}

/** A workflow's consecutive-failure count (the failure policy's). */
export async function consecutiveFailures(database: { db: Kysely<DB> }, workflowId: string): Promise<number> {
  const row = await database.db
    .selectFrom('workflows')
    .select('consecutive_job_failures_count')
    .where('id', '=', workflowId)
    .executeTakeFirstOrThrow();
  return row.consecutive_job_failures_count;
}

/** The job once it reached a final status. */
export async function finalJob(database: { db: Kysely<DB> }, id: string, timeoutMs?: number) {
  return waitFor(async () => {
    const job = await database.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status) ? job : null;
  }, timeoutMs);
}

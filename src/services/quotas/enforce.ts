/**
 * Quotas where they bite (src/domain/quotas.ts has the design note): the workflows service asks
 * here before it adds a workflow or changes a schedule, the jobs service before a manual run or a
 * retry, each inside its own transaction. The concurrency quota is enforced by the executor's
 * claim (src/workers/executor/sql.ts), not here.
 *
 * Counts are exact under concurrency: the user's row is locked (FOR NO KEY UPDATE, which leaves
 * foreign-key checks and sign-ins alone) before counting, so two requests of one user cannot both
 * see the last free place; requests of different users never wait for each other.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { QuotaExceededError, RunRateExceededError, ScheduleTooFrequentError } from '../../domain/errors.ts';
import {
  effectiveQuotas,
  formatSeconds,
  NO_OVERRIDES,
  QUOTA_DEFAULTS,
  schedulePeriodProblem,
  type QuotaOverrides,
  type Quotas,
} from '../../domain/quotas.ts';
import type { Schedule } from '../../domain/schedule.ts';
import type { Config } from '../../config/schema.ts';
import type { DB } from '../../platform/db/schema.ts';

/** The configured defaults (CHRONOVERSE_QUOTA_*) as the domain names them. */
export function quotaDefaultsOf(config: Config['quotas']): Quotas {
  return {
    max_workflows: config.maxWorkflows,
    runs_per_minute: config.runsPerMinute,
    min_schedule_seconds: config.minScheduleSeconds,
    max_concurrent_containers: config.maxConcurrentContainers,
  };
}

export const RUN_WINDOW_MS = 60_000;

/**
 * The quotas in force for `userId` now. With `lock`, the user's row stays locked until the
 * transaction ends: counts taken after it cannot be raced by the same user's other requests.
 */
export async function quotasOf(
  db: Kysely<DB> | Transaction<DB>,
  userId: string,
  defaults: Quotas = QUOTA_DEFAULTS,
  options: { lock?: boolean } = {},
): Promise<Quotas> {
  let q = db
    .selectFrom('users as u')
    .leftJoin('user_quotas as q', 'q.user_id', 'u.id')
    .select([
      'u.role',
      'q.max_workflows',
      'q.runs_per_minute',
      'q.min_schedule_seconds',
      'q.max_concurrent_containers',
    ])
    .where('u.id', '=', userId);
  if (options.lock) q = q.forNoKeyUpdate('u');
  const row = await q.executeTakeFirst();
  // An account that is gone counts as a user with no values of its own.
  const overrides: QuotaOverrides = row
    ? {
        max_workflows: row.max_workflows,
        runs_per_minute: row.runs_per_minute,
        min_schedule_seconds: row.min_schedule_seconds,
        max_concurrent_containers: row.max_concurrent_containers,
      }
    : NO_OVERRIDES;
  return effectiveQuotas(row?.role === 'admin' ? 'admin' : 'user', overrides, defaults).quotas;
}

/**
 * 409 when the user already has `max_workflows` workflows, or (`adding` > 1, a bulk create) when
 * `adding` more would take them past it. Call with the user's row locked.
 */
export async function assertCanAddWorkflow(
  trx: Transaction<DB>,
  userId: string,
  quotas: Quotas,
  adding = 1,
): Promise<void> {
  const limit = quotas.max_workflows;
  if (limit <= 0) return;
  // An index-only count on workflows_user_id_idx; stops looking once the limit is reached.
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM workflows WHERE user_id = ${userId} LIMIT ${limit}) AS mine`.execute(trx);
  const usage = rows[0]!.n;
  if (usage >= limit) {
    throw new QuotaExceededError(
      { name: 'max_workflows', limit, usage },
      `You have ${usage} workflows, as many as your quota max_workflows (${limit}) allows; delete a terminated one or ask an administrator for more.`,
    );
  }
  if (usage + adding > limit) {
    throw new QuotaExceededError(
      { name: 'max_workflows', limit, usage },
      `You have ${usage} workflows; ${adding} more would exceed your quota max_workflows (${limit}), which leaves room for ${limit - usage}. Nothing was created.`,
    );
  }
}

/**
 * 400 on `path` (the field the schedule came in) when it runs more often than
 * `min_schedule_seconds` allows.
 */
export function assertSchedulePeriod(schedule: Schedule, path: string, quotas: Quotas): void {
  const limit = quotas.min_schedule_seconds;
  const problem = schedulePeriodProblem(schedule, limit);
  if (problem === null) return;
  throw new ScheduleTooFrequentError(
    { name: 'min_schedule_seconds', limit, usage: problem.shortestSeconds },
    [{ path, message: problem.message }],
    `The schedule runs more often than your quota allows: at least ${formatSeconds(limit)} between runs (min_schedule_seconds ${limit}).`,
  );
}

/**
 * 429 when the user asked for `runs_per_minute` manual runs and retries within the last minute
 * (a sliding window on jobs.created_at, jobs_user_manual_created_idx). Retry-After says when the
 * oldest of them leaves the window. Call with the user's row locked.
 */
export async function assertRunRate(
  trx: Transaction<DB>,
  userId: string,
  quotas: Quotas,
  now: Date,
): Promise<void> {
  const limit = quotas.runs_per_minute;
  if (limit <= 0) return;
  const since = new Date(now.getTime() - RUN_WINDOW_MS);
  // The newest `limit` runs in the window, oldest of them last: when there are `limit`, the run
  // after this one may start once that oldest one leaves the window.
  const { rows } = await sql<{ created_at: Date }>`
    SELECT created_at FROM jobs
    WHERE user_id = ${userId} AND trigger = 'MANUAL' AND created_at > ${since} AND created_at <= ${now}
      AND run_id IS NULL
    ORDER BY created_at DESC
    LIMIT ${limit}`.execute(trx);
  if (rows.length < limit) return;
  const oldest = new Date(rows.at(-1)!.created_at).getTime();
  const retryAfterSeconds = Math.max(1, Math.ceil((oldest + RUN_WINDOW_MS - now.getTime()) / 1000));
  throw new RunRateExceededError(
    { name: 'runs_per_minute', limit, usage: rows.length },
    retryAfterSeconds,
    `You asked for ${rows.length} manual runs and retries in the last minute, as many as your quota runs_per_minute (${limit}) allows; try again in ${retryAfterSeconds} s.`,
  );
}

/** The body field a validated schedule came in: `interval`, `schedule.interval_minutes` or `schedule.cron`. */
export function schedulePathOf(body: unknown, schedule: Schedule): string {
  const given = typeof body === 'object' && body !== null ? (body as { interval?: unknown }) : {};
  if (given.interval !== undefined) return 'interval';
  return schedule.type === 'interval' ? 'schedule.interval_minutes' : 'schedule.cron';
}

/**
 * Analytics processor: consumes `analytics` JOB_FINISHED facts (src/domain/events.ts) as group
 * `analytics-processor` and maintains the aggregates the analytics service reads, with one
 * statement per batch (./sql.ts): the engine finishes thousands of jobs per second, so nothing
 * here is per event. TASK_FINISHED facts go, one statement per batch too, into the per-task
 * durations: those that COMPLETED or FAILED, including a task that failed before it started (its
 * payload could not render, its timeout passed while it waited: a failure of that task, counted
 * with 0 attempts and no duration, which the percentiles ignore). SKIPPED and CANCELED instances
 * are not counted: a skip is the DAG's logic, not the task's result, and a cancel is the user's;
 * counting either in `instances` would lower the task's success rate for what it did not do.
 *
 * Idempotent by construction: a job is counted when its row enters analytics_job_durations, and
 * only then (ON CONFLICT DO NOTHING RETURNING feeds the totals and buckets). A replayed batch, or
 * the same facts redelivered one by one, change nothing. Throwing (the database is down) means
 * "not handled": the bus redelivers. A malformed fact is logged and skipped: it can never become
 * valid, and redelivering it forever would stall its partition.
 */
import type { Kysely } from 'kysely';
import {
  FINAL_JOB_STATUSES,
  JOB_FINISHED,
  TASK_FINISHED,
  type JobFinishedPayload,
  type TaskFinishedPayload,
} from '../../domain/events.ts';
import { JOB_TRIGGERS } from '../../domain/job-state.ts';
import type { Bus, BusMessage, Unsubscribe } from '../../platform/bus/bus.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/logger.ts';
import {
  analyticsApplyJobFinished,
  analyticsApplyTaskFinished,
  type FinishedJobRow,
  type FinishedTaskRow,
} from './sql.ts';

export const ANALYTICS_PROCESSOR_GROUP = 'analytics-processor';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class AnalyticsProcessor {
  readonly #db: Kysely<DB>;
  readonly #logger: Logger;
  readonly #bus: Bus | null;
  #unsubscribe: Unsubscribe | null = null;

  constructor(deps: { db: Kysely<DB>; logger: Logger; bus?: Bus }) {
    this.#db = deps.db;
    this.#logger = deps.logger;
    this.#bus = deps.bus ?? null;
  }

  /** Joins group `analytics-processor` on the `analytics` topic (without a bus: nothing). */
  start(): void {
    this.#unsubscribe ??=
      this.#bus?.subscribe({
        topic: 'analytics',
        group: ANALYTICS_PROCESSOR_GROUP,
        handler: async (batch) => {
          await this.handle(batch);
        },
      }) ?? null;
  }

  /** Leaves the group once the batch in hand is handled; safe twice and before start. */
  async stop(): Promise<void> {
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    await unsubscribe?.();
  }

  /** Applies a batch; returns how many jobs and task instances were counted for the first time. */
  async handle(
    batch: readonly BusMessage[],
  ): Promise<{ received: number; applied: number; tasksApplied: number }> {
    const rows: FinishedJobRow[] = [];
    const tasks: FinishedTaskRow[] = [];
    for (const message of batch) {
      if (message.type !== JOB_FINISHED && message.type !== TASK_FINISHED) continue;
      const row =
        message.type === JOB_FINISHED
          ? toRow(message.payload as unknown as Partial<JobFinishedPayload>)
          : toTaskRow(message.payload as unknown as Partial<TaskFinishedPayload>);
      if (row === NOT_COUNTED) continue;
      if (row === null)
        this.#logger.warn(
          { messageId: message.id, key: message.key },
          `malformed ${message.type} fact skipped`,
        );
      else if ('task' in row) tasks.push(row);
      else rows.push(row);
    }
    // Two statements, not one transaction: each is idempotent on its own, so a failure between
    // them is redelivered and the first one's part of the batch changes nothing the second time.
    const { applied } = await analyticsApplyJobFinished(this.#db, rows);
    const { applied: tasksApplied } = await analyticsApplyTaskFinished(this.#db, tasks);
    return { received: rows.length + tasks.length, applied, tasksApplied };
  }
}

function isTime(v: unknown): v is string {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v));
}

function toRow(p: Partial<JobFinishedPayload>): FinishedJobRow | null {
  if (
    typeof p.job_id !== 'string' ||
    !UUID.test(p.job_id) ||
    typeof p.workflow_id !== 'string' ||
    !UUID.test(p.workflow_id) ||
    typeof p.user_id !== 'string' ||
    !UUID.test(p.user_id) ||
    !(FINAL_JOB_STATUSES as readonly unknown[]).includes(p.status) ||
    !(JOB_TRIGGERS as readonly unknown[]).includes(p.trigger) ||
    !isTime(p.scheduled_at) ||
    !isTime(p.completed_at) ||
    (p.started_at !== null && !isTime(p.started_at))
  ) {
    return null;
  }
  return {
    job_id: p.job_id,
    workflow_id: p.workflow_id,
    user_id: p.user_id,
    status: p.status!,
    trigger: p.trigger!,
    scheduled_at: p.scheduled_at,
    started_at: p.started_at ?? null,
    completed_at: p.completed_at,
    log_lines:
      typeof p.log_lines === 'number' && Number.isFinite(p.log_lines)
        ? Math.max(0, Math.trunc(p.log_lines))
        : 0,
  };
}

/** A well-formed TASK_FINISHED the per-task figures leave out (SKIPPED, CANCELED; see the top). */
const NOT_COUNTED = Symbol('not counted');

function toTaskRow(p: Partial<TaskFinishedPayload>): FinishedTaskRow | null | typeof NOT_COUNTED {
  if ((p.status === 'SKIPPED' || p.status === 'CANCELED') && typeof p.job_id === 'string') return NOT_COUNTED;
  if (
    typeof p.job_id !== 'string' ||
    !UUID.test(p.job_id) ||
    typeof p.workflow_id !== 'string' ||
    !UUID.test(p.workflow_id) ||
    typeof p.user_id !== 'string' ||
    !UUID.test(p.user_id) ||
    typeof p.run_id !== 'string' ||
    !UUID.test(p.run_id) ||
    typeof p.task !== 'string' ||
    p.task === '' ||
    (p.status !== 'COMPLETED' && p.status !== 'FAILED') ||
    typeof p.attempts !== 'number' ||
    !Number.isInteger(p.attempts) ||
    !isTime(p.completed_at) ||
    (p.started_at != null && !isTime(p.started_at))
  ) {
    return null;
  }
  return {
    job_id: p.job_id,
    workflow_id: p.workflow_id,
    user_id: p.user_id,
    run_id: p.run_id,
    task: p.task,
    status: p.status,
    attempts: p.attempts,
    started_at: p.started_at ?? null,
    completed_at: p.completed_at,
  };
}

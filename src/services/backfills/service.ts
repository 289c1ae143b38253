/**
 * Backfills (POST /workflows/{id}/backfill and /backfills): create, list, read, cancel. The rules
 * and fire times are in src/domain/backfill.ts, the job creation in ./feed.ts. Ownership: every
 * query is scoped by user id; another user's workflow or backfill is "not found".
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  backfillFireTimes,
  validateBackfillInput,
  type BackfillOverlap,
  type BackfillStatus,
} from '../../domain/backfill.ts';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../domain/errors.ts';
import type { DB } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';
import { cancelJobs } from '../jobs/cancel.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import { toFireTimeView, scheduleOf, type FireTimeView } from '../workflows/codec.ts';
import { lockOwnedWorkflow } from '../workflows/lock-owned.ts';
import { backfillsFeed } from './feed.ts';

export interface BackfillView {
  id: string;
  workflow_id: string;
  from: string;
  to: string;
  overlap: BackfillOverlap;
  max_parallel: number;
  status: BackfillStatus;
  /** Fire times in the range: the runs it makes in all. */
  fire_times: number;
  /** Its runs by state; `not_created` are fire times whose run is not created yet. */
  progress: {
    not_created: number;
    waiting: number;
    running: number;
    completed: number;
    failed: number;
    canceled: number;
  };
  created_at: string;
  finished_at: string | null;
}

export type BackfillCreated =
  { dry_run: true; fire_times: FireTimeView[] } | { dry_run: false; backfill: BackfillView; created: number };

/** Creates a backfill (or answers its fire times, dry run) under the workflow's row lock. */
export async function createBackfill(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  body: unknown,
  now: Date,
): Promise<BackfillCreated> {
  const input = validateBackfillInput(body, now);
  if (!input.ok) throw new ValidationError(input.issues);
  const req = input.value;
  return db.transaction().execute(async (trx) => {
    const w = await lockOwnedWorkflow(trx, userId, workflowId);
    const schedule = scheduleOf(w);
    // The preview's anchor: an interval schedule stays on the grid of its next_run_at.
    const anchor =
      schedule.type === 'interval' && w.next_run_at !== null
        ? new Date(w.next_run_at.getTime() - schedule.intervalMinutes * 60_000)
        : new Date(w.created_at);
    const jitter = schedule.type === 'once' ? 0 : (schedule.policy?.jitterSeconds ?? 0);
    const fires = backfillFireTimes(schedule, req, anchor, w.id, jitter);
    if (!fires.ok) throw new ValidationError([fires.issue]);
    if (req.dryRun) return { dry_run: true, fire_times: fires.fireTimes.map(toFireTimeView) };
    if (w.state === 'TERMINATED') {
      throw new PreconditionFailedError('The workflow is terminated; edit it to re-activate it first.');
    }
    if (w.build_status !== 'COMPLETED') {
      throw new PreconditionFailedError(
        `The workflow's build is ${w.build_status}; jobs can run once it is COMPLETED.`,
      );
    }
    if (fires.fireTimes.length === 0) {
      throw ValidationError.single('from', 'the schedule has no fire time in [from, to)');
    }
    const id = newId();
    await trx
      .insertInto('backfills')
      .values({
        id,
        workflow_id: w.id,
        user_id: userId,
        range_from: req.from,
        range_to: req.to,
        overlap: req.overlap,
        max_parallel: req.maxParallel,
        nominal_times: fires.fireTimes.map((f) => f.nominalAt.toISOString()),
        scheduled_times: fires.fireTimes.map((f) => f.at.toISOString()),
        created_at: now,
        updated_at: now,
      })
      .execute();
    const fed = await backfillsFeed(trx, { ids: [id] }, now);
    return { dry_run: false, backfill: (await views(trx, [id]))[0]!, created: fed.created.length };
  });
}

export async function listBackfills(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  page: { cursor?: string; limit: number },
): Promise<{ backfills: BackfillView[]; cursor: string | null }> {
  await assertOwned(db, userId, workflowId);
  let q = db
    .selectFrom('backfills')
    .select('id')
    .where('workflow_id', '=', workflowId)
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  if (page.cursor !== undefined) q = q.where('id', '<', decodeCursor(page.cursor));
  const ids = (await q.execute()).map((r) => r.id);
  const shown = ids.slice(0, page.limit);
  return {
    backfills: await views(db, shown),
    cursor: ids.length > page.limit ? encodeCursor(shown.at(-1)!) : null,
  };
}

export async function getBackfill(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  backfillId: string,
): Promise<BackfillView> {
  const [view] = await views(db, [backfillId], { userId, workflowId });
  if (!view) throw new NotFoundError('Backfill');
  return view;
}

/**
 * Cancels a backfill: no more runs are created, and its unfinished runs are canceled (running ones
 * are told to stop). Two transactions, in this order on purpose: the first marks it CANCELED under
 * its row lock, after which no feeder creates a job for it (they check the status under the same
 * lock, and one that created jobs before committed them first); the second cancels its jobs,
 * locking only job rows (a DAG run's tasks before the run), as a completion does, so the two never
 * wait on each other in a cycle.
 * Cancelling a canceled backfill runs the second part again (idempotent); a COMPLETED one is 412.
 */
export async function cancelBackfill(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  backfillId: string,
  now: Date,
): Promise<{ view: BackfillView; running: string[] }> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('backfills')
      .select('status')
      .where('id', '=', backfillId)
      .where('workflow_id', '=', workflowId)
      .where('user_id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Backfill');
    if (row.status === 'COMPLETED') throw new PreconditionFailedError('The backfill already completed.');
    if (row.status === 'RUNNING') {
      await trx
        .updateTable('backfills')
        .set({ status: 'CANCELED', finished_at: now, updated_at: now })
        .where('id', '=', backfillId)
        .execute();
    }
  });
  // The one cancel transition (../jobs/cancel.ts): a DAG run's tasks are locked before the run.
  const { stop } = await db
    .transaction()
    .execute((trx) =>
      cancelJobs(trx, { where: sql`backfill_id = ${backfillId}`, scope: 'unfinished' }, { now, bulk: true }),
    );
  return { view: await getBackfill(db, userId, workflowId, backfillId), running: stop };
}

async function assertOwned(db: Kysely<DB>, userId: string, workflowId: string): Promise<void> {
  const owned = await db
    .selectFrom('workflows')
    .select('id')
    .where('id', '=', workflowId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!owned) throw new NotFoundError('Workflow');
}

/** The views of these backfills, in the given order: the rows and one grouped count of their jobs. */
async function views(
  db: Kysely<DB> | Transaction<DB>,
  ids: readonly string[],
  owner?: { userId: string; workflowId: string },
): Promise<BackfillView[]> {
  if (ids.length === 0) return [];
  let q = db
    .selectFrom('backfills')
    .select([
      'id',
      'workflow_id',
      'range_from',
      'range_to',
      'overlap',
      'max_parallel',
      'status',
      'next_index',
      'created_at',
      'finished_at',
      sql<number>`cardinality(nominal_times)`.as('total'),
    ])
    .where('id', 'in', [...ids]);
  if (owner) q = q.where('user_id', '=', owner.userId).where('workflow_id', '=', owner.workflowId);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const { rows: counts } = await sql<{ backfill_id: string; status: string; n: number }>`
    SELECT backfill_id, status, count(*)::int AS n FROM jobs
    WHERE backfill_id = ANY(${rows.map((r) => r.id)}::uuid[])
    GROUP BY backfill_id, status`.execute(db);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids
    .map((id) => byId.get(id))
    .filter((r) => r !== undefined)
    .map((r) => {
      const of = (...states: string[]) =>
        counts
          .filter((c) => c.backfill_id === r.id && states.includes(c.status))
          .reduce((sum, c) => sum + c.n, 0);
      return {
        id: r.id,
        workflow_id: r.workflow_id,
        from: r.range_from.toISOString(),
        to: r.range_to.toISOString(),
        overlap: r.overlap,
        max_parallel: r.max_parallel,
        status: r.status,
        fire_times: Number(r.total),
        progress: {
          not_created: Number(r.total) - r.next_index,
          waiting: of('PENDING', 'QUEUED'),
          running: of('RUNNING'),
          completed: of('COMPLETED'),
          failed: of('FAILED'),
          canceled: of('CANCELED'),
        },
        created_at: r.created_at.toISOString(),
        finished_at: r.finished_at?.toISOString() ?? null,
      };
    });
}

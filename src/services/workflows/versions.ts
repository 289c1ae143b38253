/**
 * Workflow versions (issue 12, docs/api.md "Versions"): recording one on every create and on every
 * edit that changes the definition, and reading them.
 *
 * The snapshot is computed by the SQL function workflow_definition() (migration 0020) from the
 * workflow row, after the create or edit wrote it, in the same transaction. The same function made
 * the backfill, so "the same definition" cannot mean two things, and the comparison is jsonb
 * equality (key order and spacing do not matter). Versions are numbered 1, 2, … without gaps and
 * never change: the newest is the workflow's `version`, which the row lock of the edit serialises.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { changedFields, isVersionNumber } from '../../domain/workflow-versions.ts';
import type { WorkflowKind } from '../../domain/workflow-input.ts';
import type { DB, WorkflowRow } from '../../platform/db/schema.ts';
import { scheduleOf, scheduleView, type ScheduleView } from './codec.ts';

/** A version's definition as the API shows it (the workflow object's fields of the same names). */
export interface WorkflowDefinitionView {
  kind: WorkflowKind;
  payload: Record<string, unknown>;
  schedule: ScheduleView;
  max_consecutive_job_failures_allowed: number;
  pause_on_failure: boolean;
  log_retention: boolean;
}

export interface WorkflowVersionView {
  workflow_id: string;
  version: number;
  created_at: string;
  /** Who made it; null once that user is gone. */
  created_by: string | null;
  /** Whether it is the workflow's current version. */
  current: boolean;
  /** Fields of `definition` that differ from the version before (empty for version 1). */
  changes: string[];
  definition: WorkflowDefinitionView;
}

/** What workflow_definition() stores: the workflow's columns of the same names. */
interface StoredDefinition {
  kind: WorkflowKind;
  payload: Record<string, unknown>;
  schedule_type: WorkflowRow['schedule_type'];
  interval_minutes: number | null;
  cron_expression: string | null;
  timezone: string | null;
  run_at: string | null;
  schedule_policy: WorkflowRow['schedule_policy'];
  max_consecutive_job_failures_allowed: number;
  pause_on_failure: boolean;
  log_retention: boolean;
}

/** Version 1 of each new workflow (create, bulk create), in one statement. */
export async function workflowVersionsInsertFirst(
  trx: Transaction<DB>,
  rows: readonly Pick<WorkflowRow, 'id'>[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO workflow_versions (workflow_id, version, definition, created_at, created_by)
    SELECT w.id, 1, workflow_definition(w), w.created_at, w.user_id
    FROM workflows w WHERE w.id = ANY(${rows.map((r) => r.id)}::uuid[])`.execute(trx);
}

/**
 * After an edit's UPDATE, in its transaction (the workflow row is locked): a new version when the
 * definition differs from the current version's, and the workflow's `version` moved to it. Returns
 * the workflow's version either way. One statement: the INSERT in a CTE, the UPDATE reading it.
 */
export async function workflowVersionsRecordEdit(
  trx: Transaction<DB>,
  workflowId: string,
  userId: string,
  now: Date,
): Promise<number> {
  const { rows } = await sql<{ version: number }>`
    WITH made AS (
      INSERT INTO workflow_versions (workflow_id, version, definition, created_at, created_by)
      SELECT w.id, w.version + 1, workflow_definition(w), ${now}, ${userId}
      FROM workflows w
      WHERE w.id = ${workflowId}
        AND workflow_definition(w) IS DISTINCT FROM (
          SELECT v.definition FROM workflow_versions v WHERE v.workflow_id = w.id AND v.version = w.version)
      RETURNING workflow_id, version
    )
    UPDATE workflows w SET version = made.version FROM made WHERE w.id = made.workflow_id
    RETURNING w.version`.execute(trx);
  if (rows[0] !== undefined) return rows[0].version;
  const current = await trx
    .selectFrom('workflows')
    .select('version')
    .where('id', '=', workflowId)
    .executeTakeFirstOrThrow();
  return current.version;
}

/** The stored definition of one version of a workflow (no ownership check: the caller made it). */
export async function workflowVersionDefinition(
  db: Kysely<DB> | Transaction<DB>,
  workflowId: string,
  version: number,
): Promise<{ kind: WorkflowKind; payload: Record<string, unknown> } | null> {
  const row = await db
    .selectFrom('workflow_versions')
    .select('definition')
    .where('workflow_id', '=', workflowId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!row) return null;
  const d = row.definition as StoredDefinition;
  return { kind: d.kind, payload: d.payload };
}

/** GET /workflows/{id}/versions: newest first, `limit` per page, an opaque cursor. */
export async function listWorkflowVersions(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  page: { cursor?: string; limit: number },
): Promise<{ versions: WorkflowVersionView[]; cursor: string | null }> {
  const current = await ownedVersion(db, userId, workflowId);
  const before = page.cursor === undefined ? null : decodeVersionCursor(page.cursor);
  let q = db
    .selectFrom('workflow_versions')
    .selectAll()
    .where('workflow_id', '=', workflowId)
    .orderBy('version', 'desc')
    // One more than the page: it says whether there is a next page and is the previous version
    // of the page's last one (for its `changes`); versions have no gaps.
    .limit(page.limit + 1);
  if (before !== null) q = q.where('version', '<', before);
  const rows = await q.execute();
  const views = rows.map((r) => ({ row: r, definition: definitionView(r.definition as StoredDefinition) }));
  const shown = views.slice(0, page.limit);
  return {
    versions: shown.map((v, i) =>
      versionView(v.row, v.definition, views[i + 1]?.definition ?? null, current),
    ),
    cursor: rows.length > page.limit ? encodeVersionCursor(shown.at(-1)!.row.version) : null,
  };
}

/** GET /workflows/{id}/versions/{n}: 404 for an unknown version or another user's workflow. */
export async function getWorkflowVersion(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  version: number,
): Promise<WorkflowVersionView> {
  const current = await ownedVersion(db, userId, workflowId);
  const rows = await db
    .selectFrom('workflow_versions')
    .selectAll()
    .where('workflow_id', '=', workflowId)
    .where('version', 'in', [version, version - 1])
    .orderBy('version', 'desc')
    .execute();
  const row = rows.find((r) => r.version === version);
  if (!row) throw new NotFoundError('Workflow version');
  const previous = rows.find((r) => r.version === version - 1);
  return versionView(
    row,
    definitionView(row.definition as StoredDefinition),
    previous ? definitionView(previous.definition as StoredDefinition) : null,
    current,
  );
}

/** The definition a restore edits the workflow back to, as a PUT body (`POST …/versions/{n}/restore`). */
export function restoreBody(d: WorkflowDefinitionView): Record<string, unknown> {
  return {
    payload: d.payload,
    // The view writes unset policy limits as null; the request leaves them out.
    schedule: withoutNulls(d.schedule),
    max_consecutive_job_failures_allowed: d.max_consecutive_job_failures_allowed,
    pause_on_failure: d.pause_on_failure,
    log_retention: d.log_retention,
  };
}

function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

async function ownedVersion(db: Kysely<DB>, userId: string, workflowId: string): Promise<number> {
  const row = await db
    .selectFrom('workflows')
    .select('version')
    .where('id', '=', workflowId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Workflow');
  return row.version;
}

function versionView(
  row: { workflow_id: string; version: number; created_at: Date; created_by: string | null },
  definition: WorkflowDefinitionView,
  previous: WorkflowDefinitionView | null,
  current: number,
): WorkflowVersionView {
  return {
    workflow_id: row.workflow_id,
    version: row.version,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
    current: row.version === current,
    changes: previous === null ? [] : changedFields(previous, definition),
    definition,
  };
}

function definitionView(d: StoredDefinition): WorkflowDefinitionView {
  const schedule = scheduleOf({
    schedule_type: d.schedule_type,
    interval_minutes: d.interval_minutes,
    cron_expression: d.cron_expression,
    timezone: d.timezone,
    run_at: d.run_at === null ? null : new Date(d.run_at),
    schedule_policy: d.schedule_policy,
  } as WorkflowRow);
  return {
    kind: d.kind,
    payload: d.payload,
    schedule: scheduleView(schedule),
    max_consecutive_job_failures_allowed: d.max_consecutive_job_failures_allowed,
    pause_on_failure: d.pause_on_failure,
    log_retention: d.log_retention,
  };
}

function encodeVersionCursor(version: number): string {
  return Buffer.from(JSON.stringify({ version })).toString('base64url');
}

/** The version a page continues below; a cursor we did not make is a 400 on `cursor`. */
function decodeVersionCursor(cursor: string): number {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && 'version' in value && isVersionNumber(value.version)) {
      return value.version;
    }
  } catch {
    // fall through
  }
  throw ValidationError.single('cursor', 'is not a cursor returned by this API');
}

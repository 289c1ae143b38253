/**
 * The audit log: security-relevant actions, append-only in PostgreSQL (`audit_events`), listed
 * by administrators (GET /admin/audit) and deleted after CHRONOVERSE_AUDIT_RETENTION by the
 * housekeeping worker.
 *
 * Entries the users service makes are written in the transaction of the change they describe
 * (a token exists if and only if its `token.created` entry does); sign-in attempts are written
 * after the attempt. Other services' actions (a workflow deleted) reach it through
 * `UsersApi.recordAudit`, written by the gateway once the action succeeded. Never stored: a
 * password, a token or an invitation secret (only ids).
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';

/** The actions Chronoverse records (docs/operations.md "Audit log"). */
export const AUDIT_ACTIONS = [
  'auth.login.succeeded',
  'auth.login.failed',
  'user.registered',
  'user.created',
  'user.role_changed',
  'user.password_changed',
  'user.password_reset',
  'user.quotas_changed',
  'token.created',
  'token.revoked',
  'settings.signup_mode_changed',
  'invite.created',
  'invite.revoked',
  'workflow.deleted',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One entry, as the API shows it. */
export interface AuditEvent {
  id: string;
  at: string;
  action: string;
  /** Who acted; null for a failed sign-in. */
  actor_id: string | null;
  /** The account the action is about. */
  subject_id: string | null;
  /** The client address the gateway saw. */
  address: string | null;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
}

/** What a caller records; the log assigns `id` and `at`. */
export type AuditEventInput = Omit<AuditEvent, 'id' | 'at' | 'details'> & {
  details?: Record<string, unknown>;
};

export interface AuditQuery {
  limit: number;
  afterId?: string;
  action?: string;
  /** Entries whose actor or subject is this user. */
  userId?: string;
  /** RFC 3339; inclusive. */
  since?: string;
  /** RFC 3339; exclusive. */
  until?: string;
}

export async function insertAudit(db: Kysely<DB>, at: Date, event: AuditEventInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: newId(),
      at,
      action: event.action,
      actor_id: event.actor_id,
      subject_id: event.subject_id,
      address: event.address,
      target_type: event.target_type,
      target_id: event.target_id,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}

/** Newest first, keyset-paginated on the (time-ordered) id. */
export async function listAudit(
  db: Kysely<DB>,
  query: AuditQuery,
): Promise<{ events: AuditEvent[]; nextAfterId: string | null }> {
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(query.limit + 1);
  if (query.afterId) q = q.where('id', '<', query.afterId);
  if (query.action) q = q.where('action', '=', query.action);
  const userId = query.userId;
  if (userId) q = q.where((eb) => eb.or([eb('actor_id', '=', userId), eb('subject_id', '=', userId)]));
  if (query.since) q = q.where('at', '>=', new Date(query.since));
  if (query.until) q = q.where('at', '<', new Date(query.until));
  const rows = await q.execute();
  const page = rows.slice(0, query.limit);
  return {
    events: page.map(toAuditEvent),
    nextAfterId: rows.length > query.limit ? page.at(-1)!.id : null,
  };
}

/**
 * auditPurge: deletes up to `batchSize` entries older than `before`, oldest first (index
 * audit_events_at_idx); the housekeeping worker repeats it until a batch comes back short, so a
 * large backlog is many short transactions, never one long one.
 */
export function auditPurge(before: Date, batchSize: number) {
  return sql`DELETE FROM audit_events WHERE id IN (
    SELECT id FROM audit_events WHERE at < ${before} ORDER BY at LIMIT ${batchSize})`;
}

function toAuditEvent(row: {
  id: string;
  at: Date;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  address: string | null;
  target_type: string | null;
  target_id: string | null;
  details: unknown;
}): AuditEvent {
  return {
    id: row.id,
    at: row.at.toISOString(),
    action: row.action,
    actor_id: row.actor_id,
    subject_id: row.subject_id,
    address: row.address,
    target_type: row.target_type,
    target_id: row.target_id,
    details: (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<
      string,
      unknown
    >,
  };
}

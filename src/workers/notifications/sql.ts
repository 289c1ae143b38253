/**
 * `notificationsInsertBatch`: the consumer's one write per batch. One INSERT … SELECT FROM
 * unnest(…) for every notification of the batch:
 *
 * - the JOIN on users applies each user's preference at creation (ALL: everything; ALERTS: rows
 *   flagged `alert`; NONE: nothing) and drops the facts of users deleted meanwhile (no FK error);
 * - ON CONFLICT (user_id, dedupe_key) DO NOTHING makes a redelivered fact, the same fact under
 *   another message id, or two consumers handling it at once, create exactly one row (the UNIQUE
 *   constraint decides, whichever transaction commits first);
 * - RETURNING names the users who got something new, for the SSE wake-up.
 *
 * Relies on the UNIQUE (user_id, dedupe_key) index and the users primary key.
 */
import { sql, type Kysely } from 'kysely';
import type { NotificationContent } from '../../domain/notification-content.ts';
import type { DB } from '../../platform/db/schema.ts';

export interface NotificationInsert extends NotificationContent {
  /** UUIDv7, made in the consumer. */
  id: string;
}

/** Inserts what each user's preference keeps; returns the rows actually created. */
export async function notificationsInsertBatch(
  db: Kysely<DB>,
  rows: readonly NotificationInsert[],
): Promise<{ id: string; user_id: string }[]> {
  if (rows.length === 0) return [];
  const result = await sql<{ id: string; user_id: string }>`
    INSERT INTO notifications (id, user_id, kind, title, message, entity_type, entity_id, action_url, dedupe_key)
    SELECT n.id, n.user_id, n.kind, n.title, n.message, n.entity_type, n.entity_id, n.action_url, n.dedupe_key
    FROM unnest(
      ${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.user_id)}::uuid[], ${rows.map((r) => r.kind)}::text[],
      ${rows.map((r) => r.title)}::text[], ${rows.map((r) => r.message)}::text[], ${rows.map((r) => r.entity_type)}::text[],
      ${rows.map((r) => r.entity_id)}::uuid[], ${rows.map((r) => r.action_url)}::text[], ${rows.map((r) => r.dedupe_key)}::text[],
      ${rows.map((r) => r.alert)}::boolean[]
    ) AS n(id, user_id, kind, title, message, entity_type, entity_id, action_url, dedupe_key, alert)
    JOIN users u ON u.id = n.user_id
    WHERE u.notification_preference = 'ALL' OR (u.notification_preference = 'ALERTS' AND n.alert)
    ORDER BY n.id
    ON CONFLICT (user_id, dedupe_key) DO NOTHING
    RETURNING id, user_id`.execute(db);
  return result.rows;
}

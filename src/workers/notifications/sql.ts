/**
 * `notificationsInsertBatch`: the consumer's one write per batch. One INSERT … SELECT FROM
 * unnest(…) for every notification of the batch:
 *
 * - who gets it (src/domain/subscriptions.ts): the user's IN_APP subscription to the workflow,
 *   else their all-workflows one (the LATERAL probe of notification_subscriptions_scope_idx,
 *   most specific first), decides by its events; without one, the user's preference at creation
 *   (ALL: everything; ALERTS: rows flagged `alert`; NONE: nothing). A row for a user who does not
 *   own the workflow (`owner` false: an administrator subscribed them) is kept only by their
 *   subscription to the workflow itself, still there at the insert. The JOIN on users drops the
 *   facts of users deleted meanwhile (no FK error);
 * - ON CONFLICT (user_id, dedupe_key) DO NOTHING makes a redelivered fact, the same fact under
 *   another message id, or two consumers handling it at once, create exactly one row (the UNIQUE
 *   constraint decides, whichever transaction commits first);
 * - rows go in conflict-key order, so concurrent consumers of the same facts cannot deadlock;
 * - RETURNING names the users who got something new, for the SSE wake-up.
 *
 * Relies on the UNIQUE (user_id, dedupe_key) index, the users primary key and
 * notification_subscriptions_scope_idx.
 */
import { sql, type Kysely } from 'kysely';
import type { NotificationContent } from '../../domain/notification-content.ts';
import type { DB } from '../../platform/db/schema.ts';

export interface NotificationInsert extends NotificationContent {
  /** UUIDv7, made in the consumer. */
  id: string;
  /** The workflow the fact is about (subscriptions are per workflow). */
  workflow_id: string;
  /** The subscription events the fact is (job.failed, job.recovered…). */
  events: readonly string[];
  /** Whether `user_id` owns the workflow (else a subscriber of it: no preference, no all-workflows rule). */
  owner: boolean;
}

/** Inserts what each user's preference keeps; returns the rows actually created. */
export async function notificationsInsertBatch(
  db: Kysely<DB>,
  rows: readonly NotificationInsert[],
): Promise<{ id: string; user_id: string }[]> {
  if (rows.length === 0) return [];
  // Arrays of text[] do not go through unnest as rows of arrays: events travel as one
  // comma-joined string per row (event names have no commas).
  const result = await sql<{ id: string; user_id: string }>`
    INSERT INTO notifications (id, user_id, kind, title, message, entity_type, entity_id, action_url, dedupe_key)
    SELECT n.id, n.user_id, n.kind, n.title, n.message, n.entity_type, n.entity_id, n.action_url, n.dedupe_key
    FROM unnest(
      ${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.user_id)}::uuid[], ${rows.map((r) => r.kind)}::text[],
      ${rows.map((r) => r.title)}::text[], ${rows.map((r) => r.message)}::text[], ${rows.map((r) => r.entity_type)}::text[],
      ${rows.map((r) => r.entity_id)}::uuid[], ${rows.map((r) => r.action_url)}::text[], ${rows.map((r) => r.dedupe_key)}::text[],
      ${rows.map((r) => r.alert)}::boolean[], ${rows.map((r) => r.workflow_id)}::uuid[], ${rows.map((r) => r.events.join(','))}::text[],
      ${rows.map((r) => r.owner)}::boolean[]
    ) AS n(id, user_id, kind, title, message, entity_type, entity_id, action_url, dedupe_key, alert, workflow_id, events, owner)
    JOIN users u ON u.id = n.user_id
    LEFT JOIN LATERAL (
      SELECT s.events FROM notification_subscriptions s
      WHERE s.user_id = n.user_id AND s.channel = 'IN_APP'
        AND COALESCE(s.workflow_id, '00000000-0000-0000-0000-000000000000'::uuid)
            IN (n.workflow_id, '00000000-0000-0000-0000-000000000000'::uuid)
        AND (n.owner OR s.workflow_id IS NOT NULL)
      ORDER BY s.workflow_id NULLS LAST
      LIMIT 1
    ) s ON true
    WHERE CASE
      WHEN s.events IS NOT NULL THEN '*' = ANY(s.events) OR s.events && string_to_array(n.events, ',')
      ELSE n.owner AND (u.notification_preference = 'ALL' OR (u.notification_preference = 'ALERTS' AND n.alert))
    END
    -- In conflict-key order: two consumers inserting the same facts (a redelivery racing the
    -- first delivery) then take the unique index's entries in the same order and one waits for
    -- the other; in id order (ids are made per delivery) they deadlocked on PostgreSQL.
    ORDER BY n.user_id, n.dedupe_key
    ON CONFLICT (user_id, dedupe_key) DO NOTHING
    RETURNING id, user_id`.execute(db);
  return result.rows;
}

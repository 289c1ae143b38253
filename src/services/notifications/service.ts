/**
 * Notifications service: a user's in-app notifications (created by the consumer in
 * src/workers/notifications from the engine's facts), read, marked read, and followed by the
 * gateway's SSE stream.
 *
 * Ids are UUIDv7, so "newest first" and keyset pages are `ORDER BY id DESC` / `id < cursor`
 * (indexes notifications_user_idx and notifications_unread_idx: (user_id, id DESC)). Every
 * query is scoped by user id: another user's notification is never read, counted or changed,
 * and marking one read silently changes nothing (its existence is never revealed).
 */
import { sql, type Kysely } from 'kysely';
import { ValidationError } from '../../domain/errors.ts';
import type { NotificationEntityType, NotificationKind } from '../../domain/notification-content.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import { isUuid } from '../../platform/ids.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import type { NotificationsApi } from './api.ts';

export interface NotificationView {
  id: string;
  kind: NotificationKind;
  title: string;
  message: string;
  entity_type: NotificationEntityType;
  entity_id: string;
  action_url: string | null;
  read_at: string | null;
  created_at: string;
}

export interface NotificationListOptions {
  /** true (the API's default): unread only; false: every notification (history). */
  unread: boolean;
  cursor?: string;
  limit: number;
}

export interface NotificationPage {
  notifications: NotificationView[];
  cursor: string | null;
  /** The user's unread notifications in all (whatever the page or filter). */
  unread_count: number;
}

/** Either some notifications by id (1–100), or every unread one. */
export type MarkReadRequest = { ids: string[] } | { all: true };

export const MAX_MARK_READ_IDS = 100;

type NotificationRow = {
  id: string;
  kind: NotificationKind;
  title: string;
  message: string;
  entity_type: NotificationEntityType;
  entity_id: string;
  action_url: string | null;
  read_at: Date | string | null;
  created_at: Date | string;
};

const COLUMNS = [
  'id',
  'kind',
  'title',
  'message',
  'entity_type',
  'entity_id',
  'action_url',
  'read_at',
  'created_at',
] as const;

export class NotificationsService implements NotificationsApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;

  constructor(db: Kysely<DB>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async list(userId: string, options: NotificationListOptions): Promise<NotificationPage> {
    const before = options.cursor !== undefined ? decodeCursor(options.cursor) : undefined;
    let q = this.#db
      .selectFrom('notifications')
      .select(COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(options.limit + 1);
    if (options.unread) q = q.where('read_at', 'is', null);
    if (before !== undefined) q = q.where('id', '<', before);
    const [rows, unread] = await Promise.all([q.execute(), this.#unreadCount(userId)]);
    const page = rows.slice(0, options.limit);
    return {
      notifications: page.map(toView),
      cursor: rows.length > options.limit ? encodeCursor(page.at(-1)!.id) : null,
      unread_count: unread,
    };
  }

  async markRead(userId: string, request: MarkReadRequest): Promise<{ updated: number }> {
    const now = this.#clock.now();
    let q = this.#db
      .updateTable('notifications')
      .set({ read_at: now })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null);
    if (!('all' in request && request.all === true)) {
      const ids = (request as { ids: string[] }).ids;
      const bad = ids.flatMap((id, i) =>
        isUuid(id) ? [] : [{ path: `ids.${i}`, message: 'must be a UUID' }],
      );
      if (ids.length === 0 || ids.length > MAX_MARK_READ_IDS) {
        bad.unshift({ path: 'ids', message: `must hold 1 to ${MAX_MARK_READ_IDS} ids` });
      }
      if (bad.length > 0) throw new ValidationError(bad);
      q = q.where('id', '=', sql<string>`ANY(${[...new Set(ids)]}::uuid[])`);
    }
    const result = await q.executeTakeFirst();
    return { updated: Number(result.numUpdatedRows) };
  }

  async after(userId: string, afterId: string | null, limit: number): Promise<NotificationView[]> {
    let q = this.#db
      .selectFrom('notifications')
      .select(COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('id', 'asc')
      .limit(limit);
    if (afterId !== null) q = q.where('id', '>', afterId);
    return (await q.execute()).map(toView);
  }

  async latestId(userId: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('notifications')
      .select('id')
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  async #unreadCount(userId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    message: row.message,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    action_url: row.action_url,
    read_at: row.read_at === null ? null : new Date(row.read_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
  };
}

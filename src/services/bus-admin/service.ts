/**
 * BusAdmin over the database: DEAD outbox rows (the relay gave up publishing them) and parked bus
 * messages (a consumer group gave up handling them). Lists are newest first with keyset cursors;
 * re-driving puts a message back in line and never deletes the record of what happened.
 */
import { sql, type Kysely } from 'kysely';
import { NotFoundError, UnavailableError, ValidationError } from '../../domain/errors.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { decodeCursor, encodeCursor } from '../keyset-cursor.ts';
import type { BusAdmin, DeadOutboxRow, Page, ParkedMessage } from './types.ts';

/** A parked record as stored, to put back on its topic (KafkaBus.republish). */
export interface RepublishRecord {
  topic: string;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface BusAdminDeps {
  db: Kysely<DB>;
  /** Publishes a parked record again; absent when no bus parks (in-process profile). */
  republish?: (record: RepublishRecord) => Promise<void>;
  /** Wakes the relay of this process after an outbox redrive (others poll). */
  events?: Events;
}

/** What the admin view shows of a parked message (not its raw value and headers). */
const PARKED_COLUMNS = [
  'id',
  'topic',
  'consumer_group',
  'kafka_partition',
  'kafka_offset',
  'key',
  'event_type',
  'error',
  'attempts',
  'parked_at',
  'redriven_at',
] as const;

interface DeadRow {
  id: number;
  topic: string;
  key: string;
  event_type: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
}

interface ParkedRow {
  id: string;
  topic: string;
  consumer_group: string;
  kafka_partition: number;
  kafka_offset: number;
  key: string;
  event_type: string | null;
  error: string;
  attempts: number;
  parked_at: Date;
  redriven_at: Date | null;
}

export class BusAdminService implements BusAdmin {
  readonly #db: Kysely<DB>;
  readonly #republish: BusAdminDeps['republish'];
  readonly #events: Events | undefined;

  constructor(deps: BusAdminDeps) {
    this.#db = deps.db;
    this.#republish = deps.republish;
    this.#events = deps.events;
  }

  async listDeadOutbox(params: { limit: number; cursor?: string }): Promise<Page<DeadOutboxRow>> {
    const after = params.cursor === undefined ? null : decodeOutboxCursor(params.cursor);
    // outbox_key_order_idx covers status <> 'PUBLISHED'; DEAD rows are few.
    const { rows } = await sql<DeadRow>`
      SELECT id, topic, key, event_type, attempts, last_error, created_at
      FROM outbox
      WHERE status = 'DEAD' AND (${after}::bigint IS NULL OR id < ${after}::bigint)
      ORDER BY id DESC
      LIMIT ${params.limit + 1}`.execute(this.#db);
    const items = rows.slice(0, params.limit).map(deadRow);
    return {
      items,
      next_cursor: rows.length > params.limit ? encodeOutboxCursor(items.at(-1)!.id) : null,
    };
  }

  async redriveOutbox(id: string): Promise<DeadOutboxRow> {
    if (!/^\d{1,18}$/.test(id)) throw new NotFoundError('Dead outbox row');
    // Guarded: only a DEAD row goes back to PENDING (a concurrent redrive finds nothing).
    const { rows } = await sql<DeadRow>`
      UPDATE outbox
      SET status = 'PENDING', attempts = 0, next_attempt_at = now(), last_error = NULL
      WHERE id = ${Number(id)} AND status = 'DEAD'
      RETURNING id, topic, key, event_type, attempts, last_error, created_at`.execute(this.#db);
    const row = rows[0];
    if (!row) throw new NotFoundError('Dead outbox row');
    this.#events?.emit('outbox:written', { count: 1 });
    return deadRow(row);
  }

  async listParked(params: {
    limit: number;
    cursor?: string;
    redriven?: boolean;
  }): Promise<Page<ParkedMessage>> {
    let query = this.#db
      .selectFrom('bus_parked_messages')
      .select(PARKED_COLUMNS)
      .orderBy('id', 'desc')
      .limit(params.limit + 1);
    if (params.cursor !== undefined) query = query.where('id', '<', decodeCursor(params.cursor));
    if (params.redriven === true) query = query.where('redriven_at', 'is not', null);
    if (params.redriven === false) query = query.where('redriven_at', 'is', null);
    const rows = (await query.execute()) as ParkedRow[];
    const items = rows.slice(0, params.limit).map(parkedRow);
    return {
      items,
      next_cursor: rows.length > params.limit ? encodeCursor(items.at(-1)!.id) : null,
    };
  }

  async redriveParked(id: string): Promise<ParkedMessage> {
    const row = await this.#db
      .selectFrom('bus_parked_messages')
      .select(['topic', 'key', 'value', 'headers'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Parked message');
    if (!this.#republish) throw new UnavailableError('No message bus is configured to re-drive to.');
    try {
      await this.#republish({
        topic: row.topic,
        key: row.key,
        value: row.value === null ? null : Buffer.from(row.value),
        headers: row.headers,
      });
    } catch (err) {
      throw new UnavailableError(
        `The message bus did not accept the message: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // Published first, marked after: a crash in between re-drives twice at worst (idempotent).
    const updated = (await this.#db
      .updateTable('bus_parked_messages')
      .set({ redriven_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(PARKED_COLUMNS)
      .executeTakeFirst()) as ParkedRow | undefined;
    if (!updated) throw new NotFoundError('Parked message');
    return parkedRow(updated);
  }

  async counts(): Promise<{ deadOutbox: number; parked: number }> {
    const { rows } = await sql<{ dead: number; parked: number }>`
      SELECT (SELECT count(*) FROM outbox WHERE status = 'DEAD')::int AS dead,
             (SELECT count(*) FROM bus_parked_messages WHERE redriven_at IS NULL)::int AS parked`.execute(
      this.#db,
    );
    return { deadOutbox: rows[0]!.dead, parked: rows[0]!.parked };
  }
}

// Outbox ids are bigint identities, not UUIDs: their own cursor, same opaque shape.
function encodeOutboxCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ outbox: lastId })).toString('base64url');
}

function decodeOutboxCursor(cursor: string): number {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof value === 'object' &&
      value !== null &&
      'outbox' in value &&
      typeof value.outbox === 'string' &&
      /^\d{1,18}$/.test(value.outbox)
    ) {
      return Number(value.outbox);
    }
  } catch {
    // fall through
  }
  throw ValidationError.single('cursor', 'is not a cursor returned by this API');
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

function deadRow(r: DeadRow): DeadOutboxRow {
  return {
    id: String(r.id),
    topic: r.topic,
    key: r.key,
    event_type: r.event_type,
    attempts: r.attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
  };
}

function parkedRow(r: ParkedRow): ParkedMessage {
  return {
    id: r.id,
    topic: r.topic,
    group: r.consumer_group,
    partition: r.kafka_partition,
    offset: String(r.kafka_offset),
    key: r.key,
    event_type: r.event_type,
    error: r.error,
    attempts: r.attempts,
    parked_at: iso(r.parked_at),
    redriven_at: r.redriven_at === null ? null : iso(r.redriven_at),
  };
}

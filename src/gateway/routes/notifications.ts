/**
 * /api/v1/notifications (api.md "Notifications"): list (unread by default, or the history with
 * `unread=false`), mark read (`{ids}` or `{all: true}`), and the Server-Sent Events stream.
 *
 * SSE (`/notifications/events`), one NotificationEventStream per client:
 * - `event: notification`, `id:` the notification's id (UUIDv7, so ids grow with time), data: the
 *   notification; replays those after the `Last-Event-ID` header (else `?last_event_id=`), else
 *   starts from now (after the user's newest notification);
 * - woken by `notification:created` for its user (emitted by the consumer after commit; from other
 *   processes through the Redis event bridge), plus a safety poll every 5 s that catches a lost
 *   wake-up;
 * - `: ping` comments every 15 s, so proxies keep the connection open.
 *
 * Nothing lost under concurrency: two consumers may commit notifications of one user out of id
 * order (an id is made before its transaction commits), so a read that only took ids above the
 * last sent one could step over a row committed a moment later with a smaller id. Each check
 * therefore re-reads a window of REORDER_WINDOW_MS behind the newest sent id and skips the ids
 * already sent (remembered for that window). A slow client is not buffered without bound: past
 * 1 MiB of unsent output the stream is closed and the client resumes with Last-Event-ID.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NOTIFICATION_ENTITY_TYPES, NOTIFICATION_KINDS } from '../../domain/notification-content.ts';
import type { Events } from '../../platform/events.ts';
import type { NotificationsApi } from '../../services/notifications/api.ts';
import {
  MAX_MARK_READ_IDS,
  type MarkReadRequest,
  type NotificationView,
} from '../../services/notifications/service.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import { ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const tags = ['notifications'];
const errors = { 400: ProblemSchema, 401: ProblemSchema };

const HEARTBEAT_MS = 15_000;
const POLL_MS = 5_000;
/** How far behind the newest sent id a check looks again for late commits. */
const REORDER_WINDOW_MS = 10_000;
const PAGE = 100;
const MAX_UNSENT_BYTES = 1024 * 1024;

const timestamp = z.string().describe('RFC 3339 UTC timestamp with milliseconds');

export const NotificationSchema = z
  .object({
    id: z.uuid().describe('UUIDv7: ids grow with creation time'),
    kind: z.enum(NOTIFICATION_KINDS),
    title: z.string(),
    message: z.string().describe('Plain text'),
    entity_type: z.enum(NOTIFICATION_ENTITY_TYPES),
    entity_id: z.uuid(),
    action_url: z
      .string()
      .nullable()
      .describe('Dashboard path: /workflows/{id} or /workflows/{id}/jobs/{job_id}'),
    read_at: timestamp.nullable(),
    created_at: timestamp,
  })
  .meta({ id: 'Notification' });

const NotificationListQuerySchema = z.object({
  unread: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('true (default): unread only; false: every notification, read or not'),
  cursor: z.string().max(512).optional().describe('Opaque cursor from the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const MarkReadBodySchema = z
  .object({
    ids: z
      .array(z.uuid('must be a UUID'))
      .min(1)
      .max(MAX_MARK_READ_IDS)
      .optional()
      .describe(`1–${MAX_MARK_READ_IDS} notification ids; ids that are not yours are ignored`),
    all: z.literal(true).optional().describe('true: every unread notification'),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.ids === undefined) === (body.all === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give either ids or all: true' });
    }
  });

const uuidText = z.uuid('must be a notification id (a UUID)');
const EventsQuerySchema = z.object({
  last_event_id: uuidText
    .optional()
    .describe('Resume after this notification (the Last-Event-ID header wins)'),
});
const EventsHeadersSchema = z.looseObject({ 'last-event-id': uuidText.optional() });

export async function notificationRoutes(
  app: FastifyInstance,
  opts: {
    users: UsersApi;
    notifications: NotificationsApi;
    events: Events;
    /** Safety poll besides the wake-ups (default POLL_MS). */
    pollMs?: number;
  },
): Promise<void> {
  const pollMs = opts.pollMs ?? POLL_MS;
  const { notifications } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));
  const open = new Set<NotificationEventStream>();
  // Streams never end by themselves: close them so the server can stop.
  app.addHook('preClose', async () => {
    for (const s of open) s.close();
  });

  app.get(
    '/notifications',
    {
      schema: {
        tags,
        summary: 'List notifications, newest first',
        description:
          'Unread only by default; `unread=false` for the history (read and unread). `unread_count` is the number of unread notifications in all. Keyset pages: `cursor` is null on the last page.',
        ...SECURED,
        querystring: NotificationListQuerySchema,
        response: {
          200: z.object({
            notifications: z.array(NotificationSchema),
            cursor: z.string().nullable(),
            unread_count: z.number().int(),
          }),
          ...errors,
        },
      },
    },
    async (req) =>
      notifications.list(principalOf(req).user.id, req.query as z.output<typeof NotificationListQuerySchema>),
  );

  app.put(
    '/notifications',
    {
      schema: {
        tags,
        summary: 'Mark notifications read',
        description:
          '`{"ids": [...]}` (1–100) marks those read, or `{"all": true}` every unread one. Ids that are not yours, or already read, change nothing; `updated` counts the notifications that became read.',
        ...SECURED,
        body: MarkReadBodySchema,
        response: { 200: z.object({ updated: z.number().int() }), ...errors },
      },
    },
    async (req) => {
      const body = req.body as z.output<typeof MarkReadBodySchema>;
      const request: MarkReadRequest = body.all ? { all: true } : { ids: body.ids ?? [] };
      return notifications.markRead(principalOf(req).user.id, request);
    },
  );

  app.get(
    '/notifications/events',
    {
      schema: {
        tags,
        summary: 'Follow new notifications (Server-Sent Events)',
        description:
          '`event: notification` (data: Notification, `id:` its id) for each new notification of the current user, within a second of its creation. With `Last-Event-ID` (or `?last_event_id=`) the notifications created after that one are replayed first; without, the stream starts from now. `: ping` comments every 15 s.',
        ...SECURED,
        querystring: EventsQuerySchema,
        headers: EventsHeadersSchema,
        response: { ...errors },
      },
    },
    async (req, reply) => {
      const userId = principalOf(req).user.id;
      const resume =
        (req.headers as z.output<typeof EventsHeadersSchema>)['last-event-id'] ??
        (req.query as z.output<typeof EventsQuerySchema>).last_event_id;
      const startAfter = resume !== undefined ? resume.toLowerCase() : await notifications.latestId(userId);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      res.flushHeaders();
      res.socket?.setNoDelay(true);
      const stream = new NotificationEventStream(
        { res, notifications, events: opts.events, log: req.log, pollMs },
        userId,
        startAfter,
        () => open.delete(stream),
      );
      open.add(stream);
      stream.start();
    },
  );
}

/** One SSE client following one user's notifications. Checks run one at a time, in order. */
class NotificationEventStream {
  readonly #res: ServerResponse;
  readonly #notifications: NotificationsApi;
  readonly #events: Events;
  readonly #log: FastifyBaseLogger;
  readonly #pollMs: number;
  readonly #userId: string;
  readonly #onClosed: () => void;
  /** Nothing at or before this id is sent (the resume point, or the newest at connect). */
  readonly #startAfter: string | null;
  /** The greatest id sent so far. */
  #newest: string | null = null;
  /** Ids sent within REORDER_WINDOW_MS of the newest (id → its time), so a re-read skips them. */
  readonly #recent = new Map<string, number>();
  #closed = false;
  #checkQueued = false;
  #queue: Promise<void> = Promise.resolve();
  readonly #cleanup: (() => void)[] = [];

  constructor(
    deps: {
      res: ServerResponse;
      notifications: NotificationsApi;
      events: Events;
      log: FastifyBaseLogger;
      pollMs: number;
    },
    userId: string,
    startAfter: string | null,
    onClosed: () => void,
  ) {
    this.#res = deps.res;
    this.#notifications = deps.notifications;
    this.#events = deps.events;
    this.#log = deps.log;
    this.#pollMs = deps.pollMs;
    this.#userId = userId;
    this.#startAfter = startAfter;
    this.#onClosed = onClosed;
  }

  start(): void {
    this.#res.on('close', () => this.close());
    this.#res.on('error', () => this.close());
    if (this.#res.destroyed) {
      this.close();
      return;
    }
    this.#cleanup.push(
      this.#events.on('notification:created', (e) => {
        if (e.userId === this.#userId) this.#scheduleCheck();
      }),
    );
    const poll = setInterval(() => this.#scheduleCheck(), this.#pollMs);
    const heartbeat = setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS);
    this.#cleanup.push(
      () => clearInterval(poll),
      () => clearInterval(heartbeat),
    );
    this.#scheduleCheck();
  }

  /** Ends the stream (client gone, server closing); safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#cleanup.splice(0)) fn();
    if (!this.#res.writableEnded) this.#res.end();
    this.#onClosed();
  }

  #scheduleCheck(): void {
    if (this.#checkQueued || this.#closed) return;
    this.#checkQueued = true;
    this.#queue = this.#queue
      .then(async () => {
        this.#checkQueued = false;
        if (!this.#closed) await this.#check();
      })
      .catch((err: unknown) => {
        // The client resumes with Last-Event-ID; a transient failure costs a reconnect.
        this.#log.warn(
          { err: { message: (err as Error).message }, userId: this.#userId },
          'notification event stream failed',
        );
        this.close();
      });
  }

  /** Sends every notification not sent yet, from the start point or the reorder window on. */
  async #check(): Promise<void> {
    let from = this.#readFrom();
    for (;;) {
      const rows = await this.#notifications.after(this.#userId, from, PAGE);
      if (this.#closed) return;
      for (const n of rows) {
        if (!this.#recent.has(n.id)) this.#send(n);
      }
      if (this.#res.writableLength > MAX_UNSENT_BYTES) {
        this.#log.info(
          { userId: this.#userId },
          'closing a notification stream whose client does not keep up',
        );
        this.close();
        return;
      }
      if (rows.length < PAGE) break;
      from = rows.at(-1)!.id;
    }
    this.#forgetOld();
  }

  /** The id after which to read: the start point, or the reorder window behind the newest sent. */
  #readFrom(): string | null {
    if (this.#newest === null) return this.#startAfter;
    const windowStart = uuidV7Floor(uuidV7Time(this.#newest) - REORDER_WINDOW_MS);
    if (this.#startAfter === null) return windowStart;
    return windowStart > this.#startAfter ? windowStart : this.#startAfter;
  }

  #forgetOld(): void {
    if (this.#newest === null) return;
    const horizon = uuidV7Time(this.#newest) - REORDER_WINDOW_MS;
    for (const [id, at] of this.#recent) if (at < horizon) this.#recent.delete(id);
  }

  #send(n: NotificationView): void {
    this.#write(`event: notification\nid: ${n.id}\ndata: ${JSON.stringify(n)}\n\n`);
    this.#recent.set(n.id, uuidV7Time(n.id));
    if (this.#newest === null || n.id > this.#newest) this.#newest = n.id;
  }

  #write(chunk: string): void {
    if (!this.#closed && !this.#res.destroyed && this.#res.writable) this.#res.write(chunk);
  }
}

/** The millisecond timestamp in a UUIDv7's first 48 bits. */
function uuidV7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The smallest UUID of millisecond `ms`: every UUIDv7 made at or after `ms` sorts above it. */
function uuidV7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

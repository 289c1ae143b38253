/**
 * /api/v1/workflows/:id/jobs/:job_id/{logs, logs/search, logs/raw, events} (api.md "Logs").
 *
 * Access problems (401, 404, 412 for a workflow with log retention off) and bad parameters (400
 * naming the field) are answered before anything is streamed, as ordinary problem documents.
 *
 * `task=build` or `task=test[3]` on any of them reads one task instance of a DAG run (each is a job
 * of its own): the run is looked up through the jobs API, with the same ownership check.
 *
 * Server-Sent Events (`…/events`), one JobEventStream per client:
 * - `event: status` (data: the job) first, then whenever the job's status (or attempt) changes;
 * - `event: log` (data: a log line, `id:` its sequence_num) for every stored line after the
 *   `Last-Event-ID` header, else `?last_event_id=`, else from the first line, then live lines;
 * - `event: end` (data: the final job) once the job is final and every stored line was sent, after
 *   which the server closes the stream (an EventSource client should `close()` on `end`, or it
 *   reconnects and is told `end` again);
 * - `: ping` comments every 15 s, so proxies keep the connection open.
 * - for a DAG run (kind DAG, no `task=`): `event: tasks` (data: `{ tasks }`, the TaskView objects
 *   of GET run) after the first status, then whenever any task instance changes (status, attempts,
 *   outputs, a new fan-out instance…); the last one before `end` shows them final. Plain jobs'
 *   streams are as above, byte for byte.
 *
 * Nothing lost, nothing repeated: the stream subscribes to live lines before it replays stored
 * ones; live lines arriving during a replay are buffered, and every line is sent only when it is
 * the next one (`sequence_num = last sent + 1`; numbers are contiguous per job). A live line that
 * is ahead of that (a gap: its predecessors were written by another process, are being replayed,
 * or were lost from a live feed that is at most once, like Redis pub/sub during an outage) is held
 * and the missing range is re-read from the database at once (every published line was stored
 * first), and so is everything after the feed reports it resubscribed after an outage (`onResync`).
 * Status comes from events (claimed, finished, cancel requested; across processes through the
 * event bridge when there is one) plus a re-check every second that also catches up lines stored
 * by executors in other processes. A slow client is not buffered without bound: past 4 MiB of
 * unsent output the stream is closed and the client resumes with Last-Event-ID.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Events } from '../../platform/events.ts';
import type { LiveLogLine, LiveLogs } from '../../platform/live-logs.ts';
import type { JobsApi } from '../../services/jobs/api.ts';
import type { JobView, TaskView } from '../../services/jobs/codec.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { parseTaskSelector, selectTask } from '../../domain/task-selector.ts';
import {
  LOG_ORDERS,
  LOG_PAGE_LINES,
  LOG_STREAMS,
  RAW_FORMATS,
  type LogLine,
  type RawFormat,
} from '../../services/logs/service.ts';
import type { LogsApi } from '../../services/logs/api.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import { JobParamsSchema, ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const tags = ['logs'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 412: ProblemSchema };

const FINAL_STATES: readonly string[] = ['COMPLETED', 'FAILED', 'CANCELED'];
const HEARTBEAT_MS = 15_000;
const RECHECK_MS = 1_000;
/** Quiet time after which a canceled job's stream ends when its executor runs elsewhere. */
const CANCEL_SETTLE_MS = 15_000;
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Live lines held while a replay runs; beyond this they are re-read from the database. */
const MAX_PENDING_LINES = 10_000;

/** A search string the database can take: no NUL, no unpaired surrogate (else a 400 on `q`). */
const q = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
  .refine((s) => s.isWellFormed(), 'must be valid Unicode text');
const cursor = z.string().max(512).optional().describe('Opaque cursor from the previous page');
const limit = z.coerce.number().int().min(1).max(1000).default(100);
const stream = z.enum(LOG_STREAMS).optional().describe('Only this stream (default: both)');

export const LogLineSchema = z
  .object({
    sequence_num: z
      .number()
      .int()
      .describe('Unique and increasing within the job, across streams and attempts'),
    stream: z.enum(LOG_STREAMS),
    timestamp: z.string().describe('When the line was captured (RFC 3339 UTC, milliseconds)'),
    message: z.string(),
  })
  .meta({ id: 'LogLine' });

const LogSearchHitSchema = LogLineSchema.extend({
  highlights: z
    .array(z.tuple([z.number().int(), z.number().int()]))
    .describe('[start, end) offsets into message, in UTF-16 code units, of every occurrence of q'),
}).meta({ id: 'LogSearchHit' });

const task = z
  .string()
  .max(80)
  .refine((t) => parseTaskSelector(t) !== null, 'must be a task name, or name[i] for item i of a fan-out')
  .optional()
  .describe(
    "A DAG run's task instance: `build`, or `test[3]` for item 3 of a fan-out (the run's job id in the path)",
  );

const LogsQuerySchema = z.object({
  task,
  cursor,
  limit,
  stream,
  order: z.enum(LOG_ORDERS).default('desc').describe('desc (default): newest first'),
});
const LogSearchQuerySchema = z.object({
  task,
  q: q.describe('Case-insensitive substring (1–200 characters); % and _ match literally'),
  stream,
  cursor,
  limit,
});
const LogRawQuerySchema = z.object({
  task,
  format: z.enum(RAW_FORMATS).default('txt'),
  stream,
  q: q.optional().describe('Only lines containing this (case-insensitive)'),
});
const sequence = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a sequence number (a non-negative integer)')
  .transform(Number);
const EventsQuerySchema = z.object({
  task,
  last_event_id: sequence.optional().describe('Resume after this line (the Last-Event-ID header wins)'),
});
const EventsHeadersSchema = z.looseObject({ 'last-event-id': sequence.optional() });

const RAW_TYPES: Record<RawFormat, string> = {
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
};

type JobParams = z.output<typeof JobParamsSchema>;

/**
 * The job whose logs are asked for: the path's, or with `task`, that task instance of the run in
 * the path (404 for a run that has no such instance yet, 400 for a job that is not a DAG run or a
 * fan-out named without its item).
 */
async function jobIdOf(jobs: JobsApi, userId: string, params: JobParams, text: string | undefined) {
  if (text === undefined) return params.job_id;
  const run = await jobs.get(userId, params.id, params.job_id);
  if (!run.tasks) throw ValidationError.single('task', `job ${run.id} is not a DAG run: it has no tasks`);
  const selection = selectTask(run.tasks, parseTaskSelector(text)!);
  if (selection.ok) return selection.task.id;
  if (selection.reason === 'ambiguous') {
    throw ValidationError.single(
      'task',
      `"${text}" has ${selection.count} fan-out items: name one, e.g. ${text}[0]`,
    );
  }
  throw new NotFoundError(`Task "${text}" of this run`);
}

export async function logRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; logs: LogsApi; jobs: JobsApi; live: LiveLogs; events: Events },
): Promise<void> {
  const { logs, jobs } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));
  const open = new Set<JobEventStream>();
  // Streams never end by themselves while a job runs: close them so the server can stop.
  app.addHook('preClose', async () => {
    for (const s of open) s.close();
  });

  app.get(
    '/workflows/:id/jobs/:job_id/logs',
    {
      schema: {
        tags,
        summary: "A page of a job's log lines",
        description:
          'Keyset pages on sequence_num, newest first by default (`order=asc` for oldest first); `cursor` is null on the last page. 412 when the workflow keeps no logs.',
        ...SECURED,
        params: JobParamsSchema,
        querystring: LogsQuerySchema,
        response: {
          200: z.object({ logs: z.array(LogLineSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const params = req.params as JobParams;
      const query = req.query as z.output<typeof LogsQuerySchema>;
      const userId = principalOf(req).user.id;
      return logs.read(userId, params.id, await jobIdOf(jobs, userId, params, query.task), query);
    },
  );

  app.get(
    '/workflows/:id/jobs/:job_id/logs/search',
    {
      schema: {
        tags,
        summary: "Search a job's log lines",
        description:
          'Lines whose message contains `q` (case-insensitive), oldest first, each with `highlights`: `[start, end)` offsets into `message` (UTF-16 code units, as JavaScript string indices) of every non-overlapping occurrence.',
        ...SECURED,
        params: JobParamsSchema,
        querystring: LogSearchQuerySchema,
        response: {
          200: z.object({ logs: z.array(LogSearchHitSchema), cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const params = req.params as JobParams;
      const query = req.query as z.output<typeof LogSearchQuerySchema>;
      const userId = principalOf(req).user.id;
      return logs.search(userId, params.id, await jobIdOf(jobs, userId, params, query.task), query);
    },
  );

  app.get(
    '/workflows/:id/jobs/:job_id/logs/raw',
    {
      schema: {
        tags,
        summary: "Download a job's log lines",
        description:
          'Oldest first, streamed as an attachment: `txt` (one message per line, text/plain), `jsonl` (one log line object per line, application/x-ndjson) or `json` (`{job_id, workflow_id, logs: [...]}`). Covers the lines stored when the download starts.',
        ...SECURED,
        params: JobParamsSchema,
        querystring: LogRawQuerySchema,
        response: { ...errors },
      },
    },
    async (req, reply) => {
      const params = req.params as JobParams;
      const query = req.query as z.output<typeof LogRawQuerySchema>;
      const userId = principalOf(req).user.id;
      const job_id = await jobIdOf(jobs, userId, params, query.task);
      const chunks = await logs.rawStream(userId, params.id, job_id, query);
      return reply
        .type(RAW_TYPES[query.format])
        .header('content-disposition', `attachment; filename="${job_id}-logs.${query.format}"`)
        .send(Readable.from(chunks));
    },
  );

  app.get(
    '/workflows/:id/jobs/:job_id/events',
    {
      schema: {
        tags,
        summary: "Follow a job's logs and status (Server-Sent Events)",
        description:
          '`event: status` (data: Job) first and on every status change; `event: log` (data: LogLine, `id:` its sequence_num) for each line after `Last-Event-ID` (or `?last_event_id=`, or from the start), stored lines first, then live ones; `event: end` (data: Job) once the job is final and all its lines were sent, then the server closes the stream: close the EventSource on `end`. `: ping` comments every 15 s. For a DAG run (without `task`): `event: tasks` (data: `{ tasks: [...] }`, the `tasks` of GET run) after the first status, whenever any task instance changes; the last one before `end` shows them final.',
        ...SECURED,
        params: JobParamsSchema,
        querystring: EventsQuerySchema,
        headers: EventsHeadersSchema,
        response: { ...errors },
      },
    },
    async (req, reply) => {
      const params = req.params as JobParams;
      const userId = principalOf(req).user.id;
      const taskText = (req.query as z.output<typeof EventsQuerySchema>).task;
      const job = await logs.open(userId, params.id, await jobIdOf(jobs, userId, params, taskText));
      // A run's tasks come through the jobs API (the same objects as GET run), with its checks.
      const tasks =
        job.kind === 'DAG' && taskText === undefined
          ? async () => (await jobs.get(userId, params.id, job.id)).tasks ?? []
          : null;
      const lastEventId =
        (req.headers as z.output<typeof EventsHeadersSchema>)['last-event-id'] ??
        (req.query as z.output<typeof EventsQuerySchema>).last_event_id ??
        -1;
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
      const stream = new JobEventStream(
        { res, logs, live: opts.live, events: opts.events, log: req.log, tasks },
        job,
        lastEventId,
        () => open.delete(stream),
      );
      open.add(stream);
      stream.start();
    },
  );
}

/** One SSE client following one job. Everything that writes runs on one queue, in order. */
class JobEventStream {
  readonly #res: ServerResponse;
  readonly #logs: LogsApi;
  readonly #live: LiveLogs;
  readonly #events: Events;
  readonly #log: FastifyBaseLogger;
  readonly #jobId: string;
  readonly #workflowId: string;
  /** A DAG run's task instances (null for any other job: its stream has no `tasks` events). */
  readonly #loadTasks: (() => Promise<TaskView[]>) | null;
  /** The last `tasks` sent, serialized: the next is sent only when it differs. */
  #tasksData = '';
  /** The run's task fingerprint (JobLogState.tasksKey) when the tasks were last read. */
  #tasksKey: string | undefined;
  /** The task instances' job ids, to wake up on their executor events. */
  #taskIds = new Set<string>();
  readonly #onClosed: () => void;
  #lastSent: number;
  #statusKey: string;
  #closed = false;
  #replaying = false;
  #checkQueued = false;
  /** The executor released the job (its lines are all stored). */
  #released = false;
  #settleSequence = -1;
  #settleSince = 0;
  /** The last sent line when a gap re-read was last asked for (see #requestGapFill). */
  #gapFillAt = Number.NaN;
  /** Live lines not sent yet: during a replay, or ahead of the last sent line. */
  #pending: LiveLogLine[] = [];
  #queue: Promise<void> = Promise.resolve();
  readonly #cleanup: (() => void)[] = [];

  constructor(
    deps: {
      res: ServerResponse;
      logs: LogsApi;
      live: LiveLogs;
      events: Events;
      log: FastifyBaseLogger;
      tasks: (() => Promise<TaskView[]>) | null;
    },
    job: JobView,
    lastEventId: number,
    onClosed: () => void,
  ) {
    this.#res = deps.res;
    this.#logs = deps.logs;
    this.#live = deps.live;
    this.#events = deps.events;
    this.#log = deps.log;
    this.#jobId = job.id;
    this.#workflowId = job.workflow_id;
    this.#loadTasks = deps.tasks;
    this.#onClosed = onClosed;
    this.#lastSent = lastEventId;
    this.#statusKey = statusKey(job);
    this.#write(frame('status', job));
  }

  start(): void {
    const jobId = this.#jobId;
    this.#res.on('close', () => this.close());
    this.#res.on('error', () => this.close());
    if (this.#res.destroyed) {
      this.close(); // the client left while access was being checked
      return;
    }
    // Live first, then the replay: a line stored meanwhile is either replayed or arrives live.
    this.#cleanup.push(
      this.#live.subscribe(jobId, (lines) => this.#onLive(lines), {
        // The feed may have lost lines while it was away: re-read from the database.
        onResync: () => this.#scheduleCheck(),
      }),
    );
    // A run's tasks are jobs of their own: their executor events (a claim of the run's workflow
    // covers a fan-out instance not seen yet) wake the stream too; other processes' changes and
    // tasks made runnable are seen by the 1 s re-check.
    const wake = (e: { jobId: string; workflowId?: string }) => {
      if (
        e.jobId === jobId ||
        (this.#loadTasks !== null && (this.#taskIds.has(e.jobId) || e.workflowId === this.#workflowId))
      ) {
        this.#scheduleCheck();
      }
    };
    this.#cleanup.push(
      this.#events.on('executor:job:claimed', wake),
      this.#events.on('executor:job:finished', wake),
      this.#events.on('job:cancel-requested', wake),
      this.#events.on('executor:job:released', (e) => {
        if (e.jobId !== jobId) return;
        this.#released = true;
        this.#scheduleCheck();
      }),
    );
    const recheck = setInterval(() => this.#scheduleCheck(), RECHECK_MS);
    const heartbeat = setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS);
    this.#cleanup.push(
      () => clearInterval(recheck),
      () => clearInterval(heartbeat),
    );
    if (this.#loadTasks !== null) this.#enqueue(() => this.#sendTasks());
    this.#enqueue(() => this.#catchUp());
    this.#scheduleCheck();
  }

  /** Ends the stream (client gone, job over, server closing); safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#cleanup.splice(0)) fn();
    this.#pending = [];
    if (!this.#res.writableEnded) this.#res.end();
    this.#onClosed();
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (this.#closed ? undefined : task()))
      .catch((err: unknown) => {
        // The client resumes with Last-Event-ID; a transient database error costs a reconnect.
        this.#log.warn(
          { err: { message: (err as Error).message }, jobId: this.#jobId },
          'job event stream failed',
        );
        this.close();
      });
  }

  #scheduleCheck(): void {
    if (this.#checkQueued || this.#closed) return;
    this.#checkQueued = true;
    this.#enqueue(async () => {
      this.#checkQueued = false;
      await this.#check();
    });
  }

  #onLive(lines: LiveLogLine[]): void {
    if (this.#closed) return;
    this.#pending.push(...lines);
    // Live lines are also stored: when too many wait (a long replay behind a chatty job), drop
    // them and let the next replay from the database send them, instead of growing without bound.
    if (this.#pending.length > MAX_PENDING_LINES) {
      this.#pending = [];
      this.#scheduleCheck();
      return;
    }
    if (!this.#replaying) this.#flushPending();
  }

  /** Sends the pending live lines that continue the sequence; keeps those ahead of a gap. */
  #flushPending(): void {
    if (this.#pending.length === 0) return;
    this.#pending.sort((a, b) => a.sequence_num - b.sequence_num);
    let i = 0;
    for (; i < this.#pending.length; i++) {
      const line = this.#pending[i]!;
      if (line.sequence_num <= this.#lastSent) continue;
      if (line.sequence_num !== this.#lastSent + 1) break;
      this.#send(line);
    }
    this.#pending = this.#pending.slice(i);
    if (this.#res.writableLength > MAX_UNSENT_BYTES) {
      this.#log.info({ jobId: this.#jobId }, 'closing a job event stream whose client does not keep up');
      this.close();
      return;
    }
    if (this.#pending.length > 0) this.#requestGapFill();
  }

  /**
   * Lines are held behind a gap: re-read it from the database now rather than at the next
   * re-check (a check replays when lines are pending, then sends the held ones in order). Once
   * per position: when the database had nothing more, the next re-check tries again, not a loop.
   */
  #requestGapFill(): void {
    if (this.#gapFillAt === this.#lastSent) return;
    this.#gapFillAt = this.#lastSent;
    this.#scheduleCheck();
  }

  /** Sends every stored line after the last sent one, page by page, waiting for a slow client. */
  async #catchUp(): Promise<void> {
    this.#replaying = true;
    try {
      for (;;) {
        const lines = await this.#logs.replay(this.#jobId, this.#lastSent, LOG_PAGE_LINES);
        if (this.#closed) return;
        for (const line of lines) {
          if (line.sequence_num > this.#lastSent) this.#send(line);
        }
        await this.#drained();
        if (lines.length < LOG_PAGE_LINES) break;
      }
    } finally {
      this.#replaying = false;
    }
    this.#flushPending();
  }

  /** Status changes, lines stored elsewhere, and the end. */
  async #check(): Promise<void> {
    const state = await this.#logs.state(this.#jobId);
    if (this.#closed) return;
    if (!state) {
      this.close(); // deleted with its workflow; a reconnect gets the 404
      return;
    }
    const final = FINAL_STATES.includes(state.job.status);
    // Final: one more replay sends the rest (for a cancel, #mayEnd also waits for late lines).
    if (final || state.nextSequence - 1 > this.#lastSent || this.#pending.length > 0) await this.#catchUp();
    if (this.#closed) return;
    const key = statusKey(state.job);
    if (key !== this.#statusKey) {
      this.#statusKey = key;
      this.#write(frame('status', state.job));
    }
    // The tasks are read only when their fingerprint (read with the run's row, after it) changed.
    // A run is final only once its tasks are, so the last `tasks` sent before `end` shows them so.
    if (this.#loadTasks !== null && state.tasksKey !== this.#tasksKey) {
      this.#tasksKey = state.tasksKey;
      await this.#sendTasks();
    }
    if (this.#closed) return;
    if (final && this.#mayEnd(state.job, state.nextSequence)) {
      this.#write(frame('end', state.job));
      this.close();
    }
  }

  /**
   * A cancel is final the moment it commits, while the executor is still stopping the container
   * (SIGTERM, grace, output settling): its last lines are stored after the status. So the end of
   * a canceled job that had started waits until its executor released it (an event, when it runs
   * in this process) or until no new line appeared for CANCEL_SETTLE_MS (when it runs elsewhere).
   */
  #mayEnd(job: JobView, nextSequence: number): boolean {
    if (job.status !== 'CANCELED' || job.started_at === null || this.#released) return true;
    const now = Date.now();
    if (nextSequence !== this.#settleSequence) {
      this.#settleSequence = nextSequence;
      this.#settleSince = now;
    }
    return now - this.#settleSince >= CANCEL_SETTLE_MS;
  }

  /** Sends the run's task instances when they changed since the last `tasks` event. */
  async #sendTasks(): Promise<void> {
    let tasks: TaskView[];
    try {
      tasks = await this.#loadTasks!();
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.close(); // deleted with its workflow; a reconnect gets the 404
        return;
      }
      throw err;
    }
    if (this.#closed) return;
    const data = JSON.stringify({ tasks });
    if (data === this.#tasksData) return;
    this.#tasksData = data;
    this.#taskIds = new Set(tasks.map((t) => t.id));
    this.#write(`event: tasks\ndata: ${data}\n\n`);
  }

  #send(line: LogLine): void {
    this.#write(frame('log', line, line.sequence_num));
    this.#lastSent = line.sequence_num;
  }

  #write(chunk: string): void {
    if (!this.#closed && !this.#res.destroyed && this.#res.writable) this.#res.write(chunk);
  }

  #drained(): Promise<void> {
    const res = this.#res;
    if (!res.writableNeedDrain || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

function statusKey(job: JobView): string {
  return `${job.status}:${job.attempts}`;
}

function frame(event: 'status' | 'log' | 'end', data: unknown, id?: number): string {
  return `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

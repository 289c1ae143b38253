/**
 * Logs service: the read side of job logs (api.md "Logs"): pages, search, raw downloads and the
 * replay that Server-Sent Events start from. The log store is this one class over `job_logs`, so
 * another backend (an object store, Loki, …) can be put behind the same methods later.
 *
 * Access: every public method first resolves the job scoped to (user, workflow, job): another
 * user's job, or one of another workflow, is "not found" (404); a workflow whose log retention is
 * off has nothing stored, which is a 412 ("log retention is off for this workflow"), never an empty
 * page that would look like a silent job.
 *
 * Paging: keyset on `sequence_num` (unique and increasing per job across streams and attempts),
 * over the index `job_logs_job_seq_idx (job_id, sequence_num)`, in both directions. Cursors are
 * opaque base64url JSON carrying the last sequence number and the order they were made for; a
 * cursor we did not make, or one used with the other order, is a 400 on `cursor`. Lines stored
 * after a page was read can only extend the far end (higher numbers), so asc pages never skip or
 * repeat, and desc pages continue below the cursor unaffected.
 *
 * Search: a case-insensitive substring match (`ILIKE '%q%'` with `%`, `_` and `\` escaped), oldest
 * first. Highlights are computed here, not in SQL: `[start, end)` offsets into `message` in UTF-16
 * code units (JavaScript string indices, what `message.slice(start, end)` expects), one range per
 * non-overlapping case-insensitive occurrence, left to right (Unicode simple case folding, as a
 * JavaScript `iu` regular expression). The database's ILIKE folds case by its own collation rules
 * (PGlite and C-locale databases fold ASCII only), so in rare cases a matched line can carry fewer
 * ranges than one might expect, possibly none; it is still returned.
 */
import { sql, type Kysely } from 'kysely';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../domain/errors.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB, JobRow } from '../../platform/db/schema.ts';
import { toJobView, type JobView } from '../jobs/codec.ts';
import type { LogsApi } from './api.ts';

export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];
export const LOG_ORDERS = ['asc', 'desc'] as const;
export type LogOrder = (typeof LOG_ORDERS)[number];
export const RAW_FORMATS = ['txt', 'json', 'jsonl'] as const;
export type RawFormat = (typeof RAW_FORMATS)[number];

/** Lines per query of a raw download and of an SSE replay. */
export const LOG_PAGE_LINES = 1000;

export interface LogLine {
  sequence_num: number;
  stream: LogStream;
  timestamp: string;
  message: string;
}

export interface LogSearchHit extends LogLine {
  /** `[start, end)` UTF-16 offsets into `message` of each occurrence of the query. */
  highlights: [number, number][];
}

export interface LogReadOptions {
  cursor?: string;
  /** 1..1000. */
  limit: number;
  stream?: LogStream;
  order: LogOrder;
}

export interface LogSearchOptions {
  /** 1..200 characters, matched case-insensitively as a plain substring. */
  q: string;
  stream?: LogStream;
  cursor?: string;
  limit: number;
}

export interface LogRawOptions {
  format: RawFormat;
  stream?: LogStream;
  q?: string;
}

/** The job as the SSE stream polls it: its view and how many lines it has numbered so far. */
export interface JobLogState {
  job: JobView;
  /** The next sequence number the job will use: lines 0..nextSequence-1 exist (or were dropped). */
  nextSequence: number;
  /**
   * A DAG run's task rows as one string (id, status, attempts and times of each), which changes
   * whenever any of them does: the stream reads the tasks themselves only then. Absent for a job
   * that is not a run.
   */
  tasksKey?: string;
}

interface LineRow {
  sequence_num: number;
  stream: LogStream;
  timestamp: Date;
  message: string;
}

interface PageQuery {
  jobId: string;
  order: LogOrder;
  /** Exclusive bound in the direction of travel (asc: `>`, desc: `<`); null: from the start. */
  after: number | null;
  /** Exclusive upper bound (a raw download's snapshot of the job's numbering). */
  below?: number;
  stream?: LogStream;
  /** Case-insensitive substring. */
  q?: string;
  limit: number;
}

export class LogsService implements LogsApi {
  readonly #db: Kysely<DB>;
  /** Not needed by this backend (lines carry their own times); the seam every backend shares. */
  readonly #clock: Clock;

  constructor(db: Kysely<DB>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /**
   * Checks that the user may read this job's logs; returns the job. For callers that go on with
   * the internal methods (`replay`, `state`), such as the SSE stream.
   */
  async open(userId: string, workflowId: string, jobId: string): Promise<JobView> {
    return toJobView(await this.#resolve(userId, workflowId, jobId));
  }

  /** A page of lines, newest first by default. `cursor` is null on the last page. */
  async read(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogReadOptions,
  ): Promise<{ logs: LogLine[]; cursor: string | null }> {
    const after = options.cursor !== undefined ? decodeLogCursor(options.cursor, options.order) : null;
    await this.#resolve(userId, workflowId, jobId);
    const rows = await this.#page({
      jobId,
      order: options.order,
      after,
      stream: options.stream,
      limit: options.limit + 1,
    });
    const page = rows.slice(0, options.limit);
    return {
      logs: page.map(toLogLine),
      cursor: rows.length > options.limit ? encodeLogCursor(page.at(-1)!.sequence_num, options.order) : null,
    };
  }

  /** Lines containing `q` (case-insensitive), oldest first, with highlight ranges. */
  async search(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogSearchOptions,
  ): Promise<{ logs: LogSearchHit[]; cursor: string | null }> {
    const after = options.cursor !== undefined ? decodeLogCursor(options.cursor, 'asc') : null;
    await this.#resolve(userId, workflowId, jobId);
    const rows = await this.#page({
      jobId,
      order: 'asc',
      after,
      stream: options.stream,
      q: options.q,
      limit: options.limit + 1,
    });
    const page = rows.slice(0, options.limit);
    return {
      logs: page.map((row) => ({ ...toLogLine(row), highlights: highlightRanges(row.message, options.q) })),
      cursor: rows.length > options.limit ? encodeLogCursor(page.at(-1)!.sequence_num, 'asc') : null,
    };
  }

  /**
   * The job's lines as a download, oldest first, in string chunks (one per 1000 lines). Access is
   * checked before this resolves, so a 404 or 412 is a real HTTP answer, never a broken stream.
   * The download covers the lines numbered when it starts: a running job's later lines are not
   * chased, so a fast writer cannot keep the download going forever.
   *
   * txt: each message on its own line. jsonl: one `{sequence_num, stream, timestamp, message}` per
   * line. json: `{"job_id":…,"workflow_id":…,"logs":[…]}`, written as it goes.
   */
  async rawStream(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogRawOptions,
  ): Promise<AsyncIterable<string>> {
    const job = await this.#resolve(userId, workflowId, jobId);
    const below = job.next_sequence_num;
    const pages = (): AsyncGenerator<LineRow[]> => this.#pages({ ...options, jobId, below });
    switch (options.format) {
      case 'txt':
        return (async function* () {
          for await (const rows of pages()) yield rows.map((r) => `${r.message}\n`).join('');
        })();
      case 'jsonl':
        return (async function* () {
          for await (const rows of pages())
            yield rows.map((r) => `${JSON.stringify(toLogLine(r))}\n`).join('');
        })();
      case 'json':
        return (async function* () {
          yield `{"job_id":${JSON.stringify(job.id)},"workflow_id":${JSON.stringify(job.workflow_id)},"logs":[`;
          let first = true;
          for await (const rows of pages()) {
            const elements = rows.map((r) => JSON.stringify(toLogLine(r))).join(',');
            yield first ? elements : `,${elements}`;
            first = false;
          }
          yield ']}\n';
        })();
    }
  }

  /** Up to `limit` lines after `afterSequence`, oldest first. Internal: access is already checked. */
  async replay(jobId: string, afterSequence: number, limit: number): Promise<LogLine[]> {
    const rows = await this.#page({
      jobId,
      order: 'asc',
      after: afterSequence < 0 ? null : afterSequence,
      limit,
    });
    return rows.map(toLogLine);
  }

  /** The job's current view and numbering, or null once it is gone. Internal: access is already checked. */
  async state(jobId: string): Promise<JobLogState | null> {
    const row = await this.#db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!row) return null;
    const state: JobLogState = { job: toJobView(row), nextSequence: row.next_sequence_num };
    if (row.kind !== 'DAG') return state;
    // Small columns only, over jobs_run_task_uq (run_id, …): outputs are written with a status.
    const tasks = await this.#db
      .selectFrom('jobs')
      .select(['id', 'status', 'attempts', 'updated_at', 'started_at', 'completed_at'])
      .where('run_id', '=', jobId)
      .orderBy('id')
      .execute();
    state.tasksKey = tasks
      .map(
        (t) =>
          `${t.id}:${t.status}:${t.attempts}:${t.updated_at.getTime()}:${t.started_at?.getTime() ?? ''}:${t.completed_at?.getTime() ?? ''}`,
      )
      .join(',');
    return state;
  }

  async #resolve(userId: string, workflowId: string, jobId: string): Promise<JobRow> {
    const row = await this.#db
      .selectFrom('jobs')
      .innerJoin('workflows', 'workflows.id', 'jobs.workflow_id')
      .selectAll('jobs')
      .select('workflows.log_retention')
      .where('jobs.id', '=', jobId)
      .where('jobs.workflow_id', '=', workflowId)
      .where('jobs.user_id', '=', userId)
      .where('workflows.user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Job');
    if (!row.log_retention) {
      throw new PreconditionFailedError('log retention is off for this workflow');
    }
    const { log_retention: _retention, ...job } = row;
    return job;
  }

  async *#pages(query: Omit<PageQuery, 'order' | 'after' | 'limit'>): AsyncGenerator<LineRow[]> {
    let after: number | null = null;
    for (;;) {
      const rows = await this.#page({ ...query, order: 'asc', after, limit: LOG_PAGE_LINES });
      if (rows.length > 0) yield rows;
      if (rows.length < LOG_PAGE_LINES) return;
      after = rows.at(-1)!.sequence_num;
    }
  }

  /**
   * jobLogsPage: one keyset page of a job's lines in either direction, optionally one stream and
   * a substring. Index: job_logs_job_seq_idx (job_id, sequence_num), an ordered range scan per
   * partition merged in order (Merge Append), stopped at LIMIT; filters apply to that range.
   */
  async #page(q: PageQuery): Promise<LineRow[]> {
    const asc = q.order === 'asc';
    const { rows } = await sql<LineRow>`
      SELECT sequence_num, stream, "timestamp", message
      FROM job_logs
      WHERE job_id = ${q.jobId}
        ${q.after !== null ? (asc ? sql`AND sequence_num > ${q.after}` : sql`AND sequence_num < ${q.after}`) : sql``}
        ${q.below !== undefined ? sql`AND sequence_num < ${q.below}` : sql``}
        ${q.stream !== undefined ? sql`AND stream = ${q.stream}` : sql``}
        ${q.q !== undefined ? sql`AND message ILIKE ${`%${escapeLike(q.q)}%`} ESCAPE '\\'` : sql``}
      ORDER BY sequence_num ${asc ? sql`ASC` : sql`DESC`}
      LIMIT ${q.limit}`.execute(this.#db);
    return rows;
  }
}

function toLogLine(row: LineRow): LogLine {
  return {
    sequence_num: Number(row.sequence_num),
    stream: row.stream,
    timestamp: row.timestamp.toISOString(),
    message: row.message,
  };
}

/** `%`, `_` and the escape character itself match literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `[start, end)` UTF-16 offsets of every non-overlapping case-insensitive occurrence of `q` in
 * `message`, left to right. Matching is Unicode-aware (a surrogate pair is never split).
 */
export function highlightRanges(message: string, q: string): [number, number][] {
  if (q.length === 0) return [];
  const pattern = new RegExp(
    q.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`),
    'giu',
  );
  const ranges: [number, number][] = [];
  for (const match of message.matchAll(pattern)) {
    ranges.push([match.index, match.index + match[0].length]);
  }
  return ranges;
}

const ORDER_TAG: Record<LogOrder, string> = { asc: 'a', desc: 'd' };

export function encodeLogCursor(sequence: number, order: LogOrder): string {
  return Buffer.from(JSON.stringify({ s: sequence, o: ORDER_TAG[order] })).toString('base64url');
}

/** The sequence number a page continues after; anything we did not make is a 400 on `cursor`. */
export function decodeLogCursor(cursor: string, order: LogOrder): number {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'o' in value &&
    's' in value &&
    typeof value.s === 'number' &&
    Number.isSafeInteger(value.s) &&
    value.s >= 0 &&
    (value.o === 'a' || value.o === 'd')
  ) {
    if (value.o !== ORDER_TAG[order]) {
      throw ValidationError.single(
        'cursor',
        `was returned for order=${value.o === 'a' ? 'asc' : 'desc'}; use that order or start without a cursor`,
      );
    }
    return value.s;
  }
  throw ValidationError.single('cursor', 'is not a cursor returned by this API');
}

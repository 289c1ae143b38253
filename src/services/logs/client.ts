/**
 * LogsApi over RPC: the same objects LogsService returns, the same errors it throws. The raw
 * download is a server stream: its deadline covers opening it (the access check, up to the first
 * chunk), not the whole download, which may rightly take longer; a caller that stops reading
 * (the HTTP client left) cancels the stream.
 */
import { Code, ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect';
import { LogsService } from '../../gen/chronoverse/jobs/v1/logs_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import { fromRpcError } from '../../platform/rpc/errors.ts';
import type { JobView } from '../jobs/codec.ts';
import { jobFromWire } from '../jobs/wire.ts';
import type { LogsApi } from './api.ts';
import type {
  JobLogState,
  LogLine,
  LogRawOptions,
  LogReadOptions,
  LogSearchHit,
  LogSearchOptions,
} from './service.ts';
import { formatToWire, hitFromWire, lineFromWire, orderToWire, streamToWire } from './wire.ts';

const SERVICE = 'jobs';

export class LogsClient implements LogsApi {
  readonly #rpc: Client<typeof LogsService>;
  readonly #call = rpcCall(SERVICE);
  readonly #openTimeoutMs: number;

  constructor(transport: Transport, options: { timeoutMs: number }) {
    this.#rpc = createClient(LogsService, transport);
    this.#openTimeoutMs = options.timeoutMs;
  }

  open(userId: string, workflowId: string, jobId: string): Promise<JobView> {
    return this.#call(async () =>
      jobFromWire((await this.#rpc.openJobLogs({ ref: { userId, workflowId, jobId } })).job),
    );
  }

  read(
    userId: string,
    workflowId: string,
    jobId: string,
    o: LogReadOptions,
  ): Promise<{ logs: LogLine[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.readJobLogs({
        ref: { userId, workflowId, jobId },
        cursor: o.cursor,
        limit: o.limit,
        stream: streamToWire(o.stream),
        order: orderToWire(o.order),
      });
      return { logs: res.logs.map(lineFromWire), cursor: res.cursor ?? null };
    });
  }

  search(
    userId: string,
    workflowId: string,
    jobId: string,
    o: LogSearchOptions,
  ): Promise<{ logs: LogSearchHit[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.searchJobLogs({
        ref: { userId, workflowId, jobId },
        q: o.q,
        stream: streamToWire(o.stream),
        cursor: o.cursor,
        limit: o.limit,
      });
      return { logs: res.logs.map(hitFromWire), cursor: res.cursor ?? null };
    });
  }

  async rawStream(
    userId: string,
    workflowId: string,
    jobId: string,
    o: LogRawOptions,
  ): Promise<AsyncIterable<string>> {
    const abort = new AbortController();
    const stream = this.#rpc.streamRawJobLogs(
      {
        ref: { userId, workflowId, jobId },
        format: formatToWire(o.format),
        stream: streamToWire(o.stream),
        q: o.q,
      },
      { signal: abort.signal, timeoutMs: 0 },
    );
    const it = stream[Symbol.asyncIterator]();
    const timer = setTimeout(
      () => abort.abort(new ConnectError('the raw log stream did not open in time', Code.DeadlineExceeded)),
      this.#openTimeoutMs,
    );
    let first: IteratorResult<{ data: string }>;
    try {
      first = await it.next();
    } catch (err) {
      abort.abort();
      throw fromRpcError(err, SERVICE);
    } finally {
      clearTimeout(timer);
    }
    return (async function* () {
      try {
        for (let next = first; !next.done; next = await it.next()) yield next.value.data;
      } catch (err) {
        throw fromRpcError(err, SERVICE);
      } finally {
        abort.abort(); // ends the call if the reader stopped early; a no-op once it completed
      }
    })();
  }

  replay(jobId: string, afterSequence: number, limit: number): Promise<LogLine[]> {
    return this.#call(async () =>
      (await this.#rpc.replayJobLogs({ jobId, afterSequence: BigInt(afterSequence), limit })).logs.map(
        lineFromWire,
      ),
    );
  }

  state(jobId: string): Promise<JobLogState | null> {
    return this.#call(async () => {
      const res = await this.#rpc.getJobLogState({ jobId });
      if (!res.job) return null;
      const state: JobLogState = { job: jobFromWire(res.job), nextSequence: Number(res.nextSequence) };
      if (res.tasksKey !== undefined) state.tasksKey = res.tasksKey;
      return state;
    });
  }
}

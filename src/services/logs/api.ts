/**
 * What the gateway needs of the job-log read side (served by the jobs role). `LogsService`
 * implements it in process; the generic adapter over its .proto (src/platform/rpc/service-adapter.ts) over RPC.
 */
import type { JobView } from '../jobs/codec.ts';
import type {
  JobLogState,
  LogLine,
  LogRawOptions,
  LogReadOptions,
  LogSearchHit,
  LogSearchOptions,
} from './service.ts';

export interface LogsApi {
  /** Checks that the user may read this job's logs; returns the job. */
  open(userId: string, workflowId: string, jobId: string): Promise<JobView>;
  read(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogReadOptions,
  ): Promise<{ logs: LogLine[]; cursor: string | null }>;
  search(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogSearchOptions,
  ): Promise<{ logs: LogSearchHit[]; cursor: string | null }>;
  /** Resolves once access is checked (a 404/412 is an answer, never a broken stream). */
  rawStream(
    userId: string,
    workflowId: string,
    jobId: string,
    options: LogRawOptions,
  ): Promise<AsyncIterable<string>>;
  /** Internal (access already checked): up to `limit` lines after `afterSequence`, oldest first. */
  replay(jobId: string, afterSequence: number, limit: number): Promise<LogLine[]>;
  /** Internal (access already checked): the job's view and numbering, or null once it is gone. */
  state(jobId: string): Promise<JobLogState | null>;
}

/** chronoverse.jobs.v1.LogsService served by a LogsApi (the in-process LogsService). */
import { LogsService } from '../../gen/chronoverse/jobs/v1/logs_pb.js';
import type { JobLogsRef } from '../../gen/chronoverse/jobs/v1/logs_pb.js';
import { required } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import { jobToWire } from '../jobs/wire.ts';
import type { LogsApi } from './api.ts';
import type { LogRawOptions, LogReadOptions, LogSearchOptions } from './service.ts';
import { formatFromWire, hitToWire, lineToWire, orderFromWire, streamFromWire } from './wire.ts';

function ids(ref: JobLogsRef | undefined): [string, string, string] {
  const r = required(ref, 'job reference');
  return [r.userId, r.workflowId, r.jobId];
}

export function logsRpc(logs: LogsApi): ServiceRegistration {
  return {
    typeName: LogsService.typeName,
    register: (router) =>
      router.service(LogsService, {
        openJobLogs: async (req) => ({ job: jobToWire(await logs.open(...ids(req.ref))) }),
        readJobLogs: async (req) => {
          const options: LogReadOptions = { limit: req.limit, order: orderFromWire(req.order) };
          if (req.cursor !== undefined) options.cursor = req.cursor;
          if (req.stream !== undefined) options.stream = streamFromWire(req.stream);
          const page = await logs.read(...ids(req.ref), options);
          return {
            logs: page.logs.map(lineToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        searchJobLogs: async (req) => {
          const options: LogSearchOptions = { q: req.q, limit: req.limit };
          if (req.cursor !== undefined) options.cursor = req.cursor;
          if (req.stream !== undefined) options.stream = streamFromWire(req.stream);
          const page = await logs.search(...ids(req.ref), options);
          return { logs: page.logs.map(hitToWire), ...(page.cursor !== null ? { cursor: page.cursor } : {}) };
        },
        // Access is checked (and may fail) before the first chunk, as the client expects.
        streamRawJobLogs: async function* (req, ctx) {
          const options: LogRawOptions = { format: formatFromWire(req.format) };
          if (req.stream !== undefined) options.stream = streamFromWire(req.stream);
          if (req.q !== undefined) options.q = req.q;
          const chunks = await logs.rawStream(...ids(req.ref), options);
          for await (const data of chunks) {
            if (ctx.signal.aborted) return;
            yield { data };
          }
        },
        replayJobLogs: async (req) => ({
          logs: (await logs.replay(req.jobId, Number(req.afterSequence), req.limit)).map(lineToWire),
        }),
        getJobLogState: async (req) => {
          const state = await logs.state(req.jobId);
          if (!state) return {};
          return {
            job: jobToWire(state.job),
            nextSequence: BigInt(state.nextSequence),
            ...(state.tasksKey !== undefined ? { tasksKey: state.tasksKey } : {}),
          };
        },
      }),
  };
}

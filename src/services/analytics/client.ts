/** AnalyticsApi over RPC: the same objects AnalyticsService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { AnalyticsService } from '../../gen/chronoverse/analytics/v1/analytics_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { AnalyticsApi } from './api.ts';
import type {
  AnalyticsSummary,
  TaskAnalytics,
  TimeseriesOptions,
  TimeseriesPoint,
  WorkflowAnalytics,
} from './types.ts';
import { bucketToWire, pointFromWire, summaryFromWire, taskAnalyticsFromWire } from './wire.ts';

const SERVICE = 'analytics';

export class AnalyticsClient implements AnalyticsApi {
  readonly #rpc: Client<typeof AnalyticsService>;
  readonly #call = rpcCall(SERVICE);

  constructor(transport: Transport) {
    this.#rpc = createClient(AnalyticsService, transport);
  }

  user(userId: string): Promise<AnalyticsSummary> {
    return this.#call(async () => summaryFromWire(await this.#rpc.getUserAnalytics({ userId })));
  }

  workflow(userId: string, workflowId: string): Promise<WorkflowAnalytics> {
    return this.#call(async () => {
      const res = await this.#rpc.getWorkflowAnalytics({ userId, workflowId });
      return { workflow_id: res.workflowId ?? workflowId, ...summaryFromWire(res) };
    });
  }

  timeseries(userId: string, workflowId: string | null, o: TimeseriesOptions): Promise<TimeseriesPoint[]> {
    return this.#call(async () => {
      const res = await this.#rpc.getTimeseries({
        userId,
        workflowId: workflowId ?? undefined,
        from: o.from,
        to: o.to,
        bucket: bucketToWire(o.bucket),
      });
      return res.points.map(pointFromWire);
    });
  }

  tasks(userId: string, workflowId: string): Promise<TaskAnalytics> {
    return this.#call(async () =>
      taskAnalyticsFromWire(await this.#rpc.getTaskAnalytics({ userId, workflowId })),
    );
  }
}

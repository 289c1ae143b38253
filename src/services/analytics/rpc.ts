/** chronoverse.analytics.v1.AnalyticsService served by an AnalyticsApi (the in-process AnalyticsService). */
import { AnalyticsService } from '../../gen/chronoverse/analytics/v1/analytics_pb.js';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { AnalyticsApi } from './api.ts';
import type { TimeseriesOptions } from './types.ts';
import { bucketFromWire, pointToWire, summaryToWire, taskAnalyticsToWire } from './wire.ts';

export function analyticsRpc(analytics: AnalyticsApi): ServiceRegistration {
  return {
    typeName: AnalyticsService.typeName,
    register: (router) =>
      router.service(AnalyticsService, {
        getUserAnalytics: async (req) => summaryToWire(await analytics.user(req.userId)),
        getWorkflowAnalytics: async (req) => {
          const { workflow_id, ...summary } = await analytics.workflow(req.userId, req.workflowId);
          return summaryToWire(summary, workflow_id);
        },
        getTimeseries: async (req) => {
          const options: TimeseriesOptions = { bucket: bucketFromWire(req.bucket) };
          if (req.from !== undefined) options.from = req.from;
          if (req.to !== undefined) options.to = req.to;
          const points = await analytics.timeseries(req.userId, req.workflowId ?? null, options);
          return { points: points.map(pointToWire) };
        },
        getTaskAnalytics: async (req) =>
          taskAnalyticsToWire(await analytics.tasks(req.userId, req.workflowId)),
      }),
  };
}

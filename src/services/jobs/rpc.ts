/** chronoverse.jobs.v1.JobsService served by a JobsApi (the in-process JobsService). */
import { JOB_STATES, JOB_TRIGGERS } from '../../domain/job-state.ts';
import { JobStatusSchema, JobTriggerSchema, JobsService } from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import { fromEnum } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { JobsApi } from './api.ts';
import type { JobListFilters } from './service.ts';
import { jobResultToWire, jobToWire } from './wire.ts';

export function jobsRpc(jobs: JobsApi): ServiceRegistration {
  return {
    typeName: JobsService.typeName,
    register: (router) =>
      router.service(JobsService, {
        listJobs: async (req) => {
          const filters: JobListFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          if (req.status !== undefined) filters.status = fromEnum(JobStatusSchema, req.status, JOB_STATES);
          if (req.trigger !== undefined)
            filters.trigger = fromEnum(JobTriggerSchema, req.trigger, JOB_TRIGGERS);
          const page = await jobs.list(req.userId, req.workflowId, filters);
          return { jobs: page.jobs.map(jobToWire), ...(page.cursor !== null ? { cursor: page.cursor } : {}) };
        },
        getJob: async (req) => ({ job: jobToWire(await jobs.get(req.userId, req.workflowId, req.jobId)) }),
        runJobNow: async (req) =>
          jobResultToWire(await jobs.runNow(req.userId, req.workflowId, req.idempotencyKey)),
        cancelJob: async (req) => ({
          job: jobToWire(await jobs.cancel(req.userId, req.workflowId, req.jobId)),
        }),
        retryJob: async (req) =>
          jobResultToWire(await jobs.retry(req.userId, req.workflowId, req.jobId, req.idempotencyKey)),
      }),
  };
}

/** chronoverse.jobs.v1.JobsService served by a JobsApi (the in-process JobsService). */
import { JOB_STATES, JOB_TRIGGERS } from '../../domain/job-state.ts';
import { JobStatusSchema, JobTriggerSchema, JobsService } from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import { fromEnum, fromTimestamp } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { JobsApi } from './api.ts';
import type { AllJobsFilters, JobListFilters } from './service.ts';
import { artifactToWire, jobResultToWire, jobToWire, workflowJobToWire } from './wire.ts';

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
        listAllJobs: async (req) => {
          const filters: AllJobsFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          if (req.statuses.length > 0)
            filters.status = req.statuses.map((s) => fromEnum(JobStatusSchema, s, JOB_STATES));
          if (req.workflowId !== undefined) filters.workflow_id = req.workflowId;
          if (req.trigger !== undefined)
            filters.trigger = fromEnum(JobTriggerSchema, req.trigger, JOB_TRIGGERS);
          if (req.since) filters.since = new Date(fromTimestamp(req.since));
          if (req.until) filters.until = new Date(fromTimestamp(req.until));
          const page = await jobs.listAll(req.userId, filters);
          return {
            jobs: page.jobs.map(workflowJobToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getJob: async (req) => ({
          job: jobToWire(await jobs.get(req.userId, req.workflowId || null, req.jobId)),
        }),
        runJobNow: async (req) =>
          jobResultToWire(await jobs.runNow(req.userId, req.workflowId, req.idempotencyKey, req.version)),
        cancelJob: async (req) => ({
          job: jobToWire(await jobs.cancel(req.userId, req.workflowId, req.jobId)),
        }),
        listArtifacts: async (req) => ({
          artifacts: (await jobs.listArtifacts(req.userId, req.workflowId, req.jobId)).map(artifactToWire),
        }),
        getArtifact: async (req) => ({
          artifact: artifactToWire(
            await jobs.getArtifact(req.userId, req.workflowId, req.jobId, req.artifactId),
          ),
        }),
        retryJob: async (req) =>
          jobResultToWire(await jobs.retry(req.userId, req.workflowId, req.jobId, req.idempotencyKey)),
      }),
  };
}

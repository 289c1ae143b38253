/** JobsApi over RPC: the same objects JobsService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { JobStatusSchema, JobTriggerSchema, JobsService } from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import { toEnum } from '../../platform/rpc/codec.ts';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { IdempotentResult } from '../idempotency.ts';
import type { JobsApi } from './api.ts';
import type { JobView, WorkflowJobView } from './codec.ts';
import type { AllJobsFilters, JobListFilters } from './service.ts';
import { artifactFromWire, jobFromWire, jobResultFromWire, workflowJobFromWire } from './wire.ts';
import type { ArtifactView } from './artifacts.ts';

export class JobsClient implements JobsApi {
  readonly #rpc: Client<typeof JobsService>;
  readonly #call = rpcCall('jobs');

  constructor(transport: Transport) {
    this.#rpc = createClient(JobsService, transport);
  }

  list(
    userId: string,
    workflowId: string,
    f: JobListFilters,
  ): Promise<{ jobs: JobView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listJobs({
        userId,
        workflowId,
        limit: f.limit,
        cursor: f.cursor,
        status: f.status !== undefined ? toEnum(JobStatusSchema, f.status) : undefined,
        trigger: f.trigger !== undefined ? toEnum(JobTriggerSchema, f.trigger) : undefined,
      });
      return { jobs: res.jobs.map(jobFromWire), cursor: res.cursor ?? null };
    });
  }

  listAll(userId: string, f: AllJobsFilters): Promise<{ jobs: WorkflowJobView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listAllJobs({
        userId,
        limit: f.limit,
        cursor: f.cursor,
        statuses: (f.status ?? []).map((s) => toEnum(JobStatusSchema, s)),
        workflowId: f.workflow_id,
        trigger: f.trigger !== undefined ? toEnum(JobTriggerSchema, f.trigger) : undefined,
        since: f.since !== undefined ? timestampFromDate(f.since) : undefined,
        until: f.until !== undefined ? timestampFromDate(f.until) : undefined,
      });
      return { jobs: res.jobs.map(workflowJobFromWire), cursor: res.cursor ?? null };
    });
  }

  get(userId: string, workflowId: string | null, jobId: string): Promise<JobView> {
    // An empty workflow id on the wire: any of the caller's workflows (GetJobRequest).
    return this.#call(async () =>
      jobFromWire((await this.#rpc.getJob({ userId, workflowId: workflowId ?? '', jobId })).job),
    );
  }

  listArtifacts(userId: string, workflowId: string, jobId: string): Promise<ArtifactView[]> {
    return this.#call(async () =>
      (await this.#rpc.listArtifacts({ userId, workflowId, jobId })).artifacts.map((a) =>
        artifactFromWire(a),
      ),
    );
  }

  getArtifact(userId: string, workflowId: string, jobId: string, artifactId: string): Promise<ArtifactView> {
    return this.#call(async () =>
      artifactFromWire((await this.#rpc.getArtifact({ userId, workflowId, jobId, artifactId })).artifact),
    );
  }

  runNow(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
    version?: number,
  ): Promise<IdempotentResult<JobView>> {
    return this.#call(async () =>
      jobResultFromWire(await this.#rpc.runJobNow({ userId, workflowId, idempotencyKey, version })),
    );
  }

  cancel(userId: string, workflowId: string, jobId: string): Promise<JobView> {
    return this.#call(async () =>
      jobFromWire((await this.#rpc.cancelJob({ userId, workflowId, jobId })).job),
    );
  }

  retry(
    userId: string,
    workflowId: string,
    jobId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<JobView>> {
    return this.#call(async () =>
      jobResultFromWire(await this.#rpc.retryJob({ userId, workflowId, jobId, idempotencyKey })),
    );
  }
}

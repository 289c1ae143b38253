/**
 * What the gateway needs of the jobs service. `JobsService` implements it in process; the generic adapter over its .proto (src/platform/rpc/service-adapter.ts)
 * over RPC, returning the very same objects.
 */
import type { IdempotentResult } from '../idempotency.ts';
import type { ArtifactView } from './artifacts.ts';
import type { JobView, WorkflowJobView } from './codec.ts';
import type { AllJobsFilters, JobListFilters } from './service.ts';

export interface JobsApi {
  list(
    userId: string,
    workflowId: string,
    filters: JobListFilters,
  ): Promise<{ jobs: JobView[]; cursor: string | null }>;
  /** The caller's jobs across all their workflows, newest first. */
  listAll(
    userId: string,
    filters: AllJobsFilters,
  ): Promise<{ jobs: WorkflowJobView[]; cursor: string | null }>;
  /** One of the caller's jobs; `workflowId` null: whichever workflow of theirs it belongs to. */
  get(userId: string, workflowId: string | null, jobId: string): Promise<JobView>;
  /** The artifacts of one of the caller's jobs (every attempt), oldest first. */
  listArtifacts(userId: string, workflowId: string, jobId: string): Promise<ArtifactView[]>;
  /** One artifact of one of the caller's jobs, with a presigned download URL when the store has them. */
  getArtifact(userId: string, workflowId: string, jobId: string, artifactId: string): Promise<ArtifactView>;
  /** A MANUAL run of the current version, or of `version` (400 on `version` when it has none such). */
  runNow(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
    version?: number,
  ): Promise<IdempotentResult<JobView>>;
  cancel(userId: string, workflowId: string, jobId: string): Promise<JobView>;
  retry(
    userId: string,
    workflowId: string,
    jobId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<JobView>>;
}

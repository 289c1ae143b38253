/**
 * Job hooks: a workflow's jobs (filters, cursor), runs across all workflows (`GET /jobs`), one job,
 * its artifacts, run now, cancel, retry.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { API_BASE, api } from './client.ts';
import type { Artifact, Job, JobPage, JobState, JobTrigger, QueryOf, RunPage } from './types.ts';
import { REFRESH_MS, workflowKeys } from './workflows.ts';

export type JobListParams = QueryOf<'/api/v1/workflows/{id}/jobs'>;

export const jobKeys = {
  all: (workflowId: string) => ['jobs', workflowId] as const,
  list: (workflowId: string, params: JobListParams) => ['jobs', workflowId, 'list', params] as const,
  one: (workflowId: string, jobId: string) => ['jobs', workflowId, 'one', jobId] as const,
  artifacts: (workflowId: string, jobId: string) => ['jobs', workflowId, 'artifacts', jobId] as const,
};

/** `GET /jobs`: every workflow's jobs, newest first (docs/api.md "Jobs"). */
export interface RunListParams {
  /** Any of these statuses (sent comma-separated); all when empty. */
  status?: readonly JobState[];
  workflow_id?: string;
  trigger?: JobTrigger;
  /** RFC 3339; jobs from this time on. */
  since?: string;
  /** RFC 3339; jobs before this time (exclusive). */
  until?: string;
  limit?: number;
  cursor?: string;
}

export const runKeys = {
  all: ['runs'] as const,
  list: (params: RunListParams) => ['runs', 'list', params] as const,
};

export function listRuns(params: RunListParams, signal?: AbortSignal) {
  const { status, ...rest } = params;
  return api.get<RunPage>('/jobs', {
    query: { ...rest, status: status && status.length > 0 ? status.join(',') : undefined },
    signal,
  });
}

export function useRuns(params: RunListParams, options: { refetchInterval?: number | false } = {}) {
  return useQuery({
    queryKey: runKeys.list(params),
    queryFn: ({ signal }) => listRuns(params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: options.refetchInterval ?? REFRESH_MS,
  });
}

const base = (workflowId: string) => `/workflows/${encodeURIComponent(workflowId)}/jobs`;

export function useJobs(
  workflowId: string,
  params: JobListParams,
  options: { refetchInterval?: number | false } = {},
) {
  return useQuery({
    queryKey: jobKeys.list(workflowId, params),
    queryFn: ({ signal }) => api.get<JobPage>(base(workflowId), { query: { ...params }, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: options.refetchInterval ?? REFRESH_MS,
  });
}

export function useJob(
  workflowId: string,
  jobId: string,
  options: { refetchInterval?: number | false | ((job: Job | undefined) => number | false) } = {},
) {
  const interval = options.refetchInterval;
  return useQuery({
    queryKey: jobKeys.one(workflowId, jobId),
    queryFn: ({ signal }) => api.get<Job>(`${base(workflowId)}/${encodeURIComponent(jobId)}`, { signal }),
    refetchInterval:
      typeof interval === 'function' ? (query) => interval(query.state.data) : (interval ?? REFRESH_MS),
  });
}

/** The job's artifacts (docs/artifacts.md); `refetchInterval` while the job may still add some. */
export function useArtifacts(
  workflowId: string,
  jobId: string,
  options: { enabled?: boolean; refetchInterval?: number | false } = {},
) {
  return useQuery({
    queryKey: jobKeys.artifacts(workflowId, jobId),
    queryFn: ({ signal }) =>
      api.get<{ artifacts: Artifact[] }>(`${base(workflowId)}/${encodeURIComponent(jobId)}/artifacts`, {
        signal,
      }),
    enabled: options.enabled ?? true,
    refetchInterval: options.refetchInterval ?? false,
  });
}

/**
 * The artifact's bytes through the gateway (`…/content`): same origin, so the session cookie
 * authenticates the plain link, whichever store keeps it.
 */
export function artifactDownloadUrl(workflowId: string, jobId: string, artifactId: string): string {
  return `${API_BASE}${base(workflowId)}/${encodeURIComponent(jobId)}/artifacts/${encodeURIComponent(artifactId)}/content`;
}

function useJobMutation<V>(workflowId: string, request: (vars: V) => Promise<Job>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: request,
    onSuccess: (job) => {
      client.setQueryData(jobKeys.one(workflowId, job.id), job);
      void client.invalidateQueries({ queryKey: jobKeys.all(workflowId) });
      // The runs list and the workflows' recent runs show this job too.
      void client.invalidateQueries({ queryKey: runKeys.all });
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

/** Run now (a MANUAL job): the current version, or `version` (docs/api.md "Versions"). */
export function useRunNow(workflowId: string) {
  return useJobMutation(
    workflowId,
    ({ idempotencyKey, version }: { idempotencyKey: string; version?: number }) =>
      api.post<Job>(`${base(workflowId)}/schedule`, version === undefined ? undefined : { version }, {
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
  );
}

export function useCancelJob(workflowId: string) {
  return useJobMutation(workflowId, ({ jobId }: { jobId: string }) =>
    api.post<Job>(`${base(workflowId)}/${encodeURIComponent(jobId)}/cancel`),
  );
}

export function useRetryJob(workflowId: string) {
  return useJobMutation(workflowId, ({ jobId }: { jobId: string }) =>
    api.post<Job>(`${base(workflowId)}/${encodeURIComponent(jobId)}/retry`),
  );
}

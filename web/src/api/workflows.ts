/** Workflow hooks: list (filters, cursor), one, create, update, terminate, rebuild, pause, resume, delete, preview. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client.ts';
import type { QueryOf, Workflow, WorkflowPage } from './types.ts';

/** Overview and detail pages refresh this often (milliseconds). */
export const REFRESH_MS = 5_000;

/** `GET /workflows`'s query; `terminated` as a boolean (sent as `true`/`false`). */
export type WorkflowListParams = Omit<QueryOf<'/api/v1/workflows'>, 'terminated'> & { terminated?: boolean };

export const workflowKeys = {
  all: ['workflows'] as const,
  list: (params: WorkflowListParams) => ['workflows', 'list', params] as const,
  one: (id: string) => ['workflows', 'one', id] as const,
};

export function listWorkflows(params: WorkflowListParams, signal?: AbortSignal) {
  return api.get<WorkflowPage>('/workflows', { query: { ...params }, signal });
}

export function useWorkflows(params: WorkflowListParams, options: { refetchInterval?: number | false } = {}) {
  return useQuery({
    queryKey: workflowKeys.list(params),
    queryFn: ({ signal }) => listWorkflows(params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: options.refetchInterval ?? REFRESH_MS,
  });
}

export function useWorkflow(id: string, options: { refetchInterval?: number | false } = {}) {
  return useQuery({
    queryKey: workflowKeys.one(id),
    queryFn: ({ signal }) => api.get<Workflow>(`/workflows/${encodeURIComponent(id)}`, { signal }),
    refetchInterval: options.refetchInterval ?? REFRESH_MS,
  });
}

/** The create/update body as docs/api.md describes it. */
export type WorkflowBody = Record<string, unknown>;

export function useCreateWorkflow() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: WorkflowBody; idempotencyKey: string }) =>
      api.post<Workflow>('/workflows', body, { headers: { 'Idempotency-Key': idempotencyKey } }),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

export function useUpdateWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: WorkflowBody; idempotencyKey: string }) =>
      api.put<Workflow>(`/workflows/${encodeURIComponent(id)}`, body, {
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

export function useTerminateWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.patch<Workflow>(`/workflows/${encodeURIComponent(id)}`),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
      void client.invalidateQueries({ queryKey: ['jobs', id] });
      void client.invalidateQueries({ queryKey: ['runs'] }); // its pending jobs are canceled
    },
  });
}

/** `POST /workflows/{id}/rebuild`: a failed build is queued again (202; 412 if terminated or not FAILED). */
export function useRebuildWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ idempotencyKey }: { idempotencyKey: string }) =>
      api.post<Workflow>(`/workflows/${encodeURIComponent(id)}/rebuild`, undefined, {
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

export function useDeleteWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete<void>(`/workflows/${encodeURIComponent(id)}`),
    onSuccess: () => {
      client.removeQueries({ queryKey: workflowKeys.one(id) });
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

/** `POST /workflows/{id}/pause`: no runs until resumed; `note` is shown with it (idempotent). */
export function usePauseWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ note }: { note: string }) =>
      api.post<Workflow>(`/workflows/${encodeURIComponent(id)}/pause`, note.trim() ? { note } : {}),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
      void client.invalidateQueries({ queryKey: ['jobs', id] }); // its queued automatic runs are canceled
    },
  });
}

/** `POST /workflows/{id}/resume`: runs again from its next fire time (idempotent). */
export function useResumeWorkflow(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<Workflow>(`/workflows/${encodeURIComponent(id)}/resume`),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.all });
    },
  });
}

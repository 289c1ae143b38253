/** Workflow hooks: list (filters, cursor), one, create, update, terminate, rebuild, pause, resume, delete, preview, tick ledger, backfills. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from './client.ts';
import type {
  Backfill,
  BackfillPage,
  FireTime,
  QueryOf,
  TickPage,
  Workflow,
  WorkflowPage,
  WorkflowVersion,
  WorkflowVersionPage,
} from './types.ts';

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

/**
 * A workflow's versions, newest first. Keyed by the workflow's current version too: an edit that
 * made a new one refetches the list, and nothing else changes a version (no polling).
 */
export function useWorkflowVersions(id: string, current: number, cursor?: string) {
  return useQuery({
    queryKey: [...workflowKeys.one(id), 'versions', current, cursor ?? null] as const,
    queryFn: ({ signal }) =>
      api.get<WorkflowVersionPage>(`/workflows/${encodeURIComponent(id)}/versions`, {
        query: { limit: 10, ...(cursor ? { cursor } : {}) },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
}

/** One version of a workflow's definition; versions never change, so it is fetched once. */
export function useWorkflowVersion(id: string, n: number | null) {
  return useQuery({
    queryKey: [...workflowKeys.one(id), 'version', n] as const,
    queryFn: ({ signal }) =>
      api.get<WorkflowVersion>(`/workflows/${encodeURIComponent(id)}/versions/${n}`, { signal }),
    enabled: n !== null,
    staleTime: Infinity,
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

/** Waits until the form has been still this long before asking the server for a preview. */
const PREVIEW_DEBOUNCE_MS = 250;

/**
 * `POST /schedules/preview`: the next `count` fire times of a draft schedule (null: nothing to
 * ask), as the server will fire them, with its reason for any irregular one (daylight saving).
 * Asked once typing pauses; the previous answer stays shown meanwhile.
 */
export function useSchedulePreview(schedule: Record<string, unknown> | null, count = 5) {
  const key = schedule === null ? null : JSON.stringify(schedule);
  const [settled, setSettled] = useState(key);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(key), PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [key]);
  return useQuery({
    queryKey: ['schedule-preview', settled, count],
    queryFn: ({ signal }) =>
      api.post<{ fire_times: FireTime[] }>(
        '/schedules/preview',
        { schedule: JSON.parse(settled!) as unknown, count },
        { signal },
      ),
    enabled: settled !== null && settled === key,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** `GET /workflows/{id}/ticks`'s query (from, to, cursor, limit). */
export type TickParams = QueryOf<'/api/v1/workflows/{id}/ticks'>;

/** A page of the workflow's tick ledger (docs/api.md "Tick ledger"), refreshed as the scheduler adds to it. */
export function useTicks(id: string, params: TickParams) {
  return useQuery({
    queryKey: ['workflows', 'ticks', id, params] as const,
    queryFn: ({ signal }) =>
      api.get<TickPage>(`/workflows/${encodeURIComponent(id)}/ticks`, { query: { ...params }, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
  });
}

/** `POST /workflows/{id}/backfill`'s body (docs/api.md "Backfill"). */
export type BackfillRequest = {
  from: string;
  to: string;
  overlap?: Backfill['overlap'];
  max_parallel?: number;
};

const backfillKeys = {
  list: (id: string) => ['workflows', 'backfills', id] as const,
};

/** The workflow's backfills, newest first, with their progress (refreshed while any runs). */
export function useBackfills(id: string) {
  return useQuery({
    queryKey: backfillKeys.list(id),
    queryFn: ({ signal }) =>
      api.get<BackfillPage>(`/workflows/${encodeURIComponent(id)}/backfills`, {
        query: { limit: 20 },
        signal,
      }),
    refetchInterval: (query) =>
      query.state.data?.backfills.some((b) => b.status === 'RUNNING') ? REFRESH_MS : false,
  });
}

/** A dry run: the fire times a backfill of the range would run; starts nothing. */
export function useBackfillDryRun(id: string) {
  return useMutation({
    mutationFn: (body: BackfillRequest) =>
      api.post<{ fire_times: FireTime[] }>(`/workflows/${encodeURIComponent(id)}/backfill`, {
        ...body,
        dry_run: true,
      }),
  });
}

/** Starts a backfill: its runs appear with the workflow's jobs (trigger BACKFILL). */
export function useStartBackfill(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: BackfillRequest) =>
      api.post<Backfill>(`/workflows/${encodeURIComponent(id)}/backfill`, body),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: backfillKeys.list(id) });
      void client.invalidateQueries({ queryKey: ['jobs', id] });
    },
  });
}

/** Cancels a backfill: its unfinished runs are canceled, no more are created. */
export function useCancelBackfill(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (backfillId: string) =>
      api.post<Backfill>(
        `/workflows/${encodeURIComponent(id)}/backfills/${encodeURIComponent(backfillId)}/cancel`,
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: backfillKeys.list(id) });
      void client.invalidateQueries({ queryKey: ['jobs', id] });
    },
  });
}

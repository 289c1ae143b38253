/**
 * The overview's filters live in the URL (shareable, back button works); this turns them into the
 * `GET /workflows` query (docs/api.md "Workflows").
 */
import type { WorkflowListParams } from '../../api/workflows.ts';
import { WORKFLOW_KINDS, type BuildStatus, type WorkflowKind } from '../../api/types.ts';

export const STATE_FILTERS = ['', 'live', 'terminated'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];
export const BUILD_FILTERS = ['', 'QUEUED', 'STARTED', 'COMPLETED', 'FAILED', 'CANCELED'] as const;

export interface OverviewFilters {
  query: string;
  state: StateFilter;
  build: BuildStatus | '';
  kind: WorkflowKind | '';
  /** A label selector (docs/api.md "Labels"), as typed: `team=data,tier!=web`. */
  labels: string;
}

export const PAGE_SIZE = 20;

export function filtersFromSearch(params: URLSearchParams): OverviewFilters {
  const state = params.get('state') ?? '';
  const build = params.get('build') ?? '';
  const kind = params.get('kind') ?? '';
  return {
    query: params.get('q') ?? '',
    state: (STATE_FILTERS as readonly string[]).includes(state) ? (state as StateFilter) : '',
    build: (BUILD_FILTERS as readonly string[]).includes(build) ? (build as BuildStatus | '') : '',
    kind: (WORKFLOW_KINDS as readonly string[]).includes(kind) ? (kind as WorkflowKind) : '',
    labels: params.get('labels') ?? '',
  };
}

export function searchFromFilters(filters: OverviewFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.query.trim()) params.set('q', filters.query.trim());
  if (filters.state) params.set('state', filters.state);
  if (filters.build) params.set('build', filters.build);
  if (filters.kind) params.set('kind', filters.kind);
  if (filters.labels.trim()) params.set('labels', filters.labels.trim());
  return params;
}

export function listParams(filters: OverviewFilters, cursor: string | undefined): WorkflowListParams {
  const params: WorkflowListParams = { limit: PAGE_SIZE };
  const query = filters.query.trim();
  if (query) params.query = query.slice(0, 255);
  if (filters.kind) params.kind = filters.kind;
  if (filters.build) params.build_status = filters.build;
  if (filters.state === 'live') params.terminated = false;
  if (filters.state === 'terminated') params.terminated = true;
  // The server parses the selector (and answers a 400 on `labels` naming the problem).
  if (filters.labels.trim()) params.labels = filters.labels.trim();
  if (cursor) params.cursor = cursor;
  return params;
}

/**
 * The Runs page's filters live in the URL (shareable, back button works): `status` (comma-separated
 * job statuses), `workflow`, `trigger`, `since` and `until` (RFC 3339). This turns them into the
 * `GET /jobs` query and converts the time range to and from the `datetime-local` inputs, which hold
 * wall-clock time in the browser's zone.
 */
import type { RunListParams } from '../../api/jobs.ts';
import { JOB_STATES, JOB_TRIGGERS, type JobState, type JobTrigger } from '../../api/types.ts';

export interface RunFilters {
  status: JobState[];
  workflowId: string;
  trigger: JobTrigger | '';
  /** RFC 3339, or '' for no bound. */
  since: string;
  until: string;
}

export const RUNS_PAGE_SIZE = 25;

function isoOrEmpty(value: string | null): string {
  if (!value) return '';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

export function runFiltersFromSearch(params: URLSearchParams): RunFilters {
  const status = (params.get('status') ?? '')
    .split(',')
    .filter((s): s is JobState => (JOB_STATES as readonly string[]).includes(s));
  const trigger = params.get('trigger') ?? '';
  return {
    status: JOB_STATES.filter((s) => status.includes(s)), // canonical order, no repeats
    workflowId: params.get('workflow') ?? '',
    trigger: (JOB_TRIGGERS as readonly string[]).includes(trigger) ? (trigger as JobTrigger) : '',
    since: isoOrEmpty(params.get('since')),
    until: isoOrEmpty(params.get('until')),
  };
}

export function searchFromRunFilters(filters: RunFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.status.length > 0) params.set('status', filters.status.join(','));
  if (filters.workflowId) params.set('workflow', filters.workflowId);
  if (filters.trigger) params.set('trigger', filters.trigger);
  if (filters.since) params.set('since', filters.since);
  if (filters.until) params.set('until', filters.until);
  return params;
}

/** Why the range cannot be sent, or null. */
export function rangeError(filters: Pick<RunFilters, 'since' | 'until'>): string | null {
  if (filters.since && filters.until && Date.parse(filters.until) <= Date.parse(filters.since)) {
    return 'must be after “From”';
  }
  return null;
}

export function runListParams(filters: RunFilters, cursor: string | undefined): RunListParams {
  const params: RunListParams = { limit: RUNS_PAGE_SIZE };
  if (filters.status.length > 0) params.status = filters.status;
  if (filters.workflowId) params.workflow_id = filters.workflowId;
  if (filters.trigger) params.trigger = filters.trigger;
  if (filters.since) params.since = filters.since;
  // An impossible range is shown as an error and not sent.
  if (filters.until && !rangeError(filters)) params.until = filters.until;
  if (cursor) params.cursor = cursor;
  return params;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 3339 → the `datetime-local` value in the browser's zone ("2026-01-05T09:00"). */
export function isoToLocalInput(iso: string): string {
  const ms = Date.parse(iso);
  if (!iso || Number.isNaN(ms)) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (browser's zone) → RFC 3339 UTC; '' when empty or incomplete. */
export function localInputToIso(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return '';
  const ms = new Date(value).getTime(); // no offset: local time, per the ECMAScript date-time format
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/**
 * Runs across every workflow (`GET /jobs`), newest first: filters by status (several at once),
 * workflow, trigger and time range (since/until, entered in the browser's zone), kept in the URL;
 * cursor pagination; each row links to its job and its workflow. Refreshed every 5 s.
 */
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useRuns } from '../../api/jobs.ts';
import { JOB_TRIGGERS, RUN_STATES, type JobState, type Run } from '../../api/types.ts';
import { useWorkflows } from '../../api/workflows.ts';
import { JOB_STATUS_LABEL, JobStatusBadge } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Checkbox, Select, TextField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import {
  browserZone,
  formatDateTime,
  formatDurationMs,
  jobDurationMs,
  TRIGGER_LABEL,
} from '../../lib/format.ts';
import { jobResult } from '../job/job-view.ts';
import {
  isoToLocalInput,
  localInputToIso,
  rangeError,
  runFiltersFromSearch,
  runListParams,
  searchFromRunFilters,
  type RunFilters,
} from './runs-query.ts';
import '../../features/runs/runs.css';

const jobPath = (r: Run) =>
  `/workflows/${encodeURIComponent(r.workflow_id)}/jobs/${encodeURIComponent(r.id)}`;

const columns: Column<Run>[] = [
  {
    key: 'scheduled',
    header: 'Scheduled',
    cell: (r) => (
      <Link
        to={jobPath(r)}
        aria-label={`Job of ${r.workflow_name} scheduled ${formatDateTime(r.scheduled_at)}`}
      >
        <time dateTime={r.scheduled_at}>{formatDateTime(r.scheduled_at)}</time>
      </Link>
    ),
  },
  {
    key: 'workflow',
    header: 'Workflow',
    cell: (r) => <Link to={`/workflows/${encodeURIComponent(r.workflow_id)}`}>{r.workflow_name}</Link>,
  },
  { key: 'status', header: 'Status', cell: (r) => <JobStatusBadge status={r.status} /> },
  { key: 'trigger', header: 'Trigger', cell: (r) => TRIGGER_LABEL[r.trigger] },
  { key: 'started', header: 'Started', cell: (r) => formatDateTime(r.started_at) },
  { key: 'duration', header: 'Duration', cell: (r) => formatDurationMs(jobDurationMs(r)) },
  { key: 'result', header: 'Result', cell: jobResult },
];

export default function RunsPage() {
  const [search, setSearch] = useSearchParams();
  // The filters are state first and the URL second: the router applies URL changes in a
  // transition, and a checkbox bound to the URL alone would spring back until it lands. The URL
  // still wins when it changes from outside (back button, a link).
  const pager = useCursorPager();
  const [filters, setFilters] = useState(() => runFiltersFromSearch(search));
  const searchKey = search.toString();
  const [seenSearch, setSeenSearch] = useState(searchKey);
  if (searchKey !== seenSearch) {
    setSeenSearch(searchKey);
    setFilters(runFiltersFromSearch(search));
    pager.reset();
  }
  const runs = useRuns(runListParams(filters, pager.cursor));
  // The workflow filter offers the 100 newest workflows (and keeps one picked from a link).
  const workflows = useWorkflows({ limit: 100 }, { refetchInterval: false });

  const update = (changes: Partial<RunFilters>) => {
    const next = { ...filters, ...changes };
    pager.reset();
    setFilters(next);
    setSearch(searchFromRunFilters(next), { replace: true });
  };
  const toggleStatus = (status: JobState, on: boolean) =>
    update({ status: on ? [...filters.status, status] : filters.status.filter((s) => s !== status) });

  const workflowOptions = (workflows.data?.workflows ?? []).map((w) => ({ value: w.id, label: w.name }));
  if (filters.workflowId && !workflowOptions.some((o) => o.value === filters.workflowId)) {
    const named = runs.data?.jobs.find((j) => j.workflow_id === filters.workflowId);
    workflowOptions.push({ value: filters.workflowId, label: named?.workflow_name ?? 'The linked workflow' });
  }
  const filtered =
    filters.status.length > 0 ||
    Boolean(filters.workflowId || filters.trigger || filters.since || filters.until);
  const zone = browserZone();

  return (
    <section aria-labelledby="runs-heading">
      <div className="page-header">
        <h1 id="runs-heading">Runs</h1>
      </div>
      <form className="runs-filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Status</legend>
          <div className="status-options">
            {RUN_STATES.map((s) => (
              <Checkbox
                key={s}
                label={JOB_STATUS_LABEL[s]}
                checked={filters.status.includes(s)}
                onChange={(e) => toggleStatus(s, e.target.checked)}
              />
            ))}
          </div>
        </fieldset>
        <div className="row">
          <Select
            label="Workflow"
            value={filters.workflowId}
            onChange={(e) => update({ workflowId: e.target.value })}
            options={[{ value: '', label: 'Any' }, ...workflowOptions]}
          />
          <Select
            label="Trigger"
            value={filters.trigger}
            onChange={(e) => update({ trigger: e.target.value as RunFilters['trigger'] })}
            options={[
              { value: '', label: 'Any' },
              ...JOB_TRIGGERS.map((t) => ({ value: t, label: TRIGGER_LABEL[t] })),
            ]}
          />
          <TextField
            label="From"
            type="datetime-local"
            value={isoToLocalInput(filters.since)}
            onChange={(e) => update({ since: localInputToIso(e.target.value) })}
            description={`Runs from this time on; your time zone (${zone}).`}
          />
          <TextField
            label="Until"
            type="datetime-local"
            value={isoToLocalInput(filters.until)}
            onChange={(e) => update({ until: localInputToIso(e.target.value) })}
            description={`Runs before this time; your time zone (${zone}).`}
            error={rangeError(filters)}
          />
        </div>
        {filtered && (
          <Button
            variant="ghost"
            onClick={() => update({ status: [], workflowId: '', trigger: '', since: '', until: '' })}
          >
            Clear filters
          </Button>
        )}
      </form>
      {runs.isPending ? (
        <Spinner label="Loading runs…" />
      ) : runs.isError ? (
        <ErrorMessage error={runs.error} title="The runs could not be loaded" />
      ) : runs.data.jobs.length === 0 ? (
        filtered || pager.page > 1 ? (
          <EmptyState title="No runs match">
            <p>Change or clear the filters.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No runs yet">
            <p>Runs appear here once a workflow has been scheduled or run by hand.</p>
          </EmptyState>
        )
      ) : (
        <>
          <Table caption="Runs" columns={columns} rows={runs.data.jobs} rowKey={(r) => r.id} />
          <Pagination pager={pager} nextCursor={runs.data.cursor} label="Run pages" />
        </>
      )}
    </section>
  );
}

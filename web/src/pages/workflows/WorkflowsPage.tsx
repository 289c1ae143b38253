/** The workflows overview: search, filters, cursor pagination, refreshed every 5 s. */
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useWorkflows } from '../../api/workflows.ts';
import type { Workflow } from '../../api/types.ts';
import { WorkflowStatusBadge, workflowStatusOf } from '../../components/Badge.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { describeSchedule, formatDateTime } from '../../lib/format.ts';
import { filtersFromSearch, listParams, searchFromFilters, type OverviewFilters } from './overview-query.ts';

const SEARCH_DEBOUNCE_MS = 300;

const columns: Column<Workflow>[] = [
  {
    key: 'name',
    header: 'Name',
    cell: (w) => <Link to={`/workflows/${w.id}`}>{w.name}</Link>,
  },
  { key: 'status', header: 'Status', cell: (w) => <WorkflowStatusBadge status={workflowStatusOf(w)} /> },
  { key: 'kind', header: 'Kind', cell: (w) => w.kind },
  { key: 'schedule', header: 'Schedule', cell: (w) => describeSchedule(w.schedule) },
  {
    key: 'failures',
    header: 'Failures',
    cell: (w) => `${w.consecutive_job_failures_count}/${w.max_consecutive_job_failures_allowed}`,
  },
  { key: 'next', header: 'Next run', cell: (w) => formatDateTime(w.next_run_at) },
];

export function WorkflowsPage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  const pager = useCursorPager();
  const [queryText, setQueryText] = useState(filters.query);
  const { reset } = pager;

  const update = (changes: Partial<OverviewFilters>) => {
    reset();
    setSearch(searchFromFilters({ ...filters, ...changes }), { replace: true });
  };

  // Search as you type, without a request per keystroke.
  useEffect(() => {
    if (queryText.trim() === filters.query) return;
    const timer = setTimeout(() => {
      reset();
      setSearch((current) => searchFromFilters({ ...filtersFromSearch(current), query: queryText }), {
        replace: true,
      });
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [queryText, filters.query, reset, setSearch]);

  const list = useWorkflows(listParams(filters, pager.cursor));
  const filtered = Boolean(filters.query || filters.state || filters.build || filters.kind);

  return (
    <section aria-labelledby="workflows-heading">
      <div className="page-header">
        <h1 id="workflows-heading">Workflows</h1>
        <Link to="/workflows/new" className="btn btn-primary">
          Create workflow
        </Link>
      </div>
      <form role="search" className="row" onSubmit={(e) => e.preventDefault()} aria-label="Filter workflows">
        <TextField
          label="Search by name"
          type="search"
          value={queryText}
          onChange={(e) => setQueryText(e.target.value)}
          maxLength={255}
        />
        <Select
          label="State"
          value={filters.state}
          onChange={(e) => update({ state: e.target.value as OverviewFilters['state'] })}
          options={[
            { value: '', label: 'Any' },
            { value: 'live', label: 'Not terminated' },
            { value: 'terminated', label: 'Terminated' },
          ]}
        />
        <Select
          label="Build"
          value={filters.build}
          onChange={(e) => update({ build: e.target.value as OverviewFilters['build'] })}
          options={[
            { value: '', label: 'Any' },
            { value: 'QUEUED', label: 'Queued' },
            { value: 'STARTED', label: 'Building' },
            { value: 'COMPLETED', label: 'Built' },
            { value: 'FAILED', label: 'Failed' },
            { value: 'CANCELED', label: 'Canceled' },
          ]}
        />
        <Select
          label="Kind"
          value={filters.kind}
          onChange={(e) => update({ kind: e.target.value as OverviewFilters['kind'] })}
          options={[
            { value: '', label: 'Any' },
            { value: 'HEARTBEAT', label: 'Heartbeat' },
            { value: 'CONTAINER', label: 'Container' },
          ]}
        />
      </form>
      {list.isPending ? (
        <Spinner label="Loading workflows…" />
      ) : list.isError ? (
        <ErrorMessage error={list.error} title="The workflows could not be loaded" />
      ) : list.data.workflows.length === 0 ? (
        pager.page === 1 && !filtered ? (
          <EmptyState title="No workflows yet">
            <p>A workflow runs an HTTP check or a container on a schedule.</p>
            <Link to="/workflows/new" className="btn btn-primary">
              Create your first workflow
            </Link>
          </EmptyState>
        ) : (
          <EmptyState title="No workflows match">
            <p>Change the search or the filters.</p>
          </EmptyState>
        )
      ) : (
        <>
          <Table caption="Workflows" columns={columns} rows={list.data.workflows} rowKey={(w) => w.id} />
          <Pagination pager={pager} nextCursor={list.data.cursor} label="Workflow pages" />
        </>
      )}
    </section>
  );
}

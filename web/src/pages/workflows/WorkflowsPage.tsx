/**
 * The workflows overview: search, filters (a label selector among them), cursor pagination,
 * refreshed every 5 s; per workflow its labels as chips (a click narrows the list to that label),
 * its last run (when, result, how long) and a strip of its recent runs.
 */
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useWorkflows } from '../../api/workflows.ts';
import { BUILD_STATUSES, WORKFLOW_KINDS, type Workflow } from '../../api/types.ts';
import { parseLabelSelector } from '../../../../src/domain/labels.ts';
import { BUILD_STATUS_LABEL, WorkflowStatusBadge, workflowStatusOf } from '../../components/Badge.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { LabelChips, withRequirement } from '../../components/LabelChips.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { LastRun, RecentRunsStrip, recentJobsOf } from '../../features/runs/RecentRuns.tsx';
import { describeSchedule, formatNextRun } from '../../lib/format.ts';
import { useNow } from '../../lib/use-now.ts';
import { filtersFromSearch, listParams, searchFromFilters, type OverviewFilters } from './overview-query.ts';

const SEARCH_DEBOUNCE_MS = 300;

const KIND_LABEL: Record<Workflow['kind'], string> = {
  HEARTBEAT: 'Heartbeat',
  CONTAINER: 'Container',
  DAG: 'DAG',
};

function columnsAt(now: Date, selectLabel: (requirement: string) => void): Column<Workflow>[] {
  return [
    {
      key: 'name',
      header: 'Name',
      cell: (w) => <Link to={`/workflows/${w.id}`}>{w.name}</Link>,
    },
    { key: 'status', header: 'Status', cell: (w) => <WorkflowStatusBadge status={workflowStatusOf(w)} /> },
    { key: 'kind', header: 'Kind', cell: (w) => w.kind },
    {
      key: 'labels',
      header: 'Labels',
      cell: (w) => <LabelChips labels={w.labels} onSelect={selectLabel} />,
    },
    { key: 'schedule', header: 'Schedule', cell: (w) => describeSchedule(w.schedule) },
    {
      key: 'last',
      header: 'Last run',
      cell: (w) => <LastRun workflowId={w.id} jobs={recentJobsOf(w)} now={now} />,
    },
    {
      key: 'recent',
      header: 'Recent runs',
      cell: (w) => (
        <RecentRunsStrip workflowId={w.id} workflowName={w.name} jobs={recentJobsOf(w)} now={now} />
      ),
    },
    {
      key: 'failures',
      header: 'Consecutive failures',
      cell: (w) => `${w.consecutive_job_failures_count}/${w.max_consecutive_job_failures_allowed}`,
    },
    { key: 'next', header: 'Next run', cell: (w) => formatNextRun(w.next_run_at, w.schedule) },
  ];
}

export function WorkflowsPage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  const pager = useCursorPager();
  const [queryText, setQueryText] = useState(filters.query);
  const [selectorText, setSelectorText] = useState(filters.labels);
  const { reset } = pager;
  // Checked here as typed (the server's own parser), so a half-typed selector sends no request.
  const selector = selectorText.trim() ? parseLabelSelector(selectorText.trim()) : null;
  const selectorProblem = selector && !selector.ok ? selector.message : undefined;

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

  useEffect(() => {
    if (selectorText.trim() === filters.labels || selectorProblem) return;
    const timer = setTimeout(() => {
      reset();
      setSearch((current) => searchFromFilters({ ...filtersFromSearch(current), labels: selectorText }), {
        replace: true,
      });
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [selectorText, selectorProblem, filters.labels, reset, setSearch]);

  const selectLabel = (requirement: string) => {
    const next = withRequirement(filters.labels, requirement);
    setSelectorText(next);
    update({ labels: next });
  };

  const list = useWorkflows(listParams(filters, pager.cursor));
  const now = useNow();
  const filtered = Boolean(filters.query || filters.state || filters.build || filters.kind || filters.labels);

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
            ...BUILD_STATUSES.map((b) => ({ value: b, label: BUILD_STATUS_LABEL[b] })),
          ]}
        />
        <Select
          label="Kind"
          value={filters.kind}
          onChange={(e) => update({ kind: e.target.value as OverviewFilters['kind'] })}
          options={[
            { value: '', label: 'Any' },
            ...WORKFLOW_KINDS.map((k) => ({ value: k, label: KIND_LABEL[k] })),
          ]}
        />
        <TextField
          label="Label selector"
          description="For example team=data,tier!=web, env in (prod,staging), !gpu"
          error={selectorProblem}
          value={selectorText}
          onChange={(e) => setSelectorText(e.target.value)}
          spellCheck={false}
          maxLength={4096}
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
          <Table
            caption="Workflows"
            columns={columnsAt(now, selectLabel)}
            rows={list.data.workflows}
            rowKey={(w) => w.id}
          />
          <Pagination pager={pager} nextCursor={list.data.cursor} label="Workflow pages" />
        </>
      )}
    </section>
  );
}

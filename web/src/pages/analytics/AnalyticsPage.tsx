/**
 * Analytics: all workflows or one (chosen in a select, kept in the URL as `?workflow=`), the
 * figures and the finished-jobs chart.
 */
import { useSearchParams } from 'react-router';
import { useAnalytics } from '../../api/analytics.ts';
import { useWorkflows } from '../../api/workflows.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { AnalyticsSummary } from './AnalyticsSummary.tsx';
import { TimeseriesPanel } from './TimeseriesPanel.tsx';
import './analytics.css';

export default function AnalyticsPage() {
  const [params, setParams] = useSearchParams();
  const workflowId = params.get('workflow') ?? undefined;
  // The API pages at most 100; enough to pick from, and the URL takes any id.
  const workflows = useWorkflows({ limit: 100 }, { refetchInterval: false });
  const analytics = useAnalytics(workflowId);

  const options = [
    { value: '', label: 'All workflows' },
    ...(workflows.data?.workflows ?? []).map((w) => ({ value: w.id, label: w.name })),
  ];
  if (workflowId && !options.some((o) => o.value === workflowId)) {
    options.push({ value: workflowId, label: 'Selected workflow' });
  }

  return (
    <section aria-labelledby="analytics-heading" className="analytics-page">
      <h1 id="analytics-heading">Analytics</h1>
      <div className="analytics-controls">
        <Select
          label="Workflow"
          value={workflowId ?? ''}
          onChange={(e) => {
            const next = new URLSearchParams(params);
            if (e.target.value) next.set('workflow', e.target.value);
            else next.delete('workflow');
            setParams(next, { replace: true });
          }}
          options={options}
        />
      </div>
      {analytics.isPending ? (
        <Spinner />
      ) : analytics.isError ? (
        <ErrorMessage error={analytics.error} title="Could not load the analytics" />
      ) : (
        <AnalyticsSummary data={analytics.data} compact={workflowId !== undefined} />
      )}
      <h2>Finished jobs</h2>
      <TimeseriesPanel key={workflowId ?? 'all'} workflowId={workflowId} />
    </section>
  );
}

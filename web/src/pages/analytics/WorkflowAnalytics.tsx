/**
 * A compact analytics panel for one workflow, for the workflow detail page:
 * `<WorkflowAnalytics workflowId={id} />`. Figures plus a 7-day chart.
 */
import { useAnalytics } from '../../api/analytics.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { AnalyticsSummary } from './AnalyticsSummary.tsx';
import { TimeseriesPanel } from './TimeseriesPanel.tsx';
import './analytics.css';

export function WorkflowAnalytics({ workflowId }: { workflowId: string }) {
  const analytics = useAnalytics(workflowId);
  return (
    <section className="workflow-analytics" aria-labelledby={`wa-${workflowId}`}>
      <h2 id={`wa-${workflowId}`}>Analytics</h2>
      {analytics.isPending ? (
        <Spinner />
      ) : analytics.isError ? (
        <ErrorMessage error={analytics.error} title="Could not load the analytics" />
      ) : (
        <AnalyticsSummary data={analytics.data} compact />
      )}
      <TimeseriesPanel workflowId={workflowId} initialRange="7d" initialBucket="day" compact />
    </section>
  );
}

export default WorkflowAnalytics;

/**
 * A compact analytics panel for one workflow, for the workflow detail page:
 * `<WorkflowAnalytics workflowId={id} dag={…} />`. Figures plus a 7-day chart, and for a DAG its
 * figures per task (which task is slow, which one fails, which one needs retries).
 */
import { useAnalytics, useTaskAnalytics, type TaskFigures } from '../../api/analytics.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatCount, formatDurationMs, formatRate } from './format.ts';
import { AnalyticsSummary } from './AnalyticsSummary.tsx';
import { TimeseriesPanel } from './TimeseriesPanel.tsx';
import './analytics.css';

const TASK_COLUMNS: Column<TaskFigures>[] = [
  { key: 'name', header: 'Task', cell: (t) => t.name },
  { key: 'runs', header: 'Runs', cell: (t) => formatCount(t.runs) },
  { key: 'instances', header: 'Instances', cell: (t) => formatCount(t.instances) },
  { key: 'success', header: 'Success', cell: (t) => formatRate(t.success_rate) },
  { key: 'retries', header: 'Retries', cell: (t) => formatCount(t.attempts - t.instances) },
  { key: 'p50', header: 'Duration p50', cell: (t) => formatDurationMs(t.duration_ms.p50) },
  { key: 'p95', header: 'p95', cell: (t) => formatDurationMs(t.duration_ms.p95) },
];

function TaskFiguresTable({ workflowId }: { workflowId: string }) {
  const tasks = useTaskAnalytics(workflowId);
  if (tasks.isPending) return <Spinner label="Loading the task figures" />;
  if (tasks.isError) return <ErrorMessage error={tasks.error} title="Could not load the task figures" />;
  if (tasks.data.tasks.length === 0) return <p className="muted">No task has run in the last 30 days.</p>;
  return (
    <Table
      caption="Tasks, last 30 days"
      showCaption
      columns={TASK_COLUMNS}
      rows={tasks.data.tasks}
      rowKey={(t) => t.name}
    />
  );
}

export function WorkflowAnalytics({ workflowId, dag = false }: { workflowId: string; dag?: boolean }) {
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
      {dag && <TaskFiguresTable workflowId={workflowId} />}
    </section>
  );
}

export default WorkflowAnalytics;

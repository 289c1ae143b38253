/**
 * A DAG run on the job page: the graph coloured by each task's state, the task table (the graph's
 * text alternative and the keyboard way in), and a panel for the selected task: its state,
 * attempts, error, skipped reason, item, outputs and logs (the job page's log viewer, on the
 * task's own job id). A fan-out is one node and one row; its panel pages through its instances.
 *
 * The graph comes from the definition the run ran (`workflow_version`, fetched once: versions
 * never change), and from the workflow's current payload until that arrives or when the run has
 * no version. Tasks of the run that the definition used lacks are still drawn, without edges
 * (`layoutDag`'s `extraNames`).
 */
import { memo, useDeferredValue, useMemo, useState } from 'react';
import type { Job, JobState, Task, Workflow } from '../../api/types.ts';
import { useWorkflowVersion } from '../../api/workflows.ts';
import { Button, JobStatusBadge } from '../../components/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { LogViewer } from '../logs/LogViewer.tsx';
import { useProgressiveCount } from '../../lib/use-progressive-count.ts';
import { DagGraph, NODES_PER_FRAME, countsText, type NodeState } from './DagGraph.tsx';
import { layoutDag, taskGroups, type DagLayout, type LayoutNode, type TaskGroup } from './layout.ts';

/** What the graph and the table show before their first deferred render (see DagRunView). */
const NO_LAYOUT: DagLayout = {
  nodes: [] as readonly LayoutNode[],
  edges: [],
  finallyColumn: null,
  width: 0,
  height: 0,
};

/** Instances of a fan-out listed per page in the panel. */
export const INSTANCES_PER_PAGE = 20;

export interface DagRunViewProps {
  workflowId: string;
  job: Job;
  workflow: Workflow | undefined;
}

export function DagRunView({ workflowId, job, workflow }: DagRunViewProps) {
  const tasks = useMemo(() => job.tasks ?? [], [job.tasks]);
  // Keys, not objects: a refetch brings new objects with the same definition and task names, and
  // the layout must not run again for them (issue 12: 500 tasks without a long task).
  const version = useWorkflowVersion(workflowId, job.workflow_version);
  const definition = version.data?.definition.payload ?? workflow?.payload ?? null;
  const payloadKey = useMemo(() => JSON.stringify(definition), [definition]);
  const namesKey = useMemo(() => [...new Set(tasks.map((t) => t.name))].join('\n'), [tasks]);
  const layout = useMemo(
    () => layoutDag(JSON.parse(payloadKey) as unknown, namesKey === '' ? [] : namesKey.split('\n')),
    [payloadKey, namesKey],
  );
  const groups = useMemo(() => taskGroups(tasks), [tasks]);
  const states = useMemo(() => {
    const m = new Map<string, NodeState>();
    for (const n of layout.nodes) {
      const g = groups.get(n.name);
      if (!g) continue;
      m.set(
        n.name,
        n.fanOut || g.instances.length > 1 ? { state: g.state, counts: g.counts } : { state: g.state },
      );
    }
    return m;
  }, [layout, groups]);

  const [selected, setSelected] = useState<string | null>(null);
  const selectedNode = layout.nodes.find((n) => n.name === selected) ?? null;
  // The graph's and the table's elements (a 500-task run: ~6,000 of them) are rendered in React
  // transitions, which yield to the browser every few milliseconds, instead of in the page's
  // first render: in one pass that was the run page's long task over 200 ms in Chromium (issue
  // 12's target; bench/dag-graph.ts). The graph first, then the table, each its own commit; the
  // page says it is drawing until the graph's first one. A new layout (a live run's new task
  // names) renders in the background while the previous one stays on screen; state updates
  // reuse the layout object, so they render at once.
  const shown = useDeferredValue(layout, NO_LAYOUT);
  const rows = useDeferredValue(shown.nodes, NO_LAYOUT.nodes);
  const drawing = shown === NO_LAYOUT && layout.nodes.length > 0;
  // The table's rows too, a chunk per frame like the graph's nodes.
  const drawnRows = useProgressiveCount(rows.length, NODES_PER_FRAME);

  return (
    <div className="dag-run">
      <h2>Tasks</h2>
      {drawing ? (
        <p className="muted">Drawing the graph of {layout.nodes.length} tasks…</p>
      ) : (
        <DagGraph
          layout={shown}
          states={states}
          selected={selected}
          onSelect={setSelected}
          label={`Graph of the run's ${shown.nodes.length} tasks; the table below lists them with their states.`}
        />
      )}
      <div className="table-wrap">
        <table className="table dag-task-table">
          <caption className="visually-hidden">Tasks of this run and their states</caption>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, drawnRows).map((n) => {
              const g = groups.get(n.name);
              const fan = n.fanOut || (g?.instances.length ?? 0) > 1;
              const one = !fan ? g?.instances[0] : undefined;
              return (
                <TaskRow
                  key={n.name}
                  name={n.name}
                  isFinally={n.isFinally}
                  kind={one?.kind ?? (n.kind || '—')}
                  state={g?.state ?? null}
                  counts={fan && g ? `${countsText(g.counts)} of ${g.instances.length}` : ''}
                  attempts={one ? String(one.attempts) : fan && g ? '' : '—'}
                  started={one ? formatDateTime(one.started_at) : ''}
                  finished={one ? formatDateTime(one.completed_at) : ''}
                  selected={selected === n.name}
                  onSelect={setSelected}
                />
              );
            })}
          </tbody>
        </table>
      </div>
      {selectedNode ? (
        <TaskPanel
          key={selectedNode.name}
          name={selectedNode.name}
          fanOut={selectedNode.fanOut}
          group={groups.get(selectedNode.name)}
          workflowId={workflowId}
          workflow={workflow}
        />
      ) : (
        <p className="muted">Select a task (in the graph or the table) to see its details and logs.</p>
      )}
    </div>
  );
}

/**
 * One row of the task table, from strings only: a refetch re-renders the rows whose task changed,
 * not all 500 (the graph's nodes are memoized the same way).
 */
const TaskRow = memo(function TaskRow(props: {
  name: string;
  isFinally: boolean;
  kind: string;
  state: string | null;
  counts: string;
  attempts: string;
  started: string;
  finished: string;
  selected: boolean;
  onSelect: (name: string) => void;
}) {
  const { name, selected, onSelect } = props;
  return (
    <tr className={selected ? 'dag-row--selected' : undefined} data-task={name}>
      <td>
        <button type="button" className="link" aria-pressed={selected} onClick={() => onSelect(name)}>
          {name}
        </button>
        {props.isFinally ? <span className="muted"> (finally)</span> : null}
      </td>
      <td>{props.kind}</td>
      <td>
        {props.state ? (
          <JobStatusBadge status={props.state as JobState} />
        ) : (
          <span className="muted">not started</span>
        )}
        {props.counts ? <span className="muted"> {props.counts}</span> : null}
      </td>
      <td>{props.attempts}</td>
      <td>{props.started}</td>
      <td>{props.finished}</td>
    </tr>
  );
});

function TaskPanel({
  name,
  fanOut,
  group,
  workflowId,
  workflow,
}: {
  name: string;
  fanOut: boolean;
  group: TaskGroup<Task> | undefined;
  workflowId: string;
  workflow: Workflow | undefined;
}) {
  const instances = group?.instances ?? [];
  const fan = fanOut || instances.length > 1;
  const [page, setPage] = useState(0);
  const [chosen, setChosen] = useState<string | null>(null);
  const pages = Math.max(1, Math.ceil(instances.length / INSTANCES_PER_PAGE));
  const shown = instances.slice(page * INSTANCES_PER_PAGE, (page + 1) * INSTANCES_PER_PAGE);
  const task = fan ? instances.find((t) => t.id === chosen) : instances[0];
  return (
    <section className="dag-panel" aria-labelledby="dag-panel-heading">
      <h3 id="dag-panel-heading">
        Task <code>{name}</code>
      </h3>
      {instances.length === 0 ? <p className="muted">Not started yet.</p> : null}
      {fan && instances.length > 0 ? (
        <>
          <p>
            {instances.length} instances: {countsText(group?.counts ?? {})}
          </p>
          <ul className="dag-instances" aria-label={`Instances of ${name}`}>
            {shown.map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  className="link"
                  aria-pressed={chosen === t.id}
                  onClick={() => setChosen(t.id)}
                >
                  #{t.index ?? 0}
                </button>{' '}
                <JobStatusBadge status={t.status} /> <code>{preview(t.item)}</code>
              </li>
            ))}
          </ul>
          {pages > 1 ? (
            <div className="row">
              <Button variant="secondary" disabled={page === 0} onClick={() => setPage(page - 1)}>
                Previous
              </Button>
              <span>
                Page {page + 1} of {pages}
              </span>
              <Button variant="secondary" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
                Next
              </Button>
            </div>
          ) : null}
        </>
      ) : null}
      {task ? <TaskDetails task={task} workflowId={workflowId} workflow={workflow} /> : null}
    </section>
  );
}

function preview(item: unknown): string {
  if (item === undefined) return '';
  const s = JSON.stringify(item);
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

function TaskDetails({
  task,
  workflowId,
  workflow,
}: {
  task: Task;
  workflowId: string;
  workflow: Workflow | undefined;
}) {
  return (
    <div className="dag-task-details">
      {task.index !== null ? <h4>Instance #{task.index}</h4> : null}
      <dl className="job-details">
        <dt>State</dt>
        <dd>
          <JobStatusBadge status={task.status} />
        </dd>
        <dt>Kind</dt>
        <dd>{task.kind}</dd>
        <dt>Attempts</dt>
        <dd>{task.attempts}</dd>
        <dt>Started</dt>
        <dd>{formatDateTime(task.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{formatDateTime(task.completed_at)}</dd>
        {task.exit_code !== null ? (
          <>
            <dt>Exit code</dt>
            <dd>{task.exit_code}</dd>
          </>
        ) : null}
        {task.http_status !== null ? (
          <>
            <dt>HTTP status</dt>
            <dd>{task.http_status}</dd>
          </>
        ) : null}
        {task.skipped_reason ? (
          <>
            <dt>Skipped because</dt>
            <dd>{task.skipped_reason}</dd>
          </>
        ) : null}
        {task.item !== undefined ? (
          <>
            <dt>Item</dt>
            <dd>
              <code>{JSON.stringify(task.item)}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {task.error ? (
        <div className="job-error" role="note" aria-label="Task error">
          <p>
            <strong>{task.error.kind === 'USER' ? 'Task error' : 'System error'}</strong>{' '}
            <code>{task.error.code}</code>
          </p>
          <p>{task.error.message}</p>
        </div>
      ) : null}
      <h4>Outputs</h4>
      {task.outputs && Object.keys(task.outputs).length > 0 ? (
        <pre aria-label="Outputs">{JSON.stringify(task.outputs, null, 2)}</pre>
      ) : (
        <p className="muted">No outputs.</p>
      )}
      <h4>Logs</h4>
      {task.kind === 'HEARTBEAT' ? (
        <p>HEARTBEAT tasks keep no logs.</p>
      ) : workflow && !workflow.log_retention ? (
        <p>This workflow keeps no logs (log retention is off).</p>
      ) : (
        <LogViewer key={task.id} workflowId={workflowId} jobId={task.id} />
      )}
    </div>
  );
}

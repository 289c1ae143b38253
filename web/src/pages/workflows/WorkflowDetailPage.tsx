/**
 * One workflow: details (schedule in words, next run in both zones, what it runs), failure counter,
 * actions (run now, rebuild a failed build, pause with a note and resume, edit, terminate, delete),
 * its jobs, its versions (diff, run an older one) and who is notified of what (subscriptions).
 * its jobs, its schedule's tick ledger and who is notified of what (subscriptions).
 */
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useJobs, useRunNow } from '../../api/jobs.ts';
import {
  RUN_STATES,
  JOB_TRIGGERS,
  type Job,
  type RunState,
  type JobTrigger,
  type Workflow,
} from '../../api/types.ts';
import {
  useDeleteWorkflow,
  usePauseWorkflow,
  useRebuildWorkflow,
  useResumeWorkflow,
  useTerminateWorkflow,
  useWorkflow,
} from '../../api/workflows.ts';
import {
  BUILD_STATUS_LABEL,
  JOB_STATUS_LABEL,
  JobStatusBadge,
  WorkflowStatusBadge,
  workflowStatusOf,
} from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { SubscriptionsSection } from '../../features/subscriptions/SubscriptionsSection.tsx';
import { DagGraph } from '../../features/dag/DagGraph.tsx';
import { layoutDag } from '../../features/dag/layout.ts';
import { VersionsSection } from '../../features/versions/VersionsSection.tsx';
import { TickLedgerSection } from '../../features/schedule/TickLedgerSection.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { LabelChips } from '../../components/LabelChips.tsx';
import { Select, TextAreaField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { describeCron } from '../../lib/cron-words.ts';
import {
  describePolicy,
  describeSchedule,
  formatArgv,
  formatDateTime,
  formatNextRun,
  newIdempotencyKey,
  TRIGGER_LABEL,
} from '../../lib/format.ts';
import { jobResult } from '../job/job-view.ts';

// Its chart code loads only when a workflow is opened.
const WorkflowAnalytics = lazy(() => import('../analytics/WorkflowAnalytics.tsx'));

export default function WorkflowDetailPage() {
  const { workflowId = '' } = useParams();
  const workflow = useWorkflow(workflowId);
  const navigate = useNavigate();
  const runNow = useRunNow(workflowId);
  const terminate = useTerminateWorkflow(workflowId);
  const remove = useDeleteWorkflow(workflowId);
  const rebuild = useRebuildWorkflow(workflowId);
  const pause = usePauseWorkflow(workflowId);
  const resume = useResumeWorkflow(workflowId);
  const [confirm, setConfirm] = useState<'terminate' | 'delete' | 'pause' | null>(null);
  const [note, setNote] = useState('');

  if (workflow.isPending) return <Spinner label="Loading the workflow…" />;
  if (workflow.isError)
    return <ErrorMessage error={workflow.error} title="The workflow could not be loaded" />;
  const w = workflow.data;
  const status = workflowStatusOf(w);
  const terminated = w.terminated_at !== null;
  const paused = w.paused_at !== null;
  const canRun = !terminated && w.build_status === 'COMPLETED';
  // The API rebuilds only a FAILED build of a workflow that is not terminated (editing re-activates).
  const canRebuild = !terminated && w.build_status === 'FAILED';
  const cronWords = w.schedule.type === 'cron' ? describeCron(w.schedule.cron) : null;

  return (
    <section aria-labelledby="workflow-heading">
      <p>
        <Link to="/">← Workflows</Link>
      </p>
      <div className="page-header">
        <h1 id="workflow-heading">
          {w.name} <WorkflowStatusBadge status={status} />
        </h1>
        <div className="actions">
          <Button
            variant="primary"
            disabled={!canRun}
            pending={runNow.isPending}
            title={canRun ? undefined : 'Runs need a completed build and a workflow that is not terminated'}
            onClick={() =>
              runNow.mutate(
                { idempotencyKey: newIdempotencyKey() },
                { onSuccess: (job) => navigate(`/workflows/${w.id}/jobs/${job.id}`) },
              )
            }
          >
            Run now
          </Button>
          {canRebuild && (
            <Button
              pending={rebuild.isPending}
              onClick={() => rebuild.mutate({ idempotencyKey: newIdempotencyKey() })}
            >
              Rebuild
            </Button>
          )}
          {!terminated && !paused && (
            <Button
              onClick={() => {
                setNote('');
                setConfirm('pause');
              }}
            >
              Pause
            </Button>
          )}
          {!terminated && paused && (
            <Button pending={resume.isPending} onClick={() => resume.mutate()}>
              Resume
            </Button>
          )}
          <Link to={`/workflows/${w.id}/edit`} className="btn">
            Edit
          </Link>
          {!terminated && (
            <Button variant="danger" onClick={() => setConfirm('terminate')}>
              Terminate
            </Button>
          )}
          {terminated && (
            <Button variant="danger" onClick={() => setConfirm('delete')}>
              Delete
            </Button>
          )}
        </div>
      </div>
      <ErrorMessage error={runNow.error} title="The run could not start" />
      <ErrorMessage error={rebuild.error} title="The rebuild could not start" />
      <ErrorMessage error={resume.error} title="The workflow could not be resumed" />

      <div className="card">
        <dl className="details">
          <dt>Kind</dt>
          <dd>{w.kind}</dd>
          <dt>Labels</dt>
          <dd>
            <LabelChips
              labels={w.labels}
              linkTo={(requirement) => `/?${new URLSearchParams({ labels: requirement })}`}
            />
          </dd>
          <dt>Schedule</dt>
          <dd>
            {describeSchedule(w.schedule)}
            {cronWords && w.schedule.type === 'cron' && (
              <span className="muted">
                {' '}
                — {cronWords} ({w.schedule.timezone})
              </span>
            )}
            {w.schedule.type !== 'once' && describePolicy(w.schedule.policy) && (
              <div className="muted">{describePolicy(w.schedule.policy)}</div>
            )}
          </dd>
          {paused && (
            <>
              <dt>Paused</dt>
              <dd>
                since {formatDateTime(w.paused_at)}
                {w.pause_note ? ` — ${w.pause_note}` : ''}
              </dd>
            </>
          )}
          <dt>Next run</dt>
          <dd>{paused ? 'none while paused' : formatNextRun(w.next_run_at, w.schedule)}</dd>
          <PayloadDetails workflow={w} />
          <dt>Consecutive failures</dt>
          <dd>
            <meter
              min={0}
              max={w.max_consecutive_job_failures_allowed}
              // Fewer is better: amber past a third of the limit, red past two thirds.
              optimum={0}
              low={w.max_consecutive_job_failures_allowed / 3}
              high={(w.max_consecutive_job_failures_allowed * 2) / 3}
              value={w.consecutive_job_failures_count}
              aria-label="Consecutive failures"
            />{' '}
            {w.consecutive_job_failures_count}/{w.max_consecutive_job_failures_allowed}
          </dd>
          <dt>Build</dt>
          <dd>
            {BUILD_STATUS_LABEL[w.build_status]}
            {w.build_error ? ` — ${w.build_error}` : ''}
          </dd>
          {w.kind !== 'HEARTBEAT' && (
            <>
              <dt>Logs</dt>
              <dd>{w.log_retention ? 'kept' : 'not kept'}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{formatDateTime(w.created_at)}</dd>
          {w.terminated_at && (
            <>
              <dt>Terminated</dt>
              <dd>{formatDateTime(w.terminated_at)}</dd>
            </>
          )}
        </dl>
        <details>
          <summary>Payload (JSON)</summary>
          <pre>{JSON.stringify(w.payload, null, 2)}</pre>
        </details>
      </div>

      <JobsSection workflowId={w.id} />

      <VersionsSection workflow={w} canRun={canRun} />
      <TickLedgerSection workflowId={w.id} canRun={canRun} />

      <SubscriptionsSection workflowId={w.id} />

      <Suspense fallback={<Spinner label="Loading analytics" />}>
        <WorkflowAnalytics workflowId={w.id} dag={w.kind === 'DAG'} />
      </Suspense>

      <ConfirmDialog
        isOpen={confirm === 'terminate'}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Terminate ${w.name}?`}
        confirmLabel="Terminate"
        pending={terminate.isPending}
        error={terminate.error}
        onConfirm={() => terminate.mutate(undefined, { onSuccess: () => setConfirm(null) })}
      >
        <p>No more runs are scheduled and pending jobs are canceled. Editing it later re-activates it.</p>
      </ConfirmDialog>
      <ConfirmDialog
        isOpen={confirm === 'pause'}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Pause ${w.name}?`}
        confirmLabel="Pause"
        destructive={false}
        pending={pause.isPending}
        error={pause.error}
        onConfirm={() => pause.mutate({ note }, { onSuccess: () => setConfirm(null) })}
      >
        <p>
          No runs are created until you resume it, and its queued runs are canceled. Fire times that pass
          meanwhile are not run later.
        </p>
        <TextAreaField
          label="Note (optional)"
          description="Why it is paused, shown with the workflow; at most 500 characters."
          maxLength={500}
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
      </ConfirmDialog>
      <ConfirmDialog
        isOpen={confirm === 'delete'}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Delete ${w.name}?`}
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate(undefined, { onSuccess: () => navigate('/', { replace: true }) })}
      >
        <p>The workflow, its jobs and their logs are removed for good.</p>
      </ConfirmDialog>
    </section>
  );
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const args = (value: unknown): string[] | null =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : null;

/** What the workflow runs, in plain sight: the checked endpoint, or the image and its command. */
function PayloadDetails({ workflow }: { workflow: Workflow }) {
  const p = workflow.payload;
  if (workflow.kind === 'DAG') return <DagDetails payload={p} />;
  if (workflow.kind === 'HEARTBEAT') {
    const expected = typeof p.expected_status_code === 'number' ? p.expected_status_code : 200;
    return (
      <>
        <dt>Endpoint</dt>
        <dd>
          <code>
            {text(p.method) ?? 'GET'} {text(p.endpoint) ?? '—'}
          </code>
        </dd>
        <dt>Expects</dt>
        <dd>
          HTTP {expected} within {text(p.timeout) ?? '10s'}
        </dd>
      </>
    );
  }
  const cmd = args(p.cmd);
  const entrypoint = args(p.entrypoint);
  return (
    <>
      <dt>Image</dt>
      <dd>
        <code>{text(p.image) ?? '—'}</code>
      </dd>
      {entrypoint && (
        <>
          <dt>Entrypoint</dt>
          <dd>
            <code>{formatArgv(entrypoint)}</code>
          </dd>
        </>
      )}
      <dt>Command</dt>
      <dd>{cmd ? <code>{formatArgv(cmd)}</code> : <span className="muted">the image’s default</span>}</dd>
      <dt>Timeout</dt>
      <dd>{text(p.timeout) ?? '30s'}</dd>
    </>
  );
}

/** A DAG's size and its graph (the definition as stored; runs show theirs on their own page). */
function DagDetails({ payload }: { payload: Workflow['payload'] }) {
  const layout = useMemo(() => layoutDag(payload), [payload]);
  const tasks = Array.isArray(payload.tasks) ? payload.tasks.length : 0;
  const fin = Array.isArray(payload.finally) ? payload.finally.length : 0;
  return (
    <>
      <dt>Tasks</dt>
      <dd>
        {tasks} {tasks === 1 ? 'task' : 'tasks'}
        {fin > 0 ? ` and ${fin} finally` : ''}
        {typeof payload.max_parallel === 'number' ? `, at most ${payload.max_parallel} at once` : ''}
      </dd>
      <dt>Graph</dt>
      <dd>
        <DagGraph layout={layout} label={`Graph of the workflow's ${layout.nodes.length} tasks.`} />
      </dd>
    </>
  );
}

function JobsSection({ workflowId }: { workflowId: string }) {
  const [status, setStatus] = useState<RunState | ''>('');
  const [trigger, setTrigger] = useState<JobTrigger | ''>('');
  const pager = useCursorPager();
  const jobs = useJobs(workflowId, {
    limit: 20,
    ...(status ? { status } : {}),
    ...(trigger ? { trigger } : {}),
    ...(pager.cursor ? { cursor: pager.cursor } : {}),
  });
  const columns: Column<Job>[] = [
    {
      key: 'job',
      header: 'Job',
      cell: (j) => <Link to={`/workflows/${workflowId}/jobs/${j.id}`}>{formatDateTime(j.scheduled_at)}</Link>,
    },
    { key: 'status', header: 'Status', cell: (j) => <JobStatusBadge status={j.status} /> },
    { key: 'trigger', header: 'Trigger', cell: (j) => TRIGGER_LABEL[j.trigger] },
    { key: 'started', header: 'Started', cell: (j) => formatDateTime(j.started_at) },
    { key: 'completed', header: 'Finished', cell: (j) => formatDateTime(j.completed_at) },
    { key: 'result', header: 'Result', cell: jobResult },
  ];
  return (
    <section aria-labelledby="jobs-heading">
      <h2 id="jobs-heading">Jobs</h2>
      <div className="row">
        <Select
          label="Status"
          value={status}
          onChange={(e) => {
            pager.reset();
            setStatus(e.target.value as RunState | '');
          }}
          options={[
            { value: '', label: 'Any' },
            ...RUN_STATES.map((s) => ({ value: s, label: JOB_STATUS_LABEL[s] })),
          ]}
        />
        <Select
          label="Trigger"
          value={trigger}
          onChange={(e) => {
            pager.reset();
            setTrigger(e.target.value as JobTrigger | '');
          }}
          options={[
            { value: '', label: 'Any' },
            ...JOB_TRIGGERS.map((t) => ({ value: t, label: TRIGGER_LABEL[t] })),
          ]}
        />
      </div>
      {jobs.isPending ? (
        <Spinner label="Loading jobs…" />
      ) : jobs.isError ? (
        <ErrorMessage error={jobs.error} title="The jobs could not be loaded" />
      ) : jobs.data.jobs.length === 0 ? (
        <EmptyState title={status || trigger ? 'No jobs match' : 'No jobs yet'} />
      ) : (
        <>
          <Table caption="Jobs" columns={columns} rows={jobs.data.jobs} rowKey={(j) => j.id} />
          <Pagination pager={pager} nextCursor={jobs.data.cursor} label="Job pages" />
        </>
      )}
    </section>
  );
}

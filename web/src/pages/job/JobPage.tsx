/**
 * One job: status, trigger, attempts, a status timeline (scheduled → started → finished), the
 * outcome (exit code or HTTP status, error kind/code/message), cancel and retry, and for CONTAINER
 * workflows the log viewer. The SSE stream the viewer opens also carries the job's status, so the
 * details update at once while it runs (the query's polling is only a fallback, off once final).
 * A DAG run's page follows the run's own stream, which also carries its task states (`tasks`):
 * the graph and table change without polling; polling resumes only while that stream is down.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError } from '../../api/client.ts';
import { jobKeys, useCancelJob, useJob, useRetryJob } from '../../api/jobs.ts';
import { JobArtifacts } from './JobArtifacts.tsx';
import type { Job, Task } from '../../api/types.ts';
import { useWorkflow } from '../../api/workflows.ts';
import { Button, EmptyState, ErrorMessage, JobStatusBadge, Spinner } from '../../components/index.ts';
import { DagRunView } from '../../features/dag/DagRunView.tsx';
import { useRunStream } from '../../features/dag/run-stream.ts';
import { LogViewer } from '../../features/logs/LogViewer.tsx';
import { TRIGGER_LABEL } from '../../lib/format.ts';
import { JobTimeline } from './JobTimeline.tsx';
import { attemptsText, isFinal, retryBlocker } from './job-view.ts';
import './job.css';

const POLL_MS = 5_000;
/** A DAG run's fallback polling (its tasks come with GET of the run) while its stream is down. */
const DAG_POLL_MS = 2_000;

export default function JobPage() {
  const { workflowId = '', jobId = '' } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const workflow = useWorkflow(workflowId, { refetchInterval: false });
  const [dagLive, setDagLive] = useState(false);
  const job = useJob(workflowId, jobId, {
    refetchInterval: (data) =>
      data && isFinal(data.status) ? false : data?.kind === 'DAG' ? (dagLive ? false : DAG_POLL_MS) : POLL_MS,
  });
  const key = jobKeys.one(workflowId, jobId);
  // Opened once the run is known to be a live DAG run (a final run has nothing to follow), and
  // kept until its `end`: the server sends the final `status` before the last `tasks`, so
  // closing on the final status would leave the graph on the tasks before it.
  const [follow, setFollow] = useState(false);
  if (!follow && job.data?.kind === 'DAG' && !isFinal(job.data.status)) setFollow(true);
  const runStream = useRunStream({
    workflowId,
    jobId,
    enabled: follow,
    onRun: (run) => client.setQueryData<Job>(key, (prev) => ({ ...run, tasks: prev?.tasks ?? [] })),
    onTasks: (tasks: Task[]) => client.setQueryData<Job>(key, (prev) => (prev ? { ...prev, tasks } : prev)),
    // A GET in flight when the stream opened can land after newer events and show older task
    // states; the run's final state is read once more so the page never stays on such a snapshot.
    onEnd: () => void client.invalidateQueries({ queryKey: key }),
  });
  // Polling stops while the stream is open or connecting, and resumes while it is down.
  const streamUp = runStream === 'open' || runStream === 'connecting' || runStream === 'ended';
  if (streamUp !== dagLive) setDagLive(streamUp);
  const cancel = useCancelJob(workflowId);
  const retry = useRetryJob(workflowId);

  const onStatus = useCallback(
    (snapshot: unknown) => client.setQueryData(jobKeys.one(workflowId, jobId), snapshot as Job),
    [client, workflowId, jobId],
  );

  const backLink = (
    <Link to={`/workflows/${encodeURIComponent(workflowId)}`}>
      ← {workflow.data ? workflow.data.name : 'Back to the workflow'}
    </Link>
  );

  if (job.isPending) return <Spinner label="Loading the job…" />;
  if (job.isError) {
    const notFound = job.error instanceof ApiError && (job.error.status === 404 || job.error.status === 400);
    return (
      <section aria-labelledby="job-heading">
        <nav aria-label="Breadcrumb">{backLink}</nav>
        <h1 id="job-heading">Job</h1>
        {notFound ? (
          <EmptyState title="Job not found">This job does not exist or is not yours.</EmptyState>
        ) : (
          <ErrorMessage error={job.error} />
        )}
      </section>
    );
  }

  const j = job.data;
  const canCancel = j.status === 'PENDING' || j.status === 'QUEUED' || j.status === 'RUNNING';
  // Offered only where it can work: a FAILED/CANCELED job of a runnable workflow.
  const retryBlocked = retryBlocker(j, workflow.data);
  const finishedBadly = j.status === 'FAILED' || j.status === 'CANCELED';
  const hasLogs = workflow.data?.kind === 'CONTAINER';
  const isDag = j.kind === 'DAG';
  const noun = isDag ? 'run' : 'job';

  return (
    <section className="job-page" aria-labelledby="job-heading">
      <nav aria-label="Breadcrumb">{backLink}</nav>
      <header className="job-header">
        <h1 id="job-heading">
          {isDag ? 'Run' : 'Job'} <code>{j.id}</code>
        </h1>
        <JobStatusBadge status={j.status} />
        <div className="job-actions">
          {canCancel ? (
            <Button
              variant="danger"
              pending={cancel.isPending}
              onClick={() => cancel.mutate({ jobId: j.id })}
            >
              Cancel {noun}
            </Button>
          ) : null}
          {retryBlocked === null ? (
            <Button
              variant="primary"
              pending={retry.isPending}
              onClick={() =>
                retry.mutate(
                  { jobId: j.id },
                  {
                    onSuccess: (next) =>
                      void navigate(
                        `/workflows/${encodeURIComponent(workflowId)}/jobs/${encodeURIComponent(next.id)}`,
                      ),
                  },
                )
              }
            >
              Retry {noun}
            </Button>
          ) : null}
        </div>
      </header>
      {finishedBadly && retryBlocked !== null && workflow.data ? (
        <p className="muted">Retry is not available: {retryBlocked}</p>
      ) : null}
      {isDag && retryBlocked === null ? (
        // What the server's retry of a run does (src/domain/dag-run-retry.ts).
        <p className="muted">
          Retry starts a new run that keeps the tasks that succeeded (with their outputs) unless a task
          upstream of them runs again, and runs the others, finally tasks included, again.
        </p>
      ) : null}
      <ErrorMessage error={cancel.error ?? retry.error} title="The action failed" />

      <dl className="job-details">
        <dt>Trigger</dt>
        <dd>{TRIGGER_LABEL[j.trigger]}</dd>
        <dt>Attempts</dt>
        <dd>{attemptsText(j)}</dd>
        {j.exit_code !== null ? (
          <>
            <dt>Exit code</dt>
            <dd>{j.exit_code}</dd>
          </>
        ) : null}
        {j.http_status_code !== null ? (
          <>
            <dt>HTTP status</dt>
            <dd>{j.http_status_code}</dd>
          </>
        ) : null}
        {j.latency_ms !== null ? (
          <>
            <dt>Latency</dt>
            <dd>{j.latency_ms} ms</dd>
          </>
        ) : null}
        {j.skipped_ticks > 0 ? (
          <>
            <dt>Missed ticks folded in</dt>
            <dd>{j.skipped_ticks}</dd>
          </>
        ) : null}
        {j.retry_of ? (
          <>
            <dt>Retry of</dt>
            <dd>
              <Link
                to={`/workflows/${encodeURIComponent(workflowId)}/jobs/${encodeURIComponent(j.retry_of)}`}
              >
                <code>{j.retry_of}</code>
              </Link>
            </dd>
          </>
        ) : null}
      </dl>

      {j.error ? (
        <div className="job-error" role="note" aria-label="Job error">
          <p>
            <strong>{j.error.kind === 'USER' ? 'Workflow error' : 'System error'}</strong>{' '}
            <code>{j.error.code}</code>
          </p>
          <p>{j.error.message}</p>
        </div>
      ) : null}

      <JobTimeline job={j} />

      {isDag ? (
        <DagRunView workflowId={workflowId} job={j} workflow={workflow.data} />
      ) : (
        <>
          {hasLogs ? <JobArtifacts workflowId={workflowId} jobId={j.id} final={isFinal(j.status)} /> : null}

          <h2>Logs</h2>
          {workflow.isPending ? (
            <Spinner label="Loading the workflow…" />
          ) : !hasLogs ? (
            <p>HEARTBEAT jobs keep no logs.</p>
          ) : workflow.data && !workflow.data.log_retention ? (
            <p>This workflow keeps no logs (log retention is off).</p>
          ) : (
            <LogViewer key={j.id} workflowId={workflowId} jobId={j.id} onStatus={onStatus} />
          )}
        </>
      )}
    </section>
  );
}

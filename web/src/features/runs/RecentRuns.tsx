/**
 * A workflow's recent runs on the overview: the last run (when, result, how long) and a strip of
 * small squares, one per run, oldest on the left and newest on the right (read as a timeline).
 * Each square links to its job and names it (status, time, duration) in its label and tooltip, so
 * the colour is never the only cue.
 */
import { Link } from 'react-router';
import type { RecentJob, Workflow } from '../../api/types.ts';
import { JOB_STATUS_LABEL, JOB_STATUS_TONE, JobStatusBadge } from '../../components/Badge.tsx';
import { formatDateTime, formatDurationMs, formatRelativeTime, jobDurationMs } from '../../lib/format.ts';
import './runs.css';

/** A workflow's recent runs; none from a server that predates the `recent_jobs` field. */
export function recentJobsOf(workflow: Pick<Workflow, 'recent_jobs'>): RecentJob[] {
  return (workflow as Partial<Pick<Workflow, 'recent_jobs'>>).recent_jobs ?? [];
}

/** The moment a run is best known by: when it finished, else when it started, else its slot. */
export function runTime(job: Pick<RecentJob, 'completed_at' | 'started_at' | 'scheduled_at'>): string {
  return job.completed_at ?? job.started_at ?? job.scheduled_at;
}

/** "Completed, 3 minutes ago (5 Jan 2026, 09:00:00 CET), took 1.2 s". */
export function describeRun(job: RecentJob, now: Date, locale?: string): string {
  const at = runTime(job);
  const when = `${formatRelativeTime(at, now, locale)} (${formatDateTime(at, { locale })})`;
  const ms = jobDurationMs(job);
  const verb = job.completed_at ? 'finished' : job.started_at ? 'started' : 'scheduled';
  return `${JOB_STATUS_LABEL[job.status]}, ${verb} ${when}${ms === null ? '' : `, took ${formatDurationMs(ms)}`}`;
}

const jobPath = (workflowId: string, jobId: string) =>
  `/workflows/${encodeURIComponent(workflowId)}/jobs/${encodeURIComponent(jobId)}`;

export function LastRun({ workflowId, jobs, now }: { workflowId: string; jobs: RecentJob[]; now: Date }) {
  const last = jobs[0];
  if (!last) return <span className="muted">Never</span>;
  const at = runTime(last);
  const ms = jobDurationMs(last);
  return (
    <span className="last-run">
      <JobStatusBadge status={last.status} />{' '}
      <Link to={jobPath(workflowId, last.id)} title={formatDateTime(at)}>
        <time dateTime={at}>{formatRelativeTime(at, now)}</time>
      </Link>
      {ms !== null && <span className="muted"> · {formatDurationMs(ms)}</span>}
    </span>
  );
}

export function RecentRunsStrip({
  workflowId,
  workflowName,
  jobs,
  now,
}: {
  workflowId: string;
  workflowName: string;
  jobs: RecentJob[];
  now: Date;
}) {
  if (jobs.length === 0) return null;
  // The API sends newest first; the strip reads left to right, oldest to newest.
  const ordered = [...jobs].reverse();
  return (
    <ol className="run-strip" aria-label={`Recent runs of ${workflowName}, oldest first`}>
      {ordered.map((job) => {
        const label = describeRun(job, now);
        return (
          <li key={job.id}>
            <Link
              to={jobPath(workflowId, job.id)}
              className={`run-square run-${JOB_STATUS_TONE[job.status]}`}
              aria-label={label}
              title={label}
            />
          </li>
        );
      })}
    </ol>
  );
}

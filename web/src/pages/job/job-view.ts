import type { Job, JobState } from '../../api/types.ts';

const FINAL: readonly JobState[] = ['COMPLETED', 'FAILED', 'CANCELED'];

export function isFinal(status: JobState): boolean {
  return FINAL.includes(status);
}

export interface TimelineStep {
  label: string;
  at: string | null;
  state: 'done' | 'current' | 'upcoming' | 'failed';
}

/** Scheduled → Started → Completed/Failed/Canceled, as far as the job got. */
export function timelineOf(
  job: Pick<Job, 'status' | 'scheduled_at' | 'started_at' | 'completed_at'>,
): TimelineStep[] {
  const finalLabel =
    job.status === 'FAILED' ? 'Failed' : job.status === 'CANCELED' ? 'Canceled' : 'Completed';
  const final = isFinal(job.status);
  return [
    { label: 'Scheduled', at: job.scheduled_at, state: job.started_at || final ? 'done' : 'current' },
    {
      label: 'Started',
      at: job.started_at,
      state: job.started_at ? (final ? 'done' : 'current') : 'upcoming',
    },
    {
      label: finalLabel,
      at: job.completed_at,
      state: final ? (job.status === 'COMPLETED' ? 'done' : 'failed') : 'upcoming',
    },
  ];
}

/** The outcome in a few words: the error message, else the exit code or HTTP status. */
export function jobResult(job: Pick<Job, 'error' | 'exit_code' | 'http_status_code'>): string {
  if (job.error) return job.error.message;
  if (job.exit_code !== null) return `exit ${job.exit_code}`;
  if (job.http_status_code !== null) return `HTTP ${job.http_status_code}`;
  return '';
}

/**
 * "1 of 3" while another attempt can still happen (the job is not final and has attempts left);
 * otherwise just the count: a finished job is never attempted again (a retry is a new job).
 */
export function attemptsText(job: Pick<Job, 'status' | 'attempts' | 'max_attempts'>): string {
  return !isFinal(job.status) && job.attempts < job.max_attempts
    ? `${job.attempts} of ${job.max_attempts}`
    : String(job.attempts);
}

/**
 * Whether "Retry job" can work (the API's rules, jobs service `retry`): the job FAILED or was
 * CANCELED, and its workflow is not terminated and has a completed build. Null while the workflow
 * is unknown (then the button is not offered).
 */
export function retryBlocker(
  job: Pick<Job, 'status'>,
  workflow: { terminated_at: string | null; build_status: string } | undefined,
): string | null {
  if (job.status !== 'FAILED' && job.status !== 'CANCELED')
    return 'Only failed or canceled jobs can be retried.';
  if (!workflow) return 'Loading the workflow…';
  if (workflow.terminated_at !== null) return 'The workflow is terminated; edit it to re-activate it first.';
  if (workflow.build_status !== 'COMPLETED') return 'The workflow’s build has not completed.';
  return null;
}

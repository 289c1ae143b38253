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

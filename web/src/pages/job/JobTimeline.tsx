import type { Job } from '../../api/types.ts';
import { formatDateTime } from '../../lib/format.ts';
import { timelineOf } from './job-view.ts';

/** The job's life as an ordered list: each step with its time, or "—" if not reached. */
export function JobTimeline({ job }: { job: Job }) {
  const steps = timelineOf(job);
  return (
    <ol className="job-timeline" aria-label="Status timeline">
      {steps.map((step) => (
        <li
          key={step.label}
          className={`timeline-step timeline-${step.state}`}
          aria-current={step.state === 'current' ? 'step' : undefined}
        >
          <span className="timeline-label">{step.label}</span>{' '}
          {step.at ? <time dateTime={step.at}>{formatDateTime(step.at)}</time> : <span>—</span>}
        </li>
      ))}
    </ol>
  );
}

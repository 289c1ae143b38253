/**
 * The "Schedule" section of a workflow page: its tick ledger (GET /workflows/{id}/ticks), one entry
 * per fire time with what became of it, as a timeline in nominal order. The outcome is a coloured
 * badge with its name in words (colour is never the only cue); the reason shows on hover and on
 * keyboard focus, and is the entry's accessible description. Backfills follow (./BackfillSection.tsx).
 */
import { useId, useState } from 'react';
import type { Tick, TickOutcome } from '../../api/types.ts';
import { useTicks } from '../../api/workflows.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { formatDateTime } from '../../lib/format.ts';
import { BackfillSection } from './BackfillSection.tsx';

export const TICK_OUTCOME_LABEL: Record<TickOutcome, string> = {
  STARTED: 'Started',
  BUFFERED: 'Buffered',
  SKIPPED_OVERLAP: 'Skipped (overlap)',
  CANCELED_OTHER: 'Replaced',
  MISSED_DEADLINE: 'Missed deadline',
  CAUGHT_UP: 'Caught up',
  SKIPPED_CATCH_UP: 'Skipped (catch-up)',
  PAUSED: 'Paused',
  TERMINATED: 'Terminated',
  DST_SKIPPED: 'Skipped (DST)',
  DST_DOUBLED: 'Doubled (DST)',
  NOT_BUILT: 'Not built',
};

const TICK_OUTCOME_TONE: Record<TickOutcome, BadgeTone> = {
  STARTED: 'success',
  BUFFERED: 'info',
  SKIPPED_OVERLAP: 'warning',
  CANCELED_OTHER: 'warning',
  MISSED_DEADLINE: 'danger',
  CAUGHT_UP: 'info',
  SKIPPED_CATCH_UP: 'warning',
  PAUSED: 'neutral',
  TERMINATED: 'danger',
  DST_SKIPPED: 'warning',
  DST_DOUBLED: 'info',
  NOT_BUILT: 'danger',
};

const WINDOWS = [
  { value: '3600000', label: 'Last hour' },
  { value: '86400000', label: 'Last 24 hours' },
  { value: '604800000', label: 'Last 7 days' },
  { value: '', label: 'Everything kept' },
];

const PAGE_SIZE = 50;

export function TickLedgerSection({ workflowId, canRun }: { workflowId: string; canRun: boolean }) {
  const [windowMs, setWindowMs] = useState('86400000');
  // The window's start, fixed when it is chosen: a moving `from` would change the query (and
  // the pages) on every refresh.
  const [from, setFrom] = useState(() => new Date(Date.now() - Number(windowMs)).toISOString());
  const pager = useCursorPager();
  const ticks = useTicks(workflowId, {
    limit: PAGE_SIZE,
    ...(windowMs !== '' ? { from } : {}),
    ...(pager.cursor ? { cursor: pager.cursor } : {}),
  });
  return (
    <section aria-labelledby="schedule-heading">
      <h2 id="schedule-heading">Schedule</h2>
      <p className="muted">
        Every fire time of the schedule and what became of it, oldest first. Hover or focus an entry for the
        reason.
      </p>
      <div className="row">
        <Select
          label="Period"
          value={windowMs}
          onChange={(e) => {
            pager.reset();
            setWindowMs(e.target.value);
            if (e.target.value !== '') setFrom(new Date(Date.now() - Number(e.target.value)).toISOString());
          }}
          options={WINDOWS}
        />
      </div>
      {ticks.isPending ? (
        <Spinner label="Loading the fire times…" />
      ) : ticks.isError ? (
        <ErrorMessage error={ticks.error} title="The fire times could not be loaded" />
      ) : ticks.data.ticks.length === 0 ? (
        <EmptyState title="No fire times recorded in this period" />
      ) : (
        <>
          <ol className="tick-ledger" aria-label="Fire times">
            {ticks.data.ticks.map((t) => (
              <TickEntry key={t.nominal_at} tick={t} />
            ))}
          </ol>
          <Pagination pager={pager} nextCursor={ticks.data.cursor} label="Fire time pages" />
        </>
      )}
      <BackfillSection workflowId={workflowId} canRun={canRun} />
    </section>
  );
}

function TickEntry({ tick }: { tick: Tick }) {
  const reasonId = useId();
  const late = tick.scheduled_at !== tick.nominal_at;
  return (
    <li
      className="tick"
      // Focusable so that keyboard users reach the reason as mouse users do by hovering.
      tabIndex={tick.reason ? 0 : undefined}
      aria-describedby={tick.reason ? reasonId : undefined}
    >
      <time dateTime={tick.nominal_at}>{formatDateTime(tick.nominal_at)}</time>{' '}
      <Badge tone={TICK_OUTCOME_TONE[tick.outcome]}>{TICK_OUTCOME_LABEL[tick.outcome]}</Badge>
      {late && <span className="muted"> (jitter: at {formatDateTime(tick.scheduled_at)})</span>}
      {tick.reason && (
        <span role="tooltip" id={reasonId} className="tick-reason">
          {tick.reason}
        </span>
      )}
    </li>
  );
}

/**
 * Missed-fire alerts (issue 13): why a workflow's due fire time has not started, from what the
 * detector (src/workers/scheduler/missed-fires.ts) reads in the workflow row, its waiting runs and
 * its tick ledger. Pure: the caller passes what it read and the current time.
 *
 * A fire time "has not started" when, `after` past it, either
 * - the workflow's `next_run_at` still stands at it: no scheduler turned it into a run — because
 *   the workflow is not built (its build is queued or running: the scheduler claims built ones
 *   only), NOT_BUILT; or because no scheduler is running or keeping up, SCHEDULER_DOWN (the
 *   ledger's last entry says since when nothing was recorded); or
 * - its build failed and the scheduler recorded it NOT_BUILT (and moved on along the schedule):
 *   NOT_BUILT at once, with the build's error, until an edit or a rebuild; or
 * - its run was created but is still PENDING or QUEUED: no executor claimed it, EXECUTORS_SATURATED.
 * The order is the order of the causes: an unbuilt workflow gets no run whatever the scheduler
 * does, and a run waits for an executor only once a scheduler created it. Paused and terminated
 * workflows are never candidates: their fire times are not meant to run (the ledger says PAUSED).
 */
import type { MissedFireCause } from './events.ts';

export interface MissedFireInput {
  /** The workflow's next fire time, when it is `after` overdue (else null). */
  overdueNextRunAt: Date | null;
  buildStatus: string;
  /** The build's error, for a failed build. */
  buildError?: string | null;
  /** The oldest of its automatic runs still waiting `after` past its time, and how many wait. */
  waiting: { since: Date; count: number } | null;
  /** The workflow's last ledger entry (nominal time, when it was recorded), if any. */
  lastTick: { nominalAt: Date; recordedAt: Date; outcome?: string } | null;
  now: Date;
  afterMs: number;
}

export interface MissedFire {
  cause: MissedFireCause;
  /** The fire time (or the waiting run's time) that did not start. */
  dueAt: Date;
  reason: string;
}

const iso = (d: Date) => d.toISOString();
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The cause of a missed fire time, or null when nothing is missed. */
export function missedFire(input: MissedFireInput): MissedFire | null {
  const { overdueNextRunAt: due, waiting, now, afterMs } = input;
  if (due !== null) {
    const late = `its fire time of ${iso(due)} had not started after ${seconds(now.getTime() - due.getTime())}`;
    if (input.buildStatus === 'FAILED') {
      return { cause: 'NOT_BUILT', dueAt: due, reason: `${late}: ${buildFailed(input.buildError)}` };
    }
    if (input.buildStatus !== 'COMPLETED') {
      return {
        cause: 'NOT_BUILT',
        dueAt: due,
        reason: `${late}: the workflow is not built (build ${input.buildStatus}); it runs once the build completes`,
      };
    }
    const last = input.lastTick
      ? `the tick ledger's last entry is for ${iso(input.lastTick.nominalAt)}, recorded ${iso(input.lastTick.recordedAt)}`
      : 'the tick ledger has no entry for it yet';
    return {
      cause: 'SCHEDULER_DOWN',
      dueAt: due,
      reason: `${late}: no scheduler ran it (none running, or none keeping up; alert after ${seconds(afterMs)}); ${last}`,
    };
  }
  const last = input.lastTick;
  // No grace here: a fire time recorded NOT_BUILT will not run whatever happens next (`after` is
  // the time given to a scheduler or an executor that may still start it).
  if (input.buildStatus === 'FAILED' && last?.outcome === 'NOT_BUILT') {
    return {
      cause: 'NOT_BUILT',
      dueAt: last.nominalAt,
      reason: `its fire time of ${iso(last.nominalAt)} did not run: ${buildFailed(input.buildError)}`,
    };
  }
  if (waiting !== null) {
    const others = waiting.count > 1 ? ` (${waiting.count} of its runs are waiting)` : '';
    return {
      cause: 'EXECUTORS_SATURATED',
      dueAt: waiting.since,
      reason: `its run for ${iso(waiting.since)} was still waiting after ${seconds(now.getTime() - waiting.since.getTime())}: no executor took it (all busy, or none running)${others}`,
    };
  }
  return null;
}

function buildFailed(error: string | null | undefined): string {
  return `the workflow's build failed${error ? ` (${error})` : ''}; edit or rebuild it to run it again (fire times until then are recorded as NOT_BUILT)`;
}

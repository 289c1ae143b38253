/**
 * Pause and resume: the rules that do not need the database (the service applies them under the
 * workflow's row lock). Pure.
 *
 * A paused workflow creates no runs: the scheduler's claim skips `paused_at IS NOT NULL`. Its
 * `next_run_at` is kept while paused (the view shows it as null: nothing will run then), because
 * an interval schedule's phase is read from it on resume.
 *
 * Fire times that fall inside the pause are not run, not even as one catch-up run: resuming after
 * a week of an hourly schedule must not start anything at once. The first run after a resume is the
 * schedule's first fire time after the resume (`nextRunOnResume`). A once schedule whose instant
 * passed while paused therefore never runs; editing its `run_at` schedules it again.
 */
import type { FieldIssue } from './errors.ts';
import { unstorableValues } from './field-issues.ts';
import { nextRunAfter, type Schedule } from './schedule.ts';

/** Longest pause note, in characters (UTF-16 code units as JavaScript counts them, as PostgreSQL's char_length for BMP text). */
export const PAUSE_NOTE_MAX_CHARS = 500;

export type PauseInputResult = { ok: true; note: string | null } | { ok: false; issues: FieldIssue[] };

/**
 * The body of `POST /workflows/{id}/pause`: absent, `{}`, or `{ note }` with a note of at most
 * PAUSE_NOTE_MAX_CHARS characters without control characters other than line breaks and tabs. A
 * blank note is no note.
 */
export function validatePauseInput(body: unknown): PauseInputResult {
  if (body === undefined || body === null) return { ok: true, note: null };
  if (typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  }
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'note') issues.push({ path: key, message: 'is not a known field' });
  }
  const raw = (body as { note?: unknown }).note;
  let note: string | null = null;
  if (raw !== undefined && raw !== null) {
    const unstorable = unstorableValues(raw, 'note');
    if (typeof raw !== 'string') {
      issues.push({ path: 'note', message: 'must be a string' });
    } else if (raw.length > PAUSE_NOTE_MAX_CHARS) {
      issues.push({
        path: 'note',
        message: `must be at most ${PAUSE_NOTE_MAX_CHARS} characters (has ${raw.length})`,
      });
    } else if (unstorable.length > 0) {
      issues.push(...unstorable);
    } else if (/[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw)) {
      // Shown on the dashboard and in the terminal, where they would garble the text around them.
      issues.push({
        path: 'note',
        message: 'must not contain control characters other than line breaks and tabs',
      });
    } else {
      note = raw.trim() === '' ? null : raw.trim();
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, note };
}

/**
 * The first run after a resume at `now`: the schedule's first fire time strictly after `now`, so
 * nothing due during the pause runs. An interval schedule keeps its phase: its fire times stay on
 * the grid of `pausedNextRunAt` (the run that was next when it was paused), so a 60-minute
 * schedule that ran at :00 still runs at :00. Without one (never built), the interval starts at `now`.
 */
export function nextRunOnResume(schedule: Schedule, pausedNextRunAt: Date | null, now: Date): Date | null {
  if (schedule.type === 'interval' && pausedNextRunAt !== null) {
    const step = schedule.intervalMinutes * 60_000;
    // nextRunAfter's first run is one interval after its anchor: anchor one step before the grid point.
    return nextRunAfter(schedule, now, new Date(pausedNextRunAt.getTime() - step));
  }
  return nextRunAfter(schedule, now);
}

/** The note of a workflow paused by the failure policy (`pause_on_failure`). */
export function failurePauseNote(consecutiveFailures: number): string {
  return `paused after ${consecutiveFailures} consecutive failure${consecutiveFailures === 1 ? '' : 's'}`;
}

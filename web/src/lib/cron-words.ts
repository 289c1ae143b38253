/**
 * A cron expression in words ("At 02:00, Monday through Friday") through `cronstrue`. Its own
 * module so the library loads only with the pages that show a cron schedule (form, detail page),
 * not with the overview.
 */
import cronstrue from 'cronstrue';

/** The expression in English words, or null when cronstrue cannot read it. */
export function describeCron(expression: string): string | null {
  const trimmed = expression.trim();
  if (!trimmed) return null;
  try {
    return cronstrue.toString(trimmed, {
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
      // Day-of-week 0 and 7 are both Sunday, as in the scheduler (croner).
      dayOfWeekStartIndexZero: true,
    });
  } catch {
    return null;
  }
}

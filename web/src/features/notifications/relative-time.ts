/**
 * "3 minutes ago" for the notifications drawer, with the full date (and its zone) in a
 * `title`/`dateTime` next to it. Both live in lib/format.ts with the dashboard's other time formats.
 */
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';

export { formatRelativeTime };

/** The absolute form, for a tooltip and screen readers: "5 Mar 2024, 12:00 UTC". */
export function formatAbsoluteTime(iso: string, locale?: string): string {
  return Number.isNaN(Date.parse(iso)) ? iso : formatDateTime(iso, { locale, seconds: false });
}

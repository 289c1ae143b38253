/** Number formatting for the analytics cards. */

export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** Durations are written the same way everywhere in the dashboard (lib/format.ts). */
export { formatDurationMs } from '../../lib/format.ts';

export function formatRate(rate: number | null | undefined, locale?: string): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(rate);
}

/** Number formatting for the analytics cards. */

export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** 850 ms, 1.2 s, 3 min 4 s, 2 h 5 min; an em dash when unknown. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const totalSeconds = Math.round(ms / 1_000);
  if (totalSeconds < 3_600) {
    const s = totalSeconds % 60;
    return s ? `${Math.floor(totalSeconds / 60)} min ${s} s` : `${totalSeconds / 60} min`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const m = totalMinutes % 60;
  return m ? `${Math.floor(totalMinutes / 60)} h ${m} min` : `${totalMinutes / 60} h`;
}

export function formatRate(rate: number | null | undefined, locale?: string): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(rate);
}

/**
 * Pure pieces of the time-series chart: bucket arithmetic, gap filling, scales, ticks, labels. The
 * SVG component only maps these to shapes, so the numbers are tested without a DOM.
 *
 * Buckets are UTC-aligned like the server's (an hour is the same everywhere; a day bucket starts at
 * 00:00 UTC), so day labels are formatted in UTC: a local zone west of UTC would otherwise label
 * the bucket of 5 March as 4 March.
 */
import type { TimeseriesBucket, TimeseriesPoint } from '../../api/analytics.ts';

export const BUCKET_MS: Record<TimeseriesBucket, number> = { hour: 3_600_000, day: 86_400_000 };

/** At most this many buckets are asked for and drawn; wider ranges need the day bucket. */
export const MAX_BUCKETS = 24 * 31;

export function floorToBucket(ms: number, bucket: TimeseriesBucket): number {
  return Math.floor(ms / BUCKET_MS[bucket]) * BUCKET_MS[bucket];
}

export interface FilledPoint {
  ts: number;
  completed: number;
  failed: number;
  canceled: number;
  total: number;
  avgDurationMs: number | null;
  avgFireLagMs: number | null;
}

/**
 * One point per bucket starting in [floor(from), to) — `to` is exclusive, as in the API. The server
 * zero-fills its answer already; filling here as well keeps the chart honest if a point is missing
 * (quiet hours must be drawn, not skipped). Points outside the range are dropped.
 */
export function fillBuckets(
  points: readonly TimeseriesPoint[],
  from: Date,
  to: Date,
  bucket: TimeseriesBucket,
): FilledPoint[] {
  const step = BUCKET_MS[bucket];
  const start = floorToBucket(from.getTime(), bucket);
  const end = to.getTime();
  if (!(end > start)) return [];
  const byTs = new Map<number, TimeseriesPoint>();
  for (const p of points) {
    const ts = Date.parse(p.ts);
    if (!Number.isNaN(ts)) byTs.set(floorToBucket(ts, bucket), p);
  }
  const out: FilledPoint[] = [];
  for (let ts = start; ts < end && out.length < MAX_BUCKETS; ts += step) {
    const p = byTs.get(ts);
    const completed = p?.completed ?? 0;
    const failed = p?.failed ?? 0;
    const canceled = p?.canceled ?? 0;
    out.push({
      ts,
      completed,
      failed,
      canceled,
      total: completed + failed + canceled,
      avgDurationMs: p?.avg_duration_ms ?? null,
      avgFireLagMs: p?.avg_fire_lag_ms ?? null,
    });
  }
  return out;
}

/** A linear map from a domain to a range (pixels); a zero-width domain maps everything to the start. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  return (value: number) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

/**
 * Round tick values from 0 to at least `max`, about `count` of them, with steps of 1, 2 or 5 × 10^n
 * (integers only: the y axis counts jobs). An empty chart still gets the axis 0..1.
 */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude);
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return ticks;
}

export function formatBucket(
  ts: number,
  bucket: TimeseriesBucket,
  options: { locale?: string; timeZone?: string } = {},
): string {
  const timeZone = options.timeZone ?? (bucket === 'day' ? 'UTC' : undefined);
  const fmt = new Intl.DateTimeFormat(
    options.locale,
    bucket === 'day'
      ? { month: 'short', day: 'numeric', timeZone }
      : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone },
  );
  return fmt.format(ts);
}

export const RANGE_PRESETS = [
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000, buckets: ['hour'] },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, buckets: ['hour', 'day'] },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, buckets: ['day'] },
  { id: '90d', label: 'Last 90 days', ms: 90 * 86_400_000, buckets: ['day'] },
] as const satisfies ReadonlyArray<{
  id: string;
  label: string;
  ms: number;
  buckets: readonly TimeseriesBucket[];
}>;
export type RangePresetId = (typeof RANGE_PRESETS)[number]['id'];

/**
 * The `from`/`to` of a preset ending at `now`, rounded out to whole buckets so the query key stays
 * the same within a bucket (the chart refreshes on an interval instead of every render).
 */
export function rangeOf(
  presetId: RangePresetId,
  bucket: TimeseriesBucket,
  now: Date,
): { from: string; to: string } {
  const preset = RANGE_PRESETS.find((p) => p.id === presetId) ?? RANGE_PRESETS[0];
  const step = BUCKET_MS[bucket];
  const to = floorToBucket(now.getTime(), bucket) + step;
  const from = floorToBucket(to - preset.ms, bucket);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** The bucket to use when a preset does not offer the current one. */
export function bucketFor(presetId: RangePresetId, wanted: TimeseriesBucket): TimeseriesBucket {
  const preset = RANGE_PRESETS.find((p) => p.id === presetId) ?? RANGE_PRESETS[0];
  return (preset.buckets as readonly TimeseriesBucket[]).includes(wanted) ? wanted : preset.buckets[0];
}

/** One sentence for the chart's accessible name. */
export function summarise(points: readonly FilledPoint[], bucket: TimeseriesBucket): string {
  if (points.length === 0) return 'No data for this range.';
  let completed = 0;
  let failed = 0;
  let canceled = 0;
  let busiest: FilledPoint | null = null;
  for (const p of points) {
    completed += p.completed;
    failed += p.failed;
    canceled += p.canceled;
    if (p.total > 0 && (!busiest || p.total > busiest.total)) busiest = p;
  }
  const first = formatBucket(points[0]!.ts, bucket);
  const last = formatBucket(points[points.length - 1]!.ts, bucket);
  const head = `Jobs finished per ${bucket} from ${first} to ${last}: ${completed} completed, ${failed} failed, ${canceled} canceled.`;
  return busiest
    ? `${head} Busiest ${bucket}: ${formatBucket(busiest.ts, bucket)} with ${busiest.total}.`
    : `${head} No jobs finished in this range.`;
}

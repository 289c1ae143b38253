/**
 * The time-series range: defaults, validation and the zero-filled list of bucket starts. Pure (the
 * caller passes "now"), so the defaults are testable with a fixed clock.
 *
 * Buckets are UTC hours or days (86,400,000 ms from the epoch: UTC has no DST). `from` is rounded
 * down to its bucket; `to` is exclusive: the buckets returned are those starting in
 * [floor(from), to).
 */
import { ValidationError, type FieldIssue } from '../../domain/errors.ts';
import { ANALYTICS_BUCKETS, type AnalyticsBucket, type TimeseriesOptions } from './types.ts';

/** More buckets than a chart can show is a mistake, and bounds the work of one request. */
export const MAX_BUCKETS = 1000;
export const BUCKET_MS: Record<AnalyticsBucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** Without `from`: the last 24 hours hourly, the last 30 days daily. */
export const DEFAULT_BUCKETS: Record<AnalyticsBucket, number> = { hour: 24, day: 30 };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 date-time with a zone, or null. */
export function parseRfc3339(value: string): Date | null {
  if (!RFC3339.test(value)) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms);
  // Date.parse rolls over impossible dates ("02-30"); the calendar date must survive the round trip
  // in the string's own offset, so compare the date part with the offset applied.
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(value);
  const offsetMs = offset
    ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000
    : 0;
  if (new Date(ms + offsetMs).toISOString().slice(0, 10) !== value.slice(0, 10)) return null;
  return d;
}

export interface ResolvedRange {
  bucket: AnalyticsBucket;
  /** First bucket start (inclusive). */
  from: Date;
  /** Exclusive end. */
  to: Date;
  starts: Date[];
}

export function resolveRange(options: TimeseriesOptions, now: Date): ResolvedRange {
  const issues: FieldIssue[] = [];
  const bucket = options.bucket;
  if (!ANALYTICS_BUCKETS.includes(bucket)) issues.push({ path: 'bucket', message: 'must be hour or day' });
  const from = options.from !== undefined ? parseRfc3339(options.from) : undefined;
  const to = options.to !== undefined ? parseRfc3339(options.to) : undefined;
  if (from === null) issues.push({ path: 'from', message: 'must be an RFC 3339 date-time with a time zone' });
  if (to === null) issues.push({ path: 'to', message: 'must be an RFC 3339 date-time with a time zone' });
  if (issues.length > 0) throw new ValidationError(issues);

  const step = BUCKET_MS[bucket];
  const end = to ?? new Date(Math.floor(now.getTime() / step) * step + step);
  const start = from ?? new Date(end.getTime() - DEFAULT_BUCKETS[bucket] * step);
  const first = Math.floor(start.getTime() / step) * step;
  if (start.getTime() >= end.getTime()) {
    issues.push({ path: 'to', message: 'must be later than from' });
  } else {
    const count = Math.ceil((end.getTime() - first) / step);
    if (count > MAX_BUCKETS) {
      issues.push({
        path: 'from',
        message: `the range holds ${count} ${bucket} buckets, more than ${MAX_BUCKETS}: shorten it or use bucket=day`,
      });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const starts: Date[] = [];
  for (let t = first; t < end.getTime(); t += step) starts.push(new Date(t));
  return { bucket, from: new Date(first), to: end, starts };
}

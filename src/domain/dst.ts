/**
 * Daylight saving for cron schedules (issue 13): the one source of a cron schedule's fire times.
 * The scheduler (through `planTick`), the preview, `next_run_at` and the jitter bound all walk the
 * sequence this module produces, so they cannot disagree. Pure: zone rules come from the runtime's
 * time-zone database (Intl), read once per zone and year and kept.
 *
 * A cron expression names wall-clock times. Each maps to one instant, except:
 * - in a spring-forward **gap** (02:00–03:00 on 2027-03-28 in Europe/Berlin; a whole day,
 *   2011-12-30, in Pacific/Apia) the time does not exist. `gap: RUN_AFTER_GAP` (default) runs the
 *   times of a gap once, at the first instant after it (03:00), merged with a run of its own at that
 *   instant; `SKIP` does not run them.
 * - in an autumn **overlap** the time occurs twice. `overlap: FIRST` runs only the first occurrence;
 *   `BOTH` runs both. Unset (the default), the expression decides, by Vixie cron's rule (what
 *   Kubernetes and most cron users know): an expression whose minute or hour field starts with `*`
 *   (`0 * * * *`, `*∕15 * * * *`, `* 2 * * *`) runs every real hour, so BOTH — an hourly job keeps
 *   a run an hour; a time of day (`30 2 * * *`, `15,45 2 * * *`, `@daily`) runs once, so FIRST — a
 *   daily job never runs twice. A single default FIRST would leave hourly jobs a two-hour hole once a
 *   year, a single BOTH would run daily jobs twice: both break schedules that exist.
 *
 * What changed against croner's own zone handling (which this replaces): croner ran `30 2 * * *`
 * and `*∕15 * * * *` after a gap but dropped `15,45 2 * * *` and `*∕15 2 * * *` (times of one hour,
 * all in the gap) and Apia's lost day without a run; it ran `15,45 2 * * *` at both occurrences of
 * an overlap but `30 2 * * *` once. Both are now the rules above (docs/scheduling.md, DST matrix).
 *
 * How: croner matches the expression against wall-clock time read as UTC (fast: no zone in it),
 * and the zone's transitions, found once per zone and year by bisecting Intl's offsets, turn wall
 * clock into instants: between two transitions the offset is constant, so the next match under the
 * current offset is right unless a transition comes first.
 */
import { Cron } from 'croner';

export const DST_GAP_POLICIES = ['SKIP', 'RUN_AFTER_GAP'] as const;
export type DstGapPolicy = (typeof DST_GAP_POLICIES)[number];
export const DST_OVERLAP_POLICIES = ['FIRST', 'BOTH'] as const;
export type DstOverlapPolicy = (typeof DST_OVERLAP_POLICIES)[number];

export interface DstPolicy {
  gap: DstGapPolicy;
  /** null: by the expression (Vixie cron's rule, `overlapFor`). */
  overlap: DstOverlapPolicy | null;
}

export const DEFAULT_DST_POLICY: DstPolicy = Object.freeze({
  gap: 'RUN_AFTER_GAP',
  overlap: null,
}) as DstPolicy;

/**
 * The overlap policy in force: the given one, else Vixie cron's rule — an expression whose minute
 * or hour field starts with `*` runs each real hour (BOTH), a time of day runs once (FIRST).
 */
export function overlapFor(expression: string, overlap: DstOverlapPolicy | null): DstOverlapPolicy {
  if (overlap !== null) return overlap;
  const trimmed = expression.trim().toLowerCase();
  if (trimmed === '@hourly') return 'BOTH';
  if (trimmed.startsWith('@')) return 'FIRST';
  const fields = trimmed.split(/\s+/);
  // Six fields: seconds first (croner's form).
  const [minute, hour] = fields.length >= 6 ? [fields[1], fields[2]] : [fields[0], fields[1]];
  return minute?.startsWith('*') || minute?.startsWith('?') || hour?.startsWith('*') || hour?.startsWith('?')
    ? 'BOTH'
    : 'FIRST';
}

// ─── zone transitions ────────────────────────────────────────────────────────────────────────

/** A change of a zone's UTC offset: from `at` on, local time is UTC + `after` (ms). */
export interface Transition {
  at: number;
  before: number;
  after: number;
}

interface ZoneYear {
  /** The offset at the year's first instant (UTC). */
  startOffset: number;
  /** Transitions in (start of year, start of next year], in order. */
  transitions: Transition[];
}

/** No zone changed its offset twice within this (Intl is sampled at this step, then bisected). */
const SAMPLE_MS = 86_400_000;
/**
 * Years of one zone kept at most: a walk needs a few, and previews may start at any date, so the
 * cache is dropped rather than grown without bound (a year costs about a millisecond to compute).
 */
const MAX_CACHED_YEARS = 64;
/** Overlaps are shorter than this (Apia's 2011 change, the longest, was a gap of 24 h). */
const MAX_SHIFT_MS = 26 * 3_600_000;

/** One zone's offsets and transitions, computed per year on first use and kept. */
export class ZoneRules {
  readonly #format: Intl.DateTimeFormat;
  readonly #years = new Map<number, ZoneYear>();

  constructor(timezone: string) {
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** The UTC offset (ms) at an instant. */
  offsetAt(ms: number): number {
    const year = this.#year(new Date(ms).getUTCFullYear());
    let offset = year.startOffset;
    for (const t of year.transitions) {
      if (t.at > ms) break;
      offset = t.after;
    }
    return offset;
  }

  /** The first transition in (lo, hi], or null. */
  firstIn(lo: number, hi: number): Transition | null {
    const last = new Date(hi).getUTCFullYear();
    for (let y = new Date(lo).getUTCFullYear() - 1; y <= last; y++) {
      for (const t of this.#year(y).transitions) if (t.at > lo && t.at <= hi) return t;
    }
    return null;
  }

  /** The last transition in (lo, hi], or null. */
  lastIn(lo: number, hi: number): Transition | null {
    const first = new Date(lo).getUTCFullYear() - 1;
    for (let y = new Date(hi).getUTCFullYear(); y >= first; y--) {
      const list = this.#year(y).transitions;
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.at > lo && list[i]!.at <= hi) return list[i]!;
    }
    return null;
  }

  /** Whether the instant's wall-clock time already occurred before it (the second of an overlap). */
  isRepeat(ms: number): boolean {
    const t = this.lastIn(ms - MAX_SHIFT_MS, ms);
    return t !== null && t.after < t.before && ms < t.at + (t.before - t.after);
  }

  #year(y: number): ZoneYear {
    let year = this.#years.get(y);
    if (year === undefined) {
      if (this.#years.size >= MAX_CACHED_YEARS) this.#years.clear();
      year = this.#scan(y);
      this.#years.set(y, year);
    }
    return year;
  }

  #scan(y: number): ZoneYear {
    const start = Date.UTC(y, 0, 1);
    const end = Date.UTC(y + 1, 0, 1);
    const transitions: Transition[] = [];
    let lo = start;
    let offLo = this.#intlOffset(lo);
    while (lo < end) {
      const hi = Math.min(lo + SAMPLE_MS, end);
      const offHi = this.#intlOffset(hi);
      this.#bisect(lo, offLo, hi, offHi, transitions);
      lo = hi;
      offLo = offHi;
    }
    return { startOffset: this.#intlOffset(start), transitions };
  }

  /** Transitions in (lo, hi] given the offsets at both ends, by bisection to the millisecond. */
  #bisect(lo: number, offLo: number, hi: number, offHi: number, out: Transition[]): void {
    if (offLo === offHi) return;
    let a = lo;
    let b = hi;
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (this.#intlOffset(mid) === offLo) a = mid;
      else b = mid;
    }
    const offB = this.#intlOffset(b);
    out.push({ at: b, before: offLo, after: offB });
    // Two changes within one step: the rest of it holds the second.
    this.#bisect(b, offB, hi, offHi, out);
  }

  #intlOffset(ms: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.#format.formatToParts(new Date(ms))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const wall = Date.UTC(
      parts.year!,
      parts.month! - 1,
      parts.day!,
      parts.hour!,
      parts.minute!,
      parts.second!,
    );
    return wall - (ms - (((ms % 1_000) + 1_000) % 1_000));
  }
}

const zones = new Map<string, ZoneRules>();

/** The rules of a zone, shared by every schedule in it. */
export function zoneRules(timezone: string): ZoneRules {
  let rules = zones.get(timezone);
  if (rules === undefined) {
    rules = new ZoneRules(timezone);
    zones.set(timezone, rules);
  }
  return rules;
}

// ─── fire times ──────────────────────────────────────────────────────────────────────────────

/**
 * The fire times of one cron expression in one zone under one DST policy. Build one per walk (a
 * preview, a catch-up plan): building costs about as much as one step.
 */
export class CronFireTimes {
  readonly #pattern: Cron;
  readonly #zone: ZoneRules;
  readonly #runAfterGap: boolean;
  readonly #firstOnly: boolean;

  constructor(expression: string, timezone: string, dst: DstPolicy = DEFAULT_DST_POLICY) {
    // Wall-clock time is read as UTC: the pattern sees local dates and times, no zone.
    this.#pattern = new Cron(expression, { paused: true, utcOffset: 0 });
    this.#zone = zoneRules(timezone);
    this.#runAfterGap = dst.gap === 'RUN_AFTER_GAP';
    this.#firstOnly = overlapFor(expression, dst.overlap) === 'FIRST';
  }

  get zone(): ZoneRules {
    return this.#zone;
  }

  /** Whether a wall-clock time (local time read as UTC ms) matches the expression. */
  matchesWall(wall: number): boolean {
    return this.#pattern.nextRun(new Date(wall - 1_000))?.getTime() === wall;
  }

  /** The first wall-clock match in [lo, hi), or null. */
  firstWallIn(lo: number, hi: number): number | null {
    const next = this.#pattern.nextRun(new Date(lo - 1_000));
    return next !== null && next.getTime() < hi ? next.getTime() : null;
  }

  /** The first fire time strictly after `after`. */
  next(after: Date): Date | null {
    let pos = after.getTime();
    let offset = this.#zone.offsetAt(pos);
    let from = pos + offset;
    for (;;) {
      const match = this.#pattern.nextRun(new Date(from));
      if (match === null) return null;
      const wall = match.getTime();
      const at = wall - offset;
      const t = this.#zone.firstIn(pos, at);
      if (t !== null) {
        // The match is past a transition: it was read with the wrong offset.
        if (
          t.after > t.before &&
          this.#runAfterGap &&
          this.firstWallIn(t.at + t.before, t.at + t.after) !== null
        ) {
          return new Date(t.at);
        }
        pos = t.at;
        offset = t.after;
        from = t.at + offset - 1_000;
        continue;
      }
      if (this.#firstOnly && this.#zone.isRepeat(at)) {
        pos = at;
        from = wall;
        continue;
      }
      return new Date(at);
    }
  }

  /** The last fire time strictly before `before`. */
  previous(before: Date): Date | null {
    let pos = before.getTime();
    let offset = this.#zone.offsetAt(pos - 1);
    let from = pos + offset;
    for (;;) {
      const match = this.#pattern.previousRuns(1, new Date(from))[0];
      if (match === undefined) return null;
      const wall = match.getTime();
      const at = wall - offset;
      const t = this.#zone.lastIn(at, pos - 1);
      if (t !== null) {
        // The match is before the transition that starts this offset: read it with the one before.
        if (
          t.after > t.before &&
          this.#runAfterGap &&
          this.firstWallIn(t.at + t.before, t.at + t.after) !== null
        ) {
          return new Date(t.at);
        }
        pos = t.at;
        offset = t.before;
        from = t.at + offset;
        continue;
      }
      if (this.#firstOnly && this.#zone.isRepeat(at)) {
        // Before the skipped instant: its offset may be another one if it is where one began.
        pos = at;
        offset = this.#zone.offsetAt(at - 1);
        from = at + offset;
        continue;
      }
      return new Date(at);
    }
  }
}

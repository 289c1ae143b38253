/**
 * Search highlighting without HTML: a line is split into plain-text segments, and the matching ones
 * are rendered inside <mark> elements by React (which escapes text). Matching is literal (the query
 * is never a pattern: regex special characters match themselves) and case-insensitive, with the
 * same rule as the server's search: every non-overlapping occurrence, left to right.
 */
export interface Segment {
  text: string;
  match: boolean;
}

// Exactly the syntax characters: with the `u` flag any other escaped character is a SyntaxError.
const SPECIAL = /[.*+?^${}()|[\]\\]/g;

/** A RegExp source that matches `text` literally. */
export function escapeRegExp(text: string): string {
  return text.replace(SPECIAL, '\\$&');
}

/** A case-insensitive, literal, global matcher for `query`, or null for an empty query. */
export function matcherFor(query: string): RegExp | null {
  if (query === '') return null;
  // `u` keeps astral characters whole; `i` with `u` folds case per Unicode simple case folding.
  return new RegExp(escapeRegExp(query), 'giu');
}

/** [start, end) ranges of every non-overlapping occurrence of `query` in `text`. */
export function findMatches(text: string, query: string): [number, number][] {
  const re = matcherFor(query);
  if (!re) return [];
  const ranges: [number, number][] = [];
  for (const m of text.matchAll(re)) ranges.push([m.index, m.index + m[0].length]);
  return ranges;
}

/**
 * Splits `text` by [start, end) ranges (from findMatches or the server's `highlights`). Ranges may
 * come unsorted, overlapping or out of bounds: they are clamped, sorted and merged, so a character
 * is never marked twice and no text is lost or repeated.
 */
export function segmentsFromRanges(text: string, ranges: readonly (readonly [number, number])[]): Segment[] {
  const clamped = ranges
    .map(([s, e]) => [Math.max(0, Math.min(s, text.length)), Math.max(0, Math.min(e, text.length))] as const)
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [s, e] of clamped) {
    const last = merged.at(-1);
    // Overlapping ranges merge; touching ones stay apart (two occurrences side by side are two marks).
    if (last && s < last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const out: Segment[] = [];
  let at = 0;
  for (const [s, e] of merged) {
    if (s > at) out.push({ text: text.slice(at, s), match: false });
    out.push({ text: text.slice(s, e), match: true });
    at = e;
  }
  if (at < text.length || out.length === 0) out.push({ text: text.slice(at), match: false });
  return out;
}

/** `text` split into matching and non-matching segments for `query`. */
export function highlight(text: string, query: string): Segment[] {
  return segmentsFromRanges(text, findMatches(text, query));
}

/**
 * A unified diff of two texts, line by line, for `apply` and `diff` (definitions are tens of
 * lines: a longest-common-subsequence table is small and exact).
 */
import type { Output } from './output.ts';

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

function operations(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i++]!, a: i, b: ++j });
    // Removals before additions where either would do, as diff(1) prints them.
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ kind: '-', text: a[i++]!, a: i, b: j });
    else ops.push({ kind: '+', text: b[j++]!, a: i, b: j });
  }
  return ops;
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}

/**
 * The unified diff from `before` to `after` (`---`/`+++` headers, `@@` hunks with `context`
 * lines around changes), or an empty list when they are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { before: string; after: string },
  context = 3,
): string[] {
  const ops = operations(lines(before), lines(after));
  if (ops.every((o) => o.kind === ' ')) return [];
  const out = [`--- ${labels.before}`, `+++ ${labels.after}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change
    // that is at most 2 × context lines from the previous one.
    const start = Math.max(0, k - context);
    let end = k;
    let last = k;
    while (end < ops.length) {
      if (ops[end]!.kind !== ' ') last = end;
      else if (end - last > 2 * context) break;
      end++;
    }
    end = Math.min(ops.length, last + context + 1);
    const hunk = ops.slice(start, end);
    const aStart = hunk.find((o) => o.kind !== '+')?.a ?? hunk[0]!.a;
    const bStart = hunk.find((o) => o.kind !== '-')?.b ?? hunk[0]!.b;
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.text}`);
    k = end;
  }
  return out;
}

/** Prints a diff, red and green on a terminal. */
export function printDiff(out: Output, diff: string[]): void {
  for (const line of diff) {
    if (line.startsWith('---') || line.startsWith('+++')) out.line(out.paint('bold', line));
    else if (line.startsWith('@@')) out.line(out.paint('cyan', line));
    else if (line.startsWith('-')) out.line(out.paint('red', line));
    else if (line.startsWith('+')) out.line(out.paint('green', line));
    else out.line(line);
  }
}

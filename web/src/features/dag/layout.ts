/**
 * Layout of a DAG definition for the dashboard's graph (issue 12): each task a node, placed in a
 * column by its dependency depth (a task sits one column right of its deepest upstream task),
 * rows in definition order; `finally` tasks in columns of their own past a gap, since they run
 * after every regular task whatever the edges say. A fan-out (`for_each`) is one node: its
 * instances are counted per state by `taskGroups`, not drawn.
 *
 * Pure and best-effort: the editor previews definitions that do not validate yet, so unknown
 * names are dropped from edges, a cycle is cut where the walk meets it, and anything that is not
 * a task object is skipped. Linear in tasks + edges, so 500 tasks lay out in well under a frame;
 * callers memoize it on the definition, so a refetch of a run's states never lays it out again.
 */
import { dependsTasks, parseDepends } from '../../../../src/domain/dag-expression.ts';

export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 44;
export const GAP_X = 56;
export const GAP_Y = 16;
/** Extra columns between the regular tasks and the `finally` ones. */
const FINALLY_GAP_COLUMNS = 1;
const MARGIN = 8;

export interface LayoutNode {
  name: string;
  /** HEARTBEAT, CONTAINER, or '' when the definition does not say (yet). */
  kind: string;
  column: number;
  row: number;
  x: number;
  y: number;
  fanOut: boolean;
  isFinally: boolean;
  /** Direct upstream tasks known to the definition. */
  upstream: readonly string[];
}

export interface LayoutEdge {
  from: string;
  to: string;
  /** SVG path from the right side of `from` to the left side of `to`. */
  path: string;
}

export interface DagLayout {
  nodes: readonly LayoutNode[];
  edges: readonly LayoutEdge[];
  /** The first column of the `finally` tasks (null when there are none), for a divider. */
  finallyColumn: number | null;
  width: number;
  height: number;
}

interface Draft {
  name: string;
  kind: string;
  fanOut: boolean;
  isFinally: boolean;
  upstream: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The task names a task waits for: `depends_on`, else the names in its `depends` expression. */
export function upstreamOf(task: Record<string, unknown>): string[] {
  if (Array.isArray(task.depends_on))
    return task.depends_on.filter((n): n is string => typeof n === 'string');
  if (typeof task.depends === 'string') {
    const parsed = parseDepends(task.depends);
    return parsed.ok ? dependsTasks(parsed.expression) : [];
  }
  return [];
}

function drafts(list: unknown, isFinally: boolean, seen: Set<string>): Draft[] {
  if (!Array.isArray(list)) return [];
  const out: Draft[] = [];
  for (const t of list) {
    if (!isObject(t) || typeof t.name !== 'string' || t.name === '' || seen.has(t.name)) continue;
    seen.add(t.name);
    out.push({
      name: t.name,
      kind: typeof t.kind === 'string' ? t.kind : '',
      fanOut: t.for_each !== undefined && t.for_each !== null,
      isFinally,
      upstream: [...new Set(upstreamOf(t))],
    });
  }
  return out;
}

/**
 * Depth of each task among `group` (upstream tasks outside the group count as depth -1), by an
 * iterative walk: a task met again while its own depth is being computed closes a cycle, and that
 * edge is ignored.
 */
function depths(group: readonly Draft[]): Map<string, number> {
  const byName = new Map(group.map((d) => [d.name, d]));
  const depth = new Map<string, number>();
  const active = new Set<string>();
  for (const root of group) {
    if (depth.has(root.name)) continue;
    const stack: { d: Draft; next: number; max: number }[] = [{ d: root, next: 0, max: -1 }];
    active.add(root.name);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next < frame.d.upstream.length) {
        const up = byName.get(frame.d.upstream[frame.next++]!);
        if (!up || active.has(up.name)) continue;
        const known = depth.get(up.name);
        if (known !== undefined) frame.max = Math.max(frame.max, known);
        else {
          active.add(up.name);
          stack.push({ d: up, next: 0, max: -1 });
        }
        continue;
      }
      stack.pop();
      active.delete(frame.d.name);
      const own = frame.max + 1;
      depth.set(frame.d.name, own);
      const parent = stack[stack.length - 1];
      if (parent) parent.max = Math.max(parent.max, own);
    }
  }
  return depth;
}

/**
 * Lays out a DAG payload (`{ tasks, finally? }`, as written or as stored). `extraNames`: tasks a
 * run has that the definition lacks (the definition changed since the run started); they get a
 * node without edges, so every task of the run is drawn.
 */
export function layoutDag(payload: unknown, extraNames: readonly string[] = []): DagLayout {
  const p = isObject(payload) ? payload : {};
  const seen = new Set<string>();
  const regular = drafts(p.tasks, false, seen);
  const fin = drafts(p.finally, true, seen);
  for (const name of extraNames) {
    if (seen.has(name)) continue;
    seen.add(name);
    regular.push({ name, kind: '', fanOut: false, isFinally: false, upstream: [] });
  }
  const known = new Set(seen);
  for (const d of [...regular, ...fin]) d.upstream = d.upstream.filter((u) => known.has(u) && u !== d.name);
  // A regular task cannot wait for a finally one (the validator says so); drop such edges here.
  const finallyNames = new Set(fin.map((d) => d.name));
  for (const d of regular) d.upstream = d.upstream.filter((u) => !finallyNames.has(u));

  const regularDepth = depths(regular);
  const regularColumns = regular.length === 0 ? 0 : Math.max(...regularDepth.values()) + 1;
  const finallyColumn =
    fin.length === 0 ? null : regularColumns + (regular.length > 0 ? FINALLY_GAP_COLUMNS : 0);
  const finallyDepth = depths(fin);

  const rowsUsed = new Map<number, number>();
  const nodes: LayoutNode[] = [];
  const place = (d: Draft, column: number) => {
    const row = rowsUsed.get(column) ?? 0;
    rowsUsed.set(column, row + 1);
    nodes.push({
      name: d.name,
      kind: d.kind,
      column,
      row,
      x: MARGIN + column * (NODE_WIDTH + GAP_X),
      y: MARGIN + row * (NODE_HEIGHT + GAP_Y),
      fanOut: d.fanOut,
      isFinally: d.isFinally,
      upstream: d.upstream,
    });
  };
  for (const d of regular) place(d, regularDepth.get(d.name)!);
  for (const d of fin) place(d, finallyColumn! + finallyDepth.get(d.name)!);

  const at = new Map(nodes.map((n) => [n.name, n]));
  const edges: LayoutEdge[] = [];
  for (const n of nodes) {
    for (const u of n.upstream) {
      const from = at.get(u)!;
      const x1 = from.x + NODE_WIDTH;
      const y1 = from.y + NODE_HEIGHT / 2;
      const x2 = n.x;
      const y2 = n.y + NODE_HEIGHT / 2;
      const mid = (x1 + x2) / 2;
      edges.push({ from: u, to: n.name, path: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    }
  }
  const columns = nodes.length === 0 ? 0 : Math.max(...nodes.map((n) => n.column)) + 1;
  const rows = Math.max(0, ...rowsUsed.values());
  return {
    nodes,
    edges,
    finallyColumn,
    width: MARGIN * 2 + Math.max(0, columns * (NODE_WIDTH + GAP_X) - GAP_X),
    height: MARGIN * 2 + Math.max(0, rows * (NODE_HEIGHT + GAP_Y) - GAP_Y),
  };
}

/** A task's instances in a run: one for a plain task, one per item for a fan-out. */
export interface TaskGroup<T> {
  name: string;
  instances: readonly T[];
  /** Instances per state. */
  counts: Partial<Record<string, number>>;
  /** One state for the node's colour (see `groupState`). */
  state: string;
}

interface TaskLike {
  name: string;
  index: number | null;
  status: string;
}

/**
 * The state a node shows: a plain task's own; for a fan-out, RUNNING while any instance runs,
 * then QUEUED/PENDING while any waits, else FAILED if any failed, CANCELED if any was, SKIPPED if
 * all were, else COMPLETED.
 */
export function groupState(counts: Partial<Record<string, number>>): string {
  for (const s of ['RUNNING', 'QUEUED', 'PENDING', 'FAILED', 'CANCELED']) if (counts[s]) return s;
  let total = 0;
  for (const n of Object.values(counts)) total += n ?? 0;
  if (total > 0 && counts.SKIPPED === total) return 'SKIPPED';
  return total > 0 ? 'COMPLETED' : 'PENDING';
}

/** A run's task instances by task name, instances in index order. */
export function taskGroups<T extends TaskLike>(tasks: readonly T[]): Map<string, TaskGroup<T>> {
  const lists = new Map<string, T[]>();
  for (const t of tasks) {
    const list = lists.get(t.name);
    if (list) list.push(t);
    else lists.set(t.name, [t]);
  }
  const groups = new Map<string, TaskGroup<T>>();
  for (const [name, list] of lists) {
    list.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
    const counts: Partial<Record<string, number>> = {};
    for (const t of list) counts[t.status] = (counts[t.status] ?? 0) + 1;
    groups.set(name, { name, instances: list, counts, state: groupState(counts) });
  }
  return groups;
}

/**
 * A DAG drawn as plain SVG from `layoutDag` (no graph library: the layout is a few columns of
 * boxes, and a library would cost more bundle than the whole dashboard page). Nodes take their
 * colour from the state tone of the badges. On a run page (`onSelect`) every node is a button in
 * the tab order, named "build: COMPLETED", that Enter or Space selects, with a visible focus ring;
 * the task table beside it stays the text alternative (selecting a row selects the node too). A
 * definition preview (no `onSelect`) is a picture, labelled as an image.
 */
import { memo, useMemo, type KeyboardEvent } from 'react';
import { useProgressiveCount } from '../../lib/use-progressive-count.ts';
import { JOB_STATUS_TONE } from '../../components/index.ts';
import type { JobState } from '../../api/types.ts';
import { NODE_HEIGHT, NODE_WIDTH, type DagLayout, type LayoutNode } from './layout.ts';
import './dag.css';

export interface NodeState {
  state: string;
  /** A fan-out's instances per state, shown as "3✓ 1✗ 2…". */
  counts?: Partial<Record<string, number>>;
}

const COUNT_MARK: Record<string, string> = {
  COMPLETED: '✓',
  FAILED: '✗',
  RUNNING: '▶',
  QUEUED: '…',
  PENDING: '…',
  SKIPPED: '↷',
  CANCELED: '⊘',
};

function toneOf(state: string | undefined): string {
  if (!state) return 'none';
  return JOB_STATUS_TONE[state as JobState] ?? 'neutral';
}

/** "3✓ 1✗ 2…": a fan-out's counts in a fixed order. */
export function countsText(counts: Partial<Record<string, number>>): string {
  const parts: string[] = [];
  for (const s of ['COMPLETED', 'FAILED', 'RUNNING', 'QUEUED', 'PENDING', 'SKIPPED', 'CANCELED']) {
    const n = counts[s];
    if (n) parts.push(`${n}${COUNT_MARK[s]}`);
  }
  return parts.join(' ');
}

const Node = memo(function Node({
  node,
  state,
  counts,
  selected,
  onSelect,
}: {
  node: LayoutNode;
  state: string | undefined;
  counts: string;
  selected: boolean;
  onSelect: ((name: string) => void) | undefined;
}) {
  const label = node.name.length > 20 ? `${node.name.slice(0, 19)}…` : node.name;
  const select = onSelect ? () => onSelect(node.name) : undefined;
  const onKeyDown = select
    ? (e: KeyboardEvent) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault(); // Space would scroll the page
        select();
      }
    : undefined;
  const sub = node.fanOut
    ? `for each${counts ? `: ${counts}` : ''}`
    : (state?.toLowerCase() ?? node.kind.toLowerCase());
  return (
    <g
      className={`dag-node dag-tone-${toneOf(state)}${selected ? ' dag-node--selected' : ''}${node.isFinally ? ' dag-node--finally' : ''}`}
      transform={`translate(${node.x},${node.y})`}
      onClick={select}
      onKeyDown={onKeyDown}
      {...(select
        ? {
            tabIndex: 0,
            role: 'button',
            'aria-pressed': selected,
            'aria-label': `${node.name}: ${state ?? 'not started'}${counts ? ` (${counts})` : ''}`,
          }
        : {})}
      data-task={node.name}
      data-state={state ?? ''}
    >
      <title>{`${node.name}${state ? `: ${state}` : ''}${counts ? ` (${counts})` : ''}`}</title>
      <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
      {node.fanOut ? (
        <rect className="dag-stack" x={4} y={-4} width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
      ) : null}
      <text x={10} y={18} className="dag-name">
        {label}
      </text>
      <text x={10} y={34} className="dag-sub">
        {sub}
      </text>
    </g>
  );
});

export interface DagGraphProps {
  layout: DagLayout;
  /** Live states by task name (none: a definition preview). */
  states?: ReadonlyMap<string, NodeState>;
  selected?: string | null;
  onSelect?: (name: string) => void;
  label: string;
}

/**
 * Nodes added to the drawing per animation frame. The browser's style, layout and paint of a
 * 500-node graph (500 groups, 960 paths) in one commit was one task of 240–330 ms in Chromium
 * on this 2-core machine, over issue 12's 200 ms; a layer-ordered chunk of 100 per frame keeps
 * each under it (docs/performance.md, "DAG run page"). Smaller graphs draw at once.
 */
export const NODES_PER_FRAME = 100;

export function DagGraph({ layout, states, selected = null, onSelect, label }: DagGraphProps) {
  const total = layout.nodes.length;
  const drawn = useProgressiveCount(total, NODES_PER_FRAME);
  const { nodes, edges } = useMemo(() => {
    if (drawn >= total) return { nodes: layout.nodes, edges: layout.edges };
    // Nodes come in layer order, so a prefix is the first layers; an edge once both ends are drawn.
    const nodes = layout.nodes.slice(0, drawn);
    const names = new Set(nodes.map((n) => n.name));
    return { nodes, edges: layout.edges.filter((e) => names.has(e.from) && names.has(e.to)) };
  }, [layout, drawn, total]);
  const finallyX =
    layout.finallyColumn === null ? null : (layout.nodes.find((n) => n.isFinally)?.x ?? 0) - 28;
  return (
    <div className="dag-graph">
      <svg
        role={onSelect ? 'group' : 'img'}
        aria-label={label}
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <defs>
          <marker
            id="dag-arrow"
            viewBox="0 0 8 8"
            refX="8"
            refY="4"
            markerWidth="8"
            markerHeight="8"
            orient="auto"
          >
            <path d="M0,0 L8,4 L0,8 z" className="dag-arrowhead" />
          </marker>
        </defs>
        {finallyX !== null && finallyX > 0 ? (
          <g className="dag-finally-divider">
            <line x1={finallyX} y1={0} x2={finallyX} y2={layout.height} />
          </g>
        ) : null}
        <g className="dag-edges">
          {edges.map((e) => (
            <path key={`${e.from}→${e.to}`} d={e.path} markerEnd="url(#dag-arrow)" />
          ))}
        </g>
        {nodes.map((n) => {
          const s = states?.get(n.name);
          return (
            <Node
              key={n.name}
              node={n}
              state={s?.state}
              counts={s?.counts ? countsText(s.counts) : ''}
              selected={selected === n.name}
              onSelect={onSelect}
            />
          );
        })}
      </svg>
    </div>
  );
}

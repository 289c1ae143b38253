import { render, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { DagGraph, NODES_PER_FRAME } from './DagGraph.tsx';
import { layoutDag } from './layout.ts';

/** A chain of `n` heartbeat tasks: t0 → t1 → … */
function chain(n: number) {
  return {
    tasks: Array.from({ length: n }, (_, i) => ({
      name: `t${i}`,
      kind: 'HEARTBEAT',
      payload: {},
      ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
    })),
  };
}

describe('DagGraph', () => {
  const drawnNodes = (c: HTMLElement) => c.querySelectorAll('g.dag-node').length;
  const drawnEdges = (c: HTMLElement) => c.querySelectorAll('.dag-edges path').length;

  it('draws a big graph a chunk of layers per frame, edges once both ends are drawn', async () => {
    const n = NODES_PER_FRAME * 2 + 50;
    const { container } = render(<DagGraph layout={layoutDag(chain(n))} label="g" />);
    expect(drawnNodes(container)).toBe(NODES_PER_FRAME);
    // The first layers: t0 … t99, and the 99 edges among them (none to an undrawn node).
    expect(container.querySelector('g.dag-node[data-task="t0"]')).not.toBeNull();
    expect(container.querySelector(`g.dag-node[data-task="t${NODES_PER_FRAME}"]`)).toBeNull();
    expect(drawnEdges(container)).toBe(NODES_PER_FRAME - 1);
    await waitFor(() => expect(drawnNodes(container)).toBe(n));
    expect(drawnEdges(container)).toBe(n - 1);
  });

  it('draws a small graph at once', () => {
    const { container } = render(<DagGraph layout={layoutDag(chain(7))} label="g" />);
    expect(drawnNodes(container)).toBe(7);
    expect(drawnEdges(container)).toBe(6);
  });
});

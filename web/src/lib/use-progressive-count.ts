import { useEffect, useState } from 'react';

/**
 * How many of `total` items to draw now: `perFrame` at first, then `perFrame` more each animation
 * frame until all are, so the browser styles, lays out and paints a big list or graph in pieces
 * instead of in one long task (the 500-task run page, docs/performance.md "DAG run page"). The
 * count only grows: items added later (a live run's new tasks) are drawn the same way.
 */
export function useProgressiveCount(total: number, perFrame: number): number {
  const [drawn, setDrawn] = useState(perFrame);
  useEffect(() => {
    if (drawn >= total) return;
    const frame = requestAnimationFrame(() => setDrawn((d) => d + perFrame));
    return () => cancelAnimationFrame(frame);
  }, [drawn, total, perFrame]);
  return Math.min(drawn, total);
}

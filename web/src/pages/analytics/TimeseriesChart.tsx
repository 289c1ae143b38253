/**
 * Finished jobs per bucket as stacked bars (completed, failed, canceled), in plain SVG. The SVG is
 * an image with a one-sentence summary as its name; the numbers themselves are in a visually
 * hidden table right after it, so a screen reader can read every bucket.
 */
import type { TimeseriesBucket } from '../../api/analytics.ts';
import { formatBucket, linearScale, niceTicks, summarise, type FilledPoint } from './chart.ts';
import { formatDurationMs } from './format.ts';

export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 240;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 44 };
const SERIES = [
  { key: 'completed', label: 'Completed', className: 'bar-completed' },
  { key: 'failed', label: 'Failed', className: 'bar-failed' },
  { key: 'canceled', label: 'Canceled', className: 'bar-canceled' },
] as const;
const X_LABELS = 6;

export interface TimeseriesChartProps {
  points: readonly FilledPoint[];
  bucket: TimeseriesBucket;
  caption: string;
  height?: number;
}

export function TimeseriesChart({ points, bucket, caption, height = CHART_HEIGHT }: TimeseriesChartProps) {
  const innerW = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const innerH = height - MARGIN.top - MARGIN.bottom;
  const max = points.reduce((m, p) => Math.max(m, p.total), 0);
  const ticks = niceTicks(max);
  const y = linearScale([0, ticks.at(-1) ?? 1], [MARGIN.top + innerH, MARGIN.top]);
  const band = points.length > 0 ? innerW / points.length : innerW;
  const barW = Math.max(1, band * 0.8);
  const labelEvery = Math.max(1, Math.ceil(points.length / X_LABELS));
  const summary = summarise(points, bucket);

  return (
    <figure className="chart">
      <svg
        role="img"
        aria-label={summary}
        viewBox={`0 0 ${CHART_WIDTH} ${height}`}
        className="chart-svg"
        focusable="false"
      >
        <g className="chart-grid" aria-hidden="true">
          {ticks.map((t) => (
            <g key={t}>
              <line x1={MARGIN.left} x2={MARGIN.left + innerW} y1={y(t)} y2={y(t)} />
              <text x={MARGIN.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {t}
              </text>
            </g>
          ))}
        </g>
        <g className="chart-bars">
          {points.map((p, i) => {
            const x = MARGIN.left + i * band + (band - barW) / 2;
            let base = 0;
            return (
              <g key={p.ts} data-ts={p.ts}>
                <title>
                  {`${formatBucket(p.ts, bucket)}: ${p.completed} completed, ${p.failed} failed, ${p.canceled} canceled`}
                </title>
                {SERIES.map((s) => {
                  const value = p[s.key];
                  if (value === 0) return null;
                  const top = y(base + value);
                  const rect = (
                    <rect
                      key={s.key}
                      className={`bar ${s.className}`}
                      x={x}
                      y={top}
                      width={barW}
                      height={y(base) - top}
                    />
                  );
                  base += value;
                  return rect;
                })}
              </g>
            );
          })}
        </g>
        <g className="chart-axis" aria-hidden="true">
          <line
            x1={MARGIN.left}
            x2={MARGIN.left + innerW}
            y1={MARGIN.top + innerH}
            y2={MARGIN.top + innerH}
          />
          {points.map((p, i) =>
            i % labelEvery === 0 ? (
              <text key={p.ts} x={MARGIN.left + i * band + band / 2} y={height - 8} textAnchor="middle">
                {formatBucket(p.ts, bucket)}
              </text>
            ) : null,
          )}
        </g>
        {max === 0 && (
          <text
            x={MARGIN.left + innerW / 2}
            y={MARGIN.top + innerH / 2}
            textAnchor="middle"
            className="chart-empty"
            aria-hidden="true"
          >
            No jobs finished in this range
          </text>
        )}
      </svg>
      <figcaption className="chart-legend">
        {SERIES.map((s) => (
          <span key={s.key} className="chart-legend-item">
            <span className={`chart-swatch ${s.className}`} aria-hidden="true" />
            {s.label}
          </span>
        ))}
      </figcaption>
      <table className="visually-hidden">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{bucket === 'hour' ? 'Hour' : 'Day (UTC)'}</th>
            <th scope="col">Completed</th>
            <th scope="col">Failed</th>
            <th scope="col">Canceled</th>
            <th scope="col">Average duration</th>
            <th scope="col">Average fire lag</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.ts}>
              <th scope="row">{formatBucket(p.ts, bucket)}</th>
              <td>{p.completed}</td>
              <td>{p.failed}</td>
              <td>{p.canceled}</td>
              <td>{formatDurationMs(p.avgDurationMs)}</td>
              <td>{formatDurationMs(p.avgFireLagMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

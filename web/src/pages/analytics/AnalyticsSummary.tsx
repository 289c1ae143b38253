/** The figures of analytics: totals, success rate, jobs by status, duration and fire-lag percentiles. */
import type { Analytics, Percentiles } from '../../api/analytics.ts';
import { RUN_STATES } from '../../api/types.ts';
import { JOB_STATUS_LABEL } from '../../components/Badge.tsx';
import { formatCount, formatDurationMs, formatRate } from './format.ts';

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="stat">
      <dt className="stat-label">{label}</dt>
      <dd className="stat-value">
        {value}
        {hint && <span className="stat-hint">{hint}</span>}
      </dd>
    </div>
  );
}

function PercentileRow({ label, p }: { label: string; p: Percentiles | undefined }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>{formatDurationMs(p?.p50)}</td>
      <td>{formatDurationMs(p?.p95)}</td>
      <td>{formatDurationMs(p?.p99)}</td>
    </tr>
  );
}

export function AnalyticsSummary({ data, compact = false }: { data: Analytics; compact?: boolean }) {
  const finished = (data.jobs_by_status.COMPLETED ?? 0) + (data.jobs_by_status.FAILED ?? 0);
  return (
    <div className="analytics-summary">
      <dl className="stats">
        {!compact && <Stat label="Workflows" value={formatCount(data.total_workflows)} />}
        <Stat label="Jobs" value={formatCount(data.total_jobs)} />
        <Stat
          label="Success rate"
          value={formatRate(data.success_rate)}
          hint={finished > 0 ? `of ${formatCount(finished)} finished` : undefined}
        />
        <Stat label="Execution time" value={formatDurationMs(data.total_job_execution_duration * 1000)} />
        {!compact && <Stat label="Log lines" value={formatCount(data.total_joblogs)} />}
      </dl>
      <div className="analytics-tables">
        <table className="table analytics-status">
          <caption>Jobs by status</caption>
          <tbody>
            {RUN_STATES.map((s) => (
              <tr key={s}>
                <th scope="row">{JOB_STATUS_LABEL[s]}</th>
                <td>{formatCount(data.jobs_by_status[s] ?? 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table className="table analytics-percentiles">
          <caption>Latency (last 30 days)</caption>
          <thead>
            <tr>
              <td />
              <th scope="col">p50</th>
              <th scope="col">p95</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            <PercentileRow label="Duration" p={data.duration_ms} />
            <PercentileRow label="Fire lag" p={data.fire_lag_ms} />
          </tbody>
        </table>
      </div>
    </div>
  );
}

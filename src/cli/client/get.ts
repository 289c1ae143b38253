/**
 * `get workflows|jobs` (tables, or `-o json|yaml|name`) and `describe workflow <name>`.
 * Tables are for people; `-o json` and `-o yaml` print the API's objects as they are, for scripts.
 */
import {
  findWorkflow,
  listWorkflows,
  unwrap,
  type ChronoverseClient,
  type Workflow,
  type WorkflowJob,
} from './api.ts';
import type { Output } from './output.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

function scheduleText(s: Workflow['schedule']): string {
  switch (s.type) {
    case 'interval':
      return `every ${s.interval_minutes}m`;
    case 'cron':
      return s.timezone === 'UTC' ? s.cron : `${s.cron} (${s.timezone})`;
    case 'once':
      return `once at ${s.run_at}`;
  }
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** "3m ago"-style ages would make the table change between two runs: times are printed as they are. */
const time = (t: string | null) => t ?? '-';

function durationText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function print<T>(
  out: Output,
  format: OutputFormat,
  items: T[],
  name: (item: T) => string,
  table: () => void,
) {
  if (format === 'json') out.json(items);
  else if (format === 'yaml') out.yaml(items);
  else if (format === 'name') for (const item of items) out.line(name(item));
  else table();
}

export async function getWorkflows(
  out: Output,
  api: ChronoverseClient,
  options: { format: OutputFormat; selector?: string; names: string[] },
): Promise<number> {
  let workflows = await listWorkflows(api, options.selector ? { labels: options.selector } : {});
  if (options.names.length > 0) workflows = workflows.filter((w) => options.names.includes(w.name));
  print(
    out,
    options.format,
    workflows,
    (w) => `workflow/${w.name}`,
    () =>
      out.table(
        ['NAME', 'KIND', 'STATUS', 'SCHEDULE', 'LAST RUN', 'NEXT RUN', 'LABELS'],
        workflows.map((w) => [
          w.name,
          w.kind,
          w.status,
          scheduleText(w.schedule),
          w.recent_jobs[0] ? w.recent_jobs[0].status : '-',
          time(w.next_run_at),
          labelsText(w.labels),
        ]),
      ),
  );
  return 0;
}

export async function getJobs(
  out: Output,
  api: ChronoverseClient,
  options: { format: OutputFormat; workflow?: string; selector?: string; status?: string; limit: number },
): Promise<number> {
  let workflowIds: (string | undefined)[] = [undefined];
  if (options.workflow) workflowIds = [(await findWorkflow(api, options.workflow)).id];
  else if (options.selector)
    workflowIds = (await listWorkflows(api, { labels: options.selector })).map((w) => w.id);
  const jobs: WorkflowJob[] = [];
  for (const workflowId of workflowIds) {
    const page = unwrap(
      await api.GET('/api/v1/jobs', {
        params: { query: { limit: options.limit, workflow_id: workflowId, status: options.status } },
      }),
    );
    jobs.push(...page.jobs);
  }
  // Newest first across workflows (ids are time-ordered), as one list would be.
  jobs.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const shown = jobs.slice(0, options.limit);
  print(
    out,
    options.format,
    shown,
    (j) => `job/${j.id}`,
    () =>
      out.table(
        ['ID', 'WORKFLOW', 'STATUS', 'TRIGGER', 'SCHEDULED', 'DURATION', 'ATTEMPTS'],
        shown.map((j) => [
          j.id,
          j.workflow_name,
          j.status,
          j.trigger,
          j.scheduled_at,
          durationText(
            j.started_at && j.completed_at ? Date.parse(j.completed_at) - Date.parse(j.started_at) : null,
          ),
          `${j.attempts}/${j.max_attempts}`,
        ]),
      ),
  );
  return 0;
}

export async function describeWorkflow(
  out: Output,
  api: ChronoverseClient,
  ref: string,
  format: OutputFormat,
): Promise<number> {
  const w = await findWorkflow(api, ref);
  if (format === 'json') return (out.json(w), 0);
  if (format === 'yaml') return (out.yaml(w), 0);
  const rows: [string, string][] = [
    ['Name', w.name],
    ['ID', w.id],
    ['Kind', w.kind],
    // The definition's version: `run --version n` runs an older one (api.md "Versions").
    ['Version', String(w.version)],
    ['Status', w.status],
    ['Build', w.build_error ? `${w.build_status}: ${w.build_error}` : w.build_status],
    ['Schedule', scheduleText(w.schedule)],
    ['Next run', time(w.next_run_at)],
    [
      'Failures',
      `${w.consecutive_job_failures_count} consecutive (${w.pause_on_failure ? 'paused' : 'terminated'} at ${w.max_consecutive_job_failures_allowed})`,
    ],
    ['Log retention', w.log_retention ? 'yes' : 'no'],
    ['Labels', labelsText(w.labels) || '-'],
    ['Created', w.created_at],
    ['Updated', w.updated_at],
  ];
  if (w.paused_at) rows.push(['Paused', w.pause_note ? `${w.paused_at}: ${w.pause_note}` : w.paused_at]);
  if (w.terminated_at) rows.push(['Terminated', w.terminated_at]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  for (const [k, v] of rows) out.line(`${`${k}:`.padEnd(width)} ${v}`);
  out.line('Payload:');
  for (const line of JSON.stringify(w.payload, null, 2).split('\n')) out.line(`  ${line}`);
  out.line('Recent jobs:');
  if (w.recent_jobs.length === 0) out.line('  (none yet)');
  else {
    out.table(
      ['  ID', 'STATUS', 'TRIGGER', 'SCHEDULED', 'DURATION'],
      w.recent_jobs.map((j) => [
        `  ${j.id}`,
        j.status,
        j.trigger,
        j.scheduled_at,
        durationText(j.duration_ms),
      ]),
    );
  }
  return 0;
}

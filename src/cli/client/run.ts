/**
 * `run <workflow> [--wait]`, `cancel <job>` and `retry <job>`.
 *
 * `run --wait` is for CI: its exit status is the run's result, 0 COMPLETED, 1 FAILED, 3 CANCELED
 * (124 when `--timeout` passes first, as timeout(1) does). A workflow whose build has not finished
 * yet (just applied) is waited for first, since the API runs only built workflows. Waiting polls
 * the job, 250 ms at first and then every 2 s: HEARTBEAT jobs keep no logs, so their event stream
 * is not there to follow.
 */
import {
  findJob,
  findWorkflow,
  isFinal,
  sleep,
  unwrap,
  type ChronoverseClient,
  type Job,
  type Workflow,
} from './api.ts';
import type { Output } from './output.ts';

export const EXIT_FAILED = 1;
export const EXIT_CANCELED = 3;
export const EXIT_TIMEOUT = 124;

export class WaitTimeoutError extends Error {}

/** Polls `read` until `done`, with growing pauses; throws WaitTimeoutError after `timeoutMs`. */
async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number | undefined,
  what: string,
): Promise<T> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let pause = 250;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() + pause > deadline) throw new WaitTimeoutError(`gave up waiting for ${what}`);
    await sleep(pause);
    pause = Math.min(2000, pause * 2);
  }
}

async function builtWorkflow(
  out: Output,
  api: ChronoverseClient,
  w: Workflow,
  timeoutMs?: number,
): Promise<Workflow> {
  if (w.build_status === 'QUEUED' || w.build_status === 'STARTED') {
    out.status(`waiting for the build of "${w.name}" (${w.build_status})…`);
    w = await poll(
      async () => unwrap(await api.GET('/api/v1/workflows/{id}', { params: { path: { id: w.id } } })),
      (x) => x.build_status !== 'QUEUED' && x.build_status !== 'STARTED',
      timeoutMs,
      `the build of "${w.name}"`,
    );
  }
  return w;
}

export function exitCodeOf(status: Job['status']): number {
  return status === 'COMPLETED' ? 0 : status === 'CANCELED' ? EXIT_CANCELED : EXIT_FAILED;
}

async function waitForJob(
  out: Output,
  api: ChronoverseClient,
  workflowId: string,
  job: Job,
  timeoutMs?: number,
): Promise<Job> {
  let last = job.status;
  return poll(
    async () => {
      const current = unwrap(
        await api.GET('/api/v1/workflows/{id}/jobs/{job_id}', {
          params: { path: { id: workflowId, job_id: job.id } },
        }),
      );
      if (current.status !== last) {
        last = current.status;
        out.status(`job/${job.id} ${current.status}`);
      }
      return current;
    },
    (j) => isFinal(j.status),
    timeoutMs,
    `job ${job.id}`,
  );
}

function report(out: Output, job: Job, json: boolean): number {
  if (json) out.json(job);
  else {
    const colour = job.status === 'COMPLETED' ? 'green' : 'red';
    out.line(`job/${job.id} ${out.paint(colour, job.status)}`);
    if (job.error) out.note(`${job.error.code}: ${job.error.message}`);
  }
  return exitCodeOf(job.status);
}

export async function run(
  out: Output,
  api: ChronoverseClient,
  options: { workflow: string; wait: boolean; timeoutMs?: number; json: boolean; version?: number },
): Promise<number> {
  const w = await builtWorkflow(out, api, await findWorkflow(api, options.workflow), options.timeoutMs);
  if (w.build_status !== 'COMPLETED') {
    out.note(`the build of "${w.name}" is ${w.build_status}${w.build_error ? `: ${w.build_error}` : ''}`);
    return EXIT_FAILED;
  }
  const job = unwrap(
    await api.POST('/api/v1/workflows/{id}/jobs/schedule', {
      params: { path: { id: w.id } },
      // An older version of the definition, or the current one.
      body: options.version !== undefined ? { version: options.version } : {},
    }),
  );
  if (!options.wait) {
    if (options.json) out.json(job);
    else out.line(`job/${job.id} created`);
    return 0;
  }
  if (!options.json) out.line(`job/${job.id} created`);
  return report(out, await waitForJob(out, api, w.id, job, options.timeoutMs), options.json);
}

export async function cancel(
  out: Output,
  api: ChronoverseClient,
  options: { job: string; workflow?: string },
): Promise<number> {
  const { workflow, job } = await findJob(api, options.job, options.workflow);
  const canceled = unwrap(
    await api.POST('/api/v1/workflows/{id}/jobs/{job_id}/cancel', {
      params: { path: { id: workflow.id, job_id: job.id } },
    }),
  );
  out.line(`job/${canceled.id} ${canceled.status}`);
  return 0;
}

export async function retry(
  out: Output,
  api: ChronoverseClient,
  options: { job: string; workflow?: string; wait: boolean; timeoutMs?: number; json: boolean },
): Promise<number> {
  const { workflow, job } = await findJob(api, options.job, options.workflow);
  const retried = unwrap(
    await api.POST('/api/v1/workflows/{id}/jobs/{job_id}/retry', {
      params: { path: { id: workflow.id, job_id: job.id } },
    }),
  );
  if (!options.json || options.wait) {
    if (!options.json) out.line(`job/${retried.id} created (retry of ${job.id})`);
  }
  if (!options.wait) {
    if (options.json) out.json(retried);
    return 0;
  }
  return report(out, await waitForJob(out, api, workflow.id, retried, options.timeoutMs), options.json);
}

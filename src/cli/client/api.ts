/**
 * The server as the client commands reach it: the typed `@chronoverse/client` for the current
 * context, and the look-ups every command needs (workflows by name, jobs by id), each a handful
 * of requests.
 */
import {
  ChronoverseApiError,
  createChronoverseClient,
  unwrap,
  type ChronoverseClient,
  type Job,
  type Workflow,
  type WorkflowJob,
} from '@chronoverse/client';
import { VERSION } from '../version.ts';
import type { Context } from './context.ts';

export { ChronoverseApiError, unwrap };
export type { ChronoverseClient, Job, Workflow, WorkflowJob };

/** The server could not be reached at all (exit 69, EX_UNAVAILABLE). */
export class UnreachableError extends Error {}

/** Something the user named does not exist (a workflow name, a job id): exit 1. */
export class NotFoundError extends Error {}

export function connect(context: Context): ChronoverseClient {
  return createChronoverseClient({
    baseUrl: context.server,
    token: context.token,
    userAgent: `chronoverse-cli/${VERSION}`,
    fetch: async (request) => {
      try {
        return await fetch(request);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new UnreachableError(
          `cannot reach ${context.server} (${cause?.code ?? cause?.message ?? (err as Error).message})`,
        );
      }
    },
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isId = (text: string) => UUID.test(text);

/** Every workflow of the user (optionally those a label selector selects), page by page. */
export async function listWorkflows(
  api: ChronoverseClient,
  filters: { labels?: string; query?: string } = {},
): Promise<Workflow[]> {
  const all: Workflow[] = [];
  let cursor: string | undefined;
  do {
    const page = unwrap(
      await api.GET('/api/v1/workflows', { params: { query: { limit: 100, ...filters, cursor } } }),
    );
    all.push(...page.workflows);
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return all;
}

/** The workflow called `ref` (or with that id); one name must mean one workflow. */
export async function findWorkflow(api: ChronoverseClient, ref: string): Promise<Workflow> {
  if (isId(ref)) {
    const res = await api.GET('/api/v1/workflows/{id}', { params: { path: { id: ref } } });
    if (res.response.status !== 404) return unwrap(res);
  }
  // `query` narrows the list on the server (a substring); the exact name is matched here.
  const named = (await listWorkflows(api, { query: ref })).filter((w) => w.name === ref);
  if (named.length === 0) throw new NotFoundError(`no workflow named "${ref}"`);
  if (named.length > 1) {
    throw new NotFoundError(
      `${named.length} workflows are named "${ref}" (${named.map((w) => w.id).join(', ')}); use an id`,
    );
  }
  return named[0]!;
}

/**
 * A job by id (GET /jobs/{job_id}), with its workflow; with `workflowRef`, looked up under that
 * workflow. A workflow name instead of a job id means that workflow's latest job.
 */
export async function findJob(
  api: ChronoverseClient,
  ref: string,
  workflowRef?: string,
): Promise<{ workflow: Workflow; job: Job }> {
  if (!isId(ref) || workflowRef) {
    const workflow = await findWorkflow(api, workflowRef ?? ref);
    if (!isId(ref)) {
      const jobs = unwrap(
        await api.GET('/api/v1/workflows/{id}/jobs', {
          params: { path: { id: workflow.id }, query: { limit: 1 } },
        }),
      ).jobs;
      if (jobs.length === 0) throw new NotFoundError(`workflow "${workflow.name}" has no jobs yet`);
      return { workflow, job: jobs[0]! };
    }
    const res = await api.GET('/api/v1/workflows/{id}/jobs/{job_id}', {
      params: { path: { id: workflow.id, job_id: ref } },
    });
    if (res.response.status === 404) throw new NotFoundError(`no job ${ref} in workflow "${workflow.name}"`);
    return { workflow, job: unwrap(res) };
  }
  const res = await api.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: ref } } });
  if (res.response.status === 404) throw new NotFoundError(`no job ${ref}`);
  const job = unwrap(res);
  const workflow = unwrap(
    await api.GET('/api/v1/workflows/{id}', { params: { path: { id: job.workflow_id } } }),
  );
  return { workflow, job };
}

export const FINAL_JOB_STATES = ['COMPLETED', 'FAILED', 'CANCELED'] as const;
export const isFinal = (status: string) => (FINAL_JOB_STATES as readonly string[]).includes(status);

/** Waits `ms`, or less if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

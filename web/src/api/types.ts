/**
 * Response shapes of the API as the dashboard reads them: aliases of the types `@chronoverse/client`
 * generates from the OpenAPI document the gateway serves (`npm run client:gen`; src/gateway/schemas.ts
 * is the source, docs/api.md describes them). Nothing here is written by hand, so a change to the
 * API's contract that the dashboard does not follow fails `tsc -p web` instead of a page at run time.
 * The enumerations' values (for selects and filters) come from the pure domain modules; their types
 * come from the document, and `satisfies` below checks that both agree.
 */
import type { components, paths } from '@chronoverse/client';
import { JOB_STATES, JOB_TRIGGERS, RUN_STATES } from '../../../src/domain/job-state.ts';
import { BUILD_STATUSES, WORKFLOW_STATUSES } from '../../../src/domain/workflow-status.ts';

export type Schemas = components['schemas'];
type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** The JSON body of the 200 (or 201) answer to `method path` (a path as the document spells it). */
export type ResponseOf<P extends keyof paths, M extends Method> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } };
}
  ? T
  : paths[P][M] extends { responses: { 201: { content: { 'application/json': infer T } } } }
    ? T
    : never;

/** The query parameters of `GET path`. */
export type QueryOf<P extends keyof paths> = paths[P]['get'] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

export type User = Schemas['User'];
export type Session = Schemas['Session'];
export type Workflow = Schemas['Workflow'];
export type FireTime = Schemas['FireTime'];
export type Tick = Schemas['Tick'];
export type TickOutcome = Tick['outcome'];
export type TickPage = Schemas['TickLedger'];
export type Backfill = Schemas['Backfill'];
export type BackfillPage = Schemas['BackfillList'];
export type ScheduleView = Workflow['schedule'];
/** When a schedule fires, without its policies: what formatting and previews need. */
export type ScheduleTiming = ScheduleView extends infer S
  ? S extends unknown
    ? Omit<S, 'policy'>
    : never
  : never;
export type SchedulePolicyView = Schemas['SchedulePolicyView'];
/** A workflow's recent run as the workflow object carries it (`recent_jobs`). */
export type RecentJob = Schemas['RecentJob'];
export type Job = Schemas['Job'];
export type Artifact = Schemas['Artifact'];
/** A job in the list across workflows (`GET /jobs`): the job and its workflow's name. */
export type Run = Schemas['WorkflowJob'];

export type WorkflowPage = ResponseOf<'/api/v1/workflows', 'get'>;
/** One immutable version of a workflow's definition (docs/api.md "Versions"). */
export type WorkflowVersion = Schemas['WorkflowVersion'];
export type WorkflowDefinition = Schemas['WorkflowDefinition'];
export type WorkflowVersionPage = ResponseOf<'/api/v1/workflows/{id}/versions', 'get'>;
export type JobPage = ResponseOf<'/api/v1/workflows/{id}/jobs', 'get'>;
export type RunPage = ResponseOf<'/api/v1/jobs', 'get'>;

export type UserRole = User['role'];
export type NotificationPreference = User['notification_preference'];
export type WorkflowKind = Workflow['kind'];
export type WorkflowStatus = Workflow['status'];
export type BuildStatus = Workflow['build_status'];
export type JobState = Job['status'];
export type JobTrigger = Job['trigger'];
export type ErrorKind = NonNullable<Job['error']>['kind'];

// Not re-exported from workflow-input.ts: that module brings zod and croner, which only the forms need.
export const WORKFLOW_KINDS = ['HEARTBEAT', 'CONTAINER', 'DAG'] as const satisfies readonly WorkflowKind[];
/** What a run's status can be (a DAG's task instances may also be SKIPPED). */
export type RunState = Exclude<JobState, 'SKIPPED'>;
export { BUILD_STATUSES, JOB_STATES, JOB_TRIGGERS, RUN_STATES, WORKFLOW_STATUSES };

// The domain's lists and the document's enumerations name the same values (both ways).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree = <T extends true>(): T | undefined => undefined;
agree<Same<(typeof JOB_STATES)[number], JobState>>();
agree<Same<(typeof JOB_TRIGGERS)[number], JobTrigger>>();
agree<Same<(typeof BUILD_STATUSES)[number], BuildStatus>>();
agree<Same<(typeof WORKFLOW_STATUSES)[number], WorkflowStatus>>();
agree<Same<(typeof WORKFLOW_KINDS)[number], WorkflowKind>>();
/** One task instance of a DAG run (`tasks` of `GET …/jobs/{job}`). */
export type Task = NonNullable<Job['tasks']>[number];

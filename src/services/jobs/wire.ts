/** Job views ↔ chronoverse.jobs.v1 messages (shared with the logs service, which returns jobs too). */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ERROR_KINDS, JOB_STATES, JOB_TRIGGERS } from '../../domain/job-state.ts';
import {
  ErrorKindSchema,
  JobStatusSchema,
  JobTriggerSchema,
  type Artifact,
  type ArtifactSchema,
  type Job,
  type JobResult,
  type JobResultSchema,
  type JobSchema,
  type WorkflowJob,
  type WorkflowJobSchema,
} from '../../gen/chronoverse/jobs/v1/jobs_pb.js';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import type { IdempotentResult } from '../idempotency.ts';
import type { ArtifactView } from './artifacts.ts';
import type { JobErrorView, JobView, TaskView, WorkflowJobView } from './codec.ts';

export function artifactToWire(a: ArtifactView): MessageInitShape<typeof ArtifactSchema> {
  return {
    id: a.id,
    jobId: a.job_id,
    workflowId: a.workflow_id,
    name: a.name,
    task: a.task,
    attempt: a.attempt,
    size: BigInt(a.size),
    sha256: a.sha256,
    contentType: a.content_type,
    createdAt: toTimestamp(a.created_at),
    ...(a.expires_at !== null ? { expiresAt: toTimestamp(a.expires_at) } : {}),
    storageKey: a.storage_key,
    ...(a.download_url !== null ? { downloadUrl: a.download_url } : {}),
  };
}

export function artifactFromWire(m: Artifact | undefined): ArtifactView {
  const a = required(m, 'artifact');
  return {
    id: a.id,
    job_id: a.jobId,
    workflow_id: a.workflowId,
    name: a.name,
    task: a.task,
    attempt: a.attempt,
    size: Number(a.size),
    sha256: a.sha256,
    content_type: a.contentType,
    created_at: fromTimestamp(a.createdAt),
    expires_at: a.expiresAt ? fromTimestamp(a.expiresAt) : null,
    storage_key: a.storageKey,
    download_url: a.downloadUrl ?? null,
  };
}

export function jobToWire(j: JobView): MessageInitShape<typeof JobSchema> {
  return {
    id: j.id,
    workflowId: j.workflow_id,
    status: toEnum(JobStatusSchema, j.status),
    trigger: toEnum(JobTriggerSchema, j.trigger),
    scheduledAt: toTimestamp(j.scheduled_at),
    startedAt: toOptionalTimestamp(j.started_at),
    completedAt: toOptionalTimestamp(j.completed_at),
    createdAt: toTimestamp(j.created_at),
    updatedAt: toTimestamp(j.updated_at),
    attempts: j.attempts,
    maxAttempts: j.max_attempts,
    ...(j.exit_code !== null ? { exitCode: j.exit_code } : {}),
    ...(j.http_status_code !== null ? { httpStatusCode: j.http_status_code } : {}),
    ...(j.latency_ms !== null ? { latencyMs: j.latency_ms } : {}),
    skippedTicks: j.skipped_ticks,
    ...(j.retry_of !== null ? { retryOf: j.retry_of } : {}),
    ...(j.workflow_version !== null ? { workflowVersion: j.workflow_version } : {}),
    ...(j.error !== null ? { error: errorToWire(j.error) } : {}),
    kind: j.kind,
    hasTasks: j.tasks !== undefined,
    tasks: (j.tasks ?? []).map((t) => ({
      id: t.id,
      name: t.name,
      kind: t.kind,
      ...(t.index !== null ? { index: t.index } : {}),
      status: toEnum(JobStatusSchema, t.status),
      attempts: t.attempts,
      startedAt: toOptionalTimestamp(t.started_at),
      completedAt: toOptionalTimestamp(t.completed_at),
      ...(t.exit_code !== null ? { exitCode: t.exit_code } : {}),
      ...(t.http_status !== null ? { httpStatus: t.http_status } : {}),
      ...(t.error !== null ? { error: errorToWire(t.error) } : {}),
      ...(t.outputs !== null ? { outputsJson: JSON.stringify(t.outputs) } : {}),
      ...(t.index !== null ? { itemJson: JSON.stringify(t.item ?? null) } : {}),
      ...(t.skipped_reason !== undefined ? { skippedReason: t.skipped_reason } : {}),
    })),
  };
}

function errorToWire(e: JobErrorView) {
  return { kind: toEnum(ErrorKindSchema, e.kind), code: e.code, message: e.message };
}

function errorFromWire(e: { kind: number; code: string; message: string }): JobErrorView {
  return { kind: fromEnum(ErrorKindSchema, e.kind, ERROR_KINDS), code: e.code, message: e.message };
}

const JOB_KINDS = ['HEARTBEAT', 'CONTAINER', 'DAG'] as const;
function kindFromWire<const K extends string>(kind: string, allowed: readonly K[]): K {
  const found = allowed.find((k) => k === kind);
  if (found === undefined) throw new Error(`job kind ${kind} is not one of ${allowed.join(', ')}`);
  return found;
}

export function jobFromWire(m: Job | undefined): JobView {
  const j = required(m, 'job');
  return {
    id: j.id,
    workflow_id: j.workflowId,
    status: fromEnum(JobStatusSchema, j.status, JOB_STATES),
    trigger: fromEnum(JobTriggerSchema, j.trigger, JOB_TRIGGERS),
    scheduled_at: fromTimestamp(j.scheduledAt),
    started_at: fromOptionalTimestamp(j.startedAt),
    completed_at: fromOptionalTimestamp(j.completedAt),
    created_at: fromTimestamp(j.createdAt),
    updated_at: fromTimestamp(j.updatedAt),
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    exit_code: j.exitCode ?? null,
    http_status_code: j.httpStatusCode ?? null,
    latency_ms: j.latencyMs ?? null,
    skipped_ticks: j.skippedTicks,
    retry_of: j.retryOf ?? null,
    workflow_version: j.workflowVersion ?? null,
    error: j.error ? errorFromWire(j.error) : null,
    kind: kindFromWire(j.kind, JOB_KINDS),
    ...(j.hasTasks
      ? {
          tasks: j.tasks.map((t) => {
            const view: TaskView = {
              id: t.id,
              name: t.name,
              kind: kindFromWire(t.kind, ['HEARTBEAT', 'CONTAINER'] as const),
              index: t.index ?? null,
              status: fromEnum(JobStatusSchema, t.status, JOB_STATES),
              attempts: t.attempts,
              started_at: fromOptionalTimestamp(t.startedAt),
              completed_at: fromOptionalTimestamp(t.completedAt),
              exit_code: t.exitCode ?? null,
              http_status: t.httpStatus ?? null,
              error: t.error ? errorFromWire(t.error) : null,
              outputs:
                t.outputsJson !== undefined ? (JSON.parse(t.outputsJson) as Record<string, unknown>) : null,
            };
            if (t.itemJson !== undefined) view.item = JSON.parse(t.itemJson) as unknown;
            if (t.skippedReason !== undefined) view.skipped_reason = t.skippedReason;
            return view;
          }),
        }
      : {}),
  };
}

export function workflowJobToWire(j: WorkflowJobView): MessageInitShape<typeof WorkflowJobSchema> {
  const { workflow_name, ...job } = j;
  return { job: jobToWire(job), workflowName: workflow_name };
}

/** The job's fields first, then `workflow_name`: the key order the service answers with. */
export function workflowJobFromWire(m: WorkflowJob): WorkflowJobView {
  return { ...jobFromWire(m.job), workflow_name: m.workflowName };
}

/** A replay's body is the stored answer: sent verbatim as JSON, not re-shaped. */
export function jobResultToWire(r: IdempotentResult<JobView>): MessageInitShape<typeof JobResultSchema> {
  return {
    status: r.status,
    replayed: r.replayed,
    body: r.replayed
      ? { case: 'storedJson', value: JSON.stringify(r.body) }
      : { case: 'job', value: jobToWire(r.body) },
  };
}

export function jobResultFromWire(m: JobResult): IdempotentResult<JobView> {
  const body =
    m.body.case === 'storedJson'
      ? (JSON.parse(m.body.value) as JobView)
      : jobFromWire(m.body.case === 'job' ? m.body.value : undefined);
  return { status: m.status, body, replayed: m.replayed };
}

/**
 * Task runners: what runs one attempt of a job of one kind. The executor claims, leases, logs
 * and completes; it looks the runner up by the job's kind and never switches on the kind itself.
 * A new kind is a new runner in the registry (the `satisfies` in the executor fails to compile
 * while a kind has none).
 *
 * A runner gets the job's spec — the workflow's payload copied when the job was created
 * (jobs.spec, migration 0016) — through its own `parse`, which applies the kind's schema with
 * its defaults to what was stored: a spec stored by an older version that no longer passes is
 * a USER failure naming the field, not a crash.
 */
import type { FieldIssue } from '../../domain/errors.ts';
import type { OutboundRole } from '../../domain/outbound-policy.ts';
import type { PayloadOf, TaskKind, Validated } from '../../domain/workflow-input.ts';
import type { JobLogWriter } from './log-sink.ts';
import type { RunOutcome } from './outcome.ts';
import type { ClaimedJob } from './sql.ts';

export interface TaskContext {
  job: ClaimedJob;
  /** The owner's role now: the outbound and container policies depend on it. */
  role: OutboundRole;
  /** Fires on cancel, lost lease or shutdown; the runner stops and returns promptly. */
  signal: AbortSignal;
  /** The attempt's log writer, opened on first use (a runner that logs nothing opens none). */
  logs(): JobLogWriter;
}

export interface TaskRunner<Spec> {
  /** The job's stored spec as this runner's input, or the fields that are wrong. */
  parse(spec: unknown): Validated<Spec>;
  /** One attempt to its end. Throws only for unexpected errors (recorded as SYSTEM failures). */
  run(spec: Spec, context: TaskContext): Promise<RunOutcome>;
}

/** One runner per workflow kind. */
export type TaskRunners = { readonly [K in TaskKind]: TaskRunner<PayloadOf<K>> };

/** The outcome for a stored spec that its runner's `parse` refused. */
export function invalidSpec(issues: readonly FieldIssue[]): RunOutcome {
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return {
    kind: 'failed',
    errorKind: 'USER',
    code: 'INVALID_SPEC',
    message: `the job's definition is not valid: ${detail}`.slice(0, 4096),
    retryable: false,
  };
}

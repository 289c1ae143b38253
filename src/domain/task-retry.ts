/**
 * The retry policy of a DAG task (issue 12): `retry: { limit, backoff?: { initial_seconds, factor,
 * max_seconds }, on?: [class, …] }`, and what it decides when an attempt fails.
 *
 * Failure classes: SYSTEM (the platform could not run the attempt: runtime down, lease lost),
 * TIMEOUT (the attempt ran out of time), USER (the task's own failure: an exit code, an
 * unexpected HTTP status). HTTP_5XX and EXIT_CODE:<n> narrow USER: a heartbeat answered with a
 * 5xx status, a container exited with code n. Airflow retries regardless of the kind of error,
 * which users complain about; naming classes lets a task retry a flaky 503 and not a 404.
 *
 * Without `on`, any failure is retried: someone who writes `retry: { limit: 3 }` expects three
 * more tries whatever went wrong. Without `retry`, a task runs once (limit 0).
 */
import { z } from 'zod';

export const RETRY_MAX_LIMIT = 100;
/** Longest delay between attempts: one day. */
export const RETRY_MAX_SECONDS = 86_400;

export const RETRY_CLASSES = ['SYSTEM', 'USER', 'TIMEOUT', 'HTTP_5XX'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number] | `EXIT_CODE:${number}`;

export const DEFAULT_RETRY_ON: readonly RetryClass[] = ['SYSTEM', 'USER', 'TIMEOUT'];
/** The executor's backoff for system failures (job-state.ts): 10 s, doubling, at most 5 min. */
export const DEFAULT_BACKOFF: TaskBackoff = { initialSeconds: 10, factor: 2, maxSeconds: 300 };

export interface TaskBackoff {
  initialSeconds: number;
  factor: number;
  maxSeconds: number;
}

export interface TaskRetryPolicy {
  /** Retries after the first attempt; 0: the task runs once. */
  limit: number;
  backoff: TaskBackoff;
  on: readonly RetryClass[];
}

export const NO_RETRY: TaskRetryPolicy = { limit: 0, backoff: DEFAULT_BACKOFF, on: DEFAULT_RETRY_ON };

const EXIT_CODE = /^EXIT_CODE:(\d{1,3})$/;
const retryClass = z
  .string()
  .refine(
    (c) => (RETRY_CLASSES as readonly string[]).includes(c) || Number(EXIT_CODE.exec(c)?.[1] ?? 256) <= 255,
    'must be SYSTEM, USER, TIMEOUT, HTTP_5XX or EXIT_CODE:<0–255>',
  );
const seconds = z.number().min(0.1).max(RETRY_MAX_SECONDS);

/** The `retry` field as written (documentation and shape validation). */
export const RetryPolicySchema = z
  .object({
    limit: z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? 'is required: the number of retries after the first attempt'
            : undefined,
      })
      .int()
      .min(0)
      .max(RETRY_MAX_LIMIT)
      .describe('Retries after the first attempt.'),
    backoff: z
      .object({
        initial_seconds: seconds.default(DEFAULT_BACKOFF.initialSeconds),
        factor: z.number().min(1).max(10).default(DEFAULT_BACKOFF.factor),
        max_seconds: seconds.default(DEFAULT_BACKOFF.maxSeconds),
      })
      .strict()
      .refine((b) => b.max_seconds >= b.initial_seconds, {
        path: ['max_seconds'],
        message: 'must be at least initial_seconds',
      })
      .optional()
      .describe('Delay before retry n: initial_seconds × factor^(n−1), at most max_seconds.'),
    on: z
      .array(retryClass)
      .min(1, 'must list at least one class, such as ["SYSTEM", "EXIT_CODE:75"]')
      .optional()
      .describe('Failure classes retried; absent: every failure.'),
  })
  .strict()
  .meta({ id: 'TaskRetry' });

/** The policy a valid `retry` field stands for (`undefined`: none); duplicates and leading zeros folded. */
export function retryPolicyOf(field: z.output<typeof RetryPolicySchema> | undefined): TaskRetryPolicy {
  if (field === undefined) return NO_RETRY;
  const on: RetryClass[] = [];
  for (const c of field.on ?? DEFAULT_RETRY_ON) {
    const exit = EXIT_CODE.exec(c);
    const normalized = (exit === null ? c : `EXIT_CODE:${Number(exit[1])}`) as RetryClass;
    if (!on.includes(normalized)) on.push(normalized);
  }
  const backoff = field.backoff;
  return {
    limit: field.limit,
    backoff:
      backoff === undefined
        ? DEFAULT_BACKOFF
        : {
            initialSeconds: backoff.initial_seconds,
            factor: backoff.factor,
            maxSeconds: backoff.max_seconds,
          },
    on,
  };
}

/** How an attempt failed, as the executor reports it. */
export type TaskFailure =
  | { kind: 'SYSTEM' }
  | { kind: 'TIMEOUT' }
  | { kind: 'USER'; exitCode?: number | null; httpStatus?: number | null };

/** The classes a failure belongs to: its kind, and for USER the narrower classes it fits. */
export function failureClasses(failure: TaskFailure): RetryClass[] {
  if (failure.kind !== 'USER') return [failure.kind];
  const classes: RetryClass[] = ['USER'];
  if (failure.httpStatus != null && failure.httpStatus >= 500 && failure.httpStatus <= 599)
    classes.push('HTTP_5XX');
  if (failure.exitCode != null) classes.push(`EXIT_CODE:${failure.exitCode}`);
  return classes;
}

/** Whether attempt number `attempt` (1-based) that failed so is followed by another one. */
export function shouldRetry(policy: TaskRetryPolicy, failure: TaskFailure, attempt: number): boolean {
  return attempt <= policy.limit && failureClasses(failure).some((c) => policy.on.includes(c));
}

/** The wait before the attempt after `attempt` (1-based): initial × factor^(attempt−1), capped. */
export function retryDelaySeconds(policy: TaskRetryPolicy, attempt: number): number {
  const { initialSeconds, factor, maxSeconds } = policy.backoff;
  return Math.min(initialSeconds * factor ** Math.max(0, attempt - 1), maxSeconds);
}

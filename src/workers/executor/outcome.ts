/** How one attempt of a job ended. The completer handles each kind in one switch. */
export type RunOutcome =
  | {
      kind: 'succeeded';
      exitCode?: number;
      httpStatusCode?: number;
      latencyMs?: number;
      /** What the attempt set for downstream DAG tasks (src/domain/task-outputs.ts). */
      outputs?: Record<string, unknown>;
    }
  | {
      kind: 'failed';
      /** USER: the workflow's fault (wrong status, non-zero exit); SYSTEM: ours or the infrastructure's. */
      errorKind: 'USER' | 'SYSTEM';
      code: string;
      message: string;
      /** SYSTEM failures are retried while attempts remain; USER failures never. */
      retryable: boolean;
      exitCode?: number;
      httpStatusCode?: number;
      latencyMs?: number;
    }
  | { kind: 'canceled'; exitCode?: number }
  /** Someone else owns the job now (lease expired and rescued, or canceled): write nothing. */
  | { kind: 'lease_lost' };

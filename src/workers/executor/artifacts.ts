/**
 * Collecting a CONTAINER job's declared artifacts (`payload.artifacts`) after each attempt, from
 * the container runtime's afterExit hook: also after a timeout or cancel, while the exited
 * container still exists; the caller passes only those whose `when` matches how it ended. And
 * putting a DAG task's inputs (`payload.inputs`, other tasks' artifacts) into its container
 * before it starts (`putInputs`, below).
 *
 * Each declared path is copied out as the tar archive the Docker API's archive endpoint gives
 * (GET /containers/{id}/archive) and stored as is (application/x-tar), file or directory alike:
 * nothing is extracted in this process, so no path inside the archive can ever reach our
 * filesystem, the bytes stream from the engine to the store without being held in memory, and
 * the sha256 is of exactly what a download returns. (The cost: a one-file artifact downloads as
 * a one-entry tar.)
 *
 * Order: the object first, then its row, one artifact at a time (at most 20, so no batch). A row
 * therefore always has its object, and an artifact is listed as soon as it is whole; a crash
 * between the two leaves an object without a row, which the housekeeping janitor removes.
 *
 * Limits: each artifact at most `maxArtifactBytes`, all artifacts of one attempt together at most
 * `maxJobBytes`. The first artifact over either stops the collection; the store has removed
 * whatever it had of it (ArtifactStore.put is all or nothing) and the attempt fails with a USER
 * error naming it. Artifacts stored before it stay (each is whole). A path that does not exist
 * keeps nothing and says so in the job's log; it does not fail the job. Each row gets its end
 * (`expires_at`) from the workflow's `artifact_retention`, if any (`retentionOf`).
 */
import type { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import { inputSource, parseRetention } from '../../domain/task-payload.ts';
import { renameTop } from '../../platform/artifacts/tar-rename.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import { ArtifactTooLargeError } from '../../platform/artifacts/store.ts';
import type { CapturedLine, ContainerHandle } from '../../platform/containers/runtime.ts';
import type { DB } from '../../platform/db/schema.ts';
import { newId } from '../../platform/ids.ts';

export interface ArtifactLimits {
  /** Largest single artifact (its tar), in bytes. @default 1 GiB */
  maxArtifactBytes: number;
  /** Most bytes of artifacts one attempt keeps, in bytes. @default 5 GiB */
  maxJobBytes: number;
}

export const ARTIFACT_LIMITS_DEFAULTS: ArtifactLimits = {
  maxArtifactBytes: 1024 * 1024 * 1024,
  maxJobBytes: 5 * 1024 * 1024 * 1024,
};

export interface ArtifactDeclaration {
  name: string;
  path: string;
}

/** Who produced the artifacts: the job's attempt (and its task, 'main' for a single-task workflow). */
export interface ArtifactOwner {
  jobId: string;
  workflowId: string;
  userId: string;
  attempt: number;
  task: string;
  /** The workflow's `artifact_retention` in ms; null: the installation's (expires_at stays NULL). */
  retentionMs: number | null;
}

export type CollectionResult =
  | { kind: 'collected'; stored: number; bytes: number }
  | { kind: 'too_large'; name: string; limit: 'artifact' | 'job'; maxBytes: number }
  /** The store (or the database) failed on this artifact; the ones before it are kept. */
  | { kind: 'store_failed'; name: string; message: string };

/** Where the object of an artifact lives in the store. */
export function artifactKey(owner: ArtifactOwner, name: string): string {
  return `${owner.workflowId}/${owner.jobId}/${owner.attempt}/${owner.task}/${name}`;
}

export async function collectArtifacts(
  deps: { db: Kysely<DB>; store: ArtifactStore },
  container: ContainerHandle,
  owner: ArtifactOwner,
  declarations: readonly ArtifactDeclaration[],
  limits: ArtifactLimits,
  log: (lines: CapturedLine[]) => void | Promise<void>,
): Promise<CollectionResult> {
  let bytes = 0;
  let stored = 0;
  for (const { name, path } of declarations) {
    const tar = await container.getArchive(path);
    if (tar === null) {
      await log([
        {
          stream: 'stderr',
          timestamp: new Date(),
          message: `chronoverse: artifact "${name}": ${path} does not exist in the container; nothing kept`,
        },
      ]);
      continue;
    }
    const remaining = limits.maxJobBytes - bytes;
    const maxBytes = Math.min(limits.maxArtifactBytes, remaining);
    const key = artifactKey(owner, name);
    let put;
    try {
      put = await deps.store.put(key, tar, {
        contentType: 'application/x-tar',
        maxBytes,
      });
    } catch (err) {
      if (!(err instanceof ArtifactTooLargeError)) {
        return { kind: 'store_failed', name, message: err instanceof Error ? err.message : String(err) };
      }
      const limit = remaining < limits.maxArtifactBytes ? 'job' : 'artifact';
      return {
        kind: 'too_large',
        name,
        limit,
        maxBytes: limit === 'job' ? limits.maxJobBytes : limits.maxArtifactBytes,
      };
    }
    // A re-run of the same attempt (a job handed back at shutdown runs its attempt again)
    // replaced the object under the same key: its row follows.
    try {
      await sql`
      INSERT INTO artifacts (id, job_id, workflow_id, user_id, attempt, task, name, size, sha256, content_type, storage_key, expires_at)
      VALUES (${newId()}, ${owner.jobId}, ${owner.workflowId}, ${owner.userId}, ${owner.attempt}, ${owner.task},
        ${name}, ${put.size}, ${put.sha256}, 'application/x-tar', ${key},
        now() + ${owner.retentionMs}::bigint * interval '1 millisecond')
      ON CONFLICT (storage_key) DO UPDATE
        SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, created_at = now(), expires_at = EXCLUDED.expires_at`.execute(
        deps.db,
      );
    } catch (err) {
      // The object stays without a row: the janitor removes it.
      return { kind: 'store_failed', name, message: err instanceof Error ? err.message : String(err) };
    }
    bytes += put.size;
    stored++;
  }
  return { kind: 'collected', stored, bytes };
}

/**
 * The `artifact_retention` that applies to an attempt's artifacts, in ms: its own payload's, else
 * (a DAG task) its DAG's, read from the run's stored definition; null: the installation's.
 */
export async function retentionOf(
  db: Kysely<DB>,
  own: string | undefined,
  runId: string | null,
): Promise<number | null> {
  let text = own;
  if (text === undefined && runId !== null) {
    const { rows } = await sql<{ retention: string | null }>`
      SELECT spec->>'artifact_retention' AS retention FROM jobs WHERE id = ${runId}`.execute(db);
    text = rows[0]?.retention ?? undefined;
  }
  // Validated when the workflow was saved; a value that no longer parses falls back to the default.
  return text === undefined ? null : parseRetention(text);
}

// ─── inputs ─────────────────────────────────────────────────────────────────────────────────────

export interface InputDeclaration {
  from: string;
  path: string;
}

/** Why the inputs could not be put in; the task fails with it (see `putInputs`). */
export class InputsProblem extends Error {
  readonly errorKind: 'USER' | 'SYSTEM';
  readonly errorCode: 'INPUT_MISSING' | 'ARTIFACT_STORE_FAILED';
  constructor(
    errorKind: 'USER' | 'SYSTEM',
    errorCode: 'INPUT_MISSING' | 'ARTIFACT_STORE_FAILED',
    message: string,
  ) {
    super(message);
    this.errorKind = errorKind;
    this.errorCode = errorCode;
  }
}

/**
 * artifactOfUpstream: the stored artifact `name` of the task `task` of the DAG run `runId`, as
 * kept by that task's last attempt (an earlier attempt's is stale: the attempt that counted did
 * not keep it); null when there is none.
 *
 * A retried run (jobs.retry_of) starts with the previous run's succeeded tasks kept, COMPLETED
 * with 0 attempts, without running them again: their artifacts are those of the run they ran in,
 * so the chain of retried runs is walked back to the nearest run where the task really ran. A
 * task that did not run in this run for any other reason (skipped) stops the walk: no artifact.
 * Uses the jobs (run_id, task_name, task_index) unique index and artifacts (job_id, task,
 * attempt, name).
 */
export async function artifactOfUpstream(
  db: Kysely<DB>,
  runId: string,
  task: string,
  name: string,
): Promise<{ storage_key: string; size: number; sha256: string } | null> {
  const { rows } = await sql<{ storage_key: string; size: string | number; sha256: string }>`
    WITH RECURSIVE chain (run_id, depth) AS (
      SELECT ${runId}::uuid, 0
      UNION ALL
      SELECT r.retry_of, c.depth + 1 FROM chain c JOIN jobs r ON r.id = c.run_id
      WHERE r.retry_of IS NOT NULL AND c.depth < 1000
    ), source AS (
      SELECT t.id, t.attempts FROM chain c
      JOIN jobs t ON t.run_id = c.run_id AND t.task_name = ${task} AND t.task_index IS NULL
      WHERE NOT (t.attempts = 0 AND t.status = 'COMPLETED')
      ORDER BY c.depth LIMIT 1
    )
    SELECT a.storage_key, a.size, a.sha256 FROM source s
    JOIN artifacts a ON a.job_id = s.id AND a.task = ${task} AND a.attempt = s.attempts AND a.name = ${name}`.execute(
    db,
  );
  const row = rows[0];
  return row === undefined ? null : { ...row, size: Number(row.size) };
}

/** `/in/data.bin/` → { parent: '/in', base: 'data.bin' }. */
function splitPath(path: string): { parent: string; base: string } {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return { parent: slash === 0 ? '/' : trimmed.slice(0, slash), base: trimmed.slice(slash + 1) };
}

/**
 * Puts each input (`payload.inputs` of a DAG task) into the created container before it starts:
 * the upstream task's stored tar, its top entry renamed to the base name of `path`, extracted at
 * the parent of `path` through the engine's put-archive endpoint (Podman creates a missing
 * parent). The object streams from the store through the renaming to the engine, one input at a
 * time. Throws InputsProblem: INPUT_MISSING (USER) when the upstream task kept no such artifact
 * (it did not run, the path did not exist, `when` skipped it, retention removed it),
 * ARTIFACT_STORE_FAILED (SYSTEM, retried) when the store fails; the runtime's own errors as they
 * are.
 */
export async function putInputs(
  deps: { db: Kysely<DB>; store: ArtifactStore },
  container: ContainerHandle,
  runId: string,
  inputs: readonly InputDeclaration[],
): Promise<void> {
  for (const input of inputs) {
    const { task, artifact } = inputSource(input.from);
    let stream: NodeJS.ReadableStream | null;
    try {
      const row = await artifactOfUpstream(deps.db, runId, task, artifact);
      stream = row === null ? null : await deps.store.get(row.storage_key);
    } catch (err) {
      throw new InputsProblem(
        'SYSTEM',
        'ARTIFACT_STORE_FAILED',
        `input ${input.from} could not be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (stream === null) {
      throw new InputsProblem(
        'USER',
        'INPUT_MISSING',
        `input ${input.from}: task '${task}' kept no artifact '${artifact}' in this run (did its path exist, or did its "when" skip it?)`,
      );
    }
    const { parent, base } = splitPath(input.path);
    const renamed = renameTop(stream, base);
    try {
      await container.putArchive(parent, renamed);
    } finally {
      renamed.destroy();
      (stream as Readable).destroy?.();
    }
  }
}

/**
 * Collecting a CONTAINER job's declared artifacts (`payload.artifacts`) after each attempt, from
 * the container runtime's afterExit hook: whatever the exit code, also after a timeout or cancel,
 * while the exited container still exists.
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
 * keeps nothing and says so in the job's log; it does not fail the job.
 */
import { sql, type Kysely } from 'kysely';
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
      INSERT INTO artifacts (id, job_id, workflow_id, user_id, attempt, task, name, size, sha256, content_type, storage_key)
      VALUES (${newId()}, ${owner.jobId}, ${owner.workflowId}, ${owner.userId}, ${owner.attempt}, ${owner.task},
        ${name}, ${put.size}, ${put.sha256}, 'application/x-tar', ${key})
      ON CONFLICT (storage_key) DO UPDATE
        SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, created_at = now()`.execute(deps.db);
    } catch (err) {
      // The object stays without a row: the janitor removes it.
      return { kind: 'store_failed', name, message: err instanceof Error ? err.message : String(err) };
    }
    bytes += put.size;
    stored++;
  }
  return { kind: 'collected', stored, bytes };
}

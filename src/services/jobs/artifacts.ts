/**
 * A job's artifacts as the API shows them (docs/artifacts.md): listed and looked up only through
 * a job of the caller's own, so another user's job or artifact is a 404 like one that does not
 * exist. Rows are written by the executor (src/workers/executor/artifacts.ts).
 */
import type { Kysely } from 'kysely';
import { NotFoundError } from '../../domain/errors.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { DB } from '../../platform/db/schema.ts';

export interface ArtifactView {
  id: string;
  job_id: string;
  workflow_id: string;
  name: string;
  task: string;
  attempt: number;
  size: number;
  sha256: string;
  content_type: string;
  created_at: string;
  /** When it is deleted, from its workflow's `artifact_retention`; null: the installation's retention. */
  expires_at: string | null;
  /** Where the object is in the store: for the gateway's own download route; never shown. */
  storage_key: string;
  /** A presigned URL of the store (S3), only from `getArtifact`; null: download through the gateway. */
  download_url: string | null;
}

type Row = Omit<ArtifactView, 'created_at' | 'expires_at' | 'download_url'> & {
  created_at: Date;
  expires_at: Date | null;
};

function view(row: Row, downloadUrl: string | null = null): ArtifactView {
  return {
    ...row,
    size: Number(row.size),
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at?.toISOString() ?? null,
    download_url: downloadUrl,
  };
}

const COLUMNS = [
  'a.id',
  'a.job_id',
  'a.workflow_id',
  'a.name',
  'a.task',
  'a.attempt',
  'a.size',
  'a.sha256',
  'a.content_type',
  'a.created_at',
  'a.expires_at',
  'a.storage_key',
] as const;

/** The job's artifacts, every attempt and task, oldest first; NotFoundError unless the job is the user's. */
export async function listArtifacts(
  db: Kysely<DB>,
  userId: string,
  workflowId: string,
  jobId: string,
): Promise<ArtifactView[]> {
  const job = await db
    .selectFrom('jobs')
    .select('id')
    .where('id', '=', jobId)
    .where('workflow_id', '=', workflowId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!job) throw new NotFoundError('Job');
  const rows = await db
    .selectFrom('artifacts as a')
    .select(COLUMNS)
    .where('a.job_id', '=', jobId)
    .orderBy('a.created_at')
    .orderBy('a.id')
    .execute();
  return rows.map((r) => view(r));
}

/** One artifact with its download URL (when the store has them); NotFoundError unless it is the user's. */
export async function getArtifact(
  db: Kysely<DB>,
  store: ArtifactStore | null,
  urlTtlSeconds: number,
  ids: { userId: string; workflowId: string; jobId: string; artifactId: string },
): Promise<ArtifactView> {
  // The owner is checked on the job (as for every job route), not only on the artifact's copy.
  const row = await db
    .selectFrom('artifacts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select(COLUMNS)
    .where('a.id', '=', ids.artifactId)
    .where('a.job_id', '=', ids.jobId)
    .where('j.workflow_id', '=', ids.workflowId)
    .where('j.user_id', '=', ids.userId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Artifact');
  return view(row, store ? await store.downloadUrl(row.storage_key, urlTtlSeconds) : null);
}

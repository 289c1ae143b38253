/**
 * /api/v1/workflows/:id/jobs/:job_id/artifacts: a job's artifacts (docs/artifacts.md), under
 * their job as the job routes are. Every route looks the job up as the caller's first (the jobs
 * service), so another user's job or artifact is a 404 like a missing one.
 *
 * Downloads: with the S3 store `download_url` is a presigned URL, valid a few minutes, that
 * needs no credentials; with the directory store it is this API's `…/content` route, which
 * streams the file after the same authorization. `…/content` works with either store.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import type { ArtifactStore } from '../../platform/artifacts/store.ts';
import type { ArtifactView } from '../../services/jobs/artifacts.ts';
import type { JobsApi } from '../../services/jobs/api.ts';
import type { UsersApi } from '../../services/users/api.ts';
import { makeAuthenticate, principalOf } from '../auth.ts';
import { ArtifactParamsSchema, ArtifactSchema, JobParamsSchema, ProblemSchema } from '../schemas.ts';
import { SECURED } from './security.ts';

const tags = ['artifacts'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

type JobParams = z.output<typeof JobParamsSchema>;
type ArtifactParams = z.output<typeof ArtifactParamsSchema>;

/** The API's artifact object: the view without the store's internals. */
function artifactBody(a: ArtifactView) {
  return {
    id: a.id,
    name: a.name,
    task: a.task,
    attempt: a.attempt,
    size: a.size,
    sha256: a.sha256,
    content_type: a.content_type,
    created_at: a.created_at,
    expires_at: a.expires_at,
  };
}

export async function artifactRoutes(
  app: FastifyInstance,
  opts: { users: UsersApi; jobs: JobsApi; store: ArtifactStore | null; apiPath: string },
): Promise<void> {
  const { jobs, store } = opts;
  app.addHook('onRequest', makeAuthenticate(opts.users));

  app.get(
    '/workflows/:id/jobs/:job_id/artifacts',
    {
      schema: {
        tags,
        summary: "List a job's artifacts (every attempt), oldest first",
        ...SECURED,
        params: JobParamsSchema,
        response: { 200: z.object({ artifacts: z.array(ArtifactSchema) }), ...errors },
      },
    },
    async (req) => {
      const { id, job_id } = req.params as JobParams;
      const list = await jobs.listArtifacts(principalOf(req).user.id, id, job_id);
      return { artifacts: list.map(artifactBody) };
    },
  );

  app.get(
    '/workflows/:id/jobs/:job_id/artifacts/:artifact_id',
    {
      schema: {
        tags,
        summary: 'Get an artifact and where to download it',
        description:
          '`download_url`: with the S3 store a presigned URL valid for CHRONOVERSE_ARTIFACTS_DOWNLOAD_URL_TTL that needs no credentials; with the directory store the path of `…/content` on this API (same authentication as this request).',
        ...SECURED,
        params: ArtifactParamsSchema,
        response: {
          200: ArtifactSchema.extend({ download_url: z.string() }).meta({ id: 'ArtifactWithDownload' }),
          ...errors,
        },
      },
    },
    async (req) => {
      const { id, job_id, artifact_id } = req.params as ArtifactParams;
      const a = await jobs.getArtifact(principalOf(req).user.id, id, job_id, artifact_id);
      return {
        ...artifactBody(a),
        download_url:
          a.download_url ?? `${opts.apiPath}/workflows/${id}/jobs/${job_id}/artifacts/${artifact_id}/content`,
      };
    },
  );

  app.get(
    '/workflows/:id/jobs/:job_id/artifacts/:artifact_id/content',
    {
      schema: {
        tags,
        summary: "Download an artifact's bytes",
        description:
          "The stored archive as an attachment (`<name>.tar`, application/x-tar), streamed from the artifact store; its SHA-256 is the artifact's `sha256`.",
        ...SECURED,
        params: ArtifactParamsSchema,
        response: { ...errors },
      },
    },
    async (req, reply) => {
      const { id, job_id, artifact_id } = req.params as ArtifactParams;
      const a = await jobs.getArtifact(principalOf(req).user.id, id, job_id, artifact_id);
      // A row without its object (deleted by retention between the two reads) is gone as well.
      const body = store ? await store.get(a.storage_key) : null;
      if (!body) throw new NotFoundError('Artifact');
      return reply
        .type(a.content_type)
        .header('content-length', String(a.size))
        .header('content-disposition', `attachment; filename="${a.name}.tar"`)
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );
}

/**
 * The run page's artifacts (docs/artifacts.md): what a CONTAINER job kept, per attempt, with a
 * download link each and until when it is kept (its workflow's `artifact_retention`). Links go through the gateway's `…/content` route (same origin: the session
 * cookie authenticates them) rather than `download_url`, so the list needs no request per artifact.
 */
import { artifactDownloadUrl, useArtifacts } from '../../api/jobs.ts';
import { ErrorMessage, Spinner } from '../../components/index.ts';
import { formatBytes, formatDateTime } from '../../lib/format.ts';

const POLL_MS = 5_000;

export function JobArtifacts(props: { workflowId: string; jobId: string; final: boolean }) {
  const { workflowId, jobId, final } = props;
  // Artifacts appear after each attempt: poll until the job is final.
  const artifacts = useArtifacts(workflowId, jobId, { refetchInterval: final ? false : POLL_MS });
  return (
    <section aria-labelledby="artifacts-heading">
      <h2 id="artifacts-heading">Artifacts</h2>
      {artifacts.isPending ? (
        <Spinner label="Loading the artifacts…" />
      ) : artifacts.isError ? (
        <ErrorMessage error={artifacts.error} />
      ) : artifacts.data.artifacts.length === 0 ? (
        <p className="muted">No artifacts{final ? '' : ' yet'}.</p>
      ) : (
        <table className="job-artifacts">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Attempt</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Kept</th>
              <th scope="col">Until</th>
            </tr>
          </thead>
          <tbody>
            {artifacts.data.artifacts.map((a) => (
              <tr key={a.id}>
                <td>
                  <a href={artifactDownloadUrl(workflowId, jobId, a.id)} download={`${a.name}.tar`}>
                    {a.name}.tar
                  </a>
                </td>
                <td>{a.attempt}</td>
                <td>{formatBytes(a.size)}</td>
                <td>
                  <code title={a.sha256}>{a.sha256.slice(0, 12)}…</code>
                </td>
                <td>{formatDateTime(a.created_at)}</td>
                <td>
                  {a.expires_at !== null ? (
                    formatDateTime(a.expires_at)
                  ) : (
                    // Without the workflow's own artifact_retention, the installation's applies.
                    <span
                      className="muted"
                      title="The installation's artifact retention, from when it was kept"
                    >
                      default retention
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

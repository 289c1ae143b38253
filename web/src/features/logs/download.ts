/**
 * Downloads go through the server (`GET …/logs/raw`, docs/api.md "Logs"): it streams every stored
 * line oldest first in the chosen format and applies the same stream and search filters the viewer
 * shows, so a filtered download matches the screen and a 100k-line job never builds a Blob in the
 * page. Same origin, so the session cookie authenticates the plain link.
 */
import { API_BASE } from '../../api/client.ts';
import type { DownloadFormat, StreamFilter } from './types.ts';

export function logsDownloadUrl(
  workflowId: string,
  jobId: string,
  format: DownloadFormat,
  filter: { stream: StreamFilter; query: string },
): string {
  const params = new URLSearchParams({ format });
  if (filter.stream !== 'all') params.set('stream', filter.stream);
  if (filter.query !== '') params.set('q', filter.query);
  return `${API_BASE}/workflows/${encodeURIComponent(workflowId)}/jobs/${encodeURIComponent(jobId)}/logs/raw?${params}`;
}

/** The file name the server suggests (Content-Disposition), for the link's `download` attribute. */
export function logsDownloadName(jobId: string, format: DownloadFormat): string {
  return `${jobId}-logs.${format}`;
}

import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../api/types.ts';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import { formatDateTime } from '../../lib/format.ts';
import { JobArtifacts } from './JobArtifacts.tsx';

const WF = '00000000-0000-4000-8000-0000000000a1';
const JOB = '00000000-0000-4000-8000-0000000000b1';
const report: Artifact = {
  id: '00000000-0000-4000-8000-0000000000c1',
  name: 'report',
  task: 'main',
  attempt: 2,
  size: 1536,
  sha256: 'ab'.repeat(32),
  content_type: 'application/x-tar',
  created_at: '2026-03-01T10:00:00.000Z',
  expires_at: '2026-03-08T10:00:00.000Z',
};
const log: Artifact = {
  ...report,
  id: '00000000-0000-4000-8000-0000000000c2',
  name: 'log',
  expires_at: null,
};

describe('run page artifacts', () => {
  it("lists the job's artifacts with a download link through the gateway each", async () => {
    const calls = stubFetch({
      [`GET /api/v1/workflows/${WF}/jobs/${JOB}/artifacts`]: () => json(200, { artifacts: [report, log] }),
    });
    renderAt('/', <JobArtifacts workflowId={WF} jobId={JOB} final />);
    const link = await screen.findByRole('link', { name: 'report.tar' });
    expect(link.getAttribute('href')).toBe(
      `/api/v1/workflows/${WF}/jobs/${JOB}/artifacts/${report.id}/content`,
    );
    expect(link.getAttribute('download')).toBe('report.tar');
    expect(screen.getAllByText('1.5 KiB')).toHaveLength(2);
    expect(screen.getAllByTitle(report.sha256)[0]!.textContent).toBe('abababababab…');
    // Until when: the workflow's artifact_retention, or the installation's.
    const rows = screen.getAllByRole('row');
    expect(rows[1]!.textContent).toContain(formatDateTime(report.expires_at!));
    expect(rows[2]!.textContent).toContain('default retention');
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      `GET /api/v1/workflows/${WF}/jobs/${JOB}/artifacts`,
    ]);
  });

  it('says when a finished job kept none', async () => {
    stubFetch({ [`GET /api/v1/workflows/${WF}/jobs/${JOB}/artifacts`]: () => json(200, { artifacts: [] }) });
    renderAt('/', <JobArtifacts workflowId={WF} jobId={JOB} final />);
    expect(await screen.findByText('No artifacts.')).toBeTruthy();
  });
});

/**
 * The workflow page's version history (docs/api.md "Versions"): every version with when it was
 * made and what changed from the one before, a diff of a chosen version against the current
 * definition, and "Run this version" (run now with `{ version }`).
 */
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useRunNow } from '../../api/jobs.ts';
import type { Workflow, WorkflowDefinition, WorkflowVersion } from '../../api/types.ts';
import { useWorkflowVersions } from '../../api/workflows.ts';
import { Button } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatDateTime, newIdempotencyKey } from '../../lib/format.ts';
import { diffJson } from './json-diff.ts';
import './versions.css';

/** The current definition, from the workflow object (the same fields a version holds). */
export function definitionOf(w: Workflow): WorkflowDefinition {
  return {
    kind: w.kind,
    payload: w.payload,
    schedule: w.schedule,
    max_consecutive_job_failures_allowed: w.max_consecutive_job_failures_allowed,
    pause_on_failure: w.pause_on_failure,
    log_retention: w.log_retention,
  };
}

/** One line for a version: what changed from the one before. */
export function changesText(v: WorkflowVersion): string {
  if (v.version === 1) return 'created';
  return v.changes.length === 0 ? 'no change' : v.changes.join(', ');
}

export function VersionsSection({ workflow, canRun }: { workflow: Workflow; canRun: boolean }) {
  const pager = useCursorPager();
  const versions = useWorkflowVersions(workflow.id, workflow.version, pager.cursor);
  const [compared, setCompared] = useState<WorkflowVersion | null>(null);
  const runNow = useRunNow(workflow.id);
  const navigate = useNavigate();

  const columns: Column<WorkflowVersion>[] = [
    {
      key: 'version',
      header: 'Version',
      cell: (v) => (v.current ? `${v.version} (current)` : String(v.version)),
    },
    { key: 'created', header: 'Made', cell: (v) => formatDateTime(v.created_at) },
    { key: 'changes', header: 'What changed', cell: changesText },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (v) => (
        <div className="actions">
          {!v.current && (
            <Button
              variant="ghost"
              aria-pressed={compared?.version === v.version}
              onClick={() => setCompared(compared?.version === v.version ? null : v)}
            >
              Compare with current
            </Button>
          )}
          <Button
            variant="ghost"
            disabled={!canRun}
            pending={runNow.isPending && runNow.variables?.version === v.version}
            title={canRun ? undefined : 'Runs need a completed build and a workflow that is not terminated'}
            aria-label={`Run version ${v.version}`}
            onClick={() =>
              runNow.mutate(
                { idempotencyKey: newIdempotencyKey(), version: v.version },
                { onSuccess: (job) => navigate(`/workflows/${workflow.id}/jobs/${job.id}`) },
              )
            }
          >
            Run this version
          </Button>
        </div>
      ),
    },
  ];

  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">Versions</h2>
      <ErrorMessage error={runNow.error} title="The run could not start" />
      {versions.isPending ? (
        <Spinner label="Loading versions…" />
      ) : versions.isError ? (
        <ErrorMessage error={versions.error} title="The versions could not be loaded" />
      ) : versions.data.versions.length === 0 ? (
        <EmptyState title="No versions" />
      ) : (
        <>
          <Table
            caption="Versions"
            columns={columns}
            rows={versions.data.versions}
            rowKey={(v) => String(v.version)}
          />
          <Pagination pager={pager} nextCursor={versions.data.cursor} label="Version pages" />
        </>
      )}
      {compared && (
        <div className="card">
          <h3>
            Version {compared.version} → current (version {workflow.version})
          </h3>
          <pre
            className="version-diff"
            aria-label={`Changes from version ${compared.version} to the current one`}
          >
            {diffJson(compared.definition, definitionOf(workflow)).map((line, i) => (
              <span
                key={i}
                className={line.op === '-' ? 'diff-removed' : line.op === '+' ? 'diff-added' : undefined}
              >
                {line.op} {line.text}
              </span>
            ))}
          </pre>
        </div>
      )}
    </section>
  );
}

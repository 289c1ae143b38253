/**
 * The Schedule section's backfills (docs/api.md "Backfill"): a form for a past range whose "Preview"
 * asks the server for a dry run and lists the fire times it would run (DST reasons included), and
 * only then offers to start it, for exactly the range previewed; below, the workflow's backfills
 * with their progress and a Cancel for a running one.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../../api/client.ts';
import type { Backfill } from '../../api/types.ts';
import {
  useBackfillDryRun,
  useBackfills,
  useCancelBackfill,
  useStartBackfill,
  type BackfillRequest,
} from '../../api/workflows.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatDateTime } from '../../lib/format.ts';

/** Fire times listed in the preview; the count says how many there are in all. */
const SHOWN = 20;

const STATUS_TONE: Record<Backfill['status'], BadgeTone> = {
  RUNNING: 'info',
  COMPLETED: 'success',
  CANCELED: 'neutral',
};

/** A `datetime-local` value (the browser's zone) as RFC 3339 with an offset, or null. */
function instant(local: string): string | null {
  if (local === '') return null;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

export function BackfillSection({ workflowId, canRun }: { workflowId: string; canRun: boolean }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [maxParallel, setMaxParallel] = useState('1');
  const [overlap, setOverlap] = useState<BackfillRequest['overlap']>('ALLOW_ALL');
  const dryRun = useBackfillDryRun(workflowId);
  const start = useStartBackfill(workflowId);
  // The request the shown preview answered: "Start" sends exactly that one.
  const [previewed, setPreviewed] = useState<BackfillRequest | null>(null);

  const request = (): BackfillRequest => ({
    from: instant(from) ?? from,
    to: instant(to) ?? to,
    overlap,
    max_parallel: Number(maxParallel),
  });
  const fieldErrors = (error: unknown) => (error instanceof ApiError ? error.fieldErrors : {});
  const errors = { ...fieldErrors(dryRun.error), ...fieldErrors(start.error) };

  const onPreview = (e: FormEvent) => {
    e.preventDefault();
    const body = request();
    start.reset();
    dryRun.mutate(body, { onSuccess: () => setPreviewed(body) });
  };
  const edited = () => setPreviewed(null);

  return (
    <div className="backfills">
      <h3 id="backfill-heading">Backfill</h3>
      <p className="muted">
        Run the schedule&apos;s fire times of a past range now, as runs marked “Backfill”. Preview them first.
      </p>
      {canRun && (
        <form onSubmit={onPreview} aria-labelledby="backfill-heading" noValidate>
          <div className="row">
            <TextField
              label="From (included)"
              type="datetime-local"
              value={from}
              onChange={(e) => {
                setFrom(e.target.value);
                edited();
              }}
              error={errors.from}
              required
            />
            <TextField
              label="To (excluded)"
              type="datetime-local"
              value={to}
              onChange={(e) => {
                setTo(e.target.value);
                edited();
              }}
              error={errors.to}
              required
            />
            <TextField
              label="At most at once"
              type="number"
              min={1}
              max={100}
              value={maxParallel}
              onChange={(e) => {
                setMaxParallel(e.target.value);
                edited();
              }}
              error={errors.max_parallel}
            />
            <Select
              label="Beside the schedule"
              value={overlap}
              onChange={(e) => {
                setOverlap(e.target.value as BackfillRequest['overlap']);
                edited();
              }}
              options={[
                { value: 'ALLOW_ALL', label: 'Run beside scheduled runs' },
                { value: 'BUFFER_ALL', label: 'Queue with scheduled runs' },
              ]}
              error={errors.overlap}
            />
          </div>
          <Button type="submit" pending={dryRun.isPending}>
            Preview
          </Button>
        </form>
      )}
      {dryRun.isError && Object.keys(fieldErrors(dryRun.error)).length === 0 && (
        <ErrorMessage error={dryRun.error} title="The preview failed" />
      )}
      {previewed && dryRun.data && (
        <div className="backfill-preview" aria-live="polite">
          <p>
            {dryRun.data.fire_times.length === 0
              ? 'No fire time in this range.'
              : `${dryRun.data.fire_times.length} fire time${dryRun.data.fire_times.length === 1 ? '' : 's'} would run:`}
          </p>
          <ol aria-label="Fire times to backfill">
            {dryRun.data.fire_times.slice(0, SHOWN).map((f) => (
              <li key={f.at}>
                <time dateTime={f.at}>{formatDateTime(f.at)}</time>
                {f.reason && <span className="muted"> — {f.reason}</span>}
              </li>
            ))}
          </ol>
          {dryRun.data.fire_times.length > SHOWN && (
            <p className="muted">… and {dryRun.data.fire_times.length - SHOWN} more.</p>
          )}
          {dryRun.data.fire_times.length > 0 && (
            <Button
              variant="primary"
              pending={start.isPending}
              onClick={() =>
                start.mutate(previewed, {
                  onSuccess: () => {
                    setPreviewed(null);
                    dryRun.reset();
                  },
                })
              }
            >
              Start backfill of {dryRun.data.fire_times.length}
            </Button>
          )}
        </div>
      )}
      {start.isError && <ErrorMessage error={start.error} title="The backfill could not start" />}
      <BackfillList workflowId={workflowId} canRun={canRun} />
    </div>
  );
}

function BackfillList({ workflowId, canRun }: { workflowId: string; canRun: boolean }) {
  const backfills = useBackfills(workflowId);
  const cancel = useCancelBackfill(workflowId);
  if (backfills.isPending) return <Spinner label="Loading the backfills…" />;
  if (backfills.isError)
    return <ErrorMessage error={backfills.error} title="The backfills could not be loaded" />;
  if (backfills.data.backfills.length === 0) return null;
  const columns: Column<Backfill>[] = [
    {
      key: 'range',
      header: 'Range',
      cell: (b) => `${formatDateTime(b.from)} – ${formatDateTime(b.to)}`,
    },
    {
      key: 'status',
      header: 'Status',
      cell: (b) => <Badge tone={STATUS_TONE[b.status]}>{b.status.toLowerCase()}</Badge>,
    },
    {
      key: 'progress',
      header: 'Progress',
      cell: (b) =>
        `${b.progress.completed + b.progress.failed + b.progress.canceled} of ${b.fire_times} done` +
        ` (${b.progress.running} running, ${b.progress.failed} failed, ${b.progress.canceled} canceled)`,
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (b) =>
        canRun && b.status === 'RUNNING' ? (
          <Button
            variant="danger"
            pending={cancel.isPending && cancel.variables === b.id}
            onClick={() => cancel.mutate(b.id)}
            aria-label={`Cancel the backfill from ${formatDateTime(b.from)}`}
          >
            Cancel
          </Button>
        ) : null,
    },
  ];
  return (
    <>
      <Table
        caption="Backfills"
        showCaption
        columns={columns}
        rows={backfills.data.backfills}
        rowKey={(b) => b.id}
      />
      {cancel.isError && <p role="alert">{errorMessage(cancel.error)}</p>}
    </>
  );
}

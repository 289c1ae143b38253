/**
 * Create and edit form for workflows: kind-specific payload fields, schedule (interval, cron with
 * a time zone, once), validated as you type with the server's own rules, the server's preview of
 * the next five runs (with its daylight-saving reasons), and the server's 400 field errors shown
 * next to the fields they concern.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type FieldIssue } from '../../api/client.ts';
import type { FireTime } from '../../api/types.ts';
import { useSchedulePreview } from '../../api/workflows.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Checkbox, Select, TextAreaField, TextField, errorText } from '../../components/Field.tsx';
import {
  browserTimezone,
  createBody,
  isPayloadPath,
  issuesByField,
  previewScheduleBody,
  updateBody,
  validateForm,
  withoutField,
  zoneHasDst,
  type FieldKey,
  type FormState,
  type Row,
} from './form-state.ts';
import { TimezoneField } from './TimezoneField.tsx';
import { DagEditor } from '../dag/DagEditor.tsx';
import { describeCron } from '../../lib/cron-words.ts';
import { formatPreviewRun } from '../../lib/format.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface WorkflowFormProps {
  mode: 'create' | 'edit';
  initial: FormState;
  submitLabel: string;
  pending: boolean;
  /** The last submit's error: a 400's field errors go next to their fields. */
  error: unknown;
  onSubmit: (body: Record<string, unknown>) => void;
  onCancel?: () => void;
  /** The clock (tests pin it). */
  now?: () => Date;
}

/** One line per policy value (docs/api.md "Schedule policies" says the rest). */
const OVERLAP_HELP: Record<FormState['overlap'], string> = {
  BUFFER_ALL: 'Every run waits its turn; runs of a workflow never overlap.',
  BUFFER_ONE: 'One run may wait behind the running one; later ones are dropped.',
  SKIP: 'A run that would wait for another is not started.',
  CANCEL_OTHER: 'The running (and waiting) runs are canceled for the new one.',
  ALLOW_ALL: 'Every run starts on time, beside the ones still going.',
};
const CATCH_UP_HELP: Record<FormState['catchUpMode'], string> = {
  LATEST: 'After downtime, one run stands for all the missed times.',
  ALL: 'After downtime, every missed time runs (the last 100 at most).',
  NONE: 'After downtime, missed times are skipped; only a time due now runs.',
};

const DST_GAP_HELP: Record<FormState['dstGap'], string> = {
  RUN_AFTER_GAP: 'A time the clocks skip (02:30 when they jump to 03:00) runs right after the jump.',
  SKIP: 'A time the clocks skip does not run that day.',
};
const DST_OVERLAP_HELP: Record<FormState['dstOverlap'], string> = {
  AUTO: 'A time that occurs twice runs once for a time of day, at both for an hourly expression.',
  FIRST: 'A time that occurs twice (clocks back) runs at its first occurrence only.',
  BOTH: 'A time that occurs twice (clocks back) runs at both.',
};

export function WorkflowForm({
  mode,
  initial,
  submitLabel,
  pending,
  error,
  onSubmit,
  onCancel,
  now = () => new Date(),
}: WorkflowFormProps) {
  const [state, setState] = useState<FormState>(initial);
  const [touched, setTouched] = useState<Partial<Record<FieldKey, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverIssues, setServerIssues] = useState<FieldIssue[]>([]);
  const [seenError, setSeenError] = useState<unknown>(null);

  // A new server error replaces the shown ones (state derived during render, not in an effect).
  if (error !== seenError) {
    setSeenError(error);
    setServerIssues(error instanceof ApiError ? error.issues : []);
  }

  const clock = now();
  const localIssues = validateForm(state, mode, initial, clock);
  const local = issuesByField(localIssues, state.kind).byField;
  const server = issuesByField(serverIssues, state.kind);
  const scheduleFields: FieldKey[] = ['intervalMinutes', 'cron', 'timezone', 'runAt', 'schedule'];
  const hasScheduleErrors = scheduleFields.some((f) => local[f]);
  // The server computes the preview: what it answers is what the scheduler will fire.
  const previewSchedule = previewScheduleBody(state, hasScheduleErrors);
  const preview = useSchedulePreview(previewSchedule);

  // A valid cron expression in words, beside the field ("At 02:00, Monday through Friday").
  const cronWords = state.scheduleType === 'cron' && !local.cron ? describeCron(state.cron) : null;

  const err = (field: FieldKey): string | null =>
    errorText(server.byField[field] ?? (touched[field] || submitted ? local[field] : null) ?? null);

  const set = <K extends keyof FormState>(key: K, value: FormState[K], field: FieldKey = key as FieldKey) => {
    setState((s) => ({ ...s, [key]: value }));
    setTouched((t) => ({ ...t, [field]: true }));
    setServerIssues((issues) => withoutField(issues, field, state.kind));
  };
  const blur = (field: FieldKey) => () => setTouched((t) => ({ ...t, [field]: true }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (localIssues.length > 0) return;
    onSubmit(mode === 'create' ? createBody(state) : updateBody(state, initial));
  };

  // The definition's issues as a list with their paths and lines (DagEditor), not one joined text.
  const serverDag = serverIssues.filter((i) => isPayloadPath(i.path));
  const dagIssues =
    serverDag.length > 0
      ? serverDag
      : touched.dag || submitted
        ? localIssues.filter((i) => isPayloadPath(i.path))
        : [];

  const general = error instanceof ApiError && error.issues.length > 0 ? null : error;
  const unplaced = server.unplaced;

  return (
    <form noValidate onSubmit={submit} aria-label={submitLabel} className="workflow-form">
      {submitted && localIssues.length > 0 && (
        <p role="alert" className="error-message">
          Fix the {localIssues.length === 1 ? 'field' : `${localIssues.length} fields`} marked below.
        </p>
      )}
      <ErrorMessage error={general} />
      {unplaced.length > 0 && (
        <div role="alert" className="error-message">
          <ul>
            {unplaced.map((i) => (
              <li key={`${i.path}:${i.message}`}>
                {i.path ? `${i.path}: ` : ''}
                {i.message}
              </li>
            ))}
          </ul>
        </div>
      )}

      <fieldset>
        <legend>General</legend>
        <div className="row">
          <TextField
            label="Name"
            value={state.name}
            onChange={(e) => set('name', e.target.value)}
            onBlur={blur('name')}
            error={err('name')}
            maxLength={255}
            required
          />
          <Select
            label="Kind"
            value={state.kind}
            onChange={(e) => set('kind', e.target.value as FormState['kind'])}
            disabled={mode === 'edit'}
            description={mode === 'edit' ? 'The kind of a workflow cannot change.' : undefined}
            error={err('kind')}
            options={[
              { value: 'HEARTBEAT', label: 'Heartbeat (HTTP check)' },
              { value: 'CONTAINER', label: 'Container' },
              { value: 'DAG', label: 'DAG (several tasks)' },
            ]}
          />
          <TextField
            label="Max consecutive failures"
            type="number"
            inputMode="numeric"
            min={1}
            max={100}
            value={state.maxFailures}
            onChange={(e) => set('maxFailures', e.target.value)}
            onBlur={blur('maxFailures')}
            error={err('maxFailures')}
            description={`The workflow is ${state.pauseOnFailure ? 'paused' : 'terminated'} after this many failures in a row (1–100).`}
          />
        </div>
        <Checkbox
          label="Pause instead of terminating at the failure limit"
          description="A paused workflow is resumed as it is; a terminated one is re-activated by editing it, which rebuilds it."
          checked={state.pauseOnFailure}
          onChange={(e) => set('pauseOnFailure', e.target.checked)}
        />
        {state.kind !== 'HEARTBEAT' && mode === 'create' && (
          <Checkbox
            label="Keep logs"
            checked={state.logRetention}
            onChange={(e) => set('logRetention', e.target.checked)}
          />
        )}
        <RowsEditor
          legend="Labels"
          rows={state.labels}
          onChange={(rows) => set('labels', rows)}
          error={err('labels')}
          nameLabel="Label key"
          valueLabel="Label value"
          addLabel="Add label"
        />
      </fieldset>

      {state.kind === 'DAG' ? (
        <DagEditor
          text={state.dagText}
          onChange={(text) => set('dagText', text, 'dag')}
          onBlur={blur('dag')}
          issues={dagIssues}
        />
      ) : state.kind === 'HEARTBEAT' ? (
        <fieldset>
          <legend>HTTP check</legend>
          <TextField
            label="URL"
            type="url"
            placeholder="https://example.com/health"
            value={state.endpoint}
            onChange={(e) => set('endpoint', e.target.value)}
            onBlur={blur('endpoint')}
            error={err('endpoint')}
            required
          />
          <div className="row">
            <Select
              label="Method"
              value={state.method}
              onChange={(e) => set('method', e.target.value)}
              error={err('method')}
              options={METHODS.map((m) => ({ value: m, label: m }))}
            />
            <TextField
              label="Expected status"
              type="number"
              min={100}
              max={599}
              value={state.expectedStatus}
              onChange={(e) => set('expectedStatus', e.target.value)}
              onBlur={blur('expectedStatus')}
              error={err('expectedStatus')}
            />
            <TextField
              label="Timeout"
              value={state.heartbeatTimeout}
              onChange={(e) => set('heartbeatTimeout', e.target.value)}
              onBlur={blur('heartbeatTimeout')}
              error={err('heartbeatTimeout')}
              description='Such as "10s" or "1m"; at most 5m.'
            />
          </div>
          <RowsEditor
            legend="Headers"
            rows={state.headers}
            onChange={(rows) => set('headers', rows)}
            error={err('headers')}
            nameLabel="Header name"
            valueLabel="Header value"
            addLabel="Add header"
          />
          {state.method !== 'GET' && state.method !== 'HEAD' && (
            <TextAreaField
              label="Request body"
              value={state.body}
              onChange={(e) => set('body', e.target.value)}
              error={err('body')}
            />
          )}
        </fieldset>
      ) : (
        <fieldset>
          <legend>Container</legend>
          <TextField
            label="Image"
            placeholder="alpine:3.20"
            value={state.image}
            onChange={(e) => set('image', e.target.value)}
            onBlur={blur('image')}
            error={err('image')}
            required
          />
          <TextAreaField
            label="Command"
            value={state.cmd}
            onChange={(e) => set('cmd', e.target.value)}
            onBlur={blur('cmd')}
            error={err('cmd')}
            description="One argument per line, e.g. sh, -c, echo hello. Empty: the image's default."
          />
          <RowsEditor
            legend="Environment"
            rows={state.env}
            onChange={(rows) => set('env', rows)}
            error={err('env')}
            nameLabel="Variable name"
            valueLabel="Variable value"
            addLabel="Add variable"
          />
          <div className="row">
            <TextField
              label="Timeout"
              value={state.containerTimeout}
              onChange={(e) => set('containerTimeout', e.target.value)}
              onBlur={blur('containerTimeout')}
              error={err('containerTimeout')}
              description='Such as "30s" or "10m"; at most 1h.'
            />
            <TextField
              label="Working directory"
              value={state.workdir}
              onChange={(e) => set('workdir', e.target.value)}
              onBlur={blur('workdir')}
              error={err('workdir')}
              description="Absolute; empty: the image's."
            />
            <Select
              label="Network"
              value={state.network}
              onChange={(e) => set('network', e.target.value as FormState['network'])}
              error={err('network')}
              options={[
                { value: 'none', label: 'None (isolated)' },
                { value: 'bridge', label: 'Bridge' },
              ]}
            />
          </div>
          <div className="row">
            <TextField
              label="CPUs"
              type="number"
              step="0.01"
              value={state.cpus}
              onChange={(e) => set('cpus', e.target.value)}
              onBlur={blur('cpus')}
              error={err('cpus') ?? err('resources')}
              description="Empty: the executor default."
            />
            <TextField
              label="Memory (MiB)"
              type="number"
              value={state.memoryMb}
              onChange={(e) => set('memoryMb', e.target.value)}
              onBlur={blur('memoryMb')}
              error={err('memoryMb')}
            />
            <TextField
              label="Processes"
              type="number"
              value={state.pids}
              onChange={(e) => set('pids', e.target.value)}
              onBlur={blur('pids')}
              error={err('pids')}
            />
          </div>
        </fieldset>
      )}

      <fieldset>
        <legend>Schedule</legend>
        <Select
          label="Runs"
          value={state.scheduleType}
          onChange={(e) => set('scheduleType', e.target.value as FormState['scheduleType'], 'schedule')}
          error={err('schedule')}
          options={[
            { value: 'interval', label: 'Every N minutes' },
            { value: 'cron', label: 'On a cron schedule' },
            { value: 'once', label: 'Once, at a given time' },
          ]}
        />
        {state.scheduleType === 'interval' && (
          <TextField
            label="Interval (minutes)"
            type="number"
            min={1}
            max={10080}
            value={state.intervalMinutes}
            onChange={(e) => set('intervalMinutes', e.target.value)}
            onBlur={blur('intervalMinutes')}
            error={err('intervalMinutes')}
            description="1 to 10080 (a week)."
          />
        )}
        {state.scheduleType === 'cron' && (
          <div className="row">
            <TextField
              label="Cron expression"
              value={state.cron}
              onChange={(e) => set('cron', e.target.value)}
              onBlur={blur('cron')}
              error={err('cron')}
              description={
                <>
                  {cronWords && (
                    <span className="cron-words">
                      {cronWords} ({state.timezone || 'UTC'}).{' '}
                    </span>
                  )}
                  minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5; or @hourly, @daily…
                </>
              }
              spellCheck={false}
            />
            <TimezoneField
              value={state.timezone}
              onChange={(tz) => set('timezone', tz)}
              error={err('timezone')}
            />
          </div>
        )}
        {state.scheduleType === 'once' && (
          <TextField
            label="Run at"
            type="datetime-local"
            value={state.runAt}
            onChange={(e) => set('runAt', e.target.value)}
            onBlur={blur('runAt')}
            error={err('runAt')}
            description={`Your time zone (${browserTimezone()}).`}
          />
        )}
        <SchedulePreview
          runs={previewSchedule === null ? null : (preview.data?.fire_times ?? [])}
          pending={previewSchedule !== null && preview.data === undefined && !preview.isError}
          error={previewSchedule === null ? null : preview.error}
          timezone={state.scheduleType === 'cron' ? state.timezone : null}
        />
      </fieldset>

      {state.scheduleType !== 'once' && (
        <fieldset>
          <legend>Schedule policies</legend>
          <div className="row">
            <Select
              label="When a run is still going"
              value={state.overlap}
              onChange={(e) => set('overlap', e.target.value as FormState['overlap'])}
              error={err('overlap')}
              description={OVERLAP_HELP[state.overlap]}
              options={[
                { value: 'BUFFER_ALL', label: 'Queue every run' },
                { value: 'BUFFER_ONE', label: 'Queue at most one' },
                { value: 'SKIP', label: 'Skip the new run' },
                { value: 'CANCEL_OTHER', label: 'Cancel it, start the new run' },
                { value: 'ALLOW_ALL', label: 'Run side by side' },
              ]}
            />
            <Select
              label="Missed runs"
              value={state.catchUpMode}
              onChange={(e) => set('catchUpMode', e.target.value as FormState['catchUpMode'])}
              error={err('catchUpMode')}
              description={CATCH_UP_HELP[state.catchUpMode]}
              options={[
                { value: 'LATEST', label: 'Run once for all of them' },
                { value: 'ALL', label: 'Run each of them' },
                { value: 'NONE', label: 'Do not run them' },
              ]}
            />
            <TextField
              label="Jitter (seconds)"
              type="number"
              min={0}
              max={3600}
              value={state.jitterSeconds}
              onChange={(e) => set('jitterSeconds', e.target.value)}
              onBlur={blur('jitterSeconds')}
              error={err('jitterSeconds')}
              description="Start each run up to this long after its time, to spread load. 0: on time."
            />
            <TextField
              label="Starting deadline (seconds)"
              type="number"
              min={1}
              max={86400}
              value={state.startingDeadline}
              onChange={(e) => set('startingDeadline', e.target.value)}
              onBlur={blur('startingDeadline')}
              error={err('startingDeadline')}
              description="A run that cannot start this long after its time is not started. Empty: no deadline."
            />
          </div>
          {state.scheduleType === 'cron' && zoneHasDst(state.timezone.trim(), now()) && (
            <div className="row">
              <Select
                label="Daylight saving: skipped times"
                value={state.dstGap}
                onChange={(e) => set('dstGap', e.target.value as FormState['dstGap'])}
                error={err('dstGap')}
                description={DST_GAP_HELP[state.dstGap]}
                options={[
                  { value: 'RUN_AFTER_GAP', label: 'Run after the jump' },
                  { value: 'SKIP', label: 'Skip them' },
                ]}
              />
              <Select
                label="Daylight saving: repeated times"
                value={state.dstOverlap}
                onChange={(e) => set('dstOverlap', e.target.value as FormState['dstOverlap'])}
                error={err('dstOverlap')}
                description={DST_OVERLAP_HELP[state.dstOverlap]}
                options={[
                  { value: 'AUTO', label: 'By the expression' },
                  { value: 'FIRST', label: 'Run once (first)' },
                  { value: 'BOTH', label: 'Run at both' },
                ]}
              />
            </div>
          )}
        </fieldset>
      )}

      <div className="actions">
        <Button type="submit" variant="primary" pending={pending}>
          {submitLabel}
        </Button>
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
      </div>
    </form>
  );
}

export function SchedulePreview({
  runs,
  pending = false,
  error = null,
  timezone,
}: {
  runs: FireTime[] | null;
  pending?: boolean;
  error?: unknown;
  timezone: string | null;
}) {
  return (
    <section aria-labelledby="preview-heading" className="schedule-preview" aria-live="polite">
      <h3 id="preview-heading">Next runs</h3>
      {runs === null ? (
        <p className="muted">Complete the schedule to see when it runs.</p>
      ) : error ? (
        <ErrorMessage error={error} title="The preview is not available" />
      ) : pending ? (
        <p className="muted">Working out the next runs…</p>
      ) : runs.length === 0 ? (
        <p className="muted">It would not run again.</p>
      ) : (
        <ol aria-label="Next run times">
          {runs.map((run) => (
            <li key={run.at}>
              <time dateTime={run.at}>{formatPreviewRun(new Date(run.at), timezone)}</time>
              {run.reason && <span className="muted"> — {run.reason}</span>}
            </li>
          ))}
        </ol>
      )}
      <p className="muted field-description">
        An interval schedule's first run comes one interval after the workflow is built.
      </p>
    </section>
  );
}

function RowsEditor({
  legend,
  rows,
  onChange,
  error,
  nameLabel,
  valueLabel,
  addLabel,
}: {
  legend: string;
  rows: Row[];
  onChange: (rows: Row[]) => void;
  error: string | null;
  nameLabel: string;
  valueLabel: string;
  addLabel: string;
}): ReactNode {
  const update = (i: number, change: Partial<Row>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  const errorId = `${legend.toLowerCase()}-error`;
  return (
    <fieldset aria-describedby={error ? errorId : undefined}>
      <legend>{legend}</legend>
      {rows.map((row, i) => (
        <div className="row" key={i}>
          <TextField
            label={`${nameLabel} ${i + 1}`}
            value={row.name}
            onChange={(e) => update(i, { name: e.target.value })}
            spellCheck={false}
          />
          <TextField
            label={`${valueLabel} ${i + 1}`}
            value={row.value}
            onChange={(e) => update(i, { value: e.target.value })}
            spellCheck={false}
          />
          <Button
            variant="ghost"
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
            aria-label={`Remove ${nameLabel.toLowerCase()} ${i + 1}`}
          >
            Remove
          </Button>
        </div>
      ))}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
      <Button onClick={() => onChange([...rows, { name: '', value: '' }])}>{addLabel}</Button>
    </fieldset>
  );
}

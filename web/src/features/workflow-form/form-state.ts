/**
 * The create/edit form's state, the API body built from it, and the mapping of API field paths
 * (`payload.image`, `schedule.cron`, `payload.env.FOO`) back to the form's fields. Validation is
 * the server's own (src/domain/workflow-input.ts runs in the browser unchanged), so what the form
 * accepts is exactly what the API accepts.
 */
import type { Schedule } from '../../../../src/domain/schedule.ts';
import {
  validateWorkflowCreate,
  validateWorkflowUpdate,
  type WorkflowKind,
} from '../../../../src/domain/workflow-input.ts';
import type { CatchUpMode, OverlapPolicy } from '../../../../src/domain/schedule-policy.ts';
import type { FieldIssue } from '../../api/client.ts';
import { definitionText, parseDefinition } from '../dag/definition-text.ts';
import type { Workflow } from '../../api/types.ts';

export interface Row {
  name: string;
  value: string;
}

export interface FormState {
  name: string;
  kind: WorkflowKind;
  // HEARTBEAT
  endpoint: string;
  method: string;
  expectedStatus: string;
  heartbeatTimeout: string;
  headers: Row[];
  body: string;
  // CONTAINER
  image: string;
  cmd: string;
  env: Row[];
  containerTimeout: string;
  cpus: string;
  memoryMb: string;
  pids: string;
  network: 'none' | 'bridge';
  workdir: string;
  // DAG: the definition as YAML or JSON text
  dagText: string;
  // schedule
  scheduleType: 'interval' | 'cron' | 'once';
  intervalMinutes: string;
  cron: string;
  timezone: string;
  /** `datetime-local` value: wall-clock time in the browser's zone. */
  runAt: string;
  // schedule policies (interval and cron)
  overlap: OverlapPolicy;
  catchUpMode: CatchUpMode;
  jitterSeconds: string;
  /** Seconds; empty: no deadline. */
  startingDeadline: string;
  /** Daylight saving, cron only (docs/scheduling.md). */
  dstGap: 'RUN_AFTER_GAP' | 'SKIP';
  /** AUTO: not set, the expression decides (the API's null). */
  dstOverlap: 'AUTO' | 'FIRST' | 'BOTH';
  /**
   * The workflow's catch-up window and run cap, which the form does not edit: sent back unchanged
   * while the mode is the one they came with, so an edit here never drops them.
   */
  catchUpKept: { mode: CatchUpMode; windowSeconds: number | null; maxRuns: number | null } | null;
  maxFailures: string;
  /** At the failure limit, pause (resume it as it is) instead of terminating. */
  pauseOnFailure: boolean;
  logRetention: boolean;
  /** Labels as key/value rows (docs/api.md "Labels"); an edit sends them all when any changed. */
  labels: Row[];
}

export function browserTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function emptyForm(): FormState {
  return {
    name: '',
    kind: 'HEARTBEAT',
    endpoint: '',
    method: 'GET',
    expectedStatus: '200',
    heartbeatTimeout: '10s',
    headers: [],
    body: '',
    image: '',
    cmd: '',
    env: [],
    containerTimeout: '30s',
    cpus: '',
    memoryMb: '',
    pids: '',
    network: 'none',
    workdir: '',
    dagText: '',
    scheduleType: 'interval',
    intervalMinutes: '5',
    cron: '0 9 * * 1-5',
    timezone: browserTimezone(),
    runAt: '',
    overlap: 'BUFFER_ALL',
    catchUpMode: 'LATEST',
    jitterSeconds: '0',
    startingDeadline: '',
    dstGap: 'RUN_AFTER_GAP',
    dstOverlap: 'AUTO',
    catchUpKept: null,
    maxFailures: '3',
    pauseOnFailure: false,
    logRetention: true,
    labels: [],
  };
}

/** A number field's value: the number when the text is one, else the text (the validator names it). */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function optionalNumber(text: string): number | string | null {
  return text.trim() === '' ? null : numberOrText(text);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** An instant as a `datetime-local` value in the browser's zone. */
export function toLocalInput(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function payloadOf(state: FormState): unknown {
  if (state.kind === 'DAG') {
    // Text that does not parse is reported by validateForm; the body then carries no definition.
    const parsed = parseDefinition(state.dagText);
    return parsed.ok ? parsed.value : null;
  }
  if (state.kind === 'HEARTBEAT') {
    const headers: Record<string, string | string[]> = {};
    for (const { name, value } of state.headers) {
      if (name.trim() === '' && value === '') continue;
      const key = name.trim();
      const existing = headers[key];
      headers[key] =
        existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    return {
      endpoint: state.endpoint.trim(),
      method: state.method,
      headers,
      body: state.method === 'GET' || state.method === 'HEAD' || state.body === '' ? null : state.body,
      expected_status_code: numberOrText(state.expectedStatus),
      timeout: state.heartbeatTimeout.trim(),
    };
  }
  // Name and value are separate inputs: a value may contain '=' (the original split on it).
  const env = objectOfRows(state.env);
  const cmd = state.cmd.split('\n').filter((line) => line.trim() !== '');
  return {
    image: state.image.trim(),
    cmd: cmd.length > 0 ? cmd : null,
    env,
    workdir: state.workdir.trim() === '' ? null : state.workdir.trim(),
    timeout: state.containerTimeout.trim(),
    resources: {
      cpus: optionalNumber(state.cpus),
      memory_mb: optionalNumber(state.memoryMb),
      pids: optionalNumber(state.pids),
    },
    network: state.network,
  };
}

/** `schedule.policy` as the form says it (every field it edits, explicitly). */
export function policyOf(state: FormState): Record<string, unknown> {
  const catchUp: Record<string, unknown> = { mode: state.catchUpMode };
  const kept = state.catchUpKept;
  if (kept && kept.mode === state.catchUpMode) {
    if (kept.windowSeconds !== null) catchUp.window_seconds = kept.windowSeconds;
    if (kept.maxRuns !== null && kept.mode === 'ALL') catchUp.max_runs = kept.maxRuns;
  }
  const policy: Record<string, unknown> = {
    overlap: state.overlap,
    catch_up: catchUp,
    jitter_seconds: numberOrText(state.jitterSeconds),
  };
  if (state.startingDeadline.trim() !== '')
    policy.starting_deadline_seconds = numberOrText(state.startingDeadline);
  // Cron only: the API refuses `dst` on an interval schedule.
  if (state.scheduleType === 'cron') {
    policy.dst = { gap: state.dstGap, ...(state.dstOverlap === 'AUTO' ? {} : { overlap: state.dstOverlap }) };
  }
  return policy;
}

export function scheduleOf(state: FormState): Record<string, unknown> {
  switch (state.scheduleType) {
    case 'interval':
      return {
        type: 'interval',
        interval_minutes: numberOrText(state.intervalMinutes),
        policy: policyOf(state),
      };
    case 'cron':
      return { type: 'cron', cron: state.cron, timezone: state.timezone.trim(), policy: policyOf(state) };
    case 'once': {
      const date = state.runAt ? new Date(state.runAt) : null;
      return {
        type: 'once',
        run_at: date && !Number.isNaN(date.getTime()) ? date.toISOString() : state.runAt,
      };
    }
  }
}

/** Key/value rows as an object (env, labels): names trimmed, rows left entirely blank ignored. */
function objectOfRows(rows: readonly Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of rows) if (name.trim() !== '' || value !== '') out[name.trim()] = value;
  return out;
}

export function labelsOf(state: FormState): Record<string, string> {
  return objectOfRows(state.labels);
}

/** The `POST /workflows` body. */
export function createBody(state: FormState): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: state.name,
    kind: state.kind,
    payload: payloadOf(state),
    schedule: scheduleOf(state),
    max_consecutive_job_failures_allowed: numberOrText(state.maxFailures),
  };
  // Sent only when set: false is the server's default.
  if (state.pauseOnFailure) body.pause_on_failure = true;
  if (state.kind !== 'HEARTBEAT') body.log_retention = state.logRetention;
  const labels = labelsOf(state);
  if (Object.keys(labels).length > 0) body.labels = labels;
  return body;
}

/** The `PUT /workflows/{id}` body: only what changed (absent fields keep their value). */
export function updateBody(state: FormState, initial: FormState): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (state.name !== initial.name) body.name = state.name;
  const payload = payloadOf(state);
  if (JSON.stringify(payload) !== JSON.stringify(payloadOf(initial))) body.payload = payload;
  const schedule = scheduleOf(state);
  if (JSON.stringify(schedule) !== JSON.stringify(scheduleOf(initial))) body.schedule = schedule;
  if (state.maxFailures !== initial.maxFailures) {
    body.max_consecutive_job_failures_allowed = numberOrText(state.maxFailures);
  }
  if (state.pauseOnFailure !== initial.pauseOnFailure) body.pause_on_failure = state.pauseOnFailure;
  // `labels` replaces them all, so it is sent whole, and only when they changed (keys in order).
  const labels = labelsOf(state);
  if (JSON.stringify(labels) !== JSON.stringify(labelsOf(initial))) body.labels = labels;
  return body;
}

export function validateForm(
  state: FormState,
  mode: 'create' | 'edit',
  initial: FormState | null,
  now: Date,
): FieldIssue[] {
  const result =
    mode === 'create'
      ? validateWorkflowCreate(createBody(state), now)
      : validateWorkflowUpdate(updateBody(state, initial ?? state), state.kind, now);
  const issues = result.ok ? [] : result.issues;
  if (state.kind !== 'DAG') return issues;
  const parsed = parseDefinition(state.dagText);
  if (parsed.ok) return issues;
  // The text is not YAML: that is the definition's one problem, not "is required".
  const message = parsed.line === null ? parsed.message : `line ${parsed.line}: ${parsed.message}`;
  return [...issues.filter((i) => !isPayloadPath(i.path)), { path: 'payload', message }];
}

export function isPayloadPath(path: string): boolean {
  return path === 'payload' || path.startsWith('payload.');
}

export function formFromWorkflow(w: Workflow): FormState {
  const base = emptyForm();
  const p = w.payload as Record<string, unknown>;
  const state: FormState = {
    ...base,
    name: w.name,
    kind: w.kind,
    maxFailures: String(w.max_consecutive_job_failures_allowed),
    pauseOnFailure: w.pause_on_failure,
    logRetention: w.log_retention,
    labels: Object.entries(w.labels).map(([name, value]) => ({ name, value })),
  };
  if (w.kind === 'DAG') {
    state.dagText = definitionText(w.payload);
  } else if (w.kind === 'HEARTBEAT') {
    const headers = (p.headers ?? {}) as Record<string, string | string[]>;
    state.endpoint = String(p.endpoint ?? '');
    state.method = String(p.method ?? 'GET');
    state.expectedStatus = String(p.expected_status_code ?? 200);
    state.heartbeatTimeout = String(p.timeout ?? '10s');
    state.headers = Object.entries(headers).flatMap(([name, v]) =>
      (Array.isArray(v) ? v : [v]).map((value) => ({ name, value })),
    );
    state.body = typeof p.body === 'string' ? p.body : '';
  } else {
    const resources = (p.resources ?? {}) as Record<string, number | null>;
    state.image = String(p.image ?? '');
    state.cmd = Array.isArray(p.cmd) ? (p.cmd as string[]).join('\n') : '';
    state.env = Object.entries((p.env ?? {}) as Record<string, string>).map(([name, value]) => ({
      name,
      value,
    }));
    state.containerTimeout = String(p.timeout ?? '30s');
    state.cpus = resources.cpus == null ? '' : String(resources.cpus);
    state.memoryMb = resources.memory_mb == null ? '' : String(resources.memory_mb);
    state.pids = resources.pids == null ? '' : String(resources.pids);
    state.network = p.network === 'bridge' ? 'bridge' : 'none';
    state.workdir = typeof p.workdir === 'string' ? p.workdir : '';
  }
  const s = w.schedule;
  state.scheduleType = s.type;
  if (s.type === 'interval') state.intervalMinutes = String(s.interval_minutes);
  if (s.type === 'cron') {
    state.cron = s.cron;
    state.timezone = s.timezone;
  }
  if (s.type === 'once') state.runAt = toLocalInput(new Date(s.run_at));
  if (s.type !== 'once') {
    state.overlap = s.policy.overlap;
    state.catchUpMode = s.policy.catch_up.mode;
    state.jitterSeconds = String(s.policy.jitter_seconds);
    state.startingDeadline =
      s.policy.starting_deadline_seconds === null ? '' : String(s.policy.starting_deadline_seconds);
    state.dstGap = s.policy.dst.gap;
    state.dstOverlap = s.policy.dst.overlap ?? 'AUTO';
    state.catchUpKept = {
      mode: s.policy.catch_up.mode,
      windowSeconds: s.policy.catch_up.window_seconds,
      maxRuns: s.policy.catch_up.max_runs,
    };
  }
  return state;
}

// ─── field paths ─────────────────────────────────────────────────────────────────────────────
/** Form field → the API paths whose errors it shows (a path matches itself and anything below). */
export const FIELD_PATHS = {
  name: ['name'],
  kind: ['kind'],
  endpoint: ['payload.endpoint'],
  method: ['payload.method'],
  expectedStatus: ['payload.expected_status_code'],
  heartbeatTimeout: ['HEARTBEAT:payload.timeout'],
  headers: ['payload.headers'],
  body: ['payload.body'],
  image: ['payload.image'],
  cmd: ['payload.cmd'],
  env: ['payload.env'],
  containerTimeout: ['CONTAINER:payload.timeout'],
  cpus: ['payload.resources.cpus'],
  memoryMb: ['payload.resources.memory_mb'],
  pids: ['payload.resources.pids'],
  resources: ['payload.resources'],
  network: ['payload.network'],
  workdir: ['payload.workdir'],
  dag: ['DAG:payload'],
  intervalMinutes: ['interval', 'schedule.interval_minutes'],
  cron: ['schedule.cron'],
  timezone: ['schedule.timezone'],
  runAt: ['schedule.run_at'],
  schedule: ['schedule', 'schedule.type'],
  overlap: ['schedule.policy.overlap'],
  catchUpMode: ['schedule.policy.catch_up'],
  jitterSeconds: ['schedule.policy.jitter_seconds'],
  startingDeadline: ['schedule.policy.starting_deadline_seconds'],
  dstGap: ['schedule.policy.dst', 'schedule.policy.dst.gap'],
  dstOverlap: ['schedule.policy.dst.overlap'],
  maxFailures: ['max_consecutive_job_failures_allowed'],
  pauseOnFailure: ['pause_on_failure'],
  logRetention: ['log_retention'],
  labels: ['labels'],
} as const satisfies Record<string, readonly string[]>;
export type FieldKey = keyof typeof FIELD_PATHS;

function pathsFor(field: FieldKey, kind: WorkflowKind): string[] {
  return FIELD_PATHS[field].flatMap((p) => {
    const colon = p.indexOf(':');
    if (colon < 0) return [p];
    return p.slice(0, colon) === kind ? [p.slice(colon + 1)] : [];
  });
}

/** Fields that own a path exactly (not just by prefix): `payload.resources.cpus` goes to cpus only. */
function ownerOf(path: string, kind: WorkflowKind): FieldKey | null {
  let best: { field: FieldKey; length: number } | null = null;
  for (const field of Object.keys(FIELD_PATHS) as FieldKey[]) {
    for (const p of pathsFor(field, kind)) {
      if ((path === p || path.startsWith(`${p}.`)) && (!best || p.length > best.length)) {
        best = { field, length: p.length };
      }
    }
  }
  return best?.field ?? null;
}

/** Messages by form field; a message about a part of the field says which part (`cmd.2`, `env.FOO`). */
export function issuesByField(issues: readonly FieldIssue[], kind: WorkflowKind) {
  const byField: Partial<Record<FieldKey, string[]>> = {};
  const unplaced: FieldIssue[] = [];
  for (const issue of issues) {
    const field = ownerOf(issue.path, kind);
    if (!field) {
      unplaced.push(issue);
      continue;
    }
    const own = pathsFor(field, kind).find((p) => issue.path === p || issue.path.startsWith(`${p}.`))!;
    const rest = issue.path.slice(own.length + 1);
    const message = rest ? `${describePart(field, rest)} ${issue.message}` : issue.message;
    (byField[field] ??= []).push(message);
  }
  return { byField, unplaced };
}

function describePart(field: FieldKey, rest: string): string {
  if (field === 'cmd' && /^\d+$/.test(rest)) return `Line ${Number(rest) + 1}:`;
  if (field === 'headers' || field === 'env' || field === 'labels') return `"${rest.split('.')[0]}":`;
  return `${rest}:`;
}

/** Issues minus those a field shows (after the user edits that field). */
export function withoutField(
  issues: readonly FieldIssue[],
  field: FieldKey,
  kind: WorkflowKind,
): FieldIssue[] {
  return issues.filter((i) => ownerOf(i.path, kind) !== field);
}

// ─── preview ─────────────────────────────────────────────────────────────────────────────────
export function scheduleForPreview(state: FormState): Schedule | null {
  switch (state.scheduleType) {
    case 'interval': {
      const minutes = Number(state.intervalMinutes);
      return Number.isInteger(minutes) && minutes >= 1 && minutes <= 10_080
        ? { type: 'interval', intervalMinutes: minutes }
        : null;
    }
    case 'cron':
      return { type: 'cron', cron: state.cron.trim(), timezone: state.timezone.trim() };
    case 'once': {
      const date = new Date(state.runAt);
      return Number.isNaN(date.getTime()) ? null : { type: 'once', runAt: date };
    }
  }
}

/**
 * The `schedule` of the form as `POST /schedules/preview` takes it (the server computes the next
 * runs, with its reasons for daylight-saving irregularities), or null when the schedule is not
 * valid yet and there is nothing to ask.
 */
export function previewScheduleBody(
  state: FormState,
  hasScheduleErrors: boolean,
): Record<string, unknown> | null {
  if (hasScheduleErrors) return null;
  const schedule = scheduleForPreview(state);
  if (!schedule) return null;
  switch (schedule.type) {
    case 'interval':
      return { type: 'interval', interval_minutes: schedule.intervalMinutes };
    case 'cron':
      return { type: 'cron', cron: schedule.cron, timezone: schedule.timezone };
    case 'once':
      return { type: 'once', run_at: schedule.runAt.toISOString() };
  }
}

/**
 * Whether a zone has daylight saving in the year of `at` (its offsets in January and July differ):
 * the form shows the DST policy only for those. False for a name Intl does not know.
 */
export function zoneHasDst(timezone: string, at: Date): boolean {
  try {
    const format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
    const offset = (month: number) =>
      format
        .formatToParts(new Date(Date.UTC(at.getUTCFullYear(), month, 1)))
        .find((p) => p.type === 'timeZoneName')?.value;
    return offset(0) !== offset(6);
  } catch {
    return false;
  }
}

import { describe, expect, it } from 'vitest';
import {
  createBody,
  emptyForm,
  formFromWorkflow,
  issuesByField,
  previewScheduleBody,
  updateBody,
  validateForm,
  zoneHasDst,
  type FormState,
} from './form-state.ts';
import type { Workflow } from '../../api/types.ts';

const NOW = new Date('2026-03-01T10:00:00Z');
const form = (changes: Partial<FormState>): FormState => ({
  ...emptyForm(),
  name: 'n',
  endpoint: 'https://e.x/h',
  ...changes,
});

describe('the schedule the preview asks the server about', () => {
  it('interval, cron with its zone, once as an instant', () => {
    expect(previewScheduleBody(form({ scheduleType: 'interval', intervalMinutes: '15' }), false)).toEqual({
      type: 'interval',
      interval_minutes: 15,
    });
    expect(
      previewScheduleBody(
        form({ scheduleType: 'cron', cron: ' 30 2 * * * ', timezone: 'Europe/Paris' }),
        false,
      ),
    ).toEqual({ type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Paris' });
    const at = new Date('2026-03-02T08:00:00Z');
    const local = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}T${String(at.getHours()).padStart(2, '0')}:00`;
    expect(previewScheduleBody(form({ scheduleType: 'once', runAt: local }), false)).toEqual({
      type: 'once',
      run_at: '2026-03-02T08:00:00.000Z',
    });
  });

  it('nothing to ask while the schedule is invalid', () => {
    expect(previewScheduleBody(form({ scheduleType: 'cron', cron: 'nope' }), true)).toBeNull();
    expect(previewScheduleBody(form({ scheduleType: 'interval', intervalMinutes: '0' }), false)).toBeNull();
    expect(previewScheduleBody(form({ scheduleType: 'once', runAt: '' }), false)).toBeNull();
  });
});

describe('validation with the domain rules, mapped to fields', () => {
  it('reports every bad field under the form field that shows it', () => {
    const issues = validateForm(
      form({
        kind: 'CONTAINER',
        image: 'Not An Image!',
        cmd: 'echo\nhi',
        env: [{ name: '1BAD', value: 'a=b=c' }],
        cpus: '100',
        scheduleType: 'cron',
        cron: '* * *',
        timezone: 'Mars/Base',
      }),
      'create',
      null,
      NOW,
    );
    const { byField, unplaced } = issuesByField(issues, 'CONTAINER');
    expect(Object.keys(byField).sort()).toEqual(['cpus', 'cron', 'env', 'image', 'timezone']);
    expect(byField.cron![0]).toMatch(/5 fields/);
    expect(byField.env![0]).toMatch(/^"1BAD":/);
    expect(unplaced).toEqual([]);
  });

  it('keeps "=" inside env values (the original split on it)', () => {
    const body = createBody(
      form({ kind: 'CONTAINER', image: 'alpine', env: [{ name: 'URL', value: 'a=b=c' }] }),
    );
    expect((body.payload as { env: Record<string, string> }).env).toEqual({ URL: 'a=b=c' });
  });

  it('maps server paths (payload.cmd.1, interval, unknown) to fields or the general list', () => {
    const { byField, unplaced } = issuesByField(
      [
        { path: 'payload.cmd.1', message: 'is too long' },
        { path: 'interval', message: 'must be at most 10080' },
        { path: 'payload.timeout', message: 'must be at most 1h' },
        { path: 'something.else', message: 'odd' },
      ],
      'CONTAINER',
    );
    expect(byField.cmd).toEqual(['Line 2: is too long']);
    expect(byField.intervalMinutes).toEqual(['must be at most 10080']);
    expect(byField.containerTimeout).toEqual(['must be at most 1h']);
    expect(unplaced).toEqual([{ path: 'something.else', message: 'odd' }]);
  });
});

describe('schedule policies in the form', () => {
  const workflow = {
    id: 'w1',
    name: 'hourly',
    kind: 'HEARTBEAT',
    payload: {
      endpoint: 'https://e.x/h',
      method: 'GET',
      headers: {},
      body: null,
      expected_status_code: 200,
      timeout: '10s',
    },
    schedule: {
      type: 'cron',
      cron: '0 * * * *',
      timezone: 'UTC',
      policy: {
        overlap: 'SKIP',
        catch_up: { mode: 'ALL', window_seconds: 7200, max_runs: 5 },
        jitter_seconds: 30,
        starting_deadline_seconds: 120,
        dst: { gap: 'SKIP', overlap: null },
      },
    },
    max_consecutive_job_failures_allowed: 3,
    log_retention: false,
    labels: { team: 'web' },
  } as unknown as Workflow;

  it('sends the policy with a new schedule; the defaults validate', () => {
    const body = createBody(form({}));
    expect(body.schedule).toEqual({
      type: 'interval',
      interval_minutes: 5,
      policy: { overlap: 'BUFFER_ALL', catch_up: { mode: 'LATEST' }, jitter_seconds: 0 },
    });
    expect(validateForm(form({}), 'create', null, NOW)).toEqual([]);
  });

  it('an untouched edit sends no schedule; a changed overlap keeps the window and run cap it cannot edit', () => {
    const initial = formFromWorkflow(workflow);
    expect(updateBody(initial, initial)).toEqual({});
    const body = updateBody({ ...initial, overlap: 'CANCEL_OTHER' }, initial);
    expect(body.schedule).toMatchObject({
      policy: {
        overlap: 'CANCEL_OTHER',
        catch_up: { mode: 'ALL', window_seconds: 7200, max_runs: 5 },
        jitter_seconds: 30,
        starting_deadline_seconds: 120,
      },
    });
    // Another catch-up mode starts from its own defaults (max_runs belongs to ALL only).
    expect(updateBody({ ...initial, catchUpMode: 'LATEST' }, initial).schedule).toMatchObject({
      policy: { catch_up: { mode: 'LATEST' } },
    });
    expect(validateForm({ ...initial, catchUpMode: 'LATEST' }, 'edit', initial, NOW)).toEqual([]);
  });

  it('sends the DST policy with a cron schedule only, and keeps the workflow’s on an edit', () => {
    expect(createBody(form({ scheduleType: 'cron', cron: '30 2 * * *' })).schedule).toMatchObject({
      policy: { dst: { gap: 'RUN_AFTER_GAP' } },
    });
    expect(createBody(form({ dstGap: 'SKIP' })).schedule).not.toHaveProperty('policy.dst');
    const initial = formFromWorkflow(workflow);
    expect(initial).toMatchObject({ dstGap: 'SKIP', dstOverlap: 'AUTO' });
    expect(updateBody({ ...initial, dstOverlap: 'BOTH' }, initial).schedule).toMatchObject({
      policy: { dst: { gap: 'SKIP', overlap: 'BOTH' } },
    });
    expect(validateForm({ ...initial, dstOverlap: 'BOTH' }, 'edit', initial, NOW)).toEqual([]);
  });

  it('knows which zones have daylight saving', () => {
    expect(zoneHasDst('Europe/Berlin', NOW)).toBe(true);
    expect(zoneHasDst('Australia/Lord_Howe', NOW)).toBe(true);
    expect(zoneHasDst('Asia/Tehran', NOW)).toBe(false);
    expect(zoneHasDst('UTC', NOW)).toBe(false);
    expect(zoneHasDst('Nowhere/Else', NOW)).toBe(false);
  });

  it('maps a jitter too long for the schedule to its field', () => {
    const issues = validateForm(form({ intervalMinutes: '1', jitterSeconds: '60' }), 'create', null, NOW);
    expect(issuesByField(issues, 'HEARTBEAT').byField.jitterSeconds).toEqual([
      'must be less than the shortest time between two runs (60 seconds)',
    ]);
  });
});

describe('pause_on_failure in the bodies', () => {
  it('create sends it only when set; an edit sends it only when changed; both pass the domain validation', () => {
    const base = form({ scheduleType: 'interval', intervalMinutes: '15' });
    expect(createBody(base)).not.toHaveProperty('pause_on_failure');
    expect(createBody({ ...base, pauseOnFailure: true })).toMatchObject({ pause_on_failure: true });
    expect(validateForm({ ...base, pauseOnFailure: true }, 'create', null, NOW)).toEqual([]);
    expect(updateBody(base, base)).toEqual({});
    expect(updateBody({ ...base, pauseOnFailure: true }, base)).toEqual({ pause_on_failure: true });
    expect(updateBody(base, { ...base, pauseOnFailure: true })).toEqual({ pause_on_failure: false });
  });
});

describe('labels in the form', () => {
  it('creates with them, edits send them whole and only when changed, bad keys show on the field', () => {
    const base = form({ labels: [{ name: 'team', value: 'data' }] });
    expect(createBody(base)).toMatchObject({ labels: { team: 'data' } });
    expect(createBody(form({}))).not.toHaveProperty('labels');
    expect(validateForm(base, 'create', null, NOW)).toEqual([]);
    expect(updateBody(base, base)).toEqual({});
    const more = { ...base, labels: [...base.labels, { name: 'tier', value: 'batch' }] };
    expect(updateBody(more, base)).toEqual({ labels: { team: 'data', tier: 'batch' } });
    // Removing the last one sends {} (which removes them), not nothing (which would keep them).
    expect(updateBody({ ...base, labels: [] }, base)).toEqual({ labels: {} });

    const bad = form({ labels: [{ name: '-team', value: 'data' }] });
    const issues = validateForm(bad, 'create', null, NOW);
    expect(issues.map((i) => i.path)).toEqual(['labels.-team']);
    expect(issuesByField(issues, 'HEARTBEAT').byField.labels?.[0]).toMatch(/^"-team": /);
  });

  it('starts an edit from the workflow’s labels', () => {
    const w = {
      name: 'n',
      kind: 'HEARTBEAT',
      payload: { endpoint: 'https://e.x/h' },
      schedule: { type: 'once', run_at: '2026-04-01T00:00:00Z' },
      max_consecutive_job_failures_allowed: 3,
      log_retention: false,
      labels: { 'chronoverse.io/managed-by': 'cli', team: 'web' },
    } as unknown as Workflow;
    const initial = formFromWorkflow(w);
    expect(initial.labels).toEqual([
      { name: 'chronoverse.io/managed-by', value: 'cli' },
      { name: 'team', value: 'web' },
    ]);
    expect(updateBody(initial, initial)).toEqual({});
  });
});

describe('a DAG definition as text', () => {
  const yamlText = [
    'tasks:',
    '  - name: a',
    '    kind: HEARTBEAT',
    '    payload: { endpoint: "https://e.x/a" }',
    '  - name: b',
    '    kind: HEARTBEAT',
    '    payload: { endpoint: "https://e.x/b" }',
    '    depends: a.succeeded',
  ].join('\n');

  it('sends YAML or JSON as the payload object, with log_retention, and validates it like the API', () => {
    const state = form({ kind: 'DAG', dagText: yamlText });
    const body = createBody(state);
    expect(body.payload).toEqual({
      tasks: [
        { name: 'a', kind: 'HEARTBEAT', payload: { endpoint: 'https://e.x/a' } },
        { name: 'b', kind: 'HEARTBEAT', payload: { endpoint: 'https://e.x/b' }, depends: 'a.succeeded' },
      ],
    });
    expect(body.log_retention).toBe(true);
    expect(validateForm(state, 'create', null, NOW)).toEqual([]);
    const json = form({ kind: 'DAG', dagText: JSON.stringify(body.payload) });
    expect(createBody(json).payload).toEqual(body.payload);
  });

  it('reports text that does not parse as the payload issue, with its line, and nothing else about payload', () => {
    const issues = validateForm(
      form({ kind: 'DAG', dagText: 'tasks:\n  - name: a\n   kind: [' }),
      'create',
      null,
      NOW,
    );
    const payload = issues.filter((i) => i.path.startsWith('payload'));
    expect(payload).toHaveLength(1);
    expect(payload[0]).toMatchObject({
      path: 'payload',
      message: expect.stringMatching(/^line \d+: is not valid YAML or JSON/),
    });
  });

  it('names a bad task field at its path; an edit starts from the stored definition and sends it only when changed', () => {
    const bad = validateForm(
      form({
        kind: 'DAG',
        dagText: `${yamlText}\n  - name: c\n    kind: HEARTBEAT\n    payload: { endpoint: "https://e.x/c" }\n    depends: ghost.failed`,
      }),
      'create',
      null,
      NOW,
    );
    expect(bad.map((i) => i.path)).toContain('payload.tasks.2.depends');

    const stored = createBody(form({ kind: 'DAG', dagText: yamlText })).payload as Record<string, unknown>;
    const initial = formFromWorkflow({
      name: 'pipeline',
      kind: 'DAG',
      payload: stored,
      schedule: { type: 'once', run_at: '2026-04-01T00:00:00Z' },
      max_consecutive_job_failures_allowed: 3,
      log_retention: true,
      labels: {},
    } as unknown as Workflow);
    expect(initial.dagText).toContain('name: a');
    expect(updateBody(initial, initial)).toEqual({});
    const changed = { ...initial, dagText: initial.dagText.replace('a.succeeded', 'a.failed') };
    expect(updateBody(changed, initial)).toMatchObject({ payload: { tasks: [{}, { depends: 'a.failed' }] } });
    expect(validateForm(changed, 'edit', initial, NOW)).toEqual([]);
  });
});

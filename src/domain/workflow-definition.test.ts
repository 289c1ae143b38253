import { describe, expect, it } from 'vitest';
import { MANAGED_BY_LABEL } from './labels.ts';
import { DEFAULT_SCHEDULE_POLICY, schedulePolicyView } from './schedule-policy.ts';
import {
  canonicalDefinition,
  checkDefinition,
  definitionPathOf,
  definitionToBody,
  formatDefinitionPath,
  workflowDefinitionJsonSchema,
  type WorkflowDefinitionValues,
} from './workflow-definition.ts';

const EPOCH = new Date(0);

const doc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'ping' }) => ({
  apiVersion: 'chronoverse/v1',
  kind: 'Workflow',
  metadata,
  spec,
});

describe('definition paths', () => {
  it('maps API field paths into the document', () => {
    expect(definitionPathOf('')).toEqual([]);
    expect(definitionPathOf('name')).toEqual(['metadata', 'name']);
    expect(definitionPathOf('labels')).toEqual(['metadata', 'labels']);
    expect(definitionPathOf('labels.example.com/team')).toEqual(['metadata', 'labels', 'example.com/team']);
    expect(definitionPathOf('payload.cmd.0')).toEqual(['spec', 'payload', 'cmd', 0]);
    expect(definitionPathOf('schedule')).toEqual(['spec', 'schedule']);
    expect(formatDefinitionPath(['spec', 'payload', 'cmd', 0])).toBe('spec.payload.cmd.0');
    expect(formatDefinitionPath([])).toBe('');
  });
});

describe('definitionToBody', () => {
  it('refuses what is not a mapping', () => {
    for (const bad of [null, 'x', [], 3]) {
      expect(definitionToBody(bad)).toEqual({
        ok: false,
        issues: [{ path: [], message: 'must be a mapping with apiVersion, kind, metadata and spec' }],
      });
    }
  });

  it('names every envelope problem at once', () => {
    expect(definitionToBody({ extra: 1, metadata: [], spec: 'x' })).toEqual({
      ok: false,
      issues: [
        { path: ['extra'], message: 'is not a known field' },
        { path: ['apiVersion'], message: 'is required: chronoverse/v1' },
        { path: ['kind'], message: 'is required: Workflow' },
        { path: ['metadata'], message: 'is required: a mapping with name (and labels)' },
        { path: ['spec'], message: 'is required: a mapping with kind, payload and schedule' },
      ],
    });
    expect(
      definitionToBody({ apiVersion: 'v2', kind: 'Job', metadata: { name: 'a', owner: 'b' }, spec: {} }),
    ).toEqual({
      ok: false,
      issues: [
        { path: ['apiVersion'], message: 'must be chronoverse/v1' },
        { path: ['kind'], message: 'must be Workflow' },
        { path: ['metadata', 'owner'], message: 'is not a known field' },
      ],
    });
  });

  it('keeps name and labels in metadata', () => {
    expect(definitionToBody(doc({ name: 'x', labels: {}, kind: 'HEARTBEAT' }))).toEqual({
      ok: false,
      issues: [
        { path: ['spec', 'name'], message: 'belongs in metadata, not spec' },
        { path: ['spec', 'labels'], message: 'belongs in metadata, not spec' },
      ],
    });
  });

  it('a good envelope is the API body: metadata fields, then the spec', () => {
    expect(definitionToBody(doc({ kind: 'HEARTBEAT' }, { name: 'a', labels: { team: 'x' } }))).toEqual({
      ok: true,
      body: { name: 'a', labels: { team: 'x' }, kind: 'HEARTBEAT' },
    });
    expect(definitionToBody(doc({ kind: 'HEARTBEAT' }, {}))).toEqual({
      ok: true,
      body: { kind: 'HEARTBEAT' },
    });
  });
});

describe('checkDefinition', () => {
  it('reports field problems at their document paths', () => {
    const checked = checkDefinition(
      doc(
        {
          kind: 'HEARTBEAT',
          payload: { endpoint: 'ftp://x' },
          schedule: { type: 'interval', interval_minutes: 5 },
        },
        { name: '' },
      ),
      EPOCH,
    );
    expect(checked.ok).toBe(false);
    if (!checked.ok)
      expect(checked.issues.map((i) => formatDefinitionPath(i.path)).sort()).toEqual([
        'metadata.name',
        'spec.payload.endpoint',
      ]);
  });

  it('passes envelope problems through', () => {
    expect(checkDefinition(null, EPOCH).ok).toBe(false);
  });

  it('returns the body and the values it stands for, defaults filled in', () => {
    const body = {
      kind: 'HEARTBEAT',
      payload: { endpoint: 'https://x' },
      schedule: { type: 'once', run_at: '2030-01-01T00:00:00Z' },
    };
    const checked = checkDefinition(doc(body), EPOCH);
    expect(checked).toEqual({
      ok: true,
      body: { name: 'ping', ...body },
      values: {
        name: 'ping',
        labels: {},
        kind: 'HEARTBEAT',
        payload: expect.objectContaining({ endpoint: 'https://x', method: 'GET' }),
        schedule: { type: 'once', run_at: '2030-01-01T00:00:00.000Z' },
        max_consecutive_job_failures_allowed: 3,
        pause_on_failure: false,
        log_retention: false,
      },
    });
    const cron = checkDefinition(
      doc({
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
      }),
      EPOCH,
    );
    expect(cron.ok && cron.values.schedule).toEqual({
      type: 'cron',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
      policy: schedulePolicyView(DEFAULT_SCHEDULE_POLICY),
    });
    const interval = checkDefinition(
      doc({
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: { type: 'interval', interval_minutes: 7 },
      }),
      EPOCH,
    );
    expect(interval.ok && interval.values.schedule).toEqual({
      type: 'interval',
      interval_minutes: 7,
      policy: schedulePolicyView(DEFAULT_SCHEDULE_POLICY),
    });
  });

  it('carries schedule policies, and the canonical document says only what differs from the defaults', () => {
    const checked = checkDefinition(
      doc({
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: {
          type: 'interval',
          interval_minutes: 10,
          policy: { overlap: 'SKIP', catch_up: { mode: 'NONE' }, jitter_seconds: 30 },
        },
      }),
      EPOCH,
    );
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.values.schedule).toEqual({
      type: 'interval',
      interval_minutes: 10,
      policy: {
        overlap: 'SKIP',
        catch_up: { mode: 'NONE', window_seconds: 60, max_runs: null },
        jitter_seconds: 30,
        starting_deadline_seconds: null,
        dst: { gap: 'RUN_AFTER_GAP', overlap: null },
      },
    });
    expect(canonicalDefinition(checked.values).spec).toMatchObject({
      schedule: {
        type: 'interval',
        interval_minutes: 10,
        policy: { overlap: 'SKIP', catch_up: { mode: 'NONE' }, jitter_seconds: 30 },
      },
    });
    // The defaults say nothing, however they were written.
    const defaults = checkDefinition(
      doc({
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: {
          type: 'interval',
          interval_minutes: 10,
          policy: { overlap: 'BUFFER_ALL', catch_up: { mode: 'LATEST' } },
        },
      }),
      EPOCH,
    );
    expect(defaults.ok && canonicalDefinition(defaults.values).spec).toMatchObject({
      schedule: { type: 'interval', interval_minutes: 10 },
    });
    expect(
      defaults.ok && 'policy' in (canonicalDefinition(defaults.values).spec as { schedule: object }).schedule,
    ).toBe(false);
  });

  it('says the DST policy of a cron schedule only where it differs from the defaults', () => {
    const spec = (dst: object) => {
      const checked = checkDefinition(
        doc({
          kind: 'HEARTBEAT',
          payload: { endpoint: 'https://x' },
          schedule: { type: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin', policy: { dst } },
        }),
        EPOCH,
      );
      expect(checked.ok).toBe(true);
      return checked.ok ? (canonicalDefinition(checked.values).spec as { schedule: object }).schedule : null;
    };
    expect(spec({ gap: 'SKIP' })).toMatchObject({ policy: { dst: { gap: 'SKIP' } } });
    expect(spec({ gap: 'RUN_AFTER_GAP', overlap: 'BOTH' })).toMatchObject({
      policy: { dst: { overlap: 'BOTH' } },
    });
    expect(spec({ gap: 'RUN_AFTER_GAP' })).not.toHaveProperty('policy');
  });
});

describe('canonicalDefinition', () => {
  const values: WorkflowDefinitionValues = {
    name: 'ping',
    labels: { zeta: '1', alpha: '2', [MANAGED_BY_LABEL]: 'cli' },
    kind: 'HEARTBEAT',
    payload: {
      timeout: '10s',
      endpoint: 'https://x',
      method: 'POST',
      headers: { b: '1', a: '2' },
      future: { y: 1, x: 2 },
    },
    schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'UTC' },
    max_consecutive_job_failures_allowed: 3,
    pause_on_failure: false,
    log_retention: false,
  };

  it('says pause_on_failure only when set, and a document with it checks and round-trips', () => {
    expect(canonicalDefinition({ ...values, pause_on_failure: true }).spec).toMatchObject({
      pause_on_failure: true,
    });
    expect(canonicalDefinition(values).spec).not.toHaveProperty('pause_on_failure');
    const plain = { ...values, payload: { endpoint: 'https://x' }, pause_on_failure: true };
    const checked = checkDefinition(canonicalDefinition(plain), EPOCH);
    expect(checked.ok && checked.values.pause_on_failure).toBe(true);
    expect(checked.ok && checked.body.pause_on_failure).toBe(true);
    const doc = canonicalDefinition(plain);
    const bad = checkDefinition(
      { ...doc, spec: { ...(doc.spec as object), pause_on_failure: 'yes' } },
      EPOCH,
    );
    expect(!bad.ok && bad.issues.map((i) => i.path)).toEqual([['spec', 'pause_on_failure']]);
  });

  it('is the shortest document: defaults left out, keys in a fixed order', () => {
    const canonical = canonicalDefinition(values);
    expect(canonical).toEqual({
      apiVersion: 'chronoverse/v1',
      kind: 'Workflow',
      metadata: { name: 'ping', labels: { alpha: '2', [MANAGED_BY_LABEL]: 'cli', zeta: '1' } },
      spec: {
        kind: 'HEARTBEAT',
        schedule: { type: 'cron', cron: '0 9 * * *' },
        payload: {
          endpoint: 'https://x',
          method: 'POST',
          headers: { a: '2', b: '1' },
          future: { x: 2, y: 1 },
        },
      },
    });
    const metadata = canonical.metadata as { labels: Record<string, string> };
    expect(Object.keys(metadata.labels)).toEqual(['alpha', MANAGED_BY_LABEL, 'zeta']);
    const spec = canonical.spec as { payload: Record<string, unknown> };
    expect(Object.keys(spec.payload)).toEqual(['endpoint', 'method', 'headers', 'future']);
    expect(Object.keys(spec.payload.headers as object)).toEqual(['a', 'b']);
  });

  it('exported: without the management label, and no labels at all when none is left', () => {
    const exported = canonicalDefinition(
      { ...values, labels: { [MANAGED_BY_LABEL]: 'cli' } },
      { exported: true },
    );
    expect(exported.metadata).toEqual({ name: 'ping' });
    const other = canonicalDefinition(
      { ...values, labels: { [MANAGED_BY_LABEL]: 'terraform' } },
      { exported: true },
    );
    expect(other.metadata).toEqual({ name: 'ping', labels: { [MANAGED_BY_LABEL]: 'terraform' } });
    expect(canonicalDefinition({ ...values, labels: { [MANAGED_BY_LABEL]: 'cli' } }).metadata).toEqual({
      name: 'ping',
      labels: { [MANAGED_BY_LABEL]: 'cli' },
    });
  });

  it('keeps what differs from the defaults', () => {
    const spec = canonicalDefinition({
      ...values,
      kind: 'CONTAINER',
      payload: { image: 'alpine' },
      schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
      max_consecutive_job_failures_allowed: 5,
      log_retention: false,
    }).spec;
    expect(spec).toEqual({
      kind: 'CONTAINER',
      schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'Europe/Paris' },
      payload: { image: 'alpine' },
      max_consecutive_job_failures_allowed: 5,
      log_retention: false,
    });
    expect(
      canonicalDefinition({ ...values, kind: 'CONTAINER', payload: { image: 'a' }, log_retention: true })
        .spec,
    ).not.toHaveProperty('log_retention');
    expect(canonicalDefinition({ ...values, log_retention: true }).spec).toHaveProperty(
      'log_retention',
      true,
    );
    expect(
      canonicalDefinition({ ...values, schedule: { type: 'once', run_at: '2030-01-01T01:00:00+01:00' } })
        .spec,
    ).toHaveProperty('schedule', { type: 'once', run_at: '2030-01-01T00:00:00.000Z' });
    expect(
      canonicalDefinition({ ...values, schedule: { type: 'interval', interval_minutes: 5 } }).spec,
    ).toHaveProperty('schedule', { type: 'interval', interval_minutes: 5 });
  });

  it("leaves a DAG's task payload defaults out, so the stored DAG exports back to the file", () => {
    const tasks = [
      { name: 'build', kind: 'CONTAINER', payload: { image: 'alpine:3.20', cmd: ['make'] } },
      { name: 'ping', kind: 'HEARTBEAT', depends_on: ['build'], payload: { endpoint: 'https://x' } },
    ];
    const file = doc({
      kind: 'DAG',
      payload: { tasks, finally: [{ name: 'tidy', kind: 'HEARTBEAT', payload: { endpoint: 'https://y' } }] },
      schedule: { type: 'interval', interval_minutes: 5 },
    });
    const checked = checkDefinition(file, EPOCH);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    // What the server keeps has every task payload's defaults filled in…
    const stored = checked.values.payload as { tasks: { payload: Record<string, unknown> }[] };
    expect(stored.tasks[1]!.payload).toMatchObject({ method: 'GET', expected_status_code: 200 });
    // …and the canonical document says only what the file said.
    const canonical = canonicalDefinition(checked.values) as { spec: { payload: unknown } };
    expect(canonical.spec.payload).toEqual({
      finally: [{ kind: 'HEARTBEAT', name: 'tidy', payload: { endpoint: 'https://y' } }],
      tasks: [
        { kind: 'CONTAINER', name: 'build', payload: { image: 'alpine:3.20', cmd: ['make'] } },
        { depends_on: ['build'], kind: 'HEARTBEAT', name: 'ping', payload: { endpoint: 'https://x' } },
      ],
    });
    // A DAG keeps its logs unless told, as the server does: log_retention is left out.
    expect(checked.values.log_retention).toBe(true);
    expect(canonical.spec).not.toHaveProperty('log_retention');
    const again = checkDefinition(canonical, EPOCH);
    expect(again.ok && canonicalDefinition(again.values)).toEqual(canonical);
  });

  it('checking a canonical document gives back the same canonical document', () => {
    const first = checkDefinition(
      doc({
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x', headers: { b: '1', a: '2' } },
        schedule: { type: 'interval', interval_minutes: 5 },
      }),
      EPOCH,
    );
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const canonical = canonicalDefinition(first.values);
    const second = checkDefinition(canonical, EPOCH);
    expect(second.ok && canonicalDefinition(second.values)).toEqual(canonical);
  });
});

describe('workflowDefinitionJsonSchema', () => {
  it('is a JSON Schema with our id', () => {
    const schema = workflowDefinitionJsonSchema();
    expect(schema.$id).toBe('urn:chronoverse:schemas:workflow:v1');
    expect(schema).toHaveProperty('properties.apiVersion');
  });
});

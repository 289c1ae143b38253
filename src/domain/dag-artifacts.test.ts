/**
 * Artifacts between DAG tasks (issue 14): `inputs` naming an upstream task's declared artifact,
 * `when` on an artifact, `artifact_retention` on the DAG and on a task; and the same fields on a
 * single-task workflow.
 */
import { describe, expect, it } from 'vitest';
import { validateDagPayload } from './dag-definition.ts';
import type { FieldIssue } from './errors.ts';
import {
  collectsOn,
  inputSource,
  parseRetention,
  validateWorkflowPayload,
  type ContainerPayload,
} from './workflow-input.ts';

const producer = (name: string, artifacts: unknown[], extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'CONTAINER',
  payload: { image: 'alpine:3.20', cmd: ['true'], artifacts },
  ...extra,
});
const consumer = (name: string, inputs: unknown[], extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'CONTAINER',
  payload: { image: 'alpine:3.20', cmd: ['true'], inputs },
  ...extra,
});
const report = { name: 'report', path: '/out/report.bin' };

function issuesOf(payload: unknown): FieldIssue[] {
  const result = validateDagPayload(payload);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
}

describe('inputs of a DAG task', () => {
  it('accepts an upstream artifact, directly or transitively upstream, and keeps it in the stored payload', () => {
    const result = validateDagPayload({
      tasks: [
        producer('build', [report]),
        producer('test', [], { depends_on: ['build'] }),
        consumer('ship', [{ from: 'build.report', path: '/in/report.bin' }], { depends_on: ['test'] }),
      ],
      finally: [consumer('notify', [{ from: 'build.report', path: '/in/r' }])],
    });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const ship = result.value.tasks.find((t) => t.name === 'ship')!;
    expect((ship.payload as ContainerPayload).inputs).toEqual([
      { from: 'build.report', path: '/in/report.bin' },
    ]);
    const stored = result.value.stored.tasks as { payload: ContainerPayload }[];
    expect(stored[2]!.payload.inputs).toEqual([{ from: 'build.report', path: '/in/report.bin' }]);
  });

  it('refuses, at payload.tasks.N.payload.inputs.M.from: not upstream, unknown task, undeclared artifact, fan-out, heartbeat', () => {
    const issues = issuesOf({
      tasks: [
        producer('build', [report]),
        producer('each', [report], { for_each: [1, 2] }),
        { name: 'ping', kind: 'HEARTBEAT', payload: { endpoint: 'https://example.com/' } },
        consumer('side', [{ from: 'build.report', path: '/in/a' }]),
        consumer(
          'ship',
          [
            { from: 'build.report', path: '/in/ok' },
            { from: 'nope.report', path: '/in/b' },
            { from: 'build.logs', path: '/in/c' },
            { from: 'each.report', path: '/in/d' },
            { from: 'ping.body', path: '/in/e' },
          ],
          { depends_on: ['build', 'each', 'ping'] },
        ),
      ],
    });
    expect(issues).toEqual([
      {
        path: 'payload.tasks.3.payload.inputs.0.from',
        message:
          "takes build.report, but task 'build' is not upstream of 'side' (add it to depends_on or depends)",
      },
      { path: 'payload.tasks.4.payload.inputs.1.from', message: "names 'nope', which is not a task" },
      {
        path: 'payload.tasks.4.payload.inputs.2.from',
        message: "takes build.logs, but task 'build' declares no artifact 'logs'",
      },
      {
        path: 'payload.tasks.4.payload.inputs.3.from',
        message:
          "takes each.report, but task 'each' has for_each: each of its instances keeps its own artifacts",
      },
      {
        path: 'payload.tasks.4.payload.inputs.4.from',
        message: "takes ping.body, but task 'ping' declares no artifact 'body'",
      },
    ]);
  });

  it('checks the shape of each input: from, an absolute path without "..", not "/", no repeats', () => {
    const issues = issuesOf({
      tasks: [
        producer('build', [report]),
        consumer(
          'ship',
          [
            { from: 'build', path: '/in/a' },
            { from: 'build.report', path: 'in/a' },
            { from: 'build.report', path: '/in/../etc' },
            { from: 'build.report', path: '/' },
            { from: 'build.report', path: '/x', extra: 1 },
            { from: 'build.report', path: '/in/f' },
            { from: 'build.report', path: '/in/f/' },
          ],
          { depends_on: ['build'] },
        ),
      ],
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual([
      'payload.tasks.1.payload.inputs.0.from',
      'payload.tasks.1.payload.inputs.1.path',
      'payload.tasks.1.payload.inputs.2.path',
      'payload.tasks.1.payload.inputs.3.path',
      'payload.tasks.1.payload.inputs.4.extra',
      'payload.tasks.1.payload.inputs.6.path',
    ]);
    expect(issues[0]!.message).toBe('must be "<task>.<artifact>", such as "build.report"');
  });

  it('refuses inputs on a single-task CONTAINER workflow (no upstream task)', () => {
    const result = validateWorkflowPayload('CONTAINER', {
      image: 'alpine:3.20',
      inputs: [{ from: 'build.report', path: '/in/a' }],
    });
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: 'payload.inputs', message: 'only a task of a DAG can have inputs (from upstream tasks)' },
      ],
    });
  });

  it('splits from at the first dot: artifact names may have dots, task names may not', () => {
    expect(inputSource('build.report.tar')).toEqual({ task: 'build', artifact: 'report.tar' });
  });
});

describe('artifacts: when', () => {
  it('accepts ALWAYS, ON_SUCCESS, ON_FAILURE and absent; refuses anything else at its path', () => {
    const ok = validateWorkflowPayload('CONTAINER', {
      image: 'alpine:3.20',
      artifacts: [
        { name: 'a', path: '/a', when: 'ON_SUCCESS' },
        { name: 'b', path: '/b', when: 'ON_FAILURE' },
        { name: 'c', path: '/c', when: 'ALWAYS' },
        { name: 'd', path: '/d' },
      ],
    });
    expect(ok.ok).toBe(true);
    // Absent stays absent: payloads stored before the field read back unchanged.
    if (ok.ok) expect((ok.value as ContainerPayload).artifacts![3]).toEqual({ name: 'd', path: '/d' });
    const bad = validateWorkflowPayload('CONTAINER', {
      image: 'alpine:3.20',
      artifacts: [{ name: 'a', path: '/a', when: 'on_failure' }],
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path)).toEqual(['payload.artifacts.0.when']);
  });

  it('collects by how the process ended: a cancel only with ALWAYS', () => {
    const table = (['ALWAYS', 'ON_SUCCESS', 'ON_FAILURE', undefined] as const).map((when) =>
      (['succeeded', 'failed', 'canceled'] as const).map((end) => collectsOn(when, end)),
    );
    expect(table).toEqual([
      [true, true, true],
      [true, false, false],
      [false, true, false],
      [true, true, true],
    ]);
  });
});

describe('artifact_retention', () => {
  it('reads days or a duration', () => {
    expect(parseRetention('7d')).toBe(7 * 86_400_000);
    expect(parseRetention('36h')).toBe(36 * 3_600_000);
    expect(parseRetention('7 days')).toBeNull();
  });

  it('is accepted on a CONTAINER payload and on a DAG, and bounded', () => {
    expect(validateWorkflowPayload('CONTAINER', { image: 'alpine:3.20', artifact_retention: '7d' }).ok).toBe(
      true,
    );
    const dag = validateDagPayload({ tasks: [producer('build', [report])], artifact_retention: '2d' });
    if (!dag.ok) throw new Error(JSON.stringify(dag.issues));
    expect(dag.value.stored.artifact_retention).toBe('2d');
    const issues = issuesOf({ tasks: [producer('build', [report])], artifact_retention: '3651d' });
    expect(issues).toEqual([{ path: 'payload.artifact_retention', message: 'must be at most 3650d' }]);
    const single = validateWorkflowPayload('CONTAINER', { image: 'alpine:3.20', artifact_retention: '10s' });
    expect(single).toEqual({
      ok: false,
      issues: [{ path: 'payload.artifact_retention', message: 'must be at least 1m' }],
    });
  });
});

import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import {
  canonicalDefinition,
  checkDefinition,
  WorkflowDefinitionSchema,
} from '../../domain/workflow-definition.ts';
import { formatError, loadDefinitions, parseDefinitions } from './definitions.ts';

function errorsOf(text: string, file = 'wf.yaml'): string[] {
  return parseDefinitions(text, file).errors.map(formatError);
}

const GOOD = `apiVersion: chronoverse/v1
kind: Workflow
metadata:
  name: site up
  labels: { team: web }
spec:
  kind: HEARTBEAT
  schedule: { type: interval, interval_minutes: 5 }
  payload:
    endpoint: https://example.com/health
`;

describe('definition files: errors at file:line:column', () => {
  it('points every problem of a document at its value, or at its key for unknown fields and bad label keys', () => {
    const text = `apiVersion: chronoverse/v1
kind: Workflow
metadata:
  name: site up
  labels:
    team: data
    -bad: x
spec:
  kind: HEARTBEAT
  schedule: { type: cron, cron: "61 * * * *" }
  payload:
    endpoint: ftp://example.com
    colour: blue
  max_consecutive_job_failures_allowed: 0
`;
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^wf\.yaml:7:5: metadata\.labels\.-bad key must have a name/),
      "wf.yaml:10:33: spec.schedule.cron minute field '61' is out of range 0–59",
      'wf.yaml:12:15: spec.payload.endpoint must be an http:// or https:// URL',
      'wf.yaml:13:5: spec.payload.colour is not a known field',
      expect.stringMatching(/^wf\.yaml:14:41: spec\.max_consecutive_job_failures_allowed /),
    ]);
  });

  it('reports the envelope: apiVersion, kind, unknown and misplaced fields, missing parts at their parent', () => {
    const text = `apiVersion: chronoverse/v2
kind: Workflow
metadata: { name: x, owner: me }
spec: { kind: HEARTBEAT, name: y, interval: 5, payload: { endpoint: "https://e.com" } }
status: {}
`;
    expect(errorsOf(text)).toEqual([
      'wf.yaml:1:13: apiVersion must be chronoverse/v1',
      'wf.yaml:3:22: metadata.owner is not a known field',
      'wf.yaml:5:1: status is not a known field',
    ]);
    expect(
      errorsOf(
        'apiVersion: chronoverse/v1\nkind: Workflow\nmetadata: { name: x }\nspec: {kind: HEARTBEAT}\n',
      ),
    ).toEqual([
      'wf.yaml:4:7: spec.payload is required',
      'wf.yaml:4:7: spec.schedule is required: give interval (minutes) or schedule',
    ]);
    expect(
      errorsOf(
        'apiVersion: chronoverse/v1\nkind: Workflow\nmetadata: { name: x }\nspec: {kind: HEARTBEAT, name: y}\n',
      ),
    ).toEqual(['wf.yaml:4:25: spec.name belongs in metadata, not spec']);
    expect(errorsOf('- a\n- b\n')).toEqual([
      'wf.yaml:1:1: must be a mapping with apiVersion, kind, metadata and spec',
    ]);
  });

  it('reports YAML syntax errors where they are, and counts lines across documents', () => {
    expect(errorsOf('apiVersion: chronoverse/v1\nkind: Workflow\nmetadata:\n  name: "open\n')).toEqual([
      expect.stringMatching(/^wf\.yaml:5:1: Missing closing "quote/),
    ]);
    expect(errorsOf('a: 1\na: 2\n')).toEqual([
      expect.stringMatching(/^wf\.yaml:2:1: Map keys must be unique/),
    ]);
    const two = `${GOOD}---\n${GOOD.replace('site up', 'second').replace('https://example.com/health', 'nope')}`;
    const parsed = parseDefinitions(two, 'two.yaml');
    expect(parsed.definitions.map((d) => [d.values.name, d.at.line])).toEqual([['site up', 1]]);
    expect(parsed.errors.map(formatError)).toEqual([
      expect.stringMatching(/^two\.yaml:21:15: spec\.payload\.endpoint must be an http/),
    ]);
    // Empty documents (a trailing ---, comments only) are no workflows and no errors.
    expect(parseDefinitions(`# nothing\n---\n${GOOD}---\n`, 'x.yaml').definitions).toHaveLength(1);
  });

  it('reads JSON with positions too', () => {
    const json = JSON.stringify(
      {
        apiVersion: 'chronoverse/v1',
        kind: 'Workflow',
        metadata: { name: 'j' },
        spec: { kind: 'CONTAINER', interval: 5, payload: { image: 'Not An Image' } },
      },
      null,
      2,
    );
    expect(errorsOf(json, 'wf.json')).toEqual([
      expect.stringMatching(/^wf\.json:11:16: spec\.payload\.image must be an image/),
    ]);
  });

  it('gives the body to send and the values it means, defaults filled in', () => {
    const [d] = parseDefinitions(GOOD, 'wf.yaml').definitions;
    expect(d!.body).toEqual({
      name: 'site up',
      labels: { team: 'web' },
      kind: 'HEARTBEAT',
      schedule: { type: 'interval', interval_minutes: 5 },
      payload: { endpoint: 'https://example.com/health' },
    });
    expect(d!.values).toMatchObject({ max_consecutive_job_failures_allowed: 3, log_retention: false });
    expect(d!.values.payload).toMatchObject({ method: 'GET', timeout: '10s' });
  });
});

describe('canonical documents', () => {
  it('are the shortest form: defaults out, schedule form, UTC out, labels sorted (exported: the management label out)', () => {
    const checked = checkDefinition(
      {
        apiVersion: 'chronoverse/v1',
        kind: 'Workflow',
        metadata: { name: 'r', labels: { z: '1', a: '2', 'chronoverse.io/managed-by': 'cli' } },
        spec: {
          kind: 'CONTAINER',
          schedule: { type: 'cron', cron: '0 2 * * *', timezone: 'UTC' },
          payload: { image: 'alpine:3.20', cmd: ['echo', 'hi'], timeout: '30s', network: 'none' },
          max_consecutive_job_failures_allowed: 3,
          log_retention: true,
        },
      },
      new Date(0),
    );
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    expect(canonicalDefinition(checked.values, { exported: true })).toEqual({
      apiVersion: 'chronoverse/v1',
      kind: 'Workflow',
      metadata: { name: 'r', labels: { a: '2', z: '1' } },
      spec: {
        kind: 'CONTAINER',
        schedule: { type: 'cron', cron: '0 2 * * *' },
        payload: { image: 'alpine:3.20', cmd: ['echo', 'hi'] },
      },
    });
    const interval = checkDefinition(
      {
        ...JSON.parse(
          JSON.stringify({
            apiVersion: 'chronoverse/v1',
            kind: 'Workflow',
            metadata: { name: 'i' },
            spec: {
              kind: 'HEARTBEAT',
              interval: 5,
              log_retention: false,
              payload: { endpoint: 'https://e.com', method: 'HEAD' },
            },
          }),
        ),
      },
      new Date(0),
    );
    if (!interval.ok) throw new Error('invalid');
    expect(canonicalDefinition(interval.values).spec).toEqual({
      kind: 'HEARTBEAT',
      schedule: { type: 'interval', interval_minutes: 5 },
      payload: { endpoint: 'https://e.com', method: 'HEAD' },
    });
  });
});

describe('loading files and folders', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cv-defs-'));
    await mkdir(path.join(dir, 'wf'));
    await writeFile(path.join(dir, 'wf', 'b.yaml'), GOOD.replace('site up', 'b'));
    await writeFile(path.join(dir, 'wf', 'a.yml'), GOOD.replace('site up', 'a'));
    await writeFile(path.join(dir, 'wf', 'c.yaml'), GOOD.replace('site up', 'a'));
    await writeFile(path.join(dir, 'wf', 'notes.txt'), 'not a definition');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a folder in name order, and reports a name defined twice at the second with the first', async () => {
    const loaded = await loadDefinitions([path.join(dir, 'wf')]);
    expect(loaded.files.map((f) => path.basename(f))).toEqual(['a.yml', 'b.yaml', 'c.yaml']);
    expect(loaded.errors.map(formatError)).toEqual([
      `${path.join(dir, 'wf', 'c.yaml')}:4:9: metadata.name "a" is also defined at ${path.join(dir, 'wf', 'a.yml')}:1:1`,
    ]);
  });
});

describe('examples/', () => {
  it('are valid definitions, for the command line and for the JSON Schema editors use alike', async () => {
    const loaded = await loadDefinitions(['examples']);
    expect(loaded.errors.map(formatError)).toEqual([]);
    expect(loaded.definitions.map((d) => d.values.name).sort()).toEqual([
      'api create order',
      'launch check',
      'nightly build',
      'nightly container report',
      'site heartbeat',
    ]);
    for (const file of loaded.files) {
      for (const doc of parseAllDocuments(await readFile(file, 'utf8')) as { toJS(): unknown }[]) {
        const parsed = WorkflowDefinitionSchema.safeParse(doc.toJS());
        expect(parsed.error?.issues ?? [], file).toEqual([]);
      }
    }
  });

  it('and the schema refuses what the command line refuses: a payload of the other kind', () => {
    const doc = {
      apiVersion: 'chronoverse/v1',
      kind: 'Workflow',
      metadata: { name: 'x' },
      spec: { kind: 'HEARTBEAT', interval: 5, payload: { image: 'alpine:3.20' } },
    };
    expect(WorkflowDefinitionSchema.safeParse(doc).success).toBe(false);
    expect(checkDefinition(doc, new Date(0)).ok).toBe(false);
  });
});

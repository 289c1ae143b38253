import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import {
  checkReferences,
  findTemplateFields,
  renderPayload,
  renderProblemMessage,
  renderString,
  renderTaskPayload,
  templatesIn,
  withStandIns,
  withTemplatesRestored,
  type TaskOutputs,
} from './task-references.ts';

function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

describe('templatesIn', () => {
  it('finds output and item templates, spaces inside the braces allowed', () => {
    expect(templatesIn('a {{tasks.build.outputs.url}} b {{ item }} c {{  tasks.x_1.outputs.K_2 }}')).toEqual({
      ok: true,
      references: [
        { kind: 'output', task: 'build', key: 'url', text: '{{tasks.build.outputs.url}}' },
        { kind: 'item', text: '{{ item }}' },
        { kind: 'output', task: 'x_1', key: 'K_2', text: '{{  tasks.x_1.outputs.K_2 }}' },
      ],
    });
  });

  it('leaves other double braces as text (Go templates in a command)', () => {
    expect(templatesIn("docker inspect -f '{{.State.Status}}' {{items}} {{ tasksx }}")).toEqual({
      ok: true,
      references: [],
    });
  });

  it.each([
    ['{{tasks.a.outputs.b', "has a template without its closing '}}' at column 1"],
    [
      'x {{tasks.a.output.b}}',
      "has '{{tasks.a.output.b}}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}",
    ],
    [
      '{{tasks.A.outputs.b}}',
      "has '{{tasks.A.outputs.b}}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}",
    ],
    [
      '{{item.name}}',
      "has '{{item.name}}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}",
    ],
    [
      '{{tasks.a.outputs.1b}}',
      "has '{{tasks.a.outputs.1b}}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}",
    ],
  ])('%j → %s', (text, message) => {
    expect(templatesIn(text)).toEqual({ ok: false, message });
  });
});

describe('findTemplateFields', () => {
  it('looks in endpoint, header values (also lists) and body of a heartbeat', () => {
    const found = findTemplateFields(
      'HEARTBEAT',
      {
        endpoint: 'https://{{tasks.a.outputs.host}}/x',
        headers: { 'X-One': '{{tasks.a.outputs.one}}', 'X-Many': ['plain', '{{item}}'], 'x.dotted': 'v' },
        body: '{{tasks.b.outputs.body}}',
        timeout: '{{tasks.a.outputs.t}}',
      },
      'payload.tasks.2.payload',
    );
    expect(found.fields.map((f) => [f.path, f.references.length])).toEqual([
      [['endpoint'], 1],
      [['body'], 1],
      [['headers', 'X-One'], 1],
      [['headers', 'X-Many', '1'], 1],
    ]);
    expect(found.issues).toEqual([
      {
        path: 'payload.tasks.2.payload.timeout',
        message: 'cannot hold a template; templates go in endpoint, header values and body',
      },
    ]);
  });

  it('looks in cmd items and env values of a container, and nowhere else', () => {
    const found = findTemplateFields(
      'CONTAINER',
      {
        image: 'alpine',
        cmd: ['echo', '{{item}}'],
        entrypoint: ['{{item}}'],
        env: { A: '{{tasks.a.outputs.x}}', '{{item}}': 'name' },
      },
      'p',
    );
    expect(found.fields.map((f) => f.path)).toEqual([
      ['cmd', '1'],
      ['env', 'A'],
    ]);
    expect(found.issues).toEqual([
      { path: 'p.entrypoint.0', message: 'cannot hold a template; templates go in cmd items and env values' },
    ]);
  });

  it('stands in for template fields and restores them after validation', () => {
    const payload = { endpoint: '{{tasks.a.outputs.url}}', headers: { A: ['{{item}}'] }, body: 'b' };
    const { fields } = findTemplateFields('HEARTBEAT', payload, '');
    const standIn = withStandIns('HEARTBEAT', payload, fields);
    expect(standIn).toEqual({ endpoint: 'https://template.invalid/', headers: { A: ['x'] }, body: 'b' });
    expect(payload.endpoint).toBe('{{tasks.a.outputs.url}}');
    expect(withTemplatesRestored({ ...standIn, method: 'POST' }, fields)).toEqual({
      ...payload,
      method: 'POST',
    });
  });
});

describe('checkReferences', () => {
  it('names the field and the reference', () => {
    const { fields } = findTemplateFields(
      'CONTAINER',
      { image: 'a', cmd: ['{{tasks.up.outputs.x}} {{tasks.side.outputs.y}}', '{{item}}'] },
      'payload.tasks.1.payload',
    );
    expect(
      checkReferences(fields, {
        task: 'me',
        upstream: new Set(['up']),
        hasForEach: false,
        fanOuts: new Set(),
        prefix: 'payload.tasks.1.payload',
      }),
    ).toEqual([
      {
        path: 'payload.tasks.1.payload.cmd.0',
        message:
          "refers to {{tasks.side.outputs.y}}, but task 'side' is not upstream of 'me' (add it to depends_on or depends)",
      },
      { path: 'payload.tasks.1.payload.cmd.1', message: "uses {{item}}, but task 'me' has no for_each" },
    ]);
    expect(
      checkReferences(fields, {
        task: 'me',
        upstream: new Set(['up', 'side']),
        hasForEach: true,
        fanOuts: new Set(),
        prefix: '',
      }),
    ).toEqual([]);
    expect(
      checkReferences(fields, {
        task: 'me',
        upstream: new Set(['up', 'side']),
        hasForEach: true,
        fanOuts: new Set(['up']),
        prefix: '',
      }),
    ).toEqual([
      {
        path: 'cmd.0',
        message:
          "refers to {{tasks.up.outputs.x}}, but task 'up' has for_each: each of its instances has its own outputs",
      },
    ]);
  });
});

describe('rendering', () => {
  const outputs = new Map<string, TaskOutputs>([
    ['build', { url: 'https://x.test/a', count: 3, body: { ok: true }, tricky: '{{item}}' }],
  ]);

  it('renders strings as they are and other values as JSON, in one pass', () => {
    expect(
      renderString(
        '{{tasks.build.outputs.url}}?n={{ tasks.build.outputs.count }}&{{tasks.build.outputs.body}}',
        { outputs },
      ),
    ).toEqual({
      ok: true,
      value: 'https://x.test/a?n=3&{"ok":true}',
    });
    expect(renderString('{{tasks.build.outputs.tricky}} {{item}}', { outputs, item: { id: 1 } })).toEqual({
      ok: true,
      value: '{{item}} {"id":1}',
    });
    expect(renderString('{{item}}', { outputs, item: 'plain' })).toEqual({ ok: true, value: 'plain' });
  });

  it('says which reference has no value', () => {
    const missing = renderString('x {{tasks.build.outputs.nope}}', { outputs }, 'env.A');
    expect(missing).toEqual({
      ok: false,
      problem: {
        kind: 'missing_output',
        reference: '{{tasks.build.outputs.nope}}',
        task: 'build',
        key: 'nope',
        path: 'env.A',
      },
    });
    if (!missing.ok) {
      expect(renderProblemMessage(missing.problem)).toBe(
        "env.A: {{tasks.build.outputs.nope}} has no value: task 'build' set no output 'nope'",
      );
    }
    expect(renderString('{{tasks.other.outputs.x}}', { outputs }).ok).toBe(false);
    // Own keys only: an output named like an Object.prototype member is not there unless set.
    expect(renderString('{{tasks.build.outputs.toString}}', { outputs }).ok).toBe(false);
    const noItem = renderString('{{item}}', { outputs }, 'cmd.0');
    expect(noItem).toEqual({
      ok: false,
      problem: { kind: 'missing_item', reference: '{{item}}', path: 'cmd.0' },
    });
    if (!noItem.ok)
      expect(renderProblemMessage(noItem.problem)).toBe(
        'cmd.0: {{item}} is used outside a for_each instance',
      );
  });

  it('renders the template fields of a payload and leaves it unchanged', () => {
    const payload = {
      image: 'alpine',
      cmd: ['echo', '{{item}}'],
      env: { URL: '{{tasks.build.outputs.url}}' },
      workdir: null,
    };
    expect(renderPayload('CONTAINER', payload, { outputs, item: 7 })).toEqual({
      ok: true,
      value: { image: 'alpine', cmd: ['echo', '7'], env: { URL: 'https://x.test/a' }, workdir: null },
    });
    expect(payload.cmd[1]).toBe('{{item}}');
    const heartbeat = { endpoint: '{{tasks.build.outputs.url}}', headers: { A: ['{{item}}'] }, body: null };
    expect(renderPayload('HEARTBEAT', heartbeat, { outputs, item: 'i' })).toEqual({
      ok: true,
      value: { endpoint: 'https://x.test/a', headers: { A: ['i'] }, body: null },
    });
    expect(renderPayload('HEARTBEAT', heartbeat, { outputs }).ok).toBe(false);
  });
});

describe('renderTaskPayload', () => {
  const outputs = new Map<string, TaskOutputs>([
    ['make', { url: 'https://x.test/', bad: 'not a url', n: 5 }],
  ]);
  const validated = (endpoint: string) => ({
    endpoint,
    method: 'GET' as const,
    headers: {},
    body: null,
    expected_status_code: 200,
    timeout: '10s',
  });

  it('renders and checks the result with the kind validator', () => {
    const payload = validated('{{tasks.make.outputs.url}}');
    const { fields } = findTemplateFields('HEARTBEAT', payload, '');
    expect(renderTaskPayload('HEARTBEAT', payload, fields, { outputs })).toEqual({
      ok: true,
      value: validated('https://x.test/'),
    });
    const bad = validated('{{tasks.make.outputs.bad}}');
    const result = renderTaskPayload('HEARTBEAT', bad, findTemplateFields('HEARTBEAT', bad, '').fields, {
      outputs,
    });
    expect(result).toEqual({
      ok: false,
      problem: {
        kind: 'invalid_rendered',
        issues: [{ path: 'payload.endpoint', message: 'must be an http:// or https:// URL' }],
      },
    });
    if (!result.ok) {
      expect(renderProblemMessage(result.problem)).toBe(
        'the payload after templates were filled in is invalid: payload.endpoint must be an http:// or https:// URL',
      );
    }
  });

  it('passes a payload without templates through as it is', () => {
    const payload = validated('https://plain.test/');
    const result = renderTaskPayload('HEARTBEAT', payload, [], { outputs });
    expect(result.ok && result.value).toBe(payload);
  });
});

describe('rendering (properties)', () => {
  const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
  const text = fc.string().filter((s) => !s.includes('{{'));

  it('a text without templates renders to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(text, fc.string({ unit: fc.constantFrom('{', '}', ' ', 'a', '.', 'x') })),
        (value) => {
          fc.pre(!/\{\{\s*(tasks\.|item)/.test(value));
          expect(renderString(value, { outputs: new Map() })).toEqual({ ok: true, value });
        },
      ),
      { numRuns: runs(2_000) },
    );
  });

  it('text around templates is kept and each template becomes its value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, key, text), { minLength: 1, maxLength: 5 }),
        text,
        (parts, tail) => {
          const outputs: Record<string, unknown> = {};
          parts.forEach(([, k, value]) => (outputs[k] = value));
          const template = parts.map(([before, k]) => `${before}{{tasks.t.outputs.${k}}}`).join('') + tail;
          const expected = parts.map(([before, k]) => `${before}${outputs[k] as string}`).join('') + tail;
          expect(renderString(template, { outputs: new Map([['t', outputs]]) })).toEqual({
            ok: true,
            value: expected,
          });
        },
      ),
      { numRuns: runs(2_000) },
    );
  });
});

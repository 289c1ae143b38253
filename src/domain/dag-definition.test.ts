import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { printDepends } from './dag-expression.ts';
import {
  DAG_MAX_TASKS,
  DagPayloadSchema,
  findCycles,
  FOR_EACH_MAX_ITEMS,
  validateDagPayload,
  type DagDefinition,
} from './dag-definition.ts';
import type { FieldIssue } from './errors.ts';
import { DEFAULT_BACKOFF, DEFAULT_RETRY_ON } from './task-retry.ts';

function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

const ping = { endpoint: 'https://example.com/health' };
const alpine = { image: 'alpine:3.20', cmd: ['true'] };
const hb = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'HEARTBEAT',
  payload: ping,
  ...extra,
});
const box = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'CONTAINER',
  payload: alpine,
  ...extra,
});

function valid(payload: unknown): DagDefinition {
  const result = validateDagPayload(payload);
  if (!result.ok) throw new Error(`invalid: ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issuesOf(payload: unknown): FieldIssue[] {
  const result = validateDagPayload(payload);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
}

describe('validateDagPayload: a valid definition', () => {
  it('normalizes the diamond: order, upstream, conditions, defaults', () => {
    const dag = valid({
      tasks: [
        box('d', { depends_on: ['b', 'c'] }),
        box('b', { depends_on: ['a'] }),
        box('c', { depends: 'a.succeeded || a.skipped' }),
        hb('a'),
      ],
      max_parallel: 2,
    });
    expect(dag.order).toEqual(['a', 'b', 'c', 'd']);
    expect(dag.maxParallel).toBe(2);
    const d = dag.tasks.find((t) => t.name === 'd')!;
    expect(d.upstream).toEqual(['b', 'c']);
    expect(printDepends(d.condition!)).toBe('b.succeeded && c.succeeded');
    expect(printDepends(dag.tasks.find((t) => t.name === 'c')!.condition!)).toBe('a.succeeded || a.skipped');
    const a = dag.tasks[0]!;
    expect(a).toMatchObject({
      name: 'a',
      kind: 'HEARTBEAT',
      upstream: [],
      condition: null,
      retry: { limit: 0, backoff: DEFAULT_BACKOFF, on: DEFAULT_RETRY_ON },
      timeoutSeconds: null,
      forEach: null,
      maxParallel: null,
      isFinally: false,
    });
    // The single-task validator filled in the payload defaults.
    expect(a.payload).toMatchObject({
      endpoint: 'https://example.com/health',
      method: 'GET',
      expected_status_code: 200,
    });
  });

  it('reads retry, timeout, for_each and the finally tasks', () => {
    const dag = valid({
      tasks: [
        box('list'),
        box('each', {
          depends_on: ['list'],
          for_each: '{{tasks.list.outputs.files}}',
          max_parallel: 4,
          retry: {
            limit: 3,
            backoff: { initial_seconds: 1, factor: 3, max_seconds: 60 },
            on: ['EXIT_CODE:075', 'HTTP_5XX', 'HTTP_5XX'],
          },
          timeout_seconds: 600,
        }),
        box('fixed', { for_each: [1, 'two', { three: 3 }] }),
      ],
      finally: [hb('notify', { depends: 'each.failed' }), box('cleanup', { depends_on: ['notify'] })],
    });
    expect(dag.order).toEqual(['list', 'each', 'fixed', 'notify', 'cleanup']);
    const each = dag.tasks[1]!;
    expect(each.forEach).toEqual({
      kind: 'output',
      task: 'list',
      key: 'files',
      reference: '{{tasks.list.outputs.files}}',
    });
    expect(each.retry).toEqual({
      limit: 3,
      backoff: { initialSeconds: 1, factor: 3, maxSeconds: 60 },
      on: ['EXIT_CODE:75', 'HTTP_5XX'],
    });
    expect(each.timeoutSeconds).toBe(600);
    expect(each.maxParallel).toBe(4);
    expect(dag.tasks[2]!.forEach).toEqual({ kind: 'items', items: [1, 'two', { three: 3 }] });
    expect(dag.finally.map((t) => [t.name, t.isFinally, t.upstream])).toEqual([
      ['notify', true, ['each']],
      ['cleanup', true, ['notify']],
    ]);
  });

  it('accepts a payload and task payloads given as JSON strings', () => {
    const dag = valid(
      JSON.stringify({ tasks: [{ name: 'a', kind: 'CONTAINER', payload: JSON.stringify(alpine) }] }),
    );
    expect(dag.tasks[0]!.payload).toMatchObject({ image: 'alpine:3.20', cmd: ['true'] });
  });

  it('keeps templates and checks the rest of their fields on a stand-in', () => {
    const dag = valid({
      tasks: [
        box('make'),
        hb('call', {
          depends_on: ['make'],
          payload: {
            endpoint: '{{tasks.make.outputs.url}}',
            method: 'POST',
            headers: { Authorization: 'Bearer {{ tasks.make.outputs.token }}' },
            body: '{"id": {{tasks.make.outputs.id}}}',
          },
        }),
        box('use', {
          depends_on: ['call'],
          for_each: [1, 2],
          payload: {
            image: 'alpine:3.20',
            cmd: ['echo', '{{item}}', "{{'{{.State}}'}}"],
            env: { STATUS: '{{tasks.call.outputs.status}}' },
          },
        }),
      ],
    });
    expect(dag.tasks[1]!.payload).toMatchObject({ endpoint: '{{tasks.make.outputs.url}}', method: 'POST' });
    expect(dag.tasks[1]!.templateFields.map((f) => f.path.join('.'))).toEqual([
      'endpoint',
      'body',
      'headers.Authorization',
    ]);
    expect(dag.tasks[2]!.payload).toMatchObject({
      cmd: ['echo', '{{item}}', "{{'{{.State}}'}}"],
      env: { STATUS: '{{tasks.call.outputs.status}}' },
    });
  });
});

describe('validateDagPayload: problems at their field paths', () => {
  it.each<[string, unknown, FieldIssue[]]>([
    [
      'not an object',
      42,
      [{ path: 'payload', message: 'must be an object with tasks (or a JSON string of one)' }],
    ],
    ['bad JSON', '{', [{ path: 'payload', message: 'is not valid JSON' }]],
    [
      'no tasks, unknown field, bad max_parallel',
      { tasks: [], extra: 1, max_parallel: 0 },
      [
        { path: 'payload.extra', message: 'is not a known field' },
        { path: 'payload.max_parallel', message: 'Too small: expected number to be >=1' },
        { path: 'payload.tasks', message: 'is required: an array of at least one task' },
      ],
    ],
    [
      'task shape',
      { tasks: [7, { name: 'Bad Name', kind: 'SHELL', payload: {}, other: true }, { kind: 'CONTAINER' }] },
      [
        { path: 'payload.tasks.0', message: 'must be an object with name, kind and payload' },
        { path: 'payload.tasks.1.other', message: 'is not a known field' },
        {
          path: 'payload.tasks.1.name',
          message: "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
        },
        { path: 'payload.tasks.1.kind', message: 'must be HEARTBEAT or CONTAINER' },
        { path: 'payload.tasks.2.name', message: 'is required: a task name such as "build"' },
        { path: 'payload.tasks.2.payload', message: 'is required' },
      ],
    ],
    [
      'payload through the single-task validator',
      {
        tasks: [
          hb('a'),
          { name: 'b', kind: 'HEARTBEAT', payload: { endpoint: 'ftp://x', method: 'GET', body: 'x' } },
        ],
      },
      [
        { path: 'payload.tasks.1.payload.endpoint', message: 'must be an http:// or https:// URL' },
        { path: 'payload.tasks.1.payload.body', message: 'is not allowed with method GET' },
      ],
    ],
    [
      'duplicate names across tasks and finally',
      { tasks: [hb('a'), hb('b')], finally: [hb('a')] },
      [{ path: 'payload.finally.0.name', message: "'a' is already the name of payload.tasks.0" }],
    ],
    [
      'unknown, self and finally references',
      {
        tasks: [
          hb('a', { depends_on: ['a', 'a', 'ghost'] }),
          hb('b', { depends: 'a.succeeded && !f.failed' }),
        ],
        finally: [hb('f')],
      },
      [
        { path: 'payload.tasks.0.depends_on.1', message: "names 'a' twice" },
        { path: 'payload.tasks.0.depends_on.0', message: "task 'a' cannot depend on itself" },
        { path: 'payload.tasks.0.depends_on.2', message: "names 'ghost', which is not a task" },
        {
          path: 'payload.tasks.1.depends',
          message: "names 'f', a finally task; only finally tasks can depend on one (column 17)",
        },
      ],
    ],
    [
      'both depends_on and depends, bad expression',
      {
        tasks: [
          hb('a'),
          hb('b', { depends_on: ['a'], depends: 'a.failed' }),
          hb('c', { depends: 'a.failed &&' }),
        ],
      },
      [
        { path: 'payload.tasks.1.depends', message: 'give either depends_on or depends, not both' },
        {
          path: 'payload.tasks.2.depends',
          message: 'expected a task result such as build.succeeded, found the end at column 12',
        },
      ],
    ],
    [
      'retry, timeout, max_parallel',
      {
        tasks: [
          hb('a', {
            retry: {
              limit: 1.5,
              backoff: { initial_seconds: 30, factor: 0.5, max_seconds: 10 },
              on: ['USER', 'EXIT_CODE:256', 'OOM'],
              x: 1,
            },
            timeout_seconds: 0,
            max_parallel: 3,
          }),
          hb('b', { retry: { on: [] } }),
        ],
      },
      [
        { path: 'payload.tasks.0.retry.limit', message: 'Invalid input: expected int, received number' },
        { path: 'payload.tasks.0.retry.backoff.factor', message: 'Too small: expected number to be >=1' },
        { path: 'payload.tasks.0.retry.backoff.max_seconds', message: 'must be at least initial_seconds' },
        {
          path: 'payload.tasks.0.retry.on.1',
          message: 'must be SYSTEM, USER, TIMEOUT, HTTP_5XX or EXIT_CODE:<0–255>',
        },
        {
          path: 'payload.tasks.0.retry.on.2',
          message: 'must be SYSTEM, USER, TIMEOUT, HTTP_5XX or EXIT_CODE:<0–255>',
        },
        { path: 'payload.tasks.0.retry.x', message: 'is not a known field' },
        { path: 'payload.tasks.0.timeout_seconds', message: 'Too small: expected number to be >=1' },
        { path: 'payload.tasks.0.max_parallel', message: 'applies only to a task with for_each' },
        {
          path: 'payload.tasks.1.retry.limit',
          message: 'is required: the number of retries after the first attempt',
        },
        {
          path: 'payload.tasks.1.retry.on',
          message: 'must list at least one class, such as ["SYSTEM", "EXIT_CODE:75"]',
        },
      ],
    ],
    [
      'for_each',
      {
        tasks: [
          hb('a', { for_each: 'a list' }),
          hb('b', { for_each: new Array(FOR_EACH_MAX_ITEMS + 1).fill(0) }),
          hb('c', { for_each: '{{tasks.d.outputs.list}}' }),
          hb('d'),
        ],
      },
      [
        {
          path: 'payload.tasks.0.for_each',
          message: 'must be an array of items or one "{{tasks.<name>.outputs.<key>}}"',
        },
        {
          path: 'payload.tasks.1.for_each',
          message: `must have at most ${FOR_EACH_MAX_ITEMS} items (has ${FOR_EACH_MAX_ITEMS + 1})`,
        },
        {
          path: 'payload.tasks.2.for_each',
          message:
            "refers to {{tasks.d.outputs.list}}, but task 'd' is not upstream of 'c' (add it to depends_on or depends)",
        },
      ],
    ],
    [
      'templates: not upstream, item without for_each, malformed, in a field that cannot hold one',
      {
        tasks: [
          box('a'),
          box('b', {
            payload: {
              image: '{{tasks.a.outputs.image}}',
              cmd: ['{{tasks.c.outputs.x}}', '{{item}}', '{{tasks.a.output.x}}'],
            },
          }),
          box('c', { depends_on: ['a'] }),
        ],
      },
      [
        {
          path: 'payload.tasks.1.payload.cmd.2',
          message:
            "has '{{tasks.a.output.x}}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}",
        },
        {
          path: 'payload.tasks.1.payload.image',
          message: 'cannot hold a template; templates go in cmd items and env values',
        },
        {
          path: 'payload.tasks.1.payload.image',
          message: 'must be an image reference such as "alpine:3.20" or "ghcr.io/org/app@sha256:…"',
        },
      ],
    ],
  ])('%s', (_title, payload, issues) => {
    expect(issuesOf(payload)).toEqual(issues);
  });

  it('checks references once the payloads are valid: upstream only, transitively', () => {
    expect(
      issuesOf({
        tasks: [
          box('a'),
          box('b', { depends_on: ['a'] }),
          box('c', {
            depends_on: ['b'],
            payload: {
              image: 'alpine:3.20',
              env: { A: '{{tasks.a.outputs.x}}', D: '{{tasks.d.outputs.x}}' },
              cmd: ['{{item}}'],
            },
          }),
          box('d'),
        ],
      }),
    ).toEqual([
      {
        path: 'payload.tasks.2.payload.cmd.0',
        message: "uses {{item}}, but task 'c' has no for_each",
      },
      {
        path: 'payload.tasks.2.payload.env.D',
        message:
          "refers to {{tasks.d.outputs.x}}, but task 'd' is not upstream of 'c' (add it to depends_on or depends)",
      },
    ]);
  });

  it('refuses reading the outputs of a fan-out, in a template or a for_each', () => {
    expect(
      issuesOf({
        tasks: [
          box('fan', { for_each: [1, 2] }),
          box('read', {
            depends_on: ['fan'],
            payload: { image: 'alpine:3.20', env: { X: '{{tasks.fan.outputs.x}}' } },
          }),
          box('again', { depends_on: ['fan'], for_each: '{{tasks.fan.outputs.list}}' }),
        ],
      }),
    ).toEqual([
      {
        path: 'payload.tasks.1.payload.env.X',
        message:
          "refers to {{tasks.fan.outputs.x}}, but task 'fan' has for_each: each of its instances has its own outputs",
      },
      {
        path: 'payload.tasks.2.for_each',
        message:
          "refers to {{tasks.fan.outputs.list}}, but task 'fan' has for_each: each of its instances has its own outputs",
      },
    ]);
  });

  it('lets a finally task read any regular task', () => {
    valid({
      tasks: [box('a'), box('b')],
      finally: [box('report', { payload: { image: 'alpine:3.20', env: { B: '{{tasks.b.outputs.x}}' } } })],
    });
  });

  it('names each cycle in the direction tasks run, at the first task of it', () => {
    expect(
      issuesOf({
        tasks: [
          hb('a', { depends_on: ['c'] }),
          hb('b', { depends_on: ['a'] }),
          hb('c', { depends: 'b.succeeded' }),
          hb('x', { depends_on: ['y'] }),
          hb('y', { depends_on: ['x'] }),
          hb('free'),
        ],
        finally: [hb('f', { depends_on: ['g', 'a'] }), hb('g', { depends_on: ['f'] })],
      }),
    ).toEqual([
      { path: 'payload.tasks.0.depends_on', message: 'makes a cycle: a → b → c → a' },
      { path: 'payload.tasks.3.depends_on', message: 'makes a cycle: x → y → x' },
      { path: 'payload.finally.0.depends_on', message: 'makes a cycle: f → g → f' },
    ]);
  });

  it(`refuses more than ${DAG_MAX_TASKS} tasks, finally included, in one issue`, () => {
    const tasks = Array.from({ length: DAG_MAX_TASKS }, (_, i) => hb(`t${i}`));
    expect(valid({ tasks }).order).toHaveLength(DAG_MAX_TASKS);
    expect(issuesOf({ tasks, finally: [hb('one-more'), 'not even a task'] })).toEqual([
      {
        path: 'payload.tasks',
        message: `must have at most ${DAG_MAX_TASKS} tasks, finally included (has ${DAG_MAX_TASKS + 2})`,
      },
    ]);
  });

  it('handles a chain of 500 tasks and a 500-task cycle without deep recursion', () => {
    const chain = Array.from({ length: DAG_MAX_TASKS }, (_, i) =>
      hb(`t${i}`, i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
    );
    expect(valid({ tasks: [...chain].reverse() }).order).toEqual(chain.map((t) => t.name));
    const ring = chain.map((t, i) => ({ ...t, depends_on: [`t${(i + DAG_MAX_TASKS - 1) % DAG_MAX_TASKS}`] }));
    const issues = issuesOf({ tasks: ring });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toBe(`makes a cycle: ${[...chain.map((t) => t.name), 't0'].join(' → ')}`);
  });
});

// ─── properties ─────────────────────────────────────────────────────────────────────────────

/** A random graph over n tasks: edges[i] lists the upstream indices of task i (any direction). */
const graphArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    edges: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }), {
      minLength: n,
      maxLength: n,
    }),
    useExpression: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
  }),
);

/**
 * The reference: a graph is acyclic iff removing tasks without upstream, again and again, removes
 * every task. It shares nothing with the component search under test.
 */
function hasCycleByPeeling(n: number, upstream: number[][]): boolean {
  const left = new Set(Array.from({ length: n }, (_, i) => i));
  let removed = true;
  while (removed) {
    removed = false;
    for (const i of left) {
      if (upstream[i]!.every((u) => !left.has(u))) {
        left.delete(i);
        removed = true;
      }
    }
  }
  return left.size > 0;
}

describe('validateDagPayload on random graphs (properties)', () => {
  it('finds a cycle exactly when there is one, names real cycles, and orders acyclic graphs', () => {
    fc.assert(
      fc.property(graphArb, ({ n, edges, useExpression }) => {
        const upstream = edges.map((list, i) => list.filter((u) => u !== i));
        const name = (i: number) => `t${i}`;
        const tasks = upstream.map((list, i) =>
          hb(
            name(i),
            list.length === 0
              ? {}
              : useExpression[i]
                ? { depends: list.map((u) => `${name(u)}.completed`).join(' || ') }
                : { depends_on: list.map(name) },
          ),
        );
        const result = validateDagPayload({ tasks });
        const cyclic = hasCycleByPeeling(n, upstream);
        expect(result.ok).toBe(!cyclic);
        if (!result.ok) {
          for (const issue of result.issues) {
            const match = /^makes a cycle: (.*)$/.exec(issue.message);
            expect(match).not.toBeNull();
            const cycle = match![1]!.split(' → ').map((t) => Number(t.slice(1)));
            expect(cycle[0]).toBe(cycle[cycle.length - 1]);
            // Each arrow is an edge: the later task has the earlier one upstream.
            for (let k = 1; k < cycle.length; k++) expect(upstream[cycle[k]!]).toContain(cycle[k - 1]);
            expect(issue.path).toMatch(new RegExp(`^payload\\.tasks\\.${cycle[0]}\\.depends(_on)?$`));
          }
        } else {
          const position = new Map(result.value.order.map((t, i) => [t, i]));
          expect(position.size).toBe(n);
          upstream.forEach((list, i) => {
            for (const u of list) expect(position.get(name(u))!).toBeLessThan(position.get(name(i))!);
          });
        }
      }),
      { numRuns: runs(2_000) },
    );
  });

  it('findCycles reports one cycle per knot of tasks, each a real cycle', () => {
    fc.assert(
      fc.property(graphArb, ({ n, edges }) => {
        const names = Array.from({ length: n }, (_, i) => `t${i}`);
        const upstream = edges.map((list, i) => list.filter((u) => u !== i).map((u) => `t${u}`));
        const cycles = findCycles(names, (t) => upstream[Number(t.slice(1))]!);
        const members = cycles.flat();
        // Components are disjoint: no task is in two reported cycles.
        expect(new Set(members).size).toBe(members.length);
        for (const cycle of cycles) {
          const closed = [...cycle, cycle[0]!];
          for (let k = 1; k < closed.length; k++) {
            expect(upstream[Number(closed[k]!.slice(1))]).toContain(closed[k - 1]);
          }
        }
        expect(cycles.length > 0).toBe(
          hasCycleByPeeling(
            n,
            edges.map((l, i) => l.filter((u) => u !== i)),
          ),
        );
      }),
      { numRuns: runs(2_000) },
    );
  });
});

describe('DagPayloadSchema (documentation)', () => {
  it('converts to JSON Schema, as the OpenAPI document will need', () => {
    const schema = z.toJSONSchema(DagPayloadSchema, { io: 'input', unrepresentable: 'any' }) as {
      $defs: Record<string, { properties: Record<string, unknown> }>;
    };
    expect(Object.keys(schema.$defs.DagPayload!.properties)).toEqual([
      'tasks',
      'finally',
      'max_parallel',
      'artifact_retention',
    ]);
    expect(Object.keys(schema.$defs.DagTask!.properties)).toContain('for_each');
  });
});

describe('the stored payload', () => {
  it('is the payload as written with task payload defaults filled in', () => {
    const dag = valid({
      tasks: [{ name: 'a', kind: 'CONTAINER', payload: JSON.stringify(alpine), retry: { limit: 1 } }],
      max_parallel: 3,
    });
    expect(dag.stored).toEqual({
      tasks: [{ name: 'a', kind: 'CONTAINER', payload: dag.tasks[0]!.payload, retry: { limit: 1 } }],
      max_parallel: 3,
    });
    expect(dag.tasks[0]!.payload).toMatchObject({ image: 'alpine:3.20', network: 'none', env: {} });
  });

  /** Random valid definitions: edges to earlier tasks only, templates reading upstream plain tasks. */
  const validDagArb = fc.integer({ min: 1, max: 8 }).chain((n) =>
    fc.record({
      tasks: fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.record({
            upstream: fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, i - 1) }), {
              maxLength: i === 0 ? 0 : 3,
            }),
            useDepends: fc.boolean(),
            heartbeat: fc.boolean(),
            retry: fc.option(
              fc.record({
                limit: fc.integer({ min: 0, max: 5 }),
                on: fc.constantFrom(['USER'], ['EXIT_CODE:01', 'SYSTEM']),
              }),
            ),
            fanOut: fc.option(fc.array(fc.jsonValue(), { maxLength: 3 })),
            template: fc.boolean(),
          }),
        ),
      ),
      finallyCount: fc.integer({ min: 0, max: 2 }),
      maxParallel: fc.option(fc.integer({ min: 1, max: 50 })),
    }),
  );

  it('validates again to the same definition (property)', () => {
    fc.assert(
      fc.property(validDagArb, (spec) => {
        const fanOut = (i: number) => spec.tasks[i]!.fanOut !== null;
        const tasks = spec.tasks.map((t, i) => {
          const names = t.upstream.map((u) => `t${u}`);
          const readable = t.upstream.find((u) => !fanOut(u));
          const value = t.template && readable !== undefined ? `{{tasks.t${readable}.outputs.v}}` : 'plain';
          const extra: Record<string, unknown> = {
            payload: t.heartbeat
              ? { endpoint: 'https://example.com/', headers: { 'X-V': value } }
              : {
                  image: 'alpine:3.20',
                  env: { V: value },
                  ...(t.fanOut !== null ? { cmd: ['{{item}}'] } : {}),
                },
          };
          if (names.length > 0) {
            if (t.useDepends) extra.depends = names.map((u) => `${u}.completed`).join(' && ');
            else extra.depends_on = names;
          }
          if (t.retry !== null) extra.retry = t.retry;
          if (t.fanOut !== null) extra.for_each = t.fanOut;
          return { name: `t${i}`, kind: t.heartbeat ? 'HEARTBEAT' : 'CONTAINER', ...extra };
        });
        const payload: Record<string, unknown> = { tasks };
        if (spec.finallyCount > 0)
          payload.finally = Array.from({ length: spec.finallyCount }, (_, k) => hb(`f${k}`));
        if (spec.maxParallel !== null) payload.max_parallel = spec.maxParallel;
        // Through JSON, as a request body is (fc.jsonValue has -0, which JSON does not).
        const first = valid(JSON.parse(JSON.stringify(payload)));
        const again = valid(JSON.parse(JSON.stringify(first.stored)));
        expect(again).toEqual(first);
      }),
      { numRuns: runs(1_000) },
    );
  });
});

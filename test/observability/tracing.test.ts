/**
 * One trace follows a manual run through the whole embedded process (the real gateway, the
 * services behind the in-memory RPC transport, outbox relay, in-process bus, executor, workflow
 * worker), on PGlite and on PostgreSQL: spans are collected in memory and the test checks that
 * they form one connected tree (every parent present) holding each hop. Plus the propagation
 * helpers on their own.
 */
import { context, ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contextFromHeaders,
  contextFromJson,
  contextHeaders,
  serializeContext,
} from '../../src/platform/telemetry/propagation.ts';
import { parseHeaders, tracer, type TracingHandle } from '../../src/platform/telemetry/tracing.ts';
import { initTracing } from '../../src/platform/telemetry/tracing-sdk.ts';
import { InProcessBus, type BusMessage } from '../../src/platform/bus/bus.ts';
import { messageContext } from '../../src/platform/bus/tracing.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { startTarget } from '../helpers/engine.ts';
import { ENGINES, LogCapture } from '../helpers/harness.ts';
import {
  builtWorkflow,
  finishedJob,
  registerAt,
  runNow,
  startEmbedded,
  type EmbeddedProcess,
} from './support.ts';

const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;

beforeAll(() => {
  tracing = initTracing({ exporter, roles: ['all'], version: 'test' });
});
afterAll(async () => {
  await tracing.shutdown();
});

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

describe('propagation helpers', () => {
  it('round-trips the active span through headers and JSON (jobs.trace_context)', () => {
    const span = tracer().startSpan('unit');
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const headers = contextHeaders(ctx);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(headers.traceparent).toContain(span.spanContext().spanId);

    const back = trace.getSpanContext(contextFromHeaders(headers)) as SpanContext;
    expect(back.traceId).toBe(span.spanContext().traceId);
    expect(back.spanId).toBe(span.spanContext().spanId);
    expect(back.isRemote).toBe(true);

    const json = context.with(ctx, () => serializeContext());
    expect(JSON.parse(json!)).toEqual(headers);
    expect(trace.getSpanContext(contextFromJson(json))?.spanId).toBe(span.spanContext().spanId);
    span.end();
  });

  it('carries nothing without an active span, and ignores broken input', () => {
    expect(contextHeaders(ROOT_CONTEXT)).toEqual({});
    expect(serializeContext(ROOT_CONTEXT)).toBeNull();
    expect(trace.getSpanContext(contextFromJson('not json'))).toBeUndefined();
    expect(trace.getSpanContext(contextFromJson(null))).toBeUndefined();
    expect(trace.getSpanContext(contextFromHeaders({ traceparent: 'garbage' }))).toBeUndefined();
    expect(trace.getSpanContext(contextFromHeaders({ traceparent: 42 }))).toBeUndefined();
  });

  it('parses OTEL_EXPORTER_OTLP_HEADERS', () => {
    expect(parseHeaders('api-key=a%20b, x-tenant = t1,broken')).toEqual({
      'api-key': 'a b',
      'x-tenant': 't1',
    });
  });

  it('gives every bus message a consumer span under the context in its headers', async () => {
    const bus = new InProcessBus();
    const seen: Array<string | undefined> = [];
    bus.subscribe({
      topic: 'workflows',
      group: 'unit',
      handler: async (messages) => {
        for (const m of messages) seen.push(trace.getSpanContext(messageContext(m))?.spanId);
      },
    });
    const producer = tracer().startSpan('producer');
    const message: BusMessage = {
      id: '1',
      topic: 'workflows',
      key: 'k',
      type: 'T',
      payload: {},
      headers: contextHeaders(trace.setSpan(ROOT_CONTEXT, producer)),
    };
    await bus.publish([message, { ...message, id: '2', key: 'k2' }]);
    producer.end();
    const consumers = spansOf(producer.spanContext().traceId).filter((s) => s.name === 'process workflows');
    expect(consumers).toHaveLength(2);
    for (const c of consumers) expect(parentOf(c)).toBe(producer.spanContext().spanId);
    expect(seen.sort()).toEqual(consumers.map(idOf).sort());
  });

  it('writes trace_id and span_id of the active span on log lines, and redacts secrets', () => {
    const capture = new LogCapture();
    const logger = createLogger('info', capture);
    const span = tracer().startSpan('logged');
    context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
      logger.info(
        {
          user: { password: 'p', token: 't', secret: 's' },
          headers: { authorization: 'Bearer x', cookie: 'c', 'set-cookie': 'sc' },
        },
        'hello',
      ),
    );
    logger.info('outside');
    span.end();
    const [inside, outside] = capture.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(outside).not.toHaveProperty('trace_id');
    const text = JSON.stringify(inside);
    for (const secret of ['"p"', '"t"', '"s"', 'Bearer x', '"c"', '"sc"']) expect(text).not.toContain(secret);
  });
});

describe.each(ENGINES)('one trace per manual run (embedded, %s)', (engine) => {
  let proc: EmbeddedProcess;
  let target: Awaited<ReturnType<typeof startTarget>>;

  beforeAll(async () => {
    target = await startTarget();
    proc = await startEmbedded(engine);
  });
  afterAll(async () => {
    await proc?.stop();
    await target?.close();
  });

  it('connects gateway, RPC, outbox relay, bus, executor and completion consumers', async () => {
    const token = await registerAt(proc.url);
    const workflowId = await builtWorkflow(proc.url, token, `${target.url}/ok?w=trace-${engine}`);
    const jobId = await runNow(proc.url, token, workflowId);
    expect((await finishedJob(proc.url, token, workflowId, jobId)).status).toBe('COMPLETED');

    const root = await waitFor(async () =>
      exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.name === 'POST /api/v1/workflows/:id/jobs/schedule' &&
            s.attributes['url.path'] === `/api/v1/workflows/${workflowId}/jobs/schedule`,
        ),
    );
    const traceId = root.spanContext().traceId;
    // The last hops end after the job's status is visible (and a publish span only after its
    // in-process consumers returned): wait for the completion hops.
    // (A success writes no `workflows` event: the completion applies the failure policy itself.)
    const last = ['publish analytics', 'process analytics'];
    const spans = await waitFor(async () => {
      const all = spansOf(traceId);
      return last.every((name) => all.some((s) => s.name === name)) ? all : null;
    });

    const names = spans.map((s) => s.name);
    for (const name of [
      'POST /api/v1/workflows/:id/jobs/schedule',
      'publish jobs',
      'process jobs',
      'job.run',
      'job.heartbeat',
      'publish analytics',
      'process analytics',
    ]) {
      expect(names, name).toContain(name);
    }
    const rpc = spans.filter((s) => s.attributes['rpc.method'] === 'RunNow');
    expect(rpc.map((s) => s.kind).sort()).toEqual([1, 2]); // SERVER and CLIENT

    // One connected tree: a single root (the request), every other span's parent in the trace.
    const ids = new Set(spans.map(idOf));
    expect(spans.filter((s) => parentOf(s) === undefined).map((s) => s.name)).toEqual([root.name]);
    for (const s of spans) if (parentOf(s)) expect(ids, `parent of ${s.name}`).toContain(parentOf(s));

    // The chain, hop by hop.
    const byId = new Map(spans.map((s) => [idOf(s), s]));
    const ancestry = (s: ReadableSpan): string[] => {
      const chain: string[] = [];
      for (let p = parentOf(s); p; p = parentOf(byId.get(p)!)) chain.push(byId.get(p)!.name);
      return chain;
    };
    const processAnalytics = spans.find((s) => s.name === 'process analytics')!;
    expect(ancestry(processAnalytics)).toEqual([
      'publish analytics',
      'job.run',
      'chronoverse.jobs.v1.JobsService/RunNow',
      'chronoverse.jobs.v1.JobsService/RunNow',
      root.name,
    ]);
    const processJobs = spans.find((s) => s.name === 'process jobs')!;
    expect(ancestry(processJobs).slice(0, 2)).toEqual([
      'publish jobs',
      'chronoverse.jobs.v1.JobsService/RunNow',
    ]);
    expect(spans.find((s) => s.name === 'job.run')!.attributes['chronoverse.job.id']).toBe(jobId);
  });

  it("continues a caller's traceparent, and hangs scheduled jobs under their scheduler tick", async () => {
    const token = await registerAt(proc.url);
    const caller = tracer().startSpan('caller');
    const headers = contextHeaders(trace.setSpan(ROOT_CONTEXT, caller));
    caller.end();
    const res = await fetch(`${proc.url}/api/v1/workflows`, {
      headers: { ...headers, authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const list = await waitFor(async () =>
      spansOf(caller.spanContext().traceId).find((s) => s.name === 'GET /api/v1/workflows'),
    );
    expect(parentOf(list)).toBe(caller.spanContext().spanId);
    expect(list.attributes['http.response.status_code']).toBe(200);

    // A workflow due every second: its jobs come from scheduler ticks.
    const workflowId = await builtWorkflow(proc.url, token, `${target.url}/ok?w=tick-${engine}`, {
      schedule: { type: 'cron', cron: '* * * * * *', timezone: 'UTC' },
    });
    const run = await waitFor(async () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'job.run' && s.attributes['chronoverse.workflow.id'] === workflowId),
    );
    const tick = exporter.getFinishedSpans().find((s) => idOf(s) === parentOf(run));
    expect(tick?.name).toBe('scheduler.tick');
  });
});

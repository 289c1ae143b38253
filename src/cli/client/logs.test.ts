/**
 * `logs -f` when the connection drops mid-stream: it reconnects with the last line's id as
 * `Last-Event-ID` and prints every line exactly once. The server here is a stand-in for the
 * gateway over real HTTP (the three routes `logs` calls), one that cuts the first stream after two
 * lines, as a proxy's idle timeout or a gateway restart would.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from './api.ts';
import { logs, sseEvents } from './logs.ts';
import { Output } from './output.ts';

const WF = '01a24c07-2be9-739b-9a9f-be4b6a171fc7';
const JOB = '01a24c07-bc2c-7544-ae59-5ba588463c34';
const RUN = '01a24c07-bc2c-7544-ae59-5ba588463c40';
const TASK_A = '01a24c07-bc2c-7544-ae59-5ba588463c41';
const TASK_B0 = '01a24c07-bc2c-7544-ae59-5ba588463c42';
const TASK_B1 = '01a24c07-bc2c-7544-ae59-5ba588463c43';
const line = (n: number) =>
  `id: ${n}\nevent: log\ndata: ${JSON.stringify({ sequence_num: n, stream: 'stdout', timestamp: '2026-01-01T00:00:00.000Z', message: `line ${n}` })}\n\n`;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('logs -f', () => {
  let server: Server;
  let url: string;
  const streams: IncomingHttpHeaders[] = [];
  const rawTasks: (string | null)[] = [];
  let runReads = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url!.split('?')[0]!;
      if (path === `/api/v1/workflows/${WF}`) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ id: WF, name: 'report', log_retention: true }));
      }
      if (path === `/api/v1/workflows/${WF}/jobs/${JOB}`) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ id: JOB, workflow_id: WF, status: 'RUNNING' }));
      }
      if (path === `/api/v1/workflows/${WF}/jobs/${RUN}`) {
        runReads++;
        res.setHeader('content-type', 'application/json');
        return res.end(
          JSON.stringify({
            id: RUN,
            workflow_id: WF,
            status: 'COMPLETED',
            kind: 'DAG',
            tasks: [
              { id: TASK_A, name: 'build', index: null },
              { id: TASK_B0, name: 'test', index: 0 },
              { id: TASK_B1, name: 'test', index: 1 },
            ],
          }),
        );
      }
      if (path === `/api/v1/workflows/${WF}/jobs/${RUN}/logs/raw`) {
        // The gateway picks the task instance from the run (src/gateway/routes/logs.ts jobIdOf).
        const task = new URL(req.url!, 'http://x').searchParams.get('task');
        rawTasks.push(task);
        if (task === 'test[1]') {
          res.setHeader('content-type', 'application/x-ndjson');
          return res.end(
            `${JSON.stringify({ sequence_num: 0, stream: 'stdout', timestamp: '2026-01-01T00:00:00.000Z', message: 'test 1 ok' })}\n`,
          );
        }
        res.setHeader('content-type', 'application/problem+json');
        if (task === 'test') {
          res.statusCode = 400;
          return res.end(
            JSON.stringify({
              type: 'about:blank',
              title: 'Bad Request',
              status: 400,
              code: 'CV_VALIDATION',
              detail: 'invalid request',
              errors: [{ path: 'task', message: '"test" has 2 fan-out items: name one, e.g. test[0]' }],
            }),
          );
        }
        res.statusCode = 404;
        return res.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Not Found',
            status: 404,
            code: 'CV_NOT_FOUND',
            detail: `Task "${task}" of this run not found`,
          }),
        );
      }
      if (path === `/api/v1/workflows/${WF}/jobs/${JOB}/events`) {
        streams.push(req.headers);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: status\ndata: {"status":"RUNNING"}\n\n: keep-alive comment\n\n`);
        const after = Number(req.headers['last-event-id'] ?? -1);
        if (streams.length === 1) {
          res.write(line(0) + line(1));
          // Cut mid-event, as a dropped connection does.
          res.write('id: 2\nevent: log\ndata: {"sequence');
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        for (let n = after + 1; n <= 3; n++) res.write(line(n));
        return res.end(`event: end\ndata: {"status":"COMPLETED"}\n\n`);
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('resumes after the last line with Last-Event-ID: every line once, then exits at the end', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const out = new Output({ stdout, stderr }, {});
    const api = connect({ name: 'test', server: url, token: 'cvp_test' });
    const code = await logs(out, api, { job: JOB, workflow: WF, follow: true, timestamps: false });
    expect(code).toBe(0);
    expect(stdout.text).toBe('line 0\nline 1\nline 2\nline 3\n');
    expect(streams.map((h) => h['last-event-id'])).toEqual([undefined, '1']);
    expect(streams.every((h) => h.authorization === 'Bearer cvp_test')).toBe(true);
  });

  it("reads a DAG task's own logs with --task name[i], and names the tasks when there is no such one", async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const out = new Output({ stdout, stderr }, {});
    const api = connect({ name: 'test', server: url, token: 'cvp_test' });
    const read = (task: string) =>
      logs(out, api, { job: RUN, workflow: WF, follow: false, timestamps: false, task });
    runReads = 0;
    expect(await read('test[1]')).toBe(0);
    expect(stdout.text).toBe('test 1 ok\n');
    // The server resolved the task (`task=`): the run was read once, to find it, not for its tasks.
    expect(rawTasks).toEqual(['test[1]']);
    expect(runReads).toBe(1);
    expect(await read('deploy')).toBe(1);
    expect(stderr.text).toContain('has no task "deploy" (yet); it has build, test');
    expect(await read('test')).toBe(1);
    expect(stderr.text).toContain('--task "test": "test" has 2 fan-out items: name one, e.g. test[0]');
    expect(await read('test[')).toBe(2);
    expect(rawTasks).toEqual(['test[1]', 'deploy', 'test']);
  });

  it('parses events split anywhere, CRLF lines, comments and multi-line data', async () => {
    const text = 'id: 7\r\nevent: log\r\ndata: a\r\ndata: b\r\n\r\n: c\n\nevent: end\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events = [];
    for await (const e of sseEvents(body)) events.push(e);
    expect(events).toEqual([
      { id: '7', event: 'log', data: 'a\nb' },
      { event: 'end', data: '{}' },
    ]);
  });
});

/**
 * `logs <job> [-f]`: a job's output (CONTAINER jobs; docs/api.md "Logs").
 *
 * Without `-f`, the stored lines as one download (`logs/raw?format=jsonl`). With `-f`, the job's
 * Server-Sent Events stream: stored lines first, then live ones, until its `end` event (the job is
 * final and every line was sent). The `id:` of every line is kept; when the connection drops
 * (a proxy's idle timeout, a gateway restart), the stream is opened again with `Last-Event-ID`, so
 * the server resumes after the last line printed: nothing lost, nothing twice. Reconnections back
 * off from 250 ms to 5 s; 10 failures in a row without a line in between give up.
 */
import { parseTaskSelector } from '../../domain/task-selector.ts';
import { ChronoverseApiError, findJob, sleep, unwrap, type ChronoverseClient } from './api.ts';
import type { Output } from './output.ts';

interface LogLine {
  sequence_num: number;
  stream: 'stdout' | 'stderr';
  timestamp: string;
  message: string;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Server-Sent Events of a byte stream (the WHATWG parsing rules that matter here). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event: { id?: string; event?: string; data: string[] } = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A CR ending the chunk may be the first half of a CRLF: wait for the next byte.
        if (buffer[newline] === '\r' && newline === buffer.length - 1) break;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (event.data.length > 0 || event.event) {
            yield {
              ...(event.id !== undefined ? { id: event.id } : {}),
              event: event.event ?? 'message',
              data: event.data.join('\n'),
            };
          }
          event = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function printLine(out: Output, line: LogLine, timestamps: boolean): void {
  out.line(timestamps ? `${line.timestamp} ${line.message}` : line.message);
}

export async function logs(
  out: Output,
  api: ChronoverseClient,
  options: { job: string; workflow?: string; follow: boolean; timestamps: boolean; task?: string },
): Promise<number> {
  const { workflow, job: run } = await findJob(api, options.job, options.workflow);
  // A DAG task instance's logs are its own job's: the server picks it from the run in the path
  // with `task=build` (or `build[3]` for a fan-out item), so the run's tasks are not fetched here.
  if (options.task !== undefined && parseTaskSelector(options.task) === null) {
    out.note(`--task "${options.task}": expected a task name, or name[i] for item i of a fan-out`);
    return 2;
  }
  const task = options.task !== undefined ? { task: options.task } : {};
  const path = { id: workflow.id, job_id: run.id };
  if (!workflow.log_retention) {
    out.note(`workflow "${workflow.name}" keeps no logs (log_retention: false; HEARTBEAT jobs have none)`);
    return 1;
  }
  // The server refused `task=` (a 400 on it, a 404 for a task the run does not have): say why.
  const refusedTask = (response: Response, error: unknown) =>
    options.task === undefined || response.ok
      ? Promise.resolve(null)
      : taskRefused(out, api, response.status, error, run.id, workflow.id, options.task);
  if (!options.follow) {
    const res = await api.GET('/api/v1/workflows/{id}/jobs/{job_id}/logs/raw', {
      params: { path, query: { format: 'jsonl', ...task } },
      parseAs: 'text',
    });
    const refused = await refusedTask(res.response, res.error);
    if (refused !== null) return refused;
    const text = unwrap(res);
    for (const row of text.split('\n'))
      if (row) printLine(out, JSON.parse(row) as LogLine, options.timestamps);
    return 0;
  }
  let lastEventId: string | undefined;
  let failures = 0;
  let pause = 250;
  for (;;) {
    try {
      const res = await api.GET('/api/v1/workflows/{id}/jobs/{job_id}/events', {
        params: {
          path,
          query: task,
          ...(lastEventId !== undefined ? { header: { 'last-event-id': lastEventId } } : {}),
        },
        parseAs: 'stream',
      });
      const refused = await refusedTask(res.response, res.error);
      if (refused !== null) return refused;
      if (!res.response.ok || !res.data) unwrap(res);
      for await (const event of sseEvents(res.data as ReadableStream<Uint8Array>)) {
        if (event.event === 'log') {
          if (event.id !== undefined) lastEventId = event.id;
          printLine(out, JSON.parse(event.data) as LogLine, options.timestamps);
          failures = 0;
          pause = 250;
        } else if (event.event === 'status') {
          // With --task, the job is the task instance's (its own id, not the run's).
          const job = JSON.parse(event.data) as { id?: string; status: string };
          out.status(`job/${job.id ?? run.id} ${job.status}`);
        } else if (event.event === 'end') {
          return 0;
        }
      }
    } catch (err) {
      // A refused request (a problem answer) is final; a dropped connection or stream is retried.
      if (err instanceof ChronoverseApiError) throw err;
    }
    failures++;
    if (failures >= 10) {
      out.note(
        `the log stream of job ${run.id}${options.task !== undefined ? ` (task ${options.task})` : ''} kept dropping; giving up`,
      );
      return 1;
    }
    out.status(`connection lost; resuming after line ${lastEventId ?? '(none)'}…`);
    await sleep(pause);
    pause = Math.min(5000, pause * 2);
  }
}

/**
 * The server refused `task=`: 400 (not a DAG run, a fan-out named without its item) says why in
 * its problem; 404 (no such instance yet) is completed with the run's task names, the one case
 * where the run is read. Null for any other answer (the caller's `unwrap` reports it).
 */
async function taskRefused(
  out: Output,
  api: ChronoverseClient,
  status: number,
  error: unknown,
  runId: string,
  workflowId: string,
  text: string,
): Promise<number | null> {
  if (status === 400) {
    const problem = error as { errors?: { path?: string; message: string }[]; detail?: string } | undefined;
    const field = problem?.errors?.find((e) => e.path === 'task');
    out.note(`--task "${text}": ${field?.message ?? problem?.detail ?? 'refused by the server'}`);
    return 1;
  }
  if (status !== 404) return null;
  const res = await api.GET('/api/v1/workflows/{id}/jobs/{job_id}', {
    params: { path: { id: workflowId, job_id: runId } },
  });
  const names = [...new Set((res.data?.tasks ?? []).map((t) => t.name))];
  out.note(`run ${runId} has no task "${text}" (yet); it has ${names.join(', ') || 'none'}`);
  return 1;
}

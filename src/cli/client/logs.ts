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
import { parseTaskSelector, selectTask } from '../../domain/task-selector.ts';
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
  let job: { id: string } = run;
  if (options.task !== undefined) {
    // A DAG task instance's logs are its own job's: `build`, or `build[3]` for a fan-out item.
    const tasks =
      run.tasks ??
      unwrap(
        await api.GET('/api/v1/workflows/{id}/jobs/{job_id}', {
          params: { path: { id: workflow.id, job_id: run.id } },
        }),
      ).tasks;
    const selector = parseTaskSelector(options.task);
    if (selector === null) {
      out.note(`--task "${options.task}": expected a task name, or name[i] for item i of a fan-out`);
      return 2;
    }
    const selection = tasks === undefined ? null : selectTask(tasks, selector);
    if (selection === null || !selection.ok) {
      out.note(
        selection === null
          ? `job ${run.id} is not a DAG run: it has no tasks`
          : selection.reason === 'ambiguous'
            ? `"${options.task}" has ${selection.count} fan-out items: name one, e.g. --task ${options.task}[0]`
            : `run ${run.id} has no task "${options.task}" (yet); it has ${selection.names.join(', ') || 'none'}`,
      );
      return 1;
    }
    job = selection.task;
  }
  const path = { id: workflow.id, job_id: job.id };
  if (!workflow.log_retention) {
    out.note(`workflow "${workflow.name}" keeps no logs (log_retention: false; HEARTBEAT jobs have none)`);
    return 1;
  }
  if (!options.follow) {
    const text = unwrap(
      await api.GET('/api/v1/workflows/{id}/jobs/{job_id}/logs/raw', {
        params: { path, query: { format: 'jsonl' } },
        parseAs: 'text',
      }),
    );
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
        params: { path, ...(lastEventId !== undefined ? { header: { 'last-event-id': lastEventId } } : {}) },
        parseAs: 'stream',
      });
      if (!res.response.ok || !res.data) unwrap(res);
      for await (const event of sseEvents(res.data as ReadableStream<Uint8Array>)) {
        if (event.event === 'log') {
          if (event.id !== undefined) lastEventId = event.id;
          printLine(out, JSON.parse(event.data) as LogLine, options.timestamps);
          failures = 0;
          pause = 250;
        } else if (event.event === 'status') {
          out.status(`job/${job.id} ${(JSON.parse(event.data) as { status: string }).status}`);
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
      out.note(`the log stream of job ${job.id} kept dropping; giving up`);
      return 1;
    }
    out.status(`connection lost; resuming after line ${lastEventId ?? '(none)'}…`);
    await sleep(pause);
    pause = Math.min(5000, pause * 2);
  }
}

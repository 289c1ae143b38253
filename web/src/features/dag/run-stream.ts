/**
 * Follows a DAG run over Server-Sent Events (`GET …/jobs/{run}/events`, docs/api.md "Logs"): the
 * run's `status` on every change and `tasks` (its task instances, the `tasks` of GET run) at the
 * start and on every change, then `end` once the run is final. The browser's EventSource
 * reconnects by itself; a reconnect starts with a fresh `status` and `tasks`, so nothing is lost.
 * The state it returns tells the page when to poll instead ('reconnecting', 'failed').
 */
import { useEffect, useEffectEvent, useState } from 'react';
import type { Job, Task } from '../../api/types.ts';
import {
  browserEventSource,
  jobEventsUrl,
  type EventSourceFactory,
  type StreamState,
} from '../logs/job-stream.ts';

const CLOSED = 2;

export function useRunStream(params: {
  workflowId: string;
  jobId: string;
  enabled: boolean;
  /** The run without its tasks (`status` and `end` carry the job object only). */
  onRun: (run: Job) => void;
  onTasks: (tasks: Task[]) => void;
  /** Once the run is final (after the last `onRun`). */
  onEnd?: () => void;
  eventSource?: EventSourceFactory;
}): StreamState {
  const { workflowId, jobId, enabled, eventSource = browserEventSource } = params;
  const [state, setState] = useState<StreamState>('connecting');
  // Callbacks change on every render; the connection must not.
  const run = useEffectEvent((job: Job) => params.onRun(job));
  const tasks = useEffectEvent((list: Task[]) => params.onTasks(list));
  const ended = useEffectEvent(() => params.onEnd?.());

  useEffect(() => {
    // Starts as 'connecting'; `enabled` turns on once (when the run is known to be live).
    if (!enabled) return;
    const es = eventSource(jobEventsUrl(workflowId, jobId));
    es.onopen = () => setState('open');
    es.addEventListener('status', (event) => run(JSON.parse(event.data) as Job));
    es.addEventListener('tasks', (event) => tasks((JSON.parse(event.data) as { tasks: Task[] }).tasks));
    es.addEventListener('end', (event) => {
      // The server closes after `end`; without close() the browser would reconnect.
      es.close();
      run(JSON.parse(event.data) as Job);
      setState('ended');
      ended();
    });
    es.onerror = () => {
      // CLOSED: the server refused (e.g. 412, a workflow that keeps no logs) and the browser gives
      // up; else it retries by itself. Either way the page polls until the stream is back.
      setState(es.readyState === CLOSED ? 'failed' : 'reconnecting');
    };
    return () => es.close();
  }, [workflowId, jobId, enabled, eventSource]);

  return state;
}

/**
 * Follows a job over Server-Sent Events (`GET …/jobs/{jid}/events`, docs/api.md "Logs"): stored
 * lines are replayed, then live ones; `status` on every change; `end` once the job is final and
 * every line was sent. The browser's EventSource reconnects by itself and sends Last-Event-ID (the
 * last `id:` = sequence_num), so the server resumes after it; the LogBuffer drops any repeat.
 *
 * Lines are parsed as they arrive but added to the buffer once per animation frame: a replay of
 * 100,000 lines costs 100,000 message events, not 100,000 React renders.
 */
import { API_BASE } from '../../api/client.ts';
import { useEffect, useEffectEvent, useState } from 'react';
import type { LogBuffer } from './line-buffer.ts';
import type { LogLine } from './types.ts';

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'ended' | 'failed';

/** The slice of EventSource this module uses (the browser's, or a test double). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

const CLOSED = 2;

export function jobEventsUrl(workflowId: string, jobId: string): string {
  return `${API_BASE}/workflows/${encodeURIComponent(workflowId)}/jobs/${encodeURIComponent(jobId)}/events`;
}

export const browserEventSource: EventSourceFactory = (url) =>
  new EventSource(url, { withCredentials: true });

/** Runs `fn` before the next paint (or soon, where there are no frames). */
function nextFrame(fn: () => void): () => void {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
    const id = requestAnimationFrame(fn);
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(fn, 16);
  return () => clearTimeout(id);
}

/**
 * Connects while `enabled`; feeds `buffer`; reports job snapshots through `onStatus` (on `status`
 * and `end`). Returns the connection state.
 */
export function useJobStream(params: {
  workflowId: string;
  jobId: string;
  buffer: LogBuffer;
  enabled?: boolean;
  onStatus?: (job: unknown) => void;
  onEnd?: (job: unknown) => void;
  eventSource?: EventSourceFactory;
}): StreamState {
  const {
    workflowId,
    jobId,
    buffer,
    enabled = true,
    onStatus,
    onEnd,
    eventSource = browserEventSource,
  } = params;
  const [state, setState] = useState<StreamState>('connecting');

  // Callbacks change on every render; the connection must not.
  const statusChanged = useEffectEvent((job: unknown) => onStatus?.(job));
  const ended = useEffectEvent((job: unknown) => onEnd?.(job));

  useEffect(() => {
    // The state starts as 'connecting'; a viewer is keyed per job, so it connects once.
    if (!enabled) return;
    const es = eventSource(jobEventsUrl(workflowId, jobId));
    let pending: LogLine[] = [];
    let cancelFlush: (() => void) | null = null;
    const flush = () => {
      cancelFlush = null;
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      buffer.add(batch);
    };
    es.onopen = () => setState('open');
    es.addEventListener('log', (event) => {
      pending.push(JSON.parse(event.data) as LogLine);
      cancelFlush ??= nextFrame(flush);
    });
    es.addEventListener('status', (event) => {
      statusChanged(JSON.parse(event.data));
    });
    es.addEventListener('end', (event) => {
      // The server closes after `end`; without close() the browser would reconnect.
      es.close();
      cancelFlush?.();
      flush();
      const job: unknown = JSON.parse(event.data);
      statusChanged(job);
      ended(job);
      setState('ended');
    });
    es.onerror = () => {
      // CLOSED: the server refused (401/404/412) and the browser gives up; else it retries.
      setState(es.readyState === CLOSED ? 'failed' : 'reconnecting');
    };
    return () => {
      es.close();
      cancelFlush?.();
      flush();
    };
  }, [workflowId, jobId, buffer, enabled, eventSource]);

  return state;
}

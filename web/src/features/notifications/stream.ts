/**
 * The live notification stream: one EventSource on /api/v1/notifications/events per tab, merged into
 * the TanStack Query cache.
 *
 * Reconnects: the browser retries on its own after a dropped connection (sending Last-Event-ID), but
 * gives up for good when an answer is not a 200 event stream (a gateway restart, a 502 from a proxy);
 * then we open a new EventSource after a backoff of 1 s doubling to 30 s, passing the last id seen
 * as `?last_event_id=` so the gateway replays what was created in between. While the stream is down,
 * `live` is false and the list queries fall back to slow polling (api/notifications.ts); when it comes
 * back, the lists are re-read once to pick up whatever arrived in between.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { API_BASE } from '../../api/client.ts';
import {
  NOTIFICATION_KINDS,
  NOTIFICATION_LISTS,
  notificationKeys,
  type Notification,
} from '../../api/notifications.ts';
import { mergeIncoming, type NotificationPages } from './cache.ts';

export const NOTIFICATION_EVENTS_URL = `${API_BASE}/notifications/events`;
const CLOSED = 2; // EventSource.CLOSED, spelled out so a test double needs no statics
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

/** Parses an SSE `notification` event's data; anything malformed is dropped, never rendered. */
export function parseNotificationEvent(data: unknown): Notification | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const n = value as Record<string, unknown>;
  if (typeof n.id !== 'string' || typeof n.title !== 'string' || typeof n.created_at !== 'string') {
    return null;
  }
  if (!(NOTIFICATION_KINDS as readonly unknown[]).includes(n.kind)) return null;
  // Every notification is about a workflow or a job (the API's contract): one that is not is malformed.
  if ((n.entity_type !== 'WORKFLOW' && n.entity_type !== 'JOB') || typeof n.entity_id !== 'string') {
    return null;
  }
  return {
    id: n.id,
    kind: n.kind as Notification['kind'],
    title: n.title,
    message: typeof n.message === 'string' ? n.message : '',
    entity_type: n.entity_type,
    entity_id: n.entity_id,
    action_url: typeof n.action_url === 'string' ? n.action_url : null,
    read_at: typeof n.read_at === 'string' ? n.read_at : null,
    created_at: n.created_at,
  };
}

export interface StreamHandlers {
  onNotification: (notification: Notification) => void;
  /** `reconnected` is true on every open after the first. */
  onOpen: (reconnected: boolean) => void;
  onDown: () => void;
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openNotificationStream(handlers: StreamHandlers, url = NOTIFICATION_EVENTS_URL): () => void {
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let delay = BACKOFF_MIN_MS;
  let opened = false;
  let stopped = false;
  let lastEventId = '';

  const connect = () => {
    timer = null;
    if (stopped) return;
    const target = lastEventId ? `${url}?last_event_id=${encodeURIComponent(lastEventId)}` : url;
    const es = new EventSource(target, { withCredentials: true });
    source = es;
    es.addEventListener('open', () => {
      delay = BACKOFF_MIN_MS;
      handlers.onOpen(opened);
      opened = true;
    });
    es.addEventListener('notification', (event) => {
      const message = event as MessageEvent;
      if (message.lastEventId) lastEventId = message.lastEventId;
      const n = parseNotificationEvent(message.data);
      if (n) handlers.onNotification(n);
    });
    es.addEventListener('error', () => {
      handlers.onDown();
      if (es.readyState !== CLOSED || stopped) return; // the browser is retrying by itself
      es.close();
      source = null;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    });
  };
  connect();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    source?.close();
    source = null;
  };
}

/** Keeps the stream open while mounted (enabled); returns whether it is currently connected. */
export function useNotificationStream(enabled = true): boolean {
  const client = useQueryClient();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') return;
    const stop = openNotificationStream({
      onNotification: (n) => {
        for (const list of NOTIFICATION_LISTS) {
          client.setQueryData<NotificationPages>(notificationKeys.list(list), (data) =>
            mergeIncoming(data, n, list),
          );
        }
      },
      onOpen: (reconnected) => {
        setLive(true);
        if (reconnected) void client.invalidateQueries({ queryKey: notificationKeys.root });
      },
      onDown: () => setLive(false),
    });
    return () => {
      stop();
      setLive(false);
    };
  }, [client, enabled]);
  return live;
}

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openNotificationStream, parseNotificationEvent } from './stream.ts';
import { FakeEventSource } from './testing/fake-event-source.ts';

describe('openNotificationStream', () => {
  beforeEach(() => {
    FakeEventSource.install();
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('reopens after the browser gives up, backing off, and reports reconnects', () => {
    const opens: boolean[] = [];
    let downs = 0;
    const stop = openNotificationStream({
      onNotification: () => {},
      onOpen: (reconnected) => opens.push(reconnected),
      onDown: () => downs++,
    });
    const first = FakeEventSource.latest();
    expect(first.withCredentials).toBe(true);
    first.open();

    first.fail(false); // the browser retries by itself: no new EventSource
    expect(FakeEventSource.instances).toHaveLength(1);
    first.open();

    first.emit('notification', '{}', '0190-last');
    first.fail(true); // closed for good: we reopen after 1 s, asking for what came after the last id
    expect(downs).toBe(2);
    vi.advanceTimersByTime(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(2);

    const second = FakeEventSource.latest();
    expect(second.url).toBe('/api/v1/notifications/events?last_event_id=0190-last');
    second.fail(true); // fails again: 2 s this time
    vi.advanceTimersByTime(1_999);
    expect(FakeEventSource.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    FakeEventSource.latest().open();
    expect(opens).toEqual([false, true, true]);

    stop();
    expect(FakeEventSource.latest().readyState).toBe(2);
  });

  it('stops reconnecting once stopped', () => {
    const stop = openNotificationStream({ onNotification: () => {}, onOpen: () => {}, onDown: () => {} });
    FakeEventSource.latest().fail(true);
    stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });
});

describe('parseNotificationEvent', () => {
  it('accepts a notification and rejects anything else', () => {
    const n = {
      id: 'n1',
      kind: 'ALERT',
      title: 'Workflow terminated',
      message: '3 consecutive failures',
      entity_type: 'WORKFLOW',
      entity_id: 'w1',
      action_url: '/workflows/w1',
      read_at: null,
      created_at: '2024-03-05T10:00:00Z',
    };
    expect(parseNotificationEvent(JSON.stringify(n))).toEqual(n);
    expect(parseNotificationEvent(JSON.stringify({ ...n, kind: 'SHOUT' }))).toBeNull();
    expect(parseNotificationEvent(JSON.stringify({ ...n, entity_type: null }))).toBeNull();
    expect(parseNotificationEvent(JSON.stringify({ ...n, entity_id: null }))).toBeNull();
    expect(parseNotificationEvent('[')).toBeNull();
    expect(parseNotificationEvent(JSON.stringify(null))).toBeNull();
  });
});

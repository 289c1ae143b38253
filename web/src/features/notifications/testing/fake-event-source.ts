/**
 * A test double at the network boundary only: `EventSource`, driven by the test (fetch is stubbed
 * with web/src/test/render.tsx `stubFetch`). Our own code — the stream, hooks, cache updates and
 * components — runs for real on top of it.
 */
import { vi } from 'vitest';

/** An EventSource the test drives: `open()`, `emit(type, data)`, `fail(closed)`. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  readonly withCredentials: boolean;
  readyState = 0;
  private listeners = new Map<string, Set<(event: Event) => void>>();

  constructor(url: string | URL, init?: EventSourceInit) {
    this.url = String(url);
    this.withCredentials = init?.withCredentials ?? false;
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, listener: (event: Event) => void): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    this.readyState = 2;
  }

  private dispatch(event: Event): void {
    for (const listener of this.listeners.get(event.type) ?? []) listener(event);
  }

  open(): void {
    this.readyState = 1;
    this.dispatch(new Event('open'));
  }

  emit(type: string, data: unknown, lastEventId = ''): void {
    this.dispatch(
      new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId }),
    );
  }

  /** A dropped connection: `closed` = the browser gave up (a non-200 answer) instead of retrying. */
  fail(closed: boolean): void {
    this.readyState = closed ? 2 : 0;
    this.dispatch(new Event('error'));
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error('no EventSource was opened');
    return last;
  }

  static install(): void {
    FakeEventSource.instances = [];
    vi.stubGlobal('EventSource', FakeEventSource);
  }
}
